#include "chapters/common/student.h"

#include "autograd/ops.h"
#include "nn/losses.h"
#include "nn/optim.h"
#include "tensor/ops.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace book {

std::shared_ptr<nn::Sequential> make_mlp(const std::vector<int64_t>& widths, tensor::Generator& gen) {
  auto m = std::make_shared<nn::Sequential>();
  m->emplace<nn::Flatten>();
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    if (i > 0) m->emplace<nn::ReLU>();
    m->emplace<nn::Linear>(widths[i], widths[i + 1], gen);
  }
  return m;
}

nlohmann::json StudentConfig::to_json() const {
  nlohmann::json j = {{"widths", widths}, {"epochs", epochs}, {"batch", batch},
                      {"lr", lr},         {"momentum", 0.9},  {"seed", seed}};
  if (views > 0) {
    j["views"] = views;
    j["augmentation"] = views_of(*this).describe();
  }
  return j;
}

std::string StudentConfig::describe(double fraction, int64_t training_images) const {
  tensor::Generator unused(seed);  // only the parameter count is read
  return fmt::format(
      "{}, {} parameters, learns from {:.0f}% of the {} training images (stratified, drawn anew for each seed), {} "
      "epochs, SGD with momentum 0.9, peak learning rate {}, cosine schedule",
      fmt::join(widths, "-"), make_mlp(widths, unused)->parameter_count(), 100.0 * fraction, training_images, epochs,
      lr);
}

FixedViews views_of(const StudentConfig& c) { return FixedViews(c.augmentation, c.views, c.seed); }

std::string Targets::describe() const {
  if (!uses_teacher()) return "hard";
  switch (term) {
    case SoftTerm::kl:
      return fmt::format("soft T={} alpha={}", tensor::to_string(temperature), tensor::to_string(alpha));
    case SoftTerm::kl_without_t_squared:
      return fmt::format("soft T={} alpha={} without T^2", tensor::to_string(temperature), tensor::to_string(alpha));
    case SoftTerm::logit_matching:
      return fmt::format("logits alpha={}", tensor::to_string(alpha));
  }
  return "?";
}

LossTerms loss_terms(const Targets& targets, const autograd::Var& logits, const tensor::Tensor& teacher_logits,
                     const nn::Labels& labels) {
  const float a = targets.alpha, t = targets.temperature;
  if (!(a >= 0.0f && a <= 1.0f)) throw tensor::ValueError("loss_terms: alpha must be in [0, 1], got " + tensor::to_string(a));
  if (!(t > 0.0f)) throw tensor::ValueError("loss_terms: temperature must be > 0, got " + tensor::to_string(t));
  LossTerms terms;
  if (a > 0.0f) {
    if (targets.term == SoftTerm::logit_matching) {
      terms.soft = nn::logit_matching_loss(logits, teacher_logits) * a;
    } else {
      terms.soft = nn::soft_target_kl(logits, teacher_logits, t) * (targets.term == SoftTerm::kl ? a * t * t : a);
    }
  }
  if (a < 1.0f) terms.hard = nn::cross_entropy(logits, labels) * (1.0f - a);
  return terms;
}

autograd::Var student_loss(const Targets& targets, const autograd::Var& logits, const tensor::Tensor& teacher_logits,
                           const nn::Labels& labels) {
  if (!targets.uses_teacher()) return nn::cross_entropy(logits, labels);
  if (targets.term == SoftTerm::kl) {
    return nn::distillation_loss(logits, teacher_logits, labels, targets.temperature, targets.alpha);
  }
  const LossTerms terms = loss_terms(targets, logits, teacher_logits, labels);
  return terms.hard.defined() ? terms.soft + terms.hard : terms.soft;
}

