/// \file
/// \brief What the student chapters share: the opening (data and cached teacher), scoring a
/// student, mean +- std over seeds, paired differences, and choosing T and alpha on validation.
#pragma once

#include "chapters/common/book_data.h"
#include "chapters/common/student.h"
#include "chapters/common/teacher.h"
#include "chapters/common/verdict.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace book {

/// \ingroup chapters
/// \brief The data and the cached teacher, as every student chapter starts.
struct Classroom {
  BookData data;                  ///< Fashion-MNIST and the book's split
  TeacherCache teacher;           ///< the teacher's logits for every training and test image
  double teacher_test_accuracy = 0;  ///< the teacher's accuracy on the test set
};

/// \ingroup chapters
/// \brief Loads the data and the teacher (training it first if the cache is missing or
/// broken) and prints one line about each.
Classroom open_classroom(const Options& options);

/// \ingroup chapters
/// \brief What the book measures of a trained student.
struct StudentScores {
  double validation_accuracy = 0;  ///< on the validation split (what choices are made on)
  double test_accuracy = 0;        ///< on the 10,000 test images
  int64_t test_errors = 0;         ///< test images misclassified
  double test_nll = 0;             ///< mean negative log-likelihood of the test labels, nats
  double test_ece = 0;             ///< expected calibration error on the test set (15 bins)
  double agreement = 0;            ///< fraction of test images where student and teacher agree (top-1)
  double kl_to_teacher = 0;        ///< mean KL(teacher || student) over the test set at T = 1, nats
  double validation_agreement = 0; ///< top-1 agreement with the teacher on the validation split (what fidelity is chosen on)
  double validation_kl = 0;        ///< mean KL(teacher || student) on the validation split, nats
  double errors_copied = 0;        ///< of the teacher's wrong test answers, the share the student gives too (`nn::errors_copied`)
  /// \brief The scores as a JSON object.
  nlohmann::json to_json() const;
};

/// \ingroup chapters
/// \brief Scores a student on the validation and test sets (at T = 1), against the labels and
/// against the book's teacher. Its reductions run on the calling thread's kernels: in a lab
/// worker, on one thread, so the scores do not depend on the core count.
/// \param model the student \param classroom data and teacher
/// \param test_logits if given, receives the student's [N_test, 10] test logits
/// \param validation_logits if given, receives its [N_validation, 10] validation logits
/// \returns the scores
/// \see \ref ch05_student for what each score says.
StudentScores score_student(nn::Module& model, const Classroom& classroom, tensor::Tensor* test_logits = nullptr,
                            tensor::Tensor* validation_logits = nullptr);

/// \ingroup chapters
/// \brief A mean and a sample standard deviation.
struct MeanStd {
  double mean = 0;  ///< \f$ \bar x \f$
  double std = 0;   ///< \f$ \sqrt{\sum (x - \bar x)^2 / (n - 1)} \f$ (0 for a single value)
  /// \brief "0.8844 +- 0.0012" with `digits` decimals.
  std::string to_string(int digits = 4) const;
};

/// \ingroup chapters
/// \brief Mean and sample standard deviation of `values`.
/// \throws std::invalid_argument when `values` is empty.
MeanStd mean_std(const std::vector<double>& values);

/// \ingroup chapters
/// \brief The most seeds `PairedDifference::seeds_to_decide` looks for.
inline constexpr int64_t kMaxSeedsToDecide = 100000;

/// \ingroup chapters
/// \brief Soft minus hard, seed by seed: the comparison that cancels what the seeds share.
///
/// With \f$ n \f$ per-seed differences \f$ d_i \f$ of mean \f$ \bar d \f$ and sample standard
/// deviation \f$ s \f$, the 95% confidence interval for the mean difference is
/// \f[ \bar d \pm t_{0.975,\,n-1}\, s / \sqrt n \f]
/// (Student's t: the seeds are few, so the normal 1.96 would be too narrow), and the effect
/// size is \f$ \bar d / s \f$: above 2, soft beats hard on essentially every seed.
struct PairedDifference {
  std::vector<double> per_seed;  ///< soft - hard for each seed
  MeanStd difference;            ///< their mean and standard deviation
  /// \brief True when |mean| exceeds twice the standard deviation of the per-seed differences
  /// (and there are at least two seeds).
  bool beyond_two_std() const;
  /// \brief The mean over the standard deviation (infinite when every seed agrees exactly,
  /// 0 with a single seed).
  double effect_size() const;
  /// \brief The 95% Student's t confidence interval of the mean difference.
  /// \throws std::invalid_argument with fewer than two seeds.
  Interval confidence_interval() const;
  /// \brief True when the mean is positive and its 95% interval excludes 0 (`outcome` is
  /// `Outcome::holds` for any smallest effect of interest).
  bool soft_wins() const;
  /// \brief The four-outcome verdict on "the difference is positive" (`outcome_of` of the 95%
  /// interval): cannot tell with fewer than two seeds or a NaN (a diverged student) among them.
  /// \param delta the smallest effect of interest
  Outcome outcome(double delta) const;
  /// \brief The seeds that would make the 95% interval at most `delta` wide at the spread
  /// measured: the smallest \f$ n \f$ with \f$ 2\, t_{0.975,\,n-1}\, s / \sqrt n \le \delta \f$. An
  /// interval that narrow decides wherever its centre falls: it lies on one side of 0, or inside
  /// \f$ [-\delta, \delta] \f$. 0 when there is no spread to go by; -1 when even
  /// `kMaxSeedsToDecide` seeds would not do.
  int64_t seeds_to_decide(double delta) const;
  /// \brief How many per-seed values are NaN (diverged students).
  int64_t diverged() const;
  /// \brief "+0.0042 +- 0.0011", for a table cell.
  std::string to_string(int digits = 4) const;
  /// \brief One sentence: "soft - hard = +0.0042 +- 0.0011 over 8 seeds, 95% CI [+0.0033, +0.0051],
  /// effect size 3.8 (beyond 2 std)", `what` naming the difference.
  std::string describe(int digits = 4, const std::string& what = "soft - hard") const;
  /// \brief per_seed, mean, std, ci95, effect_size and beyond_two_std as JSON.
  nlohmann::json to_json() const;
};

