/// \file
/// \brief Optimizers (SGD with momentum and Nesterov, Adam, AdamW) and learning-rate schedules.
#pragma once

#include "autograd/variable.h"

#include <cstdint>
#include <vector>

namespace nn {

/// \defgroup optimizers optimizers: SGD, Adam, AdamW and learning-rate schedules
/// \ingroup nn
/// \brief What turns gradients into updates, each with its update rule.

using autograd::Var;
using tensor::Tensor;

/// \ingroup optimizers
/// \brief The base of every optimizer: the parameters it updates and the learning rate.
class Optimizer {
 public:
  /// \brief Updates `params` in place at learning rate `lr`.
  ///
  /// Each parameter's value must be contiguous (as every module's parameters are): the
  /// update walks it flat. Its shape must not change afterwards.
  /// \throws tensor::ValueError when lr is negative or a parameter does not require grad or is not contiguous.
  Optimizer(std::vector<Var> params, float lr);
  virtual ~Optimizer() = default;
  /// \brief One update from the current gradients; a parameter without a gradient is skipped.
  /// \throws tensor::ShapeError when a parameter's value was replaced by one of another shape.
  virtual void step() = 0;
  /// \brief Forgets every parameter's gradient.
  void zero_grad();
  /// \brief The current learning rate.
  float lr() const { return lr_; }
  /// \brief Sets the learning rate (what the schedules below compute).
  /// \throws tensor::ValueError when negative.
  void set_lr(float lr);

 protected:
  std::vector<Var> params_;  ///< in the order given
  float lr_;                 ///< the learning rate \f$ \eta \f$
};

/// \ingroup optimizers
/// \brief Stochastic gradient descent with momentum, optional Nesterov, and L2 weight decay.
///
/// With \f$ g = \nabla_\theta \mathcal{L} + \lambda \theta \f$ and velocity \f$ v \f$ (0 at the start):
/// \f[ v \leftarrow \mu v + g, \qquad \theta \leftarrow \theta - \eta\, d, \qquad
///     d = \begin{cases} g + \mu v & \text{Nesterov} \\ v & \text{otherwise} \end{cases} \f]
/// (PyTorch's formulation; \f$ \mu = 0 \f$ is plain SGD.)
/// \see \ref ch05_student
class SGD : public Optimizer {
 public:
  /// \brief \param params updated in place \param lr \f$ \eta \f$ \param momentum \f$ \mu \in [0, 1) \f$
  /// \param nesterov use the look-ahead direction \param weight_decay \f$ \lambda \ge 0 \f$
  /// \throws tensor::ValueError on an argument out of range (Nesterov needs momentum > 0).
  SGD(std::vector<Var> params, float lr, float momentum = 0.0f, bool nesterov = false, float weight_decay = 0.0f);
  void step() override;  ///< one update

 private:
  float momentum_, weight_decay_;
  bool nesterov_;
  std::vector<Tensor> velocity_;  ///< one per parameter, shape of it
};

/// \ingroup optimizers
/// \brief Adam (Kingma and Ba, 2015), with L2 weight decay added to the gradient, or
/// decoupled weight decay when `decoupled` (that is AdamW; see `AdamW`).
///
/// \f[ m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \quad
///     \theta \leftarrow \theta - \eta \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon} \f]
/// where t counts the steps that updated this parameter (one that had no gradient is not counted).
/// \see \ref ch02_teacher
class Adam : public Optimizer {
 public:
  /// \brief \param params updated in place \param lr \f$ \eta \f$ \param beta1 \f$ \beta_1 \f$ \param beta2 \f$ \beta_2 \f$
  /// \param eps \f$ \epsilon \f$ \param weight_decay \f$ \lambda \ge 0 \f$: added to g as \f$ \lambda\theta \f$
  /// (Adam), or applied as \f$ \theta \leftarrow \theta (1 - \eta\lambda) \f$ before the step (AdamW)
  /// \param decoupled true for AdamW's decoupled decay
  /// \throws tensor::ValueError on an argument out of range.
  Adam(std::vector<Var> params, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
       float weight_decay = 0.0f, bool decoupled = false);
  void step() override;  ///< one update

 private:
  float beta1_, beta2_, eps_, weight_decay_;
  bool decoupled_;
  std::vector<int64_t> t_;     ///< steps taken, one count per parameter
  std::vector<Tensor> m_, v_;  ///< first and second moments, one per parameter
};

/// \ingroup optimizers
/// \brief AdamW (Loshchilov and Hutter, 2019): Adam with decoupled weight decay,
/// \f$ \theta \leftarrow \theta(1 - \eta \lambda) \f$ then the Adam step on the plain gradient.
class AdamW : public Adam {
 public:
  /// \brief \param params updated in place \param lr \f$ \eta \f$ \param weight_decay \f$ \lambda \f$
  /// \param beta1 \f$ \beta_1 \f$ \param beta2 \f$ \beta_2 \f$ \param eps \f$ \epsilon \f$
  AdamW(std::vector<Var> params, float lr = 1e-3f, float weight_decay = 1e-2f, float beta1 = 0.9f,
        float beta2 = 0.999f, float eps = 1e-8f)
      : Adam(std::move(params), lr, beta1, beta2, eps, weight_decay, true) {}
};

/// \name Learning-rate schedules
/// Pure functions of the step (or epoch) number, so they compose:
/// `opt.set_lr(linear_warmup(cosine_lr(0.1f, step, total), step, 500))`.
///@{

/// \ingroup optimizers
/// \brief Step decay: \f$ \eta_t = \eta_0\, \gamma^{\lfloor t / s \rfloor} \f$.
/// \param base \f$ \eta_0 \f$ \param step t \param step_size s > 0 \param gamma \f$ \gamma \f$
/// \throws tensor::ValueError when step_size <= 0.
float step_lr(float base, int64_t step, int64_t step_size, float gamma);

/// \ingroup optimizers
/// \brief Cosine annealing from `base` to `min_lr` over `total` steps, then `min_lr`:
/// \f$ \eta_t = \eta_\min + \tfrac12 (\eta_0 - \eta_\min)(1 + \cos(\pi t / T)) \f$.
/// \param base \f$ \eta_0 \f$ \param step t \param total T > 0 \param min_lr \f$ \eta_\min \f$
/// \throws tensor::ValueError when total <= 0.
/// \see \ref ch02_teacher, \ref ch05_student
float cosine_lr(float base, int64_t step, int64_t total, float min_lr = 0.0f);

/// \ingroup optimizers
/// \brief Linear warm-up: scales `lr` by \f$ (t + 1) / w \f$ for the first w steps, then leaves it.
/// \param lr the rate to reach \param step t \param warmup_steps w (0: no warm-up)
float linear_warmup(float lr, int64_t step, int64_t warmup_steps);
///@}

}  // namespace nn
