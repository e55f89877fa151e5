/// \file
/// \brief The book's teacher: its architecture, how ch02 trains it, and the cache later chapters load.
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
/// \brief Everything that decides which teacher comes out of training (stored with the cache).
struct TeacherConfig {
  int64_t conv1 = 32;          ///< channels of the first 3x3 convolution
  int64_t conv2 = 64;          ///< channels of the second
  int64_t hidden = 256;        ///< units of the fully connected layer
  float dropout_conv = 0.0f;   ///< dropout on the flattened convolution features (0: none)
  float dropout_hidden = 0.3f; ///< dropout on the hidden units
  int64_t epochs = 24;         ///< passes over the training part
  int64_t batch = 128;         ///< images per step
  float lr = 3e-3f;            ///< Adam's peak learning rate, cosine-annealed to 0
  bool batch_norm = true;      ///< BatchNorm2d after each convolution (before its pooling and ReLU)
  bool horizontal_flip = true; ///< augmentation: mirror half the training images, drawn anew each batch
  int64_t max_shift = 0;       ///< augmentation: random shifts of up to this many pixels (0: none)
  uint64_t seed = 1;           ///< initialisation, data order, dropout and shifts
  bool quick = false;          ///< the --quick variant (a smaller network, two epochs on tiny data)
  /// \brief The configuration as JSON, as stored in the cache.
  nlohmann::json to_json() const;
};

/// \ingroup chapters
/// \brief ch02's settings: the defaults above, or the --quick variant, with the run's seed.
TeacherConfig teacher_config(const Options& options);

/// \ingroup chapters
/// \brief The teacher network: conv 3x3 - [BatchNorm] - max-pool 2 - ReLU - conv 3x3 - [BatchNorm] -
/// max-pool 2 - ReLU - [dropout, if dropout_conv > 0] - linear - ReLU - dropout - linear, on
/// [N, 1, 28, 28] images, 10 logits out.
///
/// Each block pools before its ReLU: the ReLU is monotone, so
/// \f$ \max_{\text{window}} \operatorname{relu}(x) = \operatorname{relu}(\max_{\text{window}} x) \f$ and the
/// network is the usual conv - ReLU - pool one, value for value and gradient for gradient
/// (a test checks both), with the ReLU on a quarter of the values.
std::shared_ptr<nn::Sequential> make_teacher(const TeacherConfig& config, tensor::Generator& gen);

/// \ingroup chapters
/// \brief The teacher's augmentation of its training batches (flips and shifts, as configured).
nn::Augmentation::Config teacher_augmentation(const TeacherConfig& config, const nn::Normalization& norm);

/// \ingroup chapters
/// \brief A trained teacher and how it got there.
struct TrainedTeacher {
  std::shared_ptr<nn::Sequential> model;  ///< in evaluation mode
  std::vector<EpochRecord> curve;         ///< one record per epoch
};

/// \ingroup chapters
/// \brief Trains the teacher on the training part of the split (Adam, cosine schedule,
/// dropout, and the augmentation of `teacher_augmentation`), printing a progress line per epoch.
TrainedTeacher train_teacher(const TeacherConfig& config, const BookData& data);

/// \ingroup chapters
/// \brief The teacher's logits, cached for the chapters that distil from it.
struct TeacherCache {
  tensor::Tensor train_logits;  ///< [training set size, 10], every training image (the transfer set)
  tensor::Tensor test_logits;   ///< [test set size, 10]
  nlohmann::json config;        ///< the TeacherConfig it was trained with, and the data it saw
};

/// \ingroup chapters
/// \brief Computes the logits of every training and test image.
TeacherCache compute_teacher_cache(nn::Module& teacher, const TeacherConfig& config, const BookData& data);

/// \ingroup chapters
/// \brief Where the teacher lives: `<book dir>/ch02_teacher/`.
std::string teacher_dir(const Options& options);

/// \ingroup chapters
/// \brief Writes `teacher.ckpt` (parameters) and `teacher_logits.ckpt` (logits) to `dir`,
/// each with the configuration as metadata, atomically.
void save_teacher(const std::string& dir, const nn::Module& teacher, const TeacherCache& cache);

/// \ingroup chapters
/// \brief The cached teacher logits, or, when the cache is missing, unreadable (its CRC
/// fails) or from another configuration, a newly trained teacher (one shared function:
/// `train_teacher` with ch02's settings), saved for next time. Says which on stdout.
TeacherCache load_or_train_teacher(const Options& options, const BookData& data);

}  // namespace book
