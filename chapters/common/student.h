/// \file
/// \brief The students: MLPs, and the one training run that gives them hard labels or soft targets.
#pragma once

#include "chapters/common/book_data.h"
#include "chapters/common/fit.h"
#include "chapters/common/views.h"
#include "nn/layers.h"
#include "nn/losses.h"

#include <nlohmann/json.hpp>

#include <compare>
#include <functional>
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
  /// \brief 0: the images as they are. K > 0: in epoch e the student sees every image in its view
  /// e mod K, `views_of(*this)` (chapter 10's augmented students).
  int64_t views = 0;
  nn::Augmentation::Config augmentation = {};  ///< what a view does to an image (used when views > 0)
  /// \brief The configuration as JSON, for results files (the views only when there are some).
  nlohmann::json to_json() const;
  /// \brief The student and its training in one phrase, for a chapter's opening: "784-100-10, 79510
  /// parameters, learns from 10% of the 55000 training images (stratified, drawn anew for each seed),
  /// 24 epochs, SGD with momentum 0.9, peak learning rate 0.05, cosine schedule".
  /// \param fraction of the training images each student learns from \param training_images how many there are
  std::string describe(double fraction, int64_t training_images) const;
  /// \brief Configurations compare member by member, exactly (a lab's `StudentKey` holds one).
  auto operator<=>(const StudentConfig&) const = default;
};

/// \ingroup chapters
/// \brief The views a student of this configuration sees: `FixedViews(config.augmentation,
/// config.views, config.seed)`; compute a teacher's logits on them with `teacher_view_logits`.
/// \throws tensor::ValueError when config.views < 1.
FixedViews views_of(const StudentConfig& config);

/// \ingroup chapters
/// \brief How the soft term compares a student's logits \f$ s \f$ with the teacher's \f$ t \f$.
enum class SoftTerm {
  /// \f$ T^2 \operatorname{KL}(\operatorname{softmax}(t/T) \,\|\, \operatorname{softmax}(s/T)) \f$: Hinton et
  /// al.'s, as `nn::distillation_loss` computes it.
  kl,
  /// \f$ \operatorname{KL}(\operatorname{softmax}(t/T) \,\|\, \operatorname{softmax}(s/T)) \f$: the same
  /// without the \f$ T^2 \f$ factor (chapter 8's ablation).
  kl_without_t_squared,
  /// `nn::logit_matching_loss`: half the squared error between the centred logits, the first
  /// one's limit as \f$ T \to \infty \f$; T is not used.
  logit_matching,
};

/// \ingroup chapters
/// \brief What a student learns from: the labels (alpha = 0), or the teacher's soft targets
/// mixed with the labels,
/// \f[ \mathcal{L} = \alpha\, \mathcal{L}_\text{soft}(s, t) + (1 - \alpha)\, \operatorname{CE}(s, y), \f]
/// the soft term \f$ \mathcal{L}_\text{soft} \f$ being one of `SoftTerm` (alpha = 1: soft targets only).
struct Targets {
  float temperature = 1.0f;         ///< T of the soft term
  float alpha = 0.0f;               ///< weight of the soft term, in [0, 1]
  SoftTerm term = SoftTerm::kl;     ///< how the soft term compares student and teacher
  /// \brief Hard labels only.
  static Targets hard() { return {}; }
  /// \brief Soft targets at temperature `t`, weighted `alpha`: `nn::distillation_loss`.
  static Targets soft(float t, float alpha) { return {t, alpha, SoftTerm::kl}; }
  /// \brief Soft targets at temperature `t`, weighted `alpha`, without the \f$ T^2 \f$ factor.
  static Targets soft_without_t_squared(float t, float alpha) { return {t, alpha, SoftTerm::kl_without_t_squared}; }
  /// \brief The teacher's logits matched with a squared error, weighted `alpha`.
  static Targets logit_matching(float alpha) { return {1.0f, alpha, SoftTerm::logit_matching}; }
  /// \brief True when the teacher takes part.
  bool uses_teacher() const { return alpha > 0.0f; }
  /// \brief "hard", "soft T=4 alpha=0.5", "soft T=8 alpha=0.5 without T^2" or "logits alpha=0.5".
  std::string describe() const;
  /// \brief Targets compare member by member, exactly.
  auto operator<=>(const Targets&) const = default;
};

