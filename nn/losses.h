/// \file
/// \brief Losses: cross-entropy, soft-target cross-entropy, KL divergence, the distillation loss,
/// and the squared errors of logit matching.
///
/// Logits are [N, C]: N examples, C classes. Labels are N class indices in 0..C-1.
/// Every loss is averaged over the batch (PyTorch's "mean", or "batchmean" for KL),
/// so its size does not depend on the batch size.
#pragma once

#include "autograd/variable.h"

#include <cstdint>
#include <vector>

namespace nn {

/// \defgroup losses losses: cross-entropy, KL and distillation
/// \ingroup nn
/// \brief The objectives of the book, each with its formula and gradient.

using autograd::Var;
using tensor::Shape;
using tensor::Tensor;

/// \ingroup losses
/// \brief Class indices, one per example: the hard labels.
using Labels = std::vector<int64_t>;

/// \ingroup losses
/// \brief One-hot targets, optionally smoothed: \f$ q_{nc} = (1 - \varepsilon)[c = y_n] + \varepsilon / C \f$.
/// \param labels N indices in 0..C-1 \param classes C \param smoothing \f$ \varepsilon \in [0, 1) \f$
/// \returns [N, C] rows summing to 1
/// \throws tensor::ValueError `one_hot: label 11 outside 0..9 (example 3)`, classes < 1, or a bad smoothing.
/// \see \ref ch04_dark_knowledge
Tensor one_hot(const Labels& labels, int64_t classes, float smoothing = 0.0f);

/// \ingroup losses
/// \brief Cross-entropy between soft targets q and the softmax of the logits at temperature T.
///
/// \f[ \mathcal{L} = -\frac{1}{N} \sum_n \sum_c q_{nc} \log p_{nc}, \qquad p_n = \operatorname{softmax}(z_n / T) \f]
/// \f[ \frac{\partial \mathcal{L}}{\partial z_{nc}} = \frac{p_{nc} - q_{nc}}{N\,T} \f]
/// Built on the fused, stable `autograd::log_softmax`. The targets carry no gradient, and a
/// class with \f$ q = 0 \f$ contributes 0 even where \f$ \log p = -\infty \f$ (`autograd::masked_mul`).
/// \param logits [N, C] \param target_probs [N, C], each row a distribution
/// \param temperature T > 0
/// \returns [] the batch mean
/// \throws tensor::ShapeError `soft_cross_entropy: logits [4, 10] and targets [4, 9] differ`;
///         tensor::ValueError for T <= 0.
/// \see \ref ch04_dark_knowledge, where this gradient is printed class by class.
Var soft_cross_entropy(const Var& logits, const Tensor& target_probs, float temperature = 1.0f);

/// \ingroup losses
/// \brief Cross-entropy with hard labels (optionally label-smoothed), fused with a stable log-softmax.
///
/// \f[ \mathcal{L} = -\frac{1}{N} \sum_n \log \operatorname{softmax}(z_n)_{y_n} \f]
/// with smoothing \f$ \varepsilon \f$ the target is `one_hot(labels, C, ε)` instead of one-hot.
/// Gradient: \f$ (p_{nc} - [c = y_n]) / N \f$: every wrong class is pushed down in proportion
/// to the model's own belief in it.
/// \param logits [N, C] \param labels N indices in 0..C-1 \param smoothing \f$ \varepsilon \in [0, 1) \f$
/// \returns [] the batch mean
/// \throws tensor::ShapeError when N differs; tensor::ValueError `cross_entropy: label 11 outside 0..9 (example 2)`.
/// \see \ref ch02_teacher
Var cross_entropy(const Var& logits, const Labels& labels, float smoothing = 0.0f);

/// \ingroup losses
/// \brief KL divergence with "batchmean" reduction, PyTorch's argument order.
///
/// \f[ \operatorname{KL}(p \,\|\, q) = \frac{1}{N} \sum_n \sum_c p_{nc} \left( \log p_{nc} - \log q_{nc} \right) \f]
///
/// **Which argument is which:** `log_q` holds **log-probabilities** of the model being
/// trained (e.g. `log_softmax(student / T)`), `p` holds **probabilities** of the target
/// (e.g. `softmax(teacher / T)`). The divergence is of the target from the model,
/// \f$ \operatorname{KL}(p \| q) \f$; terms with \f$ p = 0 \f$ count as 0. The target carries no gradient:
/// \f$ \partial \mathcal{L} / \partial \log q_{nc} = -p_{nc} / N \f$.
/// \param log_q [N, C] log-probabilities \param p [N, C] probabilities
/// \returns [] \f$ \ge 0 \f$, and 0 exactly when the distributions agree
/// \throws tensor::ShapeError `kl_div: log_q [4, 10] and p [4, 9] differ`.
/// \see \ref ch03_temperature
Var kl_div(const Var& log_q, const Tensor& p);

/// \ingroup losses
/// \brief The soft-target term of distillation, without its \f$ T^2 \f$ factor: the divergence of
/// the student's softened distribution from the teacher's,
/// \f[ \operatorname{KL}\!\left(\operatorname{softmax}(t / T) \,\|\, \operatorname{softmax}(s / T)\right) \f]
/// (`kl_div` of `log_softmax(s / T)` and `softmax(t / T)`; batch mean). No gradient flows to the teacher.
/// \param student_logits [N, C] \param teacher_logits [N, C] \param temperature T > 0
/// \returns [] \f$ \ge 0 \f$
/// \throws tensor::ShapeError `soft_target_kl: student [4, 10] and teacher [4, 9] differ`;
///         tensor::ValueError for T <= 0.
/// \see distillation_loss, which weights it by \f$ \alpha T^2 \f$; \ref ch08_temperature_capacity, which takes the factor away
Var soft_target_kl(const Var& student_logits, const Tensor& teacher_logits, float temperature);

/// \ingroup losses
/// \brief Hinton et al.'s distillation loss: soft targets at temperature T plus the hard labels.
///
/// \f[ \mathcal{L} = \alpha\, T^2\, \operatorname{KL}\!\left(\operatorname{softmax}(t / T) \,\|\,
///     \operatorname{softmax}(s / T)\right) + (1 - \alpha)\, \operatorname{CE}(s, y) \f]
///
/// **Convention:** `alpha` weights the soft term; `alpha = 1` is pure distillation and needs
/// no labels (pass an empty vector). <b>Why \f$T^2\f$:</b> the soft term's gradient on the
/// student logits is \f$ (p^T - q^T) / (N T) \f$ and \f$ p^T - q^T \f$ itself shrinks like
/// \f$ 1/T \f$ as the softmax flattens, so without the factor the soft gradient would fall
/// like \f$ 1/T^2 \f$; multiplying by \f$ T^2 \f$ keeps the two terms' balance when T changes.
/// The teacher logits are a plain tensor: no gradient flows to the teacher.
/// \param student_logits [N, C] \param teacher_logits [N, C] \param labels N indices, or empty when alpha = 1
/// \param temperature T > 0 \param alpha in [0, 1]
/// \returns [] the batch mean
/// \throws tensor::ShapeError when the logits' shapes differ or labels are missing;
///         tensor::ValueError for T <= 0 or alpha outside [0, 1].
/// \see \ref ch05_student, \ref ch06_low_data, \ref ch07_unseen_class, \ref ch08_temperature_capacity
Var distillation_loss(const Var& student_logits, const Tensor& teacher_logits, const Labels& labels,
                      float temperature, float alpha);

/// \ingroup losses
/// \brief Mean squared error over every element, PyTorch's "mean" reduction.
///
/// \f[ \mathcal{L} = \frac{1}{N C} \sum_n \sum_c (x_{nc} - y_{nc})^2, \qquad
///     \frac{\partial \mathcal{L}}{\partial x_{nc}} = \frac{2 (x_{nc} - y_{nc})}{N C} \f]
/// The target carries no gradient.
/// \param prediction [N, C] \param target [N, C]
/// \returns [] the mean
/// \throws tensor::ShapeError `mse_loss: prediction [4, 10] and target [4, 9] differ`.
/// \see logit_matching_loss, which is built on it
Var mse_loss(const Var& prediction, const Tensor& target);

/// \ingroup losses
/// \brief Logit matching (Ba & Caruana 2014): half the squared error between the student's and
/// the teacher's logits, each centred on its own mean over the classes.
///
/// \f[ \mathcal{L} = \frac{1}{N} \sum_n \frac{1}{2C} \sum_c \left( (s_{nc} - \bar s_n) -
///     (t_{nc} - \bar t_n) \right)^2 = \tfrac12 \operatorname{mse}(s - \bar s, t - \bar t) \f]
///
/// This is the soft term of `distillation_loss` in the limit of high temperature (Hinton et al.
/// 2015, section 2.1): expanding \f$ e^{z/T} \approx 1 + z/T \f$, the gradient of
/// \f$ T^2 \operatorname{KL} \f$ on the student logit \f$ s_c \f$ tends to
/// \f[ T \left( q_c(T) - p_c(T) \right) \to \frac{1}{C} \left( (s_c - \bar s) - (t_c - \bar t) \right), \f]
/// which is this loss's gradient. Centring matters: a softmax ignores a constant added to every
/// logit, and so does this loss.
/// \param student_logits [N, C] \param teacher_logits [N, C] (no gradient)
/// \returns [] the batch mean, \f$ \ge 0 \f$
/// \throws tensor::ShapeError `logit_matching_loss: student [4, 10] and teacher [4, 9] differ`.
/// \see \ref ch03_temperature, which shows the gradient side of this limit numerically, and
/// \ref ch08_temperature_capacity, which trains students with it
Var logit_matching_loss(const Var& student_logits, const Tensor& teacher_logits);

}  // namespace nn
