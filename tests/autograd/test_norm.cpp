// Batch normalisation: the fused op against its composition from primitives, and gradcheck.
#include "autograd/norm.h"

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tensor/errors.h"
#include "tensor/norm.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using autograd::Var;
using tensor::Shape;
using tensor::Tensor;

namespace {

Tensor values(const Shape& shape, uint64_t seed, float low = -1.0f, float high = 1.0f) {
  tensor::Generator gen(seed);
  return tensor::uniform(shape, low, high, gen);
}

// The mean of x over N, H and W, kept as [1, C, 1, 1].
Var channel_mean(const Var& x) {
  return autograd::mean(autograd::mean(autograd::mean(x, 0, true), 2, true), 3, true);
}

// The definition, built from primitives: x_hat = (x - mu) / sqrt(var + eps), with
// sqrt(v) = exp(log(v) / 2); y = gamma x_hat + beta.
Var composed_batch_norm2d(const Var& x, const Var& gamma, const Var& beta, float eps) {
  const int64_t c = x.shape()[1];
  const Var centred = x - channel_mean(x);
  const Var var = channel_mean(centred * centred);
  const Var inv_std = autograd::exp(autograd::log(var + eps) * -0.5f);
  return centred * inv_std * autograd::reshape(gamma, {1, c, 1, 1}) + autograd::reshape(beta, {1, c, 1, 1});
}

// A plane's float sum in the order tensor/norm.h documents, one term at a time: four lanes
// over the first n - n % 4 terms (lane l takes k = l, l + 4, ...), the last n % 4 terms
// added to lane 0, then (((lane 0 + 0) + lane 1) + lane 2) + lane 3.
float documented_plane_sum(const std::vector<float>& terms) {
  const size_t body = terms.size() - terms.size() % 4;
  float lane[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (size_t k = 0; k < body; ++k) lane[k % 4] += terms[k];
  for (size_t k = body; k < terms.size(); ++k) lane[0] += terms[k];
  return (((lane[0] + 0.0f) + lane[1]) + lane[2]) + lane[3];
}

// sum over images i of f(i, k), each plane in float in the documented order, the planes in double.
template <class F>
double documented_channel_sum(int64_t n, int64_t plane, F f) {
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<float> terms;
    for (int64_t k = 0; k < plane; ++k) terms.push_back(f(i, k));
    total += documented_plane_sum(terms);
  }
  return total;
}

}  // namespace