/// \ingroup chapters
/// \brief The two terms of a student's loss apart, each with its weight:
/// \f$ \alpha \mathcal{L}_\text{soft} \f$ and \f$ (1 - \alpha) \operatorname{CE} \f$ (see `Targets`).
struct LossTerms {
  autograd::Var soft;  ///< [] the weighted soft term; undefined when alpha = 0
  autograd::Var hard;  ///< [] the weighted label term; undefined when alpha = 1
};

/// \ingroup chapters
/// \brief The two terms of `student_loss`, apart (to see how much of the gradient each gives).
/// \param targets what is learnt from \param logits [N, C] the student's
/// \param teacher_logits [N, C] the teacher's for the same images (unused for hard labels)
/// \param labels N labels (unused when alpha = 1)
/// \returns the weighted soft and label terms, each [] (a batch mean) or undefined
/// \throws tensor::ValueError `loss_terms: alpha must be in [0, 1], got 1.5` (or T <= 0);
///         tensor::ShapeError from the losses when the shapes differ.
/// \see \ref ch08_temperature_capacity
LossTerms loss_terms(const Targets& targets, const autograd::Var& logits, const tensor::Tensor& teacher_logits,
                     const nn::Labels& labels);

/// \ingroup chapters
/// \brief A student's loss on a batch: `nn::cross_entropy` for hard labels, `nn::distillation_loss`
/// for `SoftTerm::kl`, and the sum of `loss_terms` otherwise.
/// \param targets what is learnt from \param logits [N, C] \param teacher_logits [N, C]
/// \param labels N labels \returns [] the batch mean
/// \throws tensor::ValueError for alpha outside [0, 1] or T <= 0; tensor::ShapeError when shapes differ.
/// \see \ref ch05_student, \ref ch08_temperature_capacity
autograd::Var student_loss(const Targets& targets, const autograd::Var& logits, const tensor::Tensor& teacher_logits,
                           const nn::Labels& labels);

/// \ingroup chapters
/// \brief The soft term's share of the loss's gradient on the logits,
/// \f[ \frac{\|\nabla_z\, \alpha \mathcal{L}_\text{soft}\|}{\|\nabla_z\, \alpha \mathcal{L}_\text{soft}\| +
///     \|\nabla_z (1 - \alpha) \operatorname{CE}\|} \in [0, 1] \f]
/// (Frobenius norms over the batch). Every parameter's gradient is the back-propagation of the
/// sum of the two, so this says which term steers the student.
/// \param targets what is learnt from \param logits [N, C] the student's
/// \param teacher_logits [N, C] \param labels N labels
/// \returns 0 for hard labels, 1 for alpha = 1
/// \see \ref ch08_temperature_capacity
double soft_gradient_share(const Targets& targets, const tensor::Tensor& logits, const tensor::Tensor& teacher_logits,
                           const nn::Labels& labels);

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
/// \brief Watches a student's training: called with a validated epoch's record and the model as
/// that epoch left it (in evaluation mode).
using EpochObserver = std::function<void(const EpochRecord& record, nn::Module& model)>;

/// \ingroup chapters
/// \brief Trains a student on the transfer set `transfer` (indices into the training set):
/// SGD with momentum 0.9 and a cosine schedule, batches in an order fixed by the seed.
/// Validation accuracy is measured after about 20 evenly spaced epochs (every epoch up to 20),
/// and the weights of the best of them are kept as `best_model`.
///
/// The same config gives the same initial weights and the same batches whatever the
/// targets, so a hard and a soft student differ only in what they learn from. With
/// `config.views` = K > 0 every batch of epoch e is made of view e mod K of its images
/// (the views draw from their own generators: the weights and batches are still the same).
/// \param config architecture and schedule \param targets labels or soft targets
/// \param data the book's data \param transfer the training images to learn from
/// \param teacher_train_logits [training set size, 10], the teacher's logits for every
///        training image, whatever view the student sees; or, with K views, [K, training set
///        size, 10], the teacher's logits on each view (`teacher_view_logits`): consistent teaching.
///        Used only when targets.uses_teacher().
/// \param progress print a line per epoch
/// \param observe if given, called after each validated epoch with its record and the model
/// \throws tensor::ShapeError when the teacher logits do not cover the training set (or its K views);
/// Diverged when the loss stops being finite (the lab records such a student).
TrainedStudent train_student(const StudentConfig& config, const Targets& targets, const BookData& data,
                             const std::vector<int64_t>& transfer, const tensor::Tensor& teacher_train_logits,
                             bool progress = false, const EpochObserver& observe = {});

}  // namespace book
