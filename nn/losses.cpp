#include "nn/losses.h"

#include "autograd/ops.h"
#include "tensor/errors.h"
#include "tensor/ops.h"

#include <cmath>
#include <string>

namespace nn {

namespace {

void require_matrix_pair(const Shape& a, const Shape& b, const char* op, const char* a_name, const char* b_name) {
  if (a.size() != 2 || a != b) {
    throw tensor::ShapeError(std::string(op) + ": " + a_name + " " + tensor::to_string(a) + " and " + b_name + " " +
                             tensor::to_string(b) + (a.size() != 2 ? " are not [N, C]" : " differ"));
  }
}

}  // namespace

Tensor one_hot(const Labels& labels, int64_t classes, float smoothing) {
  if (classes < 1) throw tensor::ValueError("one_hot: need at least 1 class, got " + std::to_string(classes));
  if (!(smoothing >= 0.0f && smoothing < 1.0f)) {
    throw tensor::ValueError("one_hot: smoothing must be in [0, 1), got " + tensor::to_string(smoothing));
  }
  Tensor q = Tensor::full({static_cast<int64_t>(labels.size()), classes}, smoothing / static_cast<float>(classes));
  float* d = q.data();
  for (size_t n = 0; n < labels.size(); ++n) {
    if (labels[n] < 0 || labels[n] >= classes) {
      throw tensor::ValueError("one_hot: label " + std::to_string(labels[n]) + " outside 0.." +
                               std::to_string(classes - 1) + " (example " + std::to_string(n) + ")");
    }
    d[static_cast<int64_t>(n) * classes + labels[n]] += 1.0f - smoothing;
  }
  return q;
}

// L = -(1/N) sum_n sum_c q_nc log softmax(z_n / T)_c
Var soft_cross_entropy(const Var& logits, const Tensor& target_probs, float temperature) {
  require_matrix_pair(logits.shape(), target_probs.shape(), "soft_cross_entropy", "logits", "targets");
  const auto n = static_cast<float>(logits.shape()[0]);
  return autograd::sum(autograd::masked_mul(autograd::log_softmax(logits, temperature), target_probs)) * (-1.0f / n);
}

Var cross_entropy(const Var& logits, const Labels& labels, float smoothing) {
  if (logits.value().dim() != 2 || logits.shape()[0] != static_cast<int64_t>(labels.size())) {
    throw tensor::ShapeError("cross_entropy: logits " + tensor::to_string(logits.shape()) + " for " +
                             std::to_string(labels.size()) + " labels");
  }
  for (size_t n = 0; n < labels.size(); ++n) {
    if (labels[n] < 0 || labels[n] >= logits.shape()[1]) {
      throw tensor::ValueError("cross_entropy: label " + std::to_string(labels[n]) + " outside 0.." +
                               std::to_string(logits.shape()[1] - 1) + " (example " + std::to_string(n) + ")");
    }
  }
  return soft_cross_entropy(logits, one_hot(labels, logits.shape()[1], smoothing));
}

// KL(p || q) = (1/N) sum p (log p - log q): the p log p part is a constant (0 where p = 0).
Var kl_div(const Var& log_q, const Tensor& p) {
  require_matrix_pair(log_q.shape(), p.shape(), "kl_div", "log_q", "p");
  const auto n = static_cast<float>(p.shape()[0]);
  const Tensor pc = p.contiguous();
  double negative_entropy = 0.0;
  for (int64_t i = 0; i < pc.numel(); ++i) {
    const float v = pc.data()[i];
    if (v > 0.0f) negative_entropy += static_cast<double>(v) * std::log(static_cast<double>(v));
  }
  const Var cross = autograd::sum(autograd::masked_mul(log_q, pc)) * (-1.0f / n);
  return cross + static_cast<float>(negative_entropy / n);
}

Var soft_target_kl(const Var& student_logits, const Tensor& teacher_logits, float temperature) {
  require_matrix_pair(student_logits.shape(), teacher_logits.shape(), "soft_target_kl", "student", "teacher");
  if (!(temperature > 0.0f)) {
    throw tensor::ValueError("soft_target_kl: temperature must be > 0, got " + tensor::to_string(temperature));
  }
  const Tensor p_teacher = autograd::softmax(Var(teacher_logits), temperature).value();
  return kl_div(autograd::log_softmax(student_logits, temperature), p_teacher);
}

Var distillation_loss(const Var& student_logits, const Tensor& teacher_logits, const Labels& labels,
                      float temperature, float alpha) {
  require_matrix_pair(student_logits.shape(), teacher_logits.shape(), "distillation_loss", "student", "teacher");
  if (!(temperature > 0.0f)) {
    throw tensor::ValueError("distillation_loss: temperature must be > 0, got " + tensor::to_string(temperature));
  }
  if (!(alpha >= 0.0f && alpha <= 1.0f)) {
    throw tensor::ValueError("distillation_loss: alpha must be in [0, 1], got " + tensor::to_string(alpha));
  }
  if (alpha < 1.0f && labels.size() != static_cast<size_t>(student_logits.shape()[0])) {
    throw tensor::ShapeError("distillation_loss: alpha " + tensor::to_string(alpha) + " < 1 needs " +
                             std::to_string(student_logits.shape()[0]) + " labels, got " +
                             std::to_string(labels.size()));
  }
  const Var soft = soft_target_kl(student_logits, teacher_logits, temperature);
  if (alpha == 1.0f) return soft * (temperature * temperature);
  const Var hard = cross_entropy(student_logits, labels);
  if (alpha == 0.0f) return hard;
  return soft * (alpha * temperature * temperature) + hard * (1.0f - alpha);
}

Var mse_loss(const Var& prediction, const Tensor& target) {
  require_matrix_pair(prediction.shape(), target.shape(), "mse_loss", "prediction", "target");
  const Var d = autograd::sub(prediction, Var(target));
  return autograd::mean(autograd::mul(d, d));
}

Var logit_matching_loss(const Var& student_logits, const Tensor& teacher_logits) {
  require_matrix_pair(student_logits.shape(), teacher_logits.shape(), "logit_matching_loss", "student", "teacher");
  const Var s = autograd::sub(student_logits, autograd::mean(student_logits, 1, true));
  const Tensor t = tensor::sub(teacher_logits, tensor::mean(teacher_logits, 1, true));
  return mse_loss(s, t) * 0.5f;
}

}  // namespace nn