double soft_gradient_share(const Targets& targets, const tensor::Tensor& logits, const tensor::Tensor& teacher_logits,
                           const nn::Labels& labels) {
  // The gradient of one term on the logits, and its Frobenius norm.
  autograd::Var z(logits.clone(), true);
  const auto gradient_norm = [&](const autograd::Var& term) {
    if (!term.defined()) return 0.0;
    term.backward();
    const tensor::Tensor g = z.grad();
    z.zero_grad();
    return std::sqrt(static_cast<double>(tensor::sum(tensor::mul(g, g)).item()));
  };
  const LossTerms terms = loss_terms(targets, z, teacher_logits, labels);
  const double soft = gradient_norm(terms.soft), hard = gradient_norm(terms.hard);
  return soft + hard > 0.0 ? soft / (soft + hard) : 0.0;
}

TrainedStudent train_student(const StudentConfig& c, const Targets& targets, const BookData& d,
                             const std::vector<int64_t>& transfer, const tensor::Tensor& teacher_train_logits,
                             bool progress, const EpochObserver& observe) {
  const int64_t n = d.data.train.size();
  const bool per_view = c.views > 0 && teacher_train_logits.shape() == tensor::Shape{c.views, n, kClasses};
  if (targets.uses_teacher() && !per_view && teacher_train_logits.shape() != tensor::Shape{n, kClasses}) {
    throw tensor::ShapeError("train_student: teacher logits " + tensor::to_string(teacher_train_logits.shape()) +
                             " do not cover the " + std::to_string(n) + " training images" +
                             (c.views > 0 ? " (or their " + std::to_string(c.views) + " views)" : ""));
  }
  tensor::Generator gen(c.seed);
  TrainedStudent s{make_mlp(c.widths, gen), {}, nullptr, 0};
  nn::DataLoader loader(d.data.train, transfer, c.batch, true, gen.next_u64(), d.norm);
  nn::SGD opt(s.model->parameters(), c.lr, 0.9f);
  // With views, every batch of epoch e is made of view e mod K of its images, and a per-view
  // teacher is read on that same view.
  BatchTransform transform;
  if (c.views > 0) {
    transform = [&c, views = views_of(c)](nn::Batch& b, int64_t epoch) { views.apply(b.images, b.indices, epoch % c.views); };
  }
  BatchLoss loss = [](const autograd::Var& logits, const nn::Batch& b, int64_t) {
    return nn::cross_entropy(logits, b.labels);
  };
  if (targets.uses_teacher()) {
    loss = [&](const autograd::Var& logits, const nn::Batch& b, int64_t epoch) {
      const tensor::Tensor teacher =
          per_view ? teacher_train_logits.narrow(0, epoch % c.views, 1).reshape({n, kClasses}) : teacher_train_logits;
      return student_loss(targets, logits, tensor::index_select(teacher, 0, b.indices), b.labels);
    };
  }
  // Validation costs a pass over 5,000 images: on a small transfer set trained for hundreds of
  // epochs it would cost more than the training, so the curve keeps about 20 points.
  const int64_t validate_every = std::max<int64_t>(1, (c.epochs + 19) / 20);
  std::vector<tensor::Tensor> best;  // the best validated epoch's parameter values
  double best_accuracy = -1;
  const auto keep_best = [&](const EpochRecord& r) {
    if (r.validation_accuracy <= best_accuracy) return;
    best_accuracy = r.validation_accuracy;
    s.best_epoch = r.epoch;
    best.clear();
    for (const autograd::Var& p : s.model->parameters()) best.push_back(p.value().clone());
  };
  const auto after_validation = [&](const EpochRecord& r) {
    keep_best(r);
    if (observe) observe(r, *s.model);
  };
  s.curve = fit(*s.model, opt, loader, d,
                {.label = "student " + targets.describe(), .epochs = c.epochs, .lr = c.lr, .progress = progress,
                 .validate_every = validate_every, .after_validation = after_validation},
                loss, transform);
  if (s.best_epoch == s.curve.back().epoch) {
    s.best_model = s.model;
  } else {
    tensor::Generator unused(0);  // the weights are overwritten below
    s.best_model = make_mlp(c.widths, unused);
    std::vector<autograd::Var> params = s.best_model->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].value().copy_(best[i]);
    s.best_model->eval();
  }
  return s;
}

}  // namespace book