/// \ingroup chapters
/// \brief The paired difference soft - hard of two equally long per-seed lists.
/// \throws std::invalid_argument when the lengths differ or are 0.
PairedDifference paired_difference(const std::vector<double>& hard, const std::vector<double>& soft);

/// \ingroup chapters
/// \brief The smallest effect of interest of the book's accuracy criteria: 0.2 points of accuracy,
/// 20 of the 10,000 test images. Below it a gain is smaller than the test set's own resolution
/// (the binomial standard error of one student's accuracy near 0.85 is 0.36 points) and than
/// the spread between two seeds of the same student (0.2 to 0.4 points): nothing a reader would
/// choose targets by.
inline constexpr double kSmallestAccuracyEffect = 0.002;

/// \ingroup chapters
/// \brief The criterion sentence of a paired claim: "the 95% Student's t confidence interval of
/// the paired {what}: above 0, holds; below 0, opposite; inside +-{delta}, no effect (the
/// smallest effect of interest, {why}); otherwise cannot tell".
std::string paired_criterion(const std::string& what, double delta, const std::string& why);

/// \ingroup chapters
/// \brief The evidence sentence of a paired claim: `describe`, the per-seed values, and when the
/// outcome cannot tell, how many seeds would decide (or how many students diverged).
std::string paired_evidence(const PairedDifference& difference, double delta, const std::string& what = "soft - hard");

/// \ingroup chapters
/// \brief The verdict on "soft targets beat hard labels" from a paired difference, with the
/// book's smallest accuracy effect (`kSmallestAccuracyEffect`): four outcomes
/// (`PairedDifference::outcome`); the evidence gives the per-seed differences, the interval and
/// the effect size, and how many seeds would decide when the run cannot tell.
/// \param claim the claim in one sentence \param what what was compared, e.g. "test accuracy"
/// \param difference soft - hard per seed
Verdict soft_beats_hard(const std::string& claim, const std::string& what, const PairedDifference& difference);

/// \ingroup chapters
/// \brief One soft configuration tried on the validation split.
struct Candidate {
  Targets targets;                 ///< T and alpha
  double validation_accuracy = 0;  ///< of the students trained with them, averaged over the tuning seeds
  std::vector<double> per_seed = {};  ///< each tuning seed's student's validation accuracy
};

/// \ingroup chapters
/// \brief The candidates as a JSON array of {T, alpha, validation_accuracy}, for results files.
nlohmann::json to_json(const std::vector<Candidate>& candidates);

/// \ingroup chapters
/// \brief True when `candidate` beats the best so far, `best`, in a search for the highest value:
/// a NaN (diverged students) never beats anything, and anything beats a NaN.
inline bool beats(double candidate, double best) { return !std::isnan(candidate) && (std::isnan(best) || candidate > best); }

/// \ingroup chapters
/// \brief The candidate with the highest validation accuracy (the first of equals; a NaN, from
/// diverged students, is never the best unless all are).
/// \throws std::invalid_argument when there is none.
const Candidate& best_on_validation(const std::vector<Candidate>& candidates);

/// \ingroup chapters
/// \brief Every soft setting of a grid: for each alpha, each T.
std::vector<Targets> soft_grid(const std::vector<float>& temperatures, const std::vector<float>& alphas);

/// \ingroup chapters
/// \brief `n` seeds from `first`: first, first + 1, ..., first + n - 1.
std::vector<uint64_t> seed_range(uint64_t first, int n);

}  // namespace book