TEST_SUITE("autograd/norm") {
TEST_CASE("batch_norm2d sums each plane in the documented order, bit for bit, forward and backward") {
  // 6 images (a group of four planes summed together, then two alone) of 5 x 5 (a plane of
  // 24 + 1 values), values of mixed magnitudes so that any other order rounds differently.
  const int64_t n = 6, c = 2, plane = 25;
  Tensor x = values({n, c, 5, 5}, 31), dy = values({n, c, 5, 5}, 32);
  for (int64_t i = 0; i < x.numel(); i += 7) x.data()[i] *= 1000.0f;
  const Tensor gamma = values({c}, 33), beta = values({c}, 34);
  const tensor::BatchNorm2dResult r = tensor::batch_norm2d(x, gamma, beta, 1e-5f);
  const tensor::BatchNorm2dGrads g = tensor::batch_norm2d_backward(dy, x, r.mean, gamma, r.inv_std);
  const auto m = static_cast<double>(n * plane);
  for (int64_t ch = 0; ch < c; ++ch) {
    CAPTURE(ch);
    const auto at = [&](const Tensor& t, int64_t i, int64_t k) { return t.data()[(i * c + ch) * plane + k]; };
    const auto mu = static_cast<float>(documented_channel_sum(n, plane, [&](int64_t i, int64_t k) { return at(x, i, k); }) / m);
    const double var = documented_channel_sum(n, plane, [&](int64_t i, int64_t k) {
                         return (at(x, i, k) - mu) * (at(x, i, k) - mu);
                       }) / m;
    CHECK(r.mean.data()[ch] == mu);
    CHECK(r.var.data()[ch] == static_cast<float>(var));
    const float inv = r.inv_std.data()[ch];
    CHECK(g.beta.data()[ch] ==
          static_cast<float>(documented_channel_sum(n, plane, [&](int64_t i, int64_t k) { return at(dy, i, k); })));
    CHECK(g.gamma.data()[ch] == static_cast<float>(documented_channel_sum(n, plane, [&](int64_t i, int64_t k) {
            return at(dy, i, k) * ((at(x, i, k) - mu) * inv);
          })));
  }
}

TEST_CASE("batch_norm2d gives each channel mean 0 and variance 1 before gamma and beta") {
  // Values far from 0 (around 100): a one-pass variance would lose most of its digits here.
  const Tensor x = values({4, 3, 5, 5}, 1, 99.0f, 101.0f);
  const autograd::BatchNorm2dOutput out =
      autograd::batch_norm2d(Var(x), Var(Tensor::ones({3})), Var(Tensor::zeros({3})), 1e-5f);
  for (int64_t c = 0; c < 3; ++c) {
    const Tensor channel = tensor::index_select(out.y.value(), 1, {c});
    CHECK(std::abs(tensor::mean(channel).item()) < 1e-5f);
    CHECK(tensor::mean(tensor::mul(channel, channel)).item() == doctest::Approx(1.0).epsilon(1e-3));
    CHECK(out.mean.at({c}) == doctest::Approx(100.0).epsilon(1e-2));
  }
}

TEST_CASE("the fused batch_norm2d equals its composition from primitives, gradients included") {
  const Tensor x = values({3, 4, 5, 6}, 2), gamma = values({4}, 3, 0.5f, 1.5f), beta = values({4}, 4);
  const Tensor direction = values({3, 4, 5, 6}, 5);
  Var xf(x, true), gf(gamma, true), bf(beta, true), xc(x, true), gc(gamma, true), bc(beta, true);
  const Var fused = autograd::batch_norm2d(xf, gf, bf, 1e-3f).y;
  const Var composed = composed_batch_norm2d(xc, gc, bc, 1e-3f);
  CHECK(tensor::allclose(fused.value(), composed.value(), 1e-4f, 1e-5f));
  autograd::sum(autograd::masked_mul(fused, direction)).backward();
  autograd::sum(autograd::masked_mul(composed, direction)).backward();
  CHECK(tensor::allclose(xf.grad(), xc.grad(), 1e-3f, 1e-4f));
  CHECK(tensor::allclose(gf.grad(), gc.grad(), 1e-3f, 1e-4f));
  CHECK(tensor::allclose(bf.grad(), bc.grad(), 1e-3f, 1e-4f));
}

TEST_CASE("batch_norm2d passes gradcheck on input, gamma and beta") {
  const auto f = [](const std::vector<Var>& in) { return autograd::batch_norm2d(in[0], in[1], in[2], 1e-3f).y; };
  const auto result = autograd::gradcheck(f, {values({2, 3, 4, 4}, 6), values({3}, 7, 0.5f, 1.5f), values({3}, 8)});
  CHECK_MESSAGE(result.passed, result.report);
}

TEST_CASE("batch_norm2d gives the same bits on one thread and on two") {
  const Tensor x = values({64, 8, 14, 14}, 9), gamma = values({8}, 10), beta = values({8}, 11);
  const int threads = tensor::num_threads();
  tensor::set_num_threads(1);
  const Tensor one = autograd::batch_norm2d(Var(x), Var(gamma), Var(beta)).y.value();
  tensor::set_num_threads(2);
  const Tensor two = autograd::batch_norm2d(Var(x), Var(gamma), Var(beta)).y.value();
  tensor::set_num_threads(threads);
  CHECK(one.to_vector() == two.to_vector());
}

TEST_CASE("batch_norm2d reports shapes that do not fit and a non-positive eps") {
  const Var x(Tensor::zeros({8, 3, 5, 5}));
  CHECK_THROWS_WITH_AS(autograd::batch_norm2d(x, Var(Tensor::ones({4})), Var(Tensor::zeros({3}))),
                       "batch_norm2d: input [8, 3, 5, 5] has 3 channels but gamma is [4]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(autograd::batch_norm2d(x, Var(Tensor::ones({3})), Var(Tensor::zeros({2}))),
                       "batch_norm2d: input [8, 3, 5, 5] has 3 channels but beta is [2]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(autograd::batch_norm2d(Var(Tensor::zeros({8, 3})), Var(Tensor::ones({3})), Var(Tensor::zeros({3}))),
                       "batch_norm2d: expects a contiguous NCHW image batch, got [8, 3]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(autograd::batch_norm2d(x, Var(Tensor::ones({3})), Var(Tensor::zeros({3})), 0.0f),
                       "batch_norm2d: eps must be > 0, got 0", tensor::ValueError);
}
}
