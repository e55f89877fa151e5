/// \file
/// \brief The book's teacher: its architecture, how ch02 trains it, and the cache later chapters load.
#pragma once

#include "chapters/common/book_data.h"
#include "chapters/common/fit.h"
#include "nn/checkpoint.h"
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
  float label_smoothing = 0.0f;  ///< \f$ \varepsilon \f$ of the cross-entropy's targets (`nn::one_hot`; 0: one-hot)
  /// \brief Epochs after which the teacher's weights and logits are kept as snapshots (the weaker
  /// teachers of chapter 9). Not stored with the configuration: they do not change the teacher.
  std::vector<int64_t> snapshot_epochs = {};
  /// \brief The configuration as JSON, as stored in the cache.
  nlohmann::json to_json() const;
};

/// \ingroup chapters
/// \brief ch02's settings: the defaults above, or the --quick variant, with the run's seed, and
/// snapshots after epochs 1, 2, 4, 8 and 16 (--quick: after epoch 1).
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
/// \brief The teacher's logits, cached for the chapters that distil from it.
struct TeacherCache {
  tensor::Tensor train_logits;  ///< [training set size, 10], every training image (the transfer set)
  tensor::Tensor test_logits;   ///< [test set size, 10]
  nlohmann::json config;        ///< the TeacherConfig it was trained with, and the data it saw
};

/// \ingroup chapters
/// \brief The teacher as it was after some of its epochs.
struct TeacherSnapshot {
  int64_t epoch = 0;         ///< after this many epochs
  nn::NamedTensors weights;  ///< its parameters and buffers then (`nn::module_tensors`)
  TeacherCache cache;        ///< its logits then; the configuration records `after_epoch`
};

/// \ingroup chapters
/// \brief A trained teacher and how it got there.
struct TrainedTeacher {
  std::shared_ptr<nn::Sequential> model;   ///< in evaluation mode
  std::vector<EpochRecord> curve;          ///< one record per epoch
  std::vector<TeacherSnapshot> snapshots;  ///< one per `TeacherConfig::snapshot_epochs`, in order
};

/// \ingroup chapters
/// \brief Trains the teacher on the training part of the split (Adam, cosine schedule, dropout,
/// the cross-entropy with the configured label smoothing, and the augmentation of
/// `teacher_augmentation`), printing a progress line per epoch, and keeps a snapshot after each of
/// `config.snapshot_epochs`. A snapshot's logits are computed between epochs in evaluation mode,
/// which draws no random number and changes no statistic: the training is the same with or without.
TrainedTeacher train_teacher(const TeacherConfig& config, const BookData& data);

/// \ingroup chapters
/// \brief Computes the logits of every training and test image.
TeacherCache compute_teacher_cache(nn::Module& teacher, const TeacherConfig& config, const BookData& data);

/// \ingroup chapters
/// \brief Where the teacher lives: `<book dir>/ch02_teacher/`.
std::string teacher_dir(const Options& options);

/// \ingroup chapters
/// \brief Writes one named teacher to `dir`: `NAME.ckpt` (parameters and buffers) and
/// `NAME_logits.ckpt` (logits), each with the configuration as metadata and a CRC-32, atomically.
void save_teacher(const std::string& dir, const std::string& name, const nn::NamedTensors& weights,
                  const TeacherCache& cache);

/// \ingroup chapters
/// \brief Writes a trained teacher to `dir`: itself as `teacher`, each snapshot as `teacher_epoch_N`.
void save_teacher(const std::string& dir, const TrainedTeacher& teacher, const TeacherCache& cache);

/// \ingroup chapters
/// \brief The cached teacher logits, or, when the cache is missing, unreadable (its CRC
/// fails) or from another configuration, a newly trained teacher (one shared function:
/// `train_teacher` with ch02's settings), saved for next time with its snapshots. Says which on stdout.
TeacherCache load_or_train_teacher(const Options& options, const BookData& data);

/// \ingroup chapters
/// \brief ch02's teacher network with the weights saved beside `cache` (what `load_or_train_teacher`
/// returned), in evaluation mode: for chapters that run it on images of their own (chapter 10's
/// augmented views).
/// \throws nn::CheckpointError when `teacher.ckpt` is missing, corrupt or not of the teacher's
/// architecture; std::runtime_error `PATH: weights of another configuration than the cached logits`.
/// \see \ref ch10_fidelity
std::shared_ptr<nn::Sequential> load_teacher_model(const Options& options, const TeacherCache& cache);

/// \ingroup chapters
/// \brief One teacher of a cache directory, by name.
struct NamedTeacher {
  std::string name;    ///< e.g. `teacher_epoch_4`
  int64_t epochs = 0;  ///< epochs it had been trained for
  TeacherCache cache;  ///< its logits and configuration
};

/// \ingroup chapters
/// \brief ch02's teacher after each of its snapshot epochs, then at the end (the last entry), from
/// the cache; when a snapshot is missing, broken or not of the cached teacher's training, the
/// teacher is trained again with ch02's settings and everything is saved, as
/// `load_or_train_teacher` does.
/// \see \ref ch09_good_teacher
std::vector<NamedTeacher> load_or_train_teacher_course(const Options& options, const BookData& data);

/// \ingroup chapters
/// \brief A teacher other than ch02's (chapter 9's), cached as `dir/NAME`: its logits when the cache
/// holds this exact configuration (seed included) for this data, otherwise trained with
/// `train_teacher` and saved. Says which on stdout.
/// \see \ref ch09_good_teacher
TeacherCache load_or_train_teacher(const std::string& dir, const std::string& name, const TeacherConfig& config,
                                   const BookData& data);

/// \ingroup chapters
/// \brief How an ensemble combines its members' predictions.
enum class Averaging {
  /// Hinton et al.'s ensemble: the members' probabilities averaged; the logits are their log,
  /// \f$ z_{nc} = \log \frac1K \sum_k \operatorname{softmax}(z^{(k)}_n)_c \f$, so softmax(z) is the average.
  probabilities,
  /// The members' logits averaged, \f$ z_{nc} = \frac1K \sum_k z^{(k)}_{nc} \f$: a normalised geometric
  /// mean of their probabilities, surer than the arithmetic one where the members disagree.
  logits,
};

/// \ingroup chapters
/// \brief Several teachers as one: the logits of every training and test image combined as
/// `averaging` says (computed in double), the members' configurations recorded under `members`.
/// \throws std::invalid_argument when there is no member or their shapes differ.
/// \see \ref ch09_good_teacher
TeacherCache average_teachers(const std::vector<TeacherCache>& members, Averaging averaging);

}  // namespace book
