// The losses of the book: values, gradients, the temperature identities, and extremes.
#include "nn/losses.h"

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tensor/errors.h"
#include "tensor/ops.h"
#include "tensor/random.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

using autograd::Var;
using tensor::Tensor;

namespace {

using Inputs = std::vector<Var>;

Tensor logits(int64_t n, int64_t c, uint64_t seed, float scale = 2.0f) {
  tensor::Generator gen(seed);
  return tensor::uniform({n, c}, -scale, scale, gen);
}

Tensor softmax(const Tensor& z, float t = 1.0f) { return autograd::softmax(Var(z), t).value(); }

double norm(const Tensor& g) {
  double s = 0;
  for (float v : g.to_vector()) s += double(v) * v;
  return std::sqrt(s);
}

bool all_finite(const Tensor& t) {
  const std::vector<float> v = t.to_vector();
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

const nn::Labels kLabels = {0, 3, 1, 2};

}  // namespace

TEST_SUITE("nn/losses") {
TEST_CASE("cross_entropy is the mean negative log-probability of the labels") {
  // Logits [0, ln 3] with label 1: p = 3/4, loss = -ln(3/4); label 0: p = 1/4, loss = ln 4. Mean by hand.
  const Var z(Tensor::from_vector({2, 2}, {0.0f, std::log(3.0f), 0.0f, std::log(3.0f)}));
  const float loss = nn::cross_entropy(z, {1, 0}).value().item();
  CHECK(loss == doctest::Approx((-std::log(0.75) + std::log(4.0)) / 2));
}

TEST_CASE("label smoothing mixes the one-hot target with the uniform distribution") {
  CHECK(nn::one_hot({1}, 4, 0.2f).to_vector() == std::vector<float>{0.05f, 0.85f, 0.05f, 0.05f});
  const Tensor z = logits(4, 5, 1);
  const float smoothed = nn::cross_entropy(Var(z), kLabels, 0.1f).value().item();
  const float by_definition = nn::soft_cross_entropy(Var(z), nn::one_hot(kLabels, 5, 0.1f)).value().item();
  CHECK(smoothed == doctest::Approx(by_definition));
}

TEST_CASE("every loss passes gradcheck") {
  const Tensor z = logits(4, 5, 2);
  const Tensor teacher = logits(4, 5, 3, 4.0f);
  const Tensor q = softmax(teacher, 2.0f);
  SUBCASE("cross_entropy") {
    const auto r = autograd::gradcheck([](const Inputs& in) { return nn::cross_entropy(in[0], kLabels); }, {z});
    CHECK_MESSAGE(r.passed, r.report);
  }
  SUBCASE("cross_entropy with label smoothing") {
    const auto r = autograd::gradcheck([](const Inputs& in) { return nn::cross_entropy(in[0], kLabels, 0.1f); }, {z});
    CHECK_MESSAGE(r.passed, r.report);
  }
  SUBCASE("soft_cross_entropy at T = 3") {
    const auto r = autograd::gradcheck([&q](const Inputs& in) { return nn::soft_cross_entropy(in[0], q, 3.0f); }, {z});
    CHECK_MESSAGE(r.passed, r.report);
  }
  SUBCASE("kl_div in its log-probability argument") {
    const auto r = autograd::gradcheck(
        [&q](const Inputs& in) { return nn::kl_div(autograd::log_softmax(in[0]), q); }, {z});
    CHECK_MESSAGE(r.passed, r.report);
  }
  SUBCASE("soft_target_kl at T = 4") {
    const auto r =
        autograd::gradcheck([&teacher](const Inputs& in) { return nn::soft_target_kl(in[0], teacher, 4.0f); }, {z});
    CHECK_MESSAGE(r.passed, r.report);
  }
  SUBCASE("distillation_loss at T = 4, alpha = 0.7, and alpha = 1 without labels") {
    const auto r = autograd::gradcheck(
        [&teacher](const Inputs& in) { return nn::distillation_loss(in[0], teacher, kLabels, 4.0f, 0.7f); }, {z});
    CHECK_MESSAGE(r.passed, r.report);
    const auto pure = autograd::gradcheck(
        [&teacher](const Inputs& in) { return nn::distillation_loss(in[0], teacher, {}, 4.0f, 1.0f); }, {z});
    CHECK_MESSAGE(pure.passed, pure.report);
  }
  SUBCASE("mse_loss") {
    const auto r = autograd::gradcheck([&teacher](const Inputs& in) { return nn::mse_loss(in[0], teacher); }, {z});
    CHECK_MESSAGE(r.passed, r.report);
  }
  SUBCASE("logit_matching_loss") {
    const auto r =
        autograd::gradcheck([&teacher](const Inputs& in) { return nn::logit_matching_loss(in[0], teacher); }, {z});
    CHECK_MESSAGE(r.passed, r.report);
  }
}

TEST_CASE("mse_loss is the mean of the squared differences over every element") {
  const Var x(Tensor::from_vector({2, 2}, {1.0f, 2.0f, 3.0f, 4.0f}));
  const Tensor y = Tensor::from_vector({2, 2}, {1.0f, 0.0f, 0.0f, 4.0f});
  CHECK(nn::mse_loss(x, y).value().item() == doctest::Approx((0.0 + 4.0 + 9.0 + 0.0) / 4));
}

TEST_CASE("logit matching ignores a constant added to a row of either side, as a softmax does") {
  const Tensor s = logits(4, 5, 8);
  const Tensor t = logits(4, 5, 9, 4.0f);
  const float base = nn::logit_matching_loss(Var(s), t).value().item();
  const Tensor shift = Tensor::from_vector({4, 1}, {3.0f, -1.0f, 0.5f, 7.0f});
  CHECK(nn::logit_matching_loss(Var(tensor::add(s, shift)), t).value().item() == doctest::Approx(base).epsilon(1e-5));
  CHECK(nn::logit_matching_loss(Var(s), tensor::sub(t, shift)).value().item() == doctest::Approx(base).epsilon(1e-5));
  CHECK(nn::logit_matching_loss(Var(t), t).value().item() == doctest::Approx(0.0).epsilon(1e-6));
}

TEST_CASE("at high temperature the T^2-scaled soft term and its gradient become logit matching") {
  // Hinton et al. 2015, section 2.1: the expansion is good when |z| / T is small.
  const Tensor student = logits(8, 10, 10, 3.0f);
  const Tensor teacher = logits(8, 10, 11, 3.0f);
  Var m(student, true);
  const nn::Var matching = nn::logit_matching_loss(m, teacher);
  matching.backward();
  std::vector<double> value_error, gradient_error;
  for (float t : {5.0f, 50.0f, 500.0f}) {
    Var s(student, true);
    const nn::Var soft = nn::distillation_loss(s, teacher, {}, t, 1.0f);
    soft.backward();
    value_error.push_back(std::abs(soft.value().item() - matching.value().item()) / matching.value().item());
    gradient_error.push_back(norm(tensor::sub(s.grad(), m.grad())) / norm(m.grad()));
  }
  CAPTURE(value_error);
  CAPTURE(gradient_error);
  CHECK(value_error[2] < 0.01);
  CHECK(gradient_error[2] < 0.01);
  // And the approach is a limit: the errors shrink as T grows (about like 1/T).
  CHECK(gradient_error[0] > 5 * gradient_error[1]);
  CHECK(gradient_error[1] > 5 * gradient_error[2]);
}

TEST_CASE("the gradient of the soft cross-entropy at T is (p - q) / T per example") {
  const Tensor z = logits(1, 6, 4);
  const Tensor q = softmax(logits(1, 6, 5), 1.0f);
  for (float t : {0.5f, 1.0f, 2.0f, 8.0f}) {
    CAPTURE(t);
    Var x(z, true);
    nn::soft_cross_entropy(x, q, t).backward();
    const Tensor expected = tensor::div(tensor::sub(softmax(z, t), q), t);
    CHECK(tensor::allclose(x.grad(), expected, 1e-5f, 1e-6f));
  }
}

TEST_CASE("with the T^2 factor the soft gradient keeps its size across T = 1, 4, 16; without it, it collapses") {
  // Student and teacher logits of the size a trained network produces (|z| up to about 5).
  const Tensor student = logits(8, 10, 6, 5.0f);
  const Tensor teacher = logits(8, 10, 7, 5.0f);
  std::vector<double> with_factor, without_factor;
  for (float t : {1.0f, 4.0f, 16.0f}) {
    Var s(student, true);
    nn::distillation_loss(s, teacher, {}, t, 1.0f).backward();  // alpha = 1: T^2 KL
    with_factor.push_back(norm(s.grad()));
    without_factor.push_back(norm(s.grad()) / (t * t));
  }
  const auto [lo, hi] = std::minmax_element(with_factor.begin(), with_factor.end());
  CHECK(*hi / *lo <= 2.0);
  // Without the factor the gradient at T = 16 is over a hundred times smaller than at T = 1.
  CHECK(without_factor[0] / without_factor[2] > 100.0);
}

TEST_CASE("KL divergence is zero for identical distributions and never negative") {
  const Tensor p = softmax(logits(5, 10, 8));
  CHECK(nn::kl_div(Var(tensor::log(p)), p).value().item() == doctest::Approx(0.0).epsilon(1e-6));
  for (uint64_t seed = 10; seed < 30; ++seed) {
    const Tensor other = softmax(logits(5, 10, seed, 3.0f));
    CHECK(nn::kl_div(autograd::log_softmax(Var(logits(5, 10, seed + 100))), other).value().item() >= 0.0f);
  }
}

TEST_CASE("kl_div treats zero target probabilities as contributing nothing") {
  // p = [1, 0], q = [1/2, 1/2]: KL = 1 * (log 1 - log 1/2) = ln 2, by hand.
  const Tensor p = Tensor::from_vector({1, 2}, {1.0f, 0.0f});
  const Var log_q(tensor::log(Tensor::from_vector({1, 2}, {0.5f, 0.5f})));
  CHECK(nn::kl_div(log_q, p).value().item() == doctest::Approx(std::log(2.0)));
}

TEST_CASE("a class ruled out by the target adds nothing, even with a log-probability of -inf") {
  const float inf = std::numeric_limits<float>::infinity();
  // p = [1, 0] against log q = [0, -inf]: KL = 1 * (0 - 0) + 0 = 0.
  CHECK(nn::kl_div(Var(Tensor::from_vector({1, 2}, {0.0f, -inf})), Tensor::from_vector({1, 2}, {1.0f, 0.0f}))
            .value()
            .item() == 0.0f);
  // A masked logit of -inf: cross-entropy of [2, 0, -inf] with label 0 is -log(e^2 / (e^2 + 1)) = 0.1269.
  Var z(Tensor::from_vector({1, 3}, {2.0f, 0.0f, -inf}), true);
  const Var loss = nn::cross_entropy(z, {0});
  CHECK(loss.value().item() == doctest::Approx(std::log1p(std::exp(-2.0))));
  loss.backward();
  CHECK(all_finite(z.grad()));
}

TEST_CASE("distillation_loss is T^2 KL at alpha = 1 and plain cross-entropy at alpha = 0") {
  const Tensor s = logits(4, 5, 11), t = logits(4, 5, 12, 4.0f);
  const float kl = nn::kl_div(autograd::log_softmax(Var(s), 3.0f), softmax(t, 3.0f)).value().item();
  CHECK(nn::soft_target_kl(Var(s), t, 3.0f).value().item() == kl);
  CHECK(nn::distillation_loss(Var(s), t, {}, 3.0f, 1.0f).value().item() == doctest::Approx(9.0 * kl));
  CHECK(nn::distillation_loss(Var(s), t, kLabels, 3.0f, 0.0f).value().item() ==
        doctest::Approx(nn::cross_entropy(Var(s), kLabels).value().item()));
  const float mixed = nn::distillation_loss(Var(s), t, kLabels, 3.0f, 0.25f).value().item();
  CHECK(mixed == doctest::Approx(0.25 * 9.0 * kl + 0.75 * nn::cross_entropy(Var(s), kLabels).value().item()));
}

TEST_CASE("distillation_loss is the formula the book's conventions table states: batchmean KL times T^2, weighted alpha") {
  // The table (chapter 5): the KL is summed over the classes and averaged over the batch
  // (PyTorch's reduction="batchmean", not "mean", which also divides by the C classes), multiplied
  // by T^2, and alpha weighs that soft term; 1 - alpha weighs the batch-mean cross-entropy.
  const int64_t n = 4, c = 5;
  const double temperature = 3.0, alpha = 0.3;
  const Tensor s = logits(n, c, 21), t = logits(n, c, 22, 4.0f);
  const std::vector<float> sv = s.to_vector(), tv = t.to_vector();
  double kl_sum = 0, ce_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto row = [&](const std::vector<float>& z, double temp) {
      std::vector<double> p(static_cast<size_t>(c));
      double sum = 0;
      for (int64_t j = 0; j < c; ++j) sum += p[static_cast<size_t>(j)] = std::exp(z[static_cast<size_t>(i * c + j)] / temp);
      for (double& x : p) x /= sum;
      return p;
    };
    const std::vector<double> q = row(tv, temperature), p = row(sv, temperature), p1 = row(sv, 1.0);
    for (size_t j = 0; j < q.size(); ++j) kl_sum += q[j] * std::log(q[j] / p[j]);
    ce_sum -= std::log(p1[static_cast<size_t>(kLabels[static_cast<size_t>(i)])]);
  }
  const double by_hand = alpha * temperature * temperature * kl_sum / n + (1 - alpha) * ce_sum / n;
  const float loss = nn::distillation_loss(Var(s), t, kLabels, float(temperature), float(alpha)).value().item();
  CHECK(loss == doctest::Approx(by_hand).epsilon(1e-5));
  // Not the element-wise mean: that would divide the soft term by C as well.
  const double elementwise_mean = alpha * temperature * temperature * kl_sum / double(n * c) + (1 - alpha) * ce_sum / n;
  CHECK(std::abs(loss - elementwise_mean) > 0.01);
}

TEST_CASE("losses stay finite at logits of magnitude 1e4 and temperatures from 0.05 to 100") {
  const Tensor extreme = Tensor::from_vector({2, 4}, {1e4f, -1e4f, 0.0f, 5e3f, -1e4f, -1e4f, 1e4f, 1e4f});
  const Tensor teacher = Tensor::from_vector({2, 4}, {-1e4f, 1e4f, 1e4f, 0.0f, 1e4f, -1e4f, -5e3f, 0.0f});
  for (float t : {0.05f, 1.0f, 100.0f}) {
    CAPTURE(t);
    for (float alpha : {0.0f, 0.5f, 1.0f}) {
      CAPTURE(alpha);
      Var s(extreme, true);
      const Var loss = nn::distillation_loss(s, teacher, {0, 2}, t, alpha);
      CHECK(std::isfinite(loss.value().item()));
      loss.backward();
      CHECK(all_finite(s.grad()));
    }
    Var s(extreme, true);
    nn::soft_cross_entropy(s, softmax(teacher, t), t).backward();
    CHECK(all_finite(s.grad()));
  }
}

TEST_CASE("losses reject mismatched shapes, bad labels and bad hyper-parameters") {
  const Var z(Tensor::zeros({4, 10}));
  CHECK_THROWS_WITH_AS(nn::cross_entropy(z, {1, 2}), "cross_entropy: logits [4, 10] for 2 labels", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::cross_entropy(z, {0, 1, 11, 2}), "cross_entropy: label 11 outside 0..9 (example 2)",
                       tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::one_hot({0}, -2), "one_hot: need at least 1 class, got -2", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::soft_cross_entropy(z, Tensor::zeros({4, 9})),
                       "soft_cross_entropy: logits [4, 10] and targets [4, 9] differ", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::kl_div(z, Tensor::zeros({4, 9})), "kl_div: log_q [4, 10] and p [4, 9] differ",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::soft_target_kl(z, Tensor::zeros({4, 9}), 2.0f),
                       "soft_target_kl: student [4, 10] and teacher [4, 9] differ", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::soft_target_kl(z, Tensor::zeros({4, 10}), -1.0f),
                       "soft_target_kl: temperature must be > 0, got -1", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::distillation_loss(z, Tensor::zeros({4, 10}), {}, 0.0f, 1.0f),
                       "distillation_loss: temperature must be > 0, got 0", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::distillation_loss(z, Tensor::zeros({4, 10}), {}, 2.0f, 1.5f),
                       "distillation_loss: alpha must be in [0, 1], got 1.5", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::distillation_loss(z, Tensor::zeros({4, 10}), {}, 2.0f, 0.5f),
                       "distillation_loss: alpha 0.5 < 1 needs 4 labels, got 0", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::one_hot({0}, 3, 1.0f), "one_hot: smoothing must be in [0, 1), got 1", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::mse_loss(z, Tensor::zeros({4, 9})), "mse_loss: prediction [4, 10] and target [4, 9] differ",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::logit_matching_loss(z, Tensor::zeros({4, 9})),
                       "logit_matching_loss: student [4, 10] and teacher [4, 9] differ", tensor::ShapeError);
}
}
