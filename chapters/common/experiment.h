/// \file
/// \brief What the student chapters share: the opening (data and cached teacher), scoring a
/// student, mean +- std over seeds, paired differences, and choosing T and alpha on validation.
#pragma once

#include "chapters/common/book_data.h"
#include "chapters/common/student.h"
#include "chapters/common/teacher.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace book {

/// \ingroup chapters
/// \brief The data and the cached teacher, as every student chapter starts.
struct Classroom {
  BookData data;                  ///< Fashion-MNIST and the book's split
  TeacherCache teacher;           ///< the teacher's logits for every training and test image
  double teacher_test_accuracy;   ///< the teacher's accuracy on the test set
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
  /// \brief The scores as a JSON object.
  nlohmann::json to_json() const;
};

/// \ingroup chapters
/// \brief Scores a student on the validation and test sets (at T = 1).
/// \param model the student \param classroom data and teacher \param test_logits if given, receives the student's [10000, 10] test logits
StudentScores score_student(nn::Module& model, const Classroom& classroom, tensor::Tensor* test_logits = nullptr);

/// \ingroup chapters
/// \brief A mean and a sample standard deviation.
struct MeanStd {
  double mean = 0;  ///< \f$ \bar x \f$
  double std = 0;   ///< \f$ \sqrt{\sum (x - \bar x)^2 / (n - 1)} \f$ (0 for a single value)
};

/// \ingroup chapters
/// \brief Mean and sample standard deviation of `values`.
/// \throws std::invalid_argument when `values` is empty.
MeanStd mean_std(const std::vector<double>& values);

/// \ingroup chapters
/// \brief "0.8844 +- 0.0012" with `digits` decimals.
std::string format(const MeanStd& m, int digits = 4);

/// \ingroup chapters
/// \brief Soft minus hard, seed by seed: the comparison that cancels what the seeds share.
struct PairedDifference {
  std::vector<double> per_seed;  ///< soft - hard for each seed
  MeanStd difference;            ///< their mean and standard deviation
  /// \brief True when |mean| exceeds twice the standard deviation of the per-seed differences
  /// (and there are at least two seeds).
  bool beyond_two_std() const;
  /// \brief One sentence: "soft - hard = +0.0042 +- 0.0011 over 3 seeds: more than 2 std from 0".
  std::string describe(int digits = 4) const;
  /// \brief per_seed, mean, std and beyond_two_std as JSON.
  nlohmann::json to_json() const;
};

/// \ingroup chapters
/// \brief The paired difference soft - hard of two equally long per-seed lists.
/// \throws std::invalid_argument when the lengths differ or are 0.
PairedDifference paired_difference(const std::vector<double>& hard, const std::vector<double>& soft);

/// \ingroup chapters
/// \brief One soft configuration tried on the validation split.
struct Candidate {
  Targets targets;             ///< T and alpha
  double validation_accuracy;  ///< of the student trained with them
};

/// \ingroup chapters
/// \brief The candidate with the highest validation accuracy (the first of equals).
/// \throws std::invalid_argument when there is none.
const Candidate& best_on_validation(const std::vector<Candidate>& candidates);

}  // namespace book
