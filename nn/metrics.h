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
/// \brief Fraction of rows on which two models predict the same class (top-1 agreement):
/// \f$ \frac1N \sum_n [\arg\max_c a_{nc} = \arg\max_c b_{nc}] \f$.
/// \param logits_a [N, C] \param logits_b [N, C] \throws tensor::ShapeError when the shapes differ.
/// \see \ref ch05_student
double agreement(const Tensor& logits_a, const Tensor& logits_b);

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
