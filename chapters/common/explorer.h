/// \file
/// \brief The temperature explorer's data: which test images it shows (a rule on the teacher's
/// logits), and the files chapters 3 and 5 write for it.
#pragma once

#include "chapters/common/experiment.h"
#include "chapters/common/options.h"
#include "nn/data.h"
#include "nn/module.h"
#include "tensor/tensor.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace book {

/// \ingroup chapters
/// \brief The explorer's teacher file, written by chapter 3 into its output directory.
inline constexpr const char* kExplorerTeacherFile = "explorer_teacher.json";

/// \ingroup chapters
/// \brief The explorer's students file, written by chapter 5 into its output directory.
inline constexpr const char* kExplorerStudentsFile = "explorer_students.json";

/// \ingroup chapters
/// \brief One test image the explorer shows, and why it was chosen.
struct ExplorerImage {
  int64_t test_index = 0;  ///< row of the test set (of the --quick subset in quick runs)
  std::string kind;        ///< "confident", "torn" or "mistake"
  std::string why;         ///< e.g. "the teacher's surest Trouser", for the page's image list
};

/// \ingroup chapters
/// \brief The test images of the temperature explorer, chosen from the teacher's test logits
/// at T = 1 by a fixed rule, so every chapter that has the teacher cache gets the same list.
///
/// With the teacher's margin of an image, its top logit minus its second,
/// \f[ m_n = z_{n,(1)} - z_{n,(2)}, \f]
/// the rule takes, in this order, skipping an image already taken:
/// 1. for each class c, the correctly classified test image of class c with the largest
///    margin ("confident"; none for a class the teacher never gets right);
/// 2. the test image labelled Shirt with the largest \f$ p_{\text{Shirt}}\, p_{\text{T-shirt}} \f$
///    at T = 1, and the one labelled Sandal with the largest \f$ p_{\text{Sandal}}\, p_{\text{Sneaker}} \f$
///    ("torn": the images chapter 3 shows);
/// 3. the misclassified test image with the largest margin, the teacher's most confident
///    mistake ("mistake"; none when it makes no mistake).
///
/// Ties go to the lower index: at most 13 images (10 + 2 + 1).
/// \param test_logits [N, C] the teacher's logits, C = 10 (Fashion-MNIST's classes)
/// \param labels N true classes
/// \returns the chosen images, in the order above
/// \throws tensor::ShapeError when the logits are not [labels.size(), 10].
/// \see \ref explorer
std::vector<ExplorerImage> select_explorer_images(const tensor::Tensor& test_logits, const nn::Labels& labels);

/// \ingroup chapters
/// \brief The teacher part of the explorer's data: for each image of `select_explorer_images`,
/// its test index, label, reason, 784 pixels (0-255, row by row), the teacher's logits, and
/// the logits of `student`, the student whose gradient the page draws.
/// \param classroom the data and the teacher cache
/// \param student a student (chapter 3's: one epoch on hard labels); put in evaluation mode
/// \param student_description what that student is, for the page
/// \returns {classes, teacher_config, teacher_test_accuracy, student, height, width, images: [{test_index,
///          label, kind, why, pixels, teacher_logits, student_logits}]}
/// \see \ref explorer
nlohmann::json explorer_teacher_json(const Classroom& classroom, nn::Module& student,
                                     const std::string& student_description);

/// \ingroup chapters
/// \brief Writes `explorer_teacher_json` to `kExplorerTeacherFile` in the chapter's output
/// directory, with the run's `quick` and `seed` added (compact JSON, written whole or not at all).
/// \param options the chapter's options (chapter 3's) \param classroom the data and the teacher
/// \param student a student (chapter 3's: one epoch on hard labels)
/// \param student_description what that student is, for the page
/// \throws std::runtime_error when the file cannot be written.
/// \see \ref explorer
void write_explorer_teacher(const Options& options, const Classroom& classroom, nn::Module& student,
                            const std::string& student_description);

/// \ingroup chapters
/// \brief The students part of the explorer's data: the hard and the soft student's logits for
/// each image of `select_explorer_images` (recomputed from the teacher cache, so they are the
/// images of the teacher part when both come from the same teacher).
/// \param classroom the data and the teacher cache
/// \param hard the student trained on hard labels; put in evaluation mode
/// \param soft the student trained on soft targets; put in evaluation mode
/// \param soft_targets the T and alpha the soft student was trained with
/// \param seed the seed both students were trained with
/// \returns {teacher_config, seed, soft_targets: {T, alpha}, images: [{test_index, hard_logits, soft_logits}]}
/// \see \ref explorer
nlohmann::json explorer_students_json(const Classroom& classroom, nn::Module& hard, nn::Module& soft,
                                      const Targets& soft_targets, uint64_t seed);

/// \ingroup chapters
/// \brief Writes `explorer_students_json` to `kExplorerStudentsFile` in the chapter's output
/// directory (chapter 5's), with the run's `quick` added (compact JSON, written whole or not at all).
/// \param options the chapter's options \param classroom the data and the teacher cache
/// \param hard the hard-label student \param soft the soft-target student
/// \param soft_targets the soft student's T and alpha \param seed the seed both were trained with
/// \throws std::runtime_error when the file cannot be written.
/// \see \ref explorer
void write_explorer_students(const Options& options, const Classroom& classroom, nn::Module& hard, nn::Module& soft,
                             const Targets& soft_targets, uint64_t seed);

}  // namespace book
