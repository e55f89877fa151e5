#include "nn/optim.h"

#include "tensor/errors.h"
#include "tensor/parallel.h"

#include <cmath>
#include <numbers>
#include <string>

namespace nn {

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw tensor::ValueError(message);
}

}  // namespace

Optimizer::Optimizer(std::vector<Var> params, float lr) : params_(std::move(params)), lr_(lr) {
  require(lr >= 0.0f, "optimizer: learning rate must be >= 0, got " + tensor::to_string(lr));
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string which = "optimizer: parameter " + std::to_string(i) + " " + tensor::to_string(params_[i].shape());
    require(params_[i].requires_grad(), which + " does not require grad");
    require(params_[i].value().is_contiguous(), which + " is a strided view; pass a contiguous tensor");
  }
}

namespace {

// The state tensors were sized at construction: a value replaced by one of another shape
// would make the flat update walk off their end.
void require_same_shape(const Var& param, const Tensor& state, size_t i) {
  if (param.shape() != state.shape() || !param.value().is_contiguous()) {
    throw tensor::ShapeError("optimizer step: parameter " + std::to_string(i) + " is now " +
                             tensor::to_string(param.shape()) + " (or not contiguous); its optimizer state is " +
                             tensor::to_string(state.shape()));
  }
}

}  // namespace

void Optimizer::zero_grad() {
  for (Var& p : params_) p.zero_grad();
}

void Optimizer::set_lr(float lr) {
  require(lr >= 0.0f, "set_lr: learning rate must be >= 0, got " + tensor::to_string(lr));
  lr_ = lr;
}

SGD::SGD(std::vector<Var> params, float lr, float momentum, bool nesterov, float weight_decay)
    : Optimizer(std::move(params), lr), momentum_(momentum), weight_decay_(weight_decay), nesterov_(nesterov) {
  require(momentum >= 0.0f && momentum < 1.0f, "SGD: momentum must be in [0, 1), got " + tensor::to_string(momentum));
  require(weight_decay >= 0.0f, "SGD: weight_decay must be >= 0, got " + tensor::to_string(weight_decay));
  require(!nesterov || momentum > 0.0f, "SGD: Nesterov needs momentum > 0");
  for (const Var& p : params_) velocity_.push_back(Tensor::zeros(p.shape()));
}

// v = mu v + g (g = grad + lambda theta);  theta -= lr * (Nesterov ? g + mu v : v)
void SGD::step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].grad().defined()) continue;
    require_same_shape(params_[i], velocity_[i], i);
    const Tensor grad = params_[i].grad().contiguous();
    float* theta = params_[i].value().data();
    float* v = velocity_[i].data();
    const float* g = grad.data();
    const int64_t n = grad.numel();
    const float mu = momentum_, lambda = weight_decay_, lr = lr_;
    const bool nesterov = nesterov_;
#pragma omp parallel for schedule(static) if (n >= tensor::kParallelMinElements)
    for (int64_t j = 0; j < n; ++j) {
      const float gj = g[j] + lambda * theta[j];
      v[j] = mu * v[j] + gj;
      theta[j] -= lr * (nesterov ? gj + mu * v[j] : v[j]);
    }
  }
}

Adam::Adam(std::vector<Var> params, float lr, float beta1, float beta2, float eps, float weight_decay, bool decoupled)
    : Optimizer(std::move(params), lr),
      beta1_(beta1),
      beta2_(beta2),
      eps_(eps),
      weight_decay_(weight_decay),
      decoupled_(decoupled) {
  require(beta1 >= 0.0f && beta1 < 1.0f, "Adam: beta1 must be in [0, 1), got " + tensor::to_string(beta1));
  require(beta2 >= 0.0f && beta2 < 1.0f, "Adam: beta2 must be in [0, 1), got " + tensor::to_string(beta2));
  require(eps > 0.0f, "Adam: eps must be > 0, got " + tensor::to_string(eps));
  require(weight_decay >= 0.0f, "Adam: weight_decay must be >= 0, got " + tensor::to_string(weight_decay));
  for (const Var& p : params_) {
    m_.push_back(Tensor::zeros(p.shape()));
    v_.push_back(Tensor::zeros(p.shape()));
  }
  t_.assign(params_.size(), 0);
}

// m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  theta -= lr * m_hat / (sqrt(v_hat) + eps)
void Adam::step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].grad().defined()) continue;
    require_same_shape(params_[i], m_[i], i);
    const int64_t t = ++t_[i];
    const float correction1 = 1.0f - static_cast<float>(std::pow(beta1_, t));
    const float correction2 = 1.0f - static_cast<float>(std::pow(beta2_, t));
    const Tensor grad = params_[i].grad().contiguous();
    float* theta = params_[i].value().data();
    float* m = m_[i].data();
    float* v = v_[i].data();
    const float* g = grad.data();
    const int64_t n = grad.numel();
    const float b1 = beta1_, b2 = beta2_, eps = eps_, lambda = weight_decay_;
    // theta -= lr * (m / c1) / (sqrt(v / c2) + eps), with the per-step scalars hoisted out:
    // one square root and one division per element, and a loop the compiler vectorises.
    const float step_size = lr_ / correction1;
    const float inverse_c2 = 1.0f / correction2;
    if (decoupled_) {
      const float shrink = 1.0f - lr_ * lambda;
#pragma omp parallel for schedule(static) if (n >= tensor::kParallelMinElements)
      for (int64_t j = 0; j < n; ++j) {
        m[j] = b1 * m[j] + (1.0f - b1) * g[j];
        v[j] = b2 * v[j] + (1.0f - b2) * g[j] * g[j];
        theta[j] = theta[j] * shrink - step_size * m[j] / (std::sqrt(v[j] * inverse_c2) + eps);
      }
    } else {
#pragma omp parallel for schedule(static) if (n >= tensor::kParallelMinElements)
      for (int64_t j = 0; j < n; ++j) {
        const float gj = g[j] + lambda * theta[j];
        m[j] = b1 * m[j] + (1.0f - b1) * gj;
        v[j] = b2 * v[j] + (1.0f - b2) * gj * gj;
        theta[j] -= step_size * m[j] / (std::sqrt(v[j] * inverse_c2) + eps);
      }
    }
  }
}

float step_lr(float base, int64_t step, int64_t step_size, float gamma) {
  require(step_size > 0, "step_lr: step_size must be > 0, got " + std::to_string(step_size));
  return base * static_cast<float>(std::pow(gamma, step / step_size));
}

float cosine_lr(float base, int64_t step, int64_t total, float min_lr) {
  require(total > 0, "cosine_lr: total must be > 0, got " + std::to_string(total));
  if (step >= total) return min_lr;
  const double progress = static_cast<double>(step) / static_cast<double>(total);
  return min_lr + 0.5f * (base - min_lr) * static_cast<float>(1.0 + std::cos(std::numbers::pi * progress));
}

float linear_warmup(float lr, int64_t step, int64_t warmup_steps) {
  if (warmup_steps <= 0 || step >= warmup_steps) return lr;
  return lr * static_cast<float>(step + 1) / static_cast<float>(warmup_steps);
}

}  // namespace nn
