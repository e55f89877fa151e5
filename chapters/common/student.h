/// \file
/// \brief The students: MLPs, and the one training run that gives them hard labels or soft targets.
#pragma once

#include "chapters/common/book_data.h"
#include "chapters/common/fit.h"
#include "nn/layers.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace book {

/// \ingroup chapters
/// \brief An MLP on flattened images: Flatten - Linear - ReLU - ... - Linear, with the given widths
/// (e.g. {784, 100, 10}).
std::shared_ptr<nn::Sequential> make_mlp(const std::vector<int64_t>& widths, tensor::Generator& gen);

/// \ingroup chapters
/// \brief Everything about a student's training except its targets: hard and soft students
/// of one comparison share all of it.
struct StudentConfig {
  std::vector<int64_t> widths = {784, 100, 10};  ///< the MLP's layer widths
  int64_t epochs = 10;                           ///< passes over the transfer set
  int64_t batch = 128;                           ///< images per step
  float lr = 0.05f;                              ///< SGD's peak rate (momentum 0.9), cosine-annealed to 0
  uint64_t seed = 1;                             ///< initialisation and data order
  /// \brief The configuration as JSON, for results files.
  nlohmann::json to_json() const;
};

/// \ingroup chapters
/// \brief What a student learns from: the labels (alpha = 0), or the teacher's soft targets at
/// temperature T mixed with the labels by `nn::distillation_loss` (alpha = 1: soft targets only).
struct Targets {
  float temperature = 1.0f;  ///< T of the soft term
  float alpha = 0.0f;        ///< weight of the soft term, in [0, 1]
  /// \brief Hard labels only.
  static Targets hard() { return {}; }
  /// \brief Soft targets at temperature `t`, weighted `alpha`.
  static Targets soft(float t, float alpha) { return {t, alpha}; }
  /// \brief True when the teacher takes part.
  bool uses_teacher() const { return alpha > 0.0f; }
  /// \brief "hard" or "soft T=4 alpha=0.5".
  std::string describe() const;
};

/// \ingroup chapters
/// \brief A trained student and its learning curve.
struct TrainedStudent {
  std::shared_ptr<nn::Sequential> model;  ///< in evaluation mode, after the last epoch
  std::vector<EpochRecord> curve;         ///< one record per validated epoch (see train_student)
  /// \brief The weights of the validated epoch with the highest validation accuracy (the first of
  /// equals): early stopping chosen on validation. The same object as `model` when that is the last.
  std::shared_ptr<nn::Sequential> best_model;
  int64_t best_epoch = 0;  ///< the epoch `best_model` comes from (1-based)
};

/// \ingroup chapters
/// \brief Trains a student on the transfer set `transfer` (indices into the training set):
/// SGD with momentum 0.9 and a cosine schedule, batches in an order fixed by the seed.
/// Validation accuracy is measured after about 20 evenly spaced epochs (every epoch up to 20),
/// and the weights of the best of them are kept as `best_model`.
///
/// The same config gives the same initial weights and the same batches whatever the
/// targets, so a hard and a soft student differ only in what they learn from.
/// \param config architecture and schedule \param targets labels or soft targets
/// \param data the book's data \param transfer the training images to learn from
/// \param teacher_train_logits [training set size, 10], the teacher's logits for every
///        training image (used only when targets.uses_teacher())
/// \param progress print a line per epoch
/// \throws tensor::ShapeError when the teacher logits do not cover the training set.
TrainedStudent train_student(const StudentConfig& config, const Targets& targets, const BookData& data,
                             const std::vector<int64_t>& transfer, const tensor::Tensor& teacher_train_logits,
                             bool progress = false);

}  // namespace book
