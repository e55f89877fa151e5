// Batch normalisation: the fused op against its composition from primitives, and gradcheck.
#include "autograd/norm.h"

#include "autograd/conv.h"
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

// The block the fused op replaces, from the three ops the teacher used to run one by one.
Var composed_batch_norm_pool_relu2d(const Var& x, const Var& gamma, const Var& beta, float eps) {
  return autograd::relu(autograd::max_pool2d(autograd::batch_norm2d(x, gamma, beta, eps).y, 2, 2));
}

// A batch whose 2 x 2 windows each have one clear maximum, at least 1 above the other three,
// half of the maxima near +2.5 and half near -2.5: after normalisation the ReLU keeps some windows
// and zeroes others, and a finite-difference step of 1e-2 crosses no kink (no tie, no zero).
Tensor clear_maxima(const Shape& shape, uint64_t seed) {
  tensor::Generator gen(seed);
  Tensor x = Tensor::empty(shape);
  const int64_t h = shape[2], w = shape[3];
  for (int64_t plane = 0; plane < shape[0] * shape[1]; ++plane) {
    for (int64_t oh = 0; oh < h / 2; ++oh) {
      for (int64_t ow = 0; ow < w / 2; ++ow) {
        const float top = (gen.below(2) == 0 ? 2.5f : -2.5f) + 0.5f * gen.uniform();
        const auto winner = static_cast<int64_t>(gen.below(4));
        for (int64_t k = 0; k < 4; ++k) {
          x.data()[(plane * h + 2 * oh + k / 2) * w + 2 * ow + k % 2] = k == winner ? top : top - 1.0f - gen.uniform();
        }
      }
    }
  }
  return x;
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

TEST_CASE("the fused batch_norm_pool_relu2d gives the composed ops' bits, and their gradients to float rounding") {
  // gamma of both signs (a negative one puts the maximum of y at the minimum of x) and beta
  // around 0, so the ReLU keeps some windows and zeroes others.
  const auto check = [](const Shape& shape, uint64_t seed) {
    const int64_t c = shape[1];
    const Tensor x = values(shape, seed), gamma = values({c}, seed + 1, -1.5f, 1.5f), beta = values({c}, seed + 2, -0.5f, 0.5f);
    const Tensor direction = values({shape[0], c, shape[2] / 2, shape[3] / 2}, seed + 3);
    Var xf(x, true), gf(gamma, true), bf(beta, true), xc(x, true), gc(gamma, true), bc(beta, true);
    const autograd::BatchNorm2dOutput fused = autograd::batch_norm_pool_relu2d(xf, gf, bf, 1e-5f);
    const Var composed = composed_batch_norm_pool_relu2d(xc, gc, bc, 1e-5f);
    CHECK(fused.y.value().to_vector() == composed.value().to_vector());
    const tensor::BatchNorm2dResult statistics = tensor::batch_norm2d(x, gamma, beta, 1e-5f);
    CHECK(fused.mean.to_vector() == statistics.mean.to_vector());
    CHECK(fused.var.to_vector() == statistics.var.to_vector());
    autograd::sum(autograd::masked_mul(fused.y, direction)).backward();
    autograd::sum(autograd::masked_mul(composed, direction)).backward();
    // The same sums in another order: a few float roundings apart (the gradients are O(1)).
    CHECK(tensor::allclose(xf.grad(), xc.grad(), 1e-4f, 1e-5f));
    CHECK(tensor::allclose(gf.grad(), gc.grad(), 1e-4f, 1e-5f));
    CHECK(tensor::allclose(bf.grad(), bc.grad(), 1e-4f, 1e-5f));
  };
  SUBCASE("the teacher's first block: 28 x 28 planes, 14 windows a row (four at a time, then the last four again)") {
    check({16, 4, 28, 28}, 40);
  }
  SUBCASE("the teacher's second block: 14 x 14 planes, 7 windows a row") { check({16, 6, 14, 14}, 50); }
  SUBCASE("rows of fewer than four windows, and an odd number of images") { check({5, 3, 6, 2}, 60); }
}

TEST_CASE("batch_norm_pool_relu2d passes gradcheck on input, gamma and beta") {
  const auto f = [](const std::vector<Var>& in) { return autograd::batch_norm_pool_relu2d(in[0], in[1], in[2], 1e-3f).y; };
  const auto result =
      autograd::gradcheck(f, {clear_maxima({2, 3, 4, 4}, 70), values({3}, 71, 0.5f, 1.5f), values({3}, 72, -0.3f, 0.3f)});
  CHECK_MESSAGE(result.passed, result.report);
  CHECK(result.checked == 2 * 3 * 4 * 4 + 3 + 3);
}

TEST_CASE("batch_norm_pool_relu2d gives the same bits on one thread and on two, forward and backward") {
  const Tensor x = values({64, 8, 14, 14}, 80), gamma = values({8}, 81), beta = values({8}, 82);
  const Tensor direction = values({64, 8, 7, 7}, 83);
  const int threads = tensor::num_threads();
  const auto run = [&](int count) {
    tensor::set_num_threads(count);
    Var input(x, true);
    const Var z = autograd::batch_norm_pool_relu2d(input, Var(gamma), Var(beta)).y;
    autograd::sum(autograd::masked_mul(z, direction)).backward();
    return std::pair{z.value().to_vector(), input.grad().to_vector()};
  };
  const auto one = run(1), two = run(2);
  tensor::set_num_threads(threads);
  CHECK(one.first == two.first);
  CHECK(one.second == two.second);
}

TEST_CASE("batch_norm_pool_relu2d reports shapes that do not fit, odd sides and a non-positive eps") {
  const Var x(Tensor::zeros({8, 3, 6, 6}));
  CHECK_THROWS_WITH_AS(autograd::batch_norm_pool_relu2d(x, Var(Tensor::ones({4})), Var(Tensor::zeros({3}))),
                       "batch_norm_pool_relu2d: input [8, 3, 6, 6] has 3 channels but gamma is [4]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(
      autograd::batch_norm_pool_relu2d(Var(Tensor::zeros({8, 3, 5, 6})), Var(Tensor::ones({3})), Var(Tensor::zeros({3}))),
      "batch_norm_pool_relu2d: 2 x 2 windows must tile the image, so H and W must be even, got [8, 3, 5, 6]",
      tensor::ShapeError);
  CHECK_THROWS_WITH_AS(autograd::batch_norm_pool_relu2d(x, Var(Tensor::ones({3})), Var(Tensor::zeros({3})), -1.0f),
                       "batch_norm_pool_relu2d: eps must be > 0, got -1", tensor::ValueError);
  const Tensor input = Tensor::zeros({8, 3, 6, 6});
  const tensor::BatchNormPoolRelu2dResult r =
      tensor::batch_norm_pool_relu2d(input, Tensor::ones({3}), Tensor::zeros({3}), 1e-5f);
  CHECK_THROWS_WITH_AS(tensor::batch_norm_pool_relu2d_backward(Tensor::zeros({8, 3, 6, 6}), input, Tensor::ones({3}), r),
                       "batch_norm_pool_relu2d_backward: gradient [8, 3, 6, 6] and forward output [8, 3, 3, 3] do "
                       "not match the pooling [8, 3, 3, 3] of input [8, 3, 6, 6]",
                       tensor::ShapeError);
}

TEST_CASE("the fused conv_batch_norm_pool_relu2d gives conv2d then batch_norm_pool_relu2d bit for bit, gradients included") {
  // The convolution's gradient is made image by image from the block's: the same arithmetic,
  // so the same bits, on one thread and on two; the teacher's second convolution, 32 -> 64 on
  // 14 x 14, scaled down to 8 -> 6 channels.
  const Tensor x = values({9, 8, 14, 14}, 90), weight = values({6, 8, 3, 3}, 91), bias = values({6}, 92);
  const Tensor gamma = values({6}, 93, -1.5f, 1.5f), beta = values({6}, 94, -0.5f, 0.5f);
  const Tensor direction = values({9, 6, 7, 7}, 95);
  const int threads = tensor::num_threads();
  for (int count : {1, 2}) {
    CAPTURE(count);
    tensor::set_num_threads(count);
    std::vector<Var> f = {Var(x, true), Var(weight, true), Var(bias, true), Var(gamma, true), Var(beta, true)};
    std::vector<Var> c = {Var(x, true), Var(weight, true), Var(bias, true), Var(gamma, true), Var(beta, true)};
    const Var fused = autograd::conv_batch_norm_pool_relu2d(f[0], f[1], f[2], f[3], f[4], 1, 1).y;
    const Var two_ops = autograd::batch_norm_pool_relu2d(autograd::conv2d(c[0], c[1], c[2], 1, 1), c[3], c[4]).y;
    CHECK(fused.value().to_vector() == two_ops.value().to_vector());
    autograd::sum(autograd::masked_mul(fused, direction)).backward();
    autograd::sum(autograd::masked_mul(two_ops, direction)).backward();
    for (size_t i = 0; i < f.size(); ++i) {
      CAPTURE(i);
      CHECK(f[i].grad().to_vector() == c[i].grad().to_vector());
    }
  }
  tensor::set_num_threads(threads);
}

TEST_CASE("conv_batch_norm_pool_relu2d passes gradcheck on input, weight, bias, gamma and beta") {
  // A 1 x 1 convolution with positive weights keeps clear_maxima's clear maxima clear, so no
  // finite-difference step crosses a kink.
  const auto f = [](const std::vector<Var>& in) {
    return autograd::conv_batch_norm_pool_relu2d(in[0], in[1], in[2], in[3], in[4], 1, 0, 1e-3f).y;
  };
  const auto result = autograd::gradcheck(f, {clear_maxima({2, 1, 4, 4}, 100), values({3, 1, 1, 1}, 101, 0.5f, 1.5f),
                                              values({3}, 102), values({3}, 103, 0.5f, 1.5f), values({3}, 104, -0.3f, 0.3f)});
  CHECK_MESSAGE(result.passed, result.report);
  CHECK(result.checked == 2 * 4 * 4 + 3 + 3 + 3 + 3);
}
}
