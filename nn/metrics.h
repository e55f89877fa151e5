/// \file
/// \brief Metrics: accuracy, errors, confusion matrix, NLL, calibration, agreement, KL, gap closed.
///
/// Every function takes logits [N, C] (not probabilities) unless it says otherwise, and
/// labels as N class indices. Labels outside 0..C-1 throw `tensor::ValueError`; averages
/// over no examples (N = 0) throw `tensor::ShapeError` (`accuracy: no examples`).
#pragma once

#include "nn/losses.h"
#include "tensor/tensor.h"

#include <cstdint>
#include <vector>

namespace nn {

/// \defgroup metrics metrics: accuracy, calibration, agreement, margins
/// \ingroup nn
/// \brief What the chapters measure of a model's predictions, each with its formula.

/// \ingroup metrics
/// \brief The predicted class of each row: \f$ \hat y_n = \arg\max_c z_{nc} \f$ (first on ties).
/// \param logits [N, C] \returns N class indices \throws tensor::ShapeError when not [N, C].
/// \see \ref ch07_unseen_class
Labels predictions(const Tensor& logits);

/// \ingroup metrics
/// \brief Fraction of rows whose prediction equals the label: \f$ \frac1N \sum_n [\hat y_n = y_n] \f$.
/// \param logits [N, C] \param labels N \throws tensor::ShapeError when N differs or N = 0.
/// \see \ref ch02_teacher
double accuracy(const Tensor& logits, const Labels& labels);

/// \ingroup metrics
/// \brief Number of rows whose prediction differs from the label: \f$ \sum_n [\hat y_n \ne y_n] \f$.
/// \param logits [N, C] \param labels N \throws tensor::ShapeError when N differs.
/// \see \ref ch02_teacher
int64_t error_count(const Tensor& logits, const Labels& labels);

/// \ingroup metrics
/// \brief counts[true][predicted]: how often class i was predicted as class j,
/// \f$ M_{ij} = \sum_n [y_n = i][\hat y_n = j] \f$.
/// \param logits [N, C] \param labels N \returns C x C counts \throws tensor::ShapeError when N differs.
/// \see \ref ch02_teacher, \ref ch04_dark_knowledge
std::vector<std::vector<int64_t>> confusion_matrix(const Tensor& logits, const Labels& labels);

/// \ingroup metrics
/// \brief Mean negative log-likelihood of the labels: \f$ -\frac1N \sum_n \log \operatorname{softmax}(z_n)_{y_n} \f$ (nats).
/// \param logits [N, C] \param labels N \throws tensor::ShapeError when N differs.
/// \see \ref ch05_student
double mean_nll(const Tensor& logits, const Labels& labels);

/// \ingroup metrics
/// \brief Expected calibration error over equal-width confidence bins (15 by default).
///
/// \f[ \text{ECE} = \sum_b \frac{|B_b|}{N} \left| \operatorname{acc}(B_b) - \operatorname{conf}(B_b) \right| \f]
/// where \f$ B_b \f$ holds the rows whose top softmax probability lies in
/// \f$ ((b-1)/M, b/M] \f$: 0 for a perfectly calibrated model.
/// \param logits [N, C] \param labels N \param bins M > 0
/// \throws tensor::ShapeError when N differs; tensor::ValueError when bins < 1.
/// \see \ref ch05_student
double expected_calibration_error(const Tensor& logits, const Labels& labels, int64_t bins = 15);

/// \ingroup metrics
/// \brief One bin of a reliability diagram: the rows whose top softmax probability falls in it.
struct ReliabilityBin {
  double low = 0;         ///< the bin is \f$ (\text{low}, \text{high}] \f$ (the first also holds 0)
  double high = 0;        ///< upper edge
  int64_t count = 0;      ///< rows in the bin
  double confidence = 0;  ///< their mean top probability (0 when the bin is empty)
  double accuracy = 0;    ///< the fraction of them predicted right (0 when the bin is empty)
};

/// \ingroup metrics
/// \brief The reliability diagram behind `expected_calibration_error`: for each of M equal-width
/// confidence bins, its rows' mean confidence and accuracy. A calibrated model has
/// accuracy = confidence in every bin; the ECE is \f$ \sum_b \frac{|B_b|}{N} |\operatorname{acc}(B_b) -
/// \operatorname{conf}(B_b)| \f$ over these bins.
/// \param logits [N, C] \param labels N \param bins M > 0 \returns M bins, lowest first
/// \throws tensor::ShapeError when N differs or N = 0; tensor::ValueError when bins < 1.
/// \see \ref ch09_good_teacher
std::vector<ReliabilityBin> reliability_diagram(const Tensor& logits, const Labels& labels, int64_t bins = 15);

/// \ingroup metrics
/// \brief The temperature scaling of Guo et al. (2017): the one scalar \f$ T > 0 \f$ that minimises
/// the mean negative log-likelihood of `softmax(logits / T)` on held-out rows,
/// \f[ \hat T = \arg\min_T -\frac1N \sum_n \log \operatorname{softmax}(z_n / T)_{y_n}. \f]
///
/// The NLL is convex in \f$ \beta = 1/T \f$ (a log-sum-exp of linear functions of \f$ \beta \f$
/// minus a linear one), so a golden-section search on \f$ \beta \in [1/T_\text{max}, 1/T_\text{min}] \f$
/// finds its minimum; dividing a model's logits by \f$ \hat T \f$ changes no prediction, only
/// how sure it is. \f$ \hat T > 1 \f$: the model was over-confident.
/// \param logits [N, C] of the held-out rows (e.g. the validation split) \param labels N
/// \param min_t lowest T searched, > 0 \param max_t highest T searched, > min_t
/// \returns \f$ \hat T \f$, to within \f$ 10^{-4} \f$ relative
/// \throws tensor::ShapeError when N differs or N = 0; tensor::ValueError for a bad range.
/// \see \ref ch09_good_teacher
double fit_temperature(const Tensor& logits, const Labels& labels, double min_t = 0.05, double max_t = 20.0);

/// \ingroup metrics
/// \brief The class-similarity matrix of chapter 4: the mean softmax at temperature T over the rows
/// of each true class,
/// \f[ S_{yc} = \frac{1}{|\{n : y_n = y\}|} \sum_{n : y_n = y} \operatorname{softmax}(z_n / T)_c. \f]
/// Row y says which classes a model finds plausible for images of class y.
/// \param logits [N, C] \param labels N \param temperature T > 0 \returns C x C, rows summing to 1
/// \throws tensor::ShapeError when N differs; tensor::ValueError for T <= 0 or a class with no row.
/// \see \ref ch04_dark_knowledge, \ref ch09_good_teacher
std::vector<std::vector<double>> class_similarity(const Tensor& logits, const Labels& labels, float temperature = 1.0f);

/// \ingroup metrics
/// \brief How evenly a model spreads the probability it gives to wrong classes: the mean entropy,
/// in bits, of the wrong classes' probabilities renormalised,
/// \f[ \frac1N \sum_n -\sum_{c \ne y_n} q_{nc} \log_2 q_{nc}, \qquad
///     q_{nc} = \frac{p_{nc}}{1 - p_{n y_n}}, \; p_n = \operatorname{softmax}(z_n / T). \f]
///
/// \f$ \log_2 (C - 1) \f$ (3.17 bits for 10 classes) when every wrong class gets the same share: the
/// wrong-class mass then says nothing about which wrong answer is nearly right. The lower, the
/// more dark knowledge the ranking of wrong classes holds.
/// \param logits [N, C], C >= 2 \param labels N \param temperature T > 0
/// \throws tensor::ShapeError when N differs, N = 0 or C < 2; tensor::ValueError for T <= 0.
/// \see \ref ch09_good_teacher
double wrong_class_entropy_bits(const Tensor& logits, const Labels& labels, float temperature = 1.0f);

/// \ingroup metrics
/// \brief Fraction of rows on which two models predict the same class (top-1 agreement):
/// \f$ \frac1N \sum_n [\arg\max_c a_{nc} = \arg\max_c b_{nc}] \f$.
/// \param logits_a [N, C] \param logits_b [N, C] \throws tensor::ShapeError when the shapes differ.
/// \see \ref ch05_student
double agreement(const Tensor& logits_a, const Tensor& logits_b);

/// \ingroup metrics
/// \brief Of the rows a reference model gets wrong, the fraction on which another model predicts
/// the same wrong class: the agreement that accuracy does not reward,
/// \f[ \frac{\sum_n [\hat b_n \ne y_n]\,[\hat a_n = \hat b_n]}{\sum_n [\hat b_n \ne y_n]},
///     \qquad \hat a_n = \arg\max_c a_{nc},\ \hat b_n = \arg\max_c b_{nc} \f]
/// (0 when the reference makes no error).
/// \param logits_a [N, C] (e.g. a student) \param logits_b [N, C] the reference (e.g. the teacher)
/// \param labels N labels
/// \throws tensor::ShapeError when the shapes differ or the labels are not N; tensor::ValueError for a
/// label outside 0 .. C - 1.
/// \see \ref ch10_fidelity
double errors_copied(const Tensor& logits_a, const Tensor& logits_b, const Labels& labels);

/// \ingroup metrics
/// \brief Mean KL divergence of model q's predictions from model p's, at temperature 1:
/// \f$ \frac1N \sum_n \operatorname{KL}(\operatorname{softmax}(p_n) \| \operatorname{softmax}(q_n)) \f$ (nats).
/// \param logits_p [N, C] the reference (e.g. the teacher) \param logits_q [N, C] (e.g. a student)
/// \throws tensor::ShapeError when the shapes differ.
/// \see \ref ch05_student
double mean_kl(const Tensor& logits_p, const Tensor& logits_q);

/// \ingroup metrics
/// \brief Mean entropy, in bits, of the softmax of the logits at temperature T:
/// \f$ \frac1N \sum_n -\sum_c p_{nc} \log_2 p_{nc} \f$, \f$ p_n = \operatorname{softmax}(z_n / T) \f$.
///
/// 0 for one-hot predictions, \f$ \log_2 C \f$ for uniform ones (3.32 bits for 10 classes).
/// \param logits [N, C] \param temperature T > 0
/// \throws tensor::ShapeError when not [N, C] or N = 0; tensor::ValueError for T <= 0.
/// \see \ref ch03_temperature, \ref ch04_dark_knowledge
double mean_entropy_bits(const Tensor& logits, float temperature = 1.0f);

/// \ingroup metrics
/// \brief How sure a model is between its two best classes, for one row.
struct Margin {
  double probability;  ///< \f$ p_{(1)} - p_{(2)} \f$, top-1 minus top-2 softmax probability, in [0, 1]
  double logit_gap;    ///< \f$ z_{(1)} - z_{(2)} \ge 0 \f$: orders rows whose probability margins are equal in double (e.g. 1)
  /// \brief Ordered by probability margin, then by logit gap.
  auto operator<=>(const Margin&) const = default;
};

/// \ingroup metrics
/// \brief The margin of each row: its top-1 minus top-2 softmax probability (at T = 1),
/// computed in double as
/// \f[ m_n = \frac{1 - e^{z_{(2)} - z_{(1)}}}{\sum_c e^{z_{nc} - z_{(1)}}} \f]
/// so it is accurate for confident rows too, with the logit gap to tell apart rows
/// whose margins round to 1.
/// \param logits [N, C], C >= 2 \returns N margins
/// \throws tensor::ShapeError when not [N, C] with C >= 2.
/// \see \ref ch06_low_data, which buckets the test set by the teacher's margin.
std::vector<Margin> margins(const Tensor& logits);

/// \ingroup metrics
/// \brief The fraction of the teacher-student gap that distillation closes:
/// \f$ (a_\text{soft} - a_\text{hard}) / (a_\text{teacher} - a_\text{hard}) \f$.
///
/// 0: no better than hard labels; 1: as good as the teacher; negative: worse than hard labels.
/// \param soft accuracy of the soft-target student \param hard accuracy of the hard-label student
/// \param teacher accuracy of the teacher
/// \throws tensor::ValueError when the teacher is not better than the hard student (no gap to close).
/// \see \ref ch05_student, \ref ch06_low_data
double gap_closed(double soft, double hard, double teacher);

}  // namespace nn
