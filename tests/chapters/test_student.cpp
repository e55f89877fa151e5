// What a student learns from: the two terms of its loss, and how much of the gradient each gives.
#include "chapters/common/student.h"

#include "autograd/ops.h"
#include "nn/losses.h"
#include "tensor/ops.h"
#include "tensor/random.h"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

namespace {

using autograd::Var;
using tensor::Tensor;

// Logits of 4 examples over 10 classes: the student's small, the teacher's large (as a trained
// teacher's are), both fixed so every run sees the same numbers.
Tensor logits(float scale, uint64_t seed) {
  tensor::Generator gen(seed);
  return tensor::normal({4, 10}, 0.0f, scale, gen);
}
const nn::Labels kLabels = {3, 0, 9, 3};

// The gradient of a scalar function of the logits, at `z`.
Tensor gradient(const std::function<Var(const Var&)>& f, const Tensor& z) {
  Var x(z.clone(), true);
  f(x).backward();
  return x.grad().clone();
}

Tensor softmax(const Tensor& z) { return tensor::exp(tensor::log_softmax(z, 1)); }

double norm(const Tensor& t) { return std::sqrt(static_cast<double>(tensor::sum(tensor::mul(t, t)).item())); }

}  // namespace

TEST_SUITE("chapters/student") {
TEST_CASE("a student's loss is the sum of its two terms, and with T^2 it is nn::distillation_loss itself") {
  const Tensor s = logits(1.0f, 1), t = logits(6.0f, 2);
  for (float alpha : {0.25f, 0.5f, 1.0f}) {
    CAPTURE(alpha);
    for (const book::Targets& targets : {book::Targets::soft(4, alpha), book::Targets::soft_without_t_squared(4, alpha),
                                         book::Targets::logit_matching(alpha)}) {
      CAPTURE(targets.describe());
      const book::LossTerms terms = book::loss_terms(targets, Var(s), t, kLabels);
      const float sum = terms.soft.value().item() + (terms.hard.defined() ? terms.hard.value().item() : 0.0f);
      CHECK(book::student_loss(targets, Var(s), t, kLabels).value().item() == doctest::Approx(sum).epsilon(1e-5));
      CHECK(terms.hard.defined() == (alpha < 1.0f));
    }
    // The composed terms and the fused loss the chapters train with give the same gradient.
    const book::Targets kl = book::Targets::soft(4, alpha);
    const Tensor fused = gradient([&](const Var& z) { return nn::distillation_loss(z, t, kLabels, 4, alpha); }, s);
    const Tensor composed = gradient(
        [&](const Var& z) {
          const book::LossTerms terms = book::loss_terms(kl, z, t, kLabels);
          return terms.hard.defined() ? terms.soft + terms.hard : terms.soft;
        },
        s);
    CHECK(norm(tensor::sub(fused, composed)) <= 1e-6 * norm(fused));
  }
}

TEST_CASE("without T^2 the soft term is the KL term divided by T^2; hard labels have no soft term") {
  const Tensor s = logits(1.0f, 3), t = logits(6.0f, 4);
  for (float temperature : {1.0f, 4.0f, 20.0f}) {
    const float with = book::loss_terms(book::Targets::soft(temperature, 0.5f), Var(s), t, kLabels).soft.value().item();
    const float without =
        book::loss_terms(book::Targets::soft_without_t_squared(temperature, 0.5f), Var(s), t, kLabels).soft.value().item();
    CHECK(without * temperature * temperature == doctest::Approx(with).epsilon(1e-5));
  }
  const book::LossTerms hard = book::loss_terms(book::Targets::hard(), Var(s), t, kLabels);
  CHECK_FALSE(hard.soft.defined());
  CHECK(hard.hard.value().item() == doctest::Approx(nn::cross_entropy(Var(s), kLabels).value().item()));
}

TEST_CASE("the soft term's share of the gradient matches the closed-form gradients of both terms") {
  // d/ds of alpha T^2 KL(p^T || q^T) = alpha T (q^T - p^T) / N, and of (1 - alpha) CE = (1 - alpha)(q - y) / N;
  // without the factor the first is divided by T^2.
  const Tensor s = logits(1.0f, 5), t = logits(6.0f, 6);
  const Tensor y = nn::one_hot(kLabels, 10);
  const float alpha = 0.5f, n = 4.0f;
  for (float temperature : {2.0f, 8.0f, 20.0f}) {
    CAPTURE(temperature);
    const Tensor q_t = softmax(tensor::div(s, temperature)), p_t = softmax(tensor::div(t, temperature));
    const double soft = norm(tensor::sub(q_t, p_t)) * alpha * temperature / n;
    const double hard = norm(tensor::sub(softmax(s), y)) * (1.0f - alpha) / n;
    const double without = soft / (temperature * temperature);
    CHECK(book::soft_gradient_share(book::Targets::soft(temperature, alpha), s, t, kLabels) ==
          doctest::Approx(soft / (soft + hard)).epsilon(1e-4));
    CHECK(book::soft_gradient_share(book::Targets::soft_without_t_squared(temperature, alpha), s, t, kLabels) ==
          doctest::Approx(without / (without + hard)).epsilon(1e-4));
  }
  CHECK(book::soft_gradient_share(book::Targets::hard(), s, t, kLabels) == 0.0);
  CHECK(book::soft_gradient_share(book::Targets::soft(4, 1.0f), s, t, kLabels) == 1.0);
}

TEST_CASE("a soft term with alpha outside [0, 1] or a temperature <= 0 is refused, naming the value") {
  const Tensor s = logits(1.0f, 7), t = logits(6.0f, 8);
  CHECK_THROWS_WITH_AS(book::loss_terms(book::Targets::logit_matching(1.5f), Var(s), t, kLabels),
                       "loss_terms: alpha must be in [0, 1], got 1.5", tensor::ValueError);
  CHECK_THROWS_WITH_AS(book::loss_terms(book::Targets::soft_without_t_squared(0.0f, 0.5f), Var(s), t, kLabels),
                       "loss_terms: temperature must be > 0, got 0", tensor::ValueError);
}

TEST_CASE("the targets describe themselves") {
  CHECK(book::Targets::hard().describe() == "hard");
  CHECK(book::Targets::soft(4, 0.5f).describe() == "soft T=4 alpha=0.5");
  CHECK(book::Targets::soft_without_t_squared(8, 0.5f).describe() == "soft T=8 alpha=0.5 without T^2");
  CHECK(book::Targets::logit_matching(0.5f).describe() == "logits alpha=0.5");
}
}
