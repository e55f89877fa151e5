// Convolution and pooling: values against a direct loop, gradients against finite differences.
#include "autograd/conv.h"

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tensor/conv.h"
#include "tensor/errors.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

#include <doctest/doctest.h>

#include <cmath>
#include <tuple>

using autograd::Var;
using tensor::Shape;
using tensor::Tensor;

namespace {

Tensor values(const Shape& shape, uint64_t seed) {
  tensor::Generator gen(seed);
  return tensor::uniform(shape, -1.0f, 1.0f, gen);
}

// The definition, written as directly as possible: a reference independent of im2col.
Tensor direct_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t padding) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t o = w.size(0), kh = w.size(2), kw = w.size(3);
  const int64_t oh = (h + 2 * padding - kh) / stride + 1, ow = (wd + 2 * padding - kw) / stride + 1;
  Tensor y = Tensor::zeros({n, o, oh, ow});
  for (int64_t in = 0; in < n; ++in)
    for (int64_t io = 0; io < o; ++io)
      for (int64_t r = 0; r < oh; ++r)
        for (int64_t s = 0; s < ow; ++s) {
          double acc = b.at({io});
          for (int64_t ic = 0; ic < c; ++ic)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t yy = r * stride - padding + i, xx = s * stride - padding + j;
                if (yy >= 0 && yy < h && xx >= 0 && xx < wd) acc += double(w.at({io, ic, i, j})) * x.at({in, ic, yy, xx});
              }
          y.set({in, io, r, s}, static_cast<float>(acc));
        }
  return y;
}

struct Geometry {
  int64_t stride, padding, kernel;
};

// Pooling by its definition: each window's first largest value, and the gradient of a loss
// sum(y * dy) scattered to those positions.
std::pair<Tensor, Tensor> direct_max_pool2d(const Tensor& x, const Tensor& dy, int64_t k, int64_t s) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t oh = (h - k) / s + 1, ow = (w - k) / s + 1;
  Tensor y = Tensor::zeros({n, c, oh, ow});
  Tensor dx = Tensor::zeros(x.shape());
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < c; ++b)
      for (int64_t r = 0; r < oh; ++r)
        for (int64_t q = 0; q < ow; ++q) {
          int64_t bi = r * s, bj = q * s;
          for (int64_t i = 0; i < k; ++i)
            for (int64_t j = 0; j < k; ++j)
              if (x.at({a, b, r * s + i, q * s + j}) > x.at({a, b, bi, bj})) bi = r * s + i, bj = q * s + j;
          y.set({a, b, r, q}, x.at({a, b, bi, bj}));
          dx.set({a, b, bi, bj}, dx.at({a, b, bi, bj}) + dy.at({a, b, r, q}));
        }
  return {y, dx};
}

}  // namespace

TEST_SUITE("autograd/conv") {
TEST_CASE("conv2d equals the direct definition for several strides, paddings and kernels") {
  for (const Geometry& g : {Geometry{1, 0, 3}, Geometry{1, 1, 3}, Geometry{2, 1, 3}, Geometry{2, 0, 2}, Geometry{1, 2, 5}}) {
    CAPTURE(g.stride);
    CAPTURE(g.padding);
    CAPTURE(g.kernel);
    const Tensor x = values({2, 3, 7, 6}, 1), w = values({4, 3, g.kernel, g.kernel}, 2), b = values({4}, 3);
    const Tensor y = autograd::conv2d(Var(x), Var(w), Var(b), g.stride, g.padding).value();
    CHECK(tensor::allclose(y, direct_conv2d(x, w, b, g.stride, g.padding), 1e-4f, 1e-5f));
  }
}

TEST_CASE("the fused conv2d equals its composition from im2col, matmul and permute, gradients included") {
  // The composition the fused kernel replaces: Y = im2col(x) W^T + b, reshaped to NHWC, permuted to NCHW.
  const auto composed = [](const Var& x, const Var& w, const Var& b, int64_t stride, int64_t padding) {
    const int64_t o = w.shape()[0], kh = w.shape()[2], kw = w.shape()[3];
    const int64_t oh = tensor::conv_output_size(x.shape()[2], kh, stride, padding);
    const int64_t ow = tensor::conv_output_size(x.shape()[3], kw, stride, padding);
    const Var cols = autograd::im2col(x, kh, kw, stride, padding);
    const Var y = autograd::matmul(cols, autograd::transpose(autograd::reshape(w, {o, -1}), 0, 1)) + b;
    return autograd::permute(autograd::reshape(y, {x.shape()[0], oh, ow, o}), {0, 3, 1, 2});
  };
  for (const Geometry& g : {Geometry{1, 1, 3}, Geometry{2, 0, 2}, Geometry{2, 2, 5}}) {
    CAPTURE(g.stride);
    CAPTURE(g.kernel);
    const Tensor x = values({3, 2, 9, 8}, 11), w = values({4, 2, g.kernel, g.kernel}, 12), b = values({4}, 13);
    Var xf(x, true), wf(w, true), bf(b, true), xc(x, true), wc(w, true), bc(b, true);
    const Var fused = autograd::conv2d(xf, wf, bf, g.stride, g.padding);
    const Var reference = composed(xc, wc, bc, g.stride, g.padding);
    REQUIRE(fused.shape() == reference.shape());
    CHECK(tensor::allclose(fused.value(), reference.value(), 1e-4f, 1e-5f));
    const Tensor dy = values(fused.shape(), 14);
    fused.backward(dy);
    reference.backward(dy);
    CHECK(tensor::allclose(xf.grad(), xc.grad(), 1e-4f, 1e-5f));
    CHECK(tensor::allclose(wf.grad(), wc.grad(), 1e-4f, 1e-5f));
    CHECK(tensor::allclose(bf.grad(), bc.grad(), 1e-4f, 1e-5f));
  }
}

TEST_CASE("conv2d gives the same bits on one thread and on two, big enough to be split") {
  const Tensor x = values({16, 3, 20, 20}, 15), w = values({8, 3, 3, 3}, 16), b = values({8}, 17);
  const auto run = [&](int threads) {
    tensor::set_num_threads(threads);
    Var xv(x, true), wv(w, true), bv(b, true);
    const Var y = autograd::conv2d(xv, wv, bv, 1, 1);
    y.backward(values(y.shape(), 18));
    return std::vector<Tensor>{y.value(), xv.grad(), wv.grad(), bv.grad()};
  };
  const int threads = tensor::num_threads();
  const std::vector<Tensor> one = run(1), two = run(2);
  tensor::set_num_threads(threads);
  // Forward and input gradient are per image; weight and bias gradients add per-thread parts,
  // so they may differ in the last bits between thread counts, and only that.
  CHECK(tensor::allclose(one[0], two[0], 0.0f, 0.0f));
  CHECK(tensor::allclose(one[1], two[1], 0.0f, 0.0f));
  CHECK(tensor::allclose(one[2], two[2], 1e-5f, 1e-5f));
  CHECK(tensor::allclose(one[3], two[3], 1e-5f, 1e-5f));
}

TEST_CASE("conv2d stays inside narrow images whose kernel reaches only into the padding") {
  // Stride 2 with padding on a 1- or 2-wide image: some kernel columns see only padding.
  for (const auto& [width, kernel, padding] : {std::tuple{1, 3, 1}, std::tuple{2, 5, 2}, std::tuple{1, 5, 2}}) {
    CAPTURE(width);
    CAPTURE(kernel);
    const Tensor x = values({2, 2, width, width}, 21), w = values({3, 2, kernel, kernel}, 22), b = values({3}, 23);
    CHECK(tensor::allclose(autograd::conv2d(Var(x), Var(w), Var(b), 2, padding).value(),
                           direct_conv2d(x, w, b, 2, padding), 1e-4f, 1e-5f));
    const auto f = [padding](const std::vector<Var>& in) { return autograd::conv2d(in[0], in[1], in[2], 2, padding); };
    const auto result = autograd::gradcheck(f, {x, w, b});
    CHECK_MESSAGE(result.passed, result.report);
  }
}

TEST_CASE("conv2d passes gradcheck on input, weight and bias") {
  for (const Geometry& g : {Geometry{1, 1, 3}, Geometry{2, 0, 2}}) {
    CAPTURE(g.stride);
    const auto f = [g](const std::vector<Var>& in) { return autograd::conv2d(in[0], in[1], in[2], g.stride, g.padding); };
    const auto result = autograd::gradcheck(f, {values({2, 2, 5, 5}, 4), values({3, 2, g.kernel, g.kernel}, 5), values({3}, 6)});
    CHECK_MESSAGE(result.passed, result.report);
  }
}

TEST_CASE("conv2d without a bias passes gradcheck") {
  const auto f = [](const std::vector<Var>& in) { return autograd::conv2d(in[0], in[1], Var(), 1, 0); };
  const auto result = autograd::gradcheck(f, {values({1, 1, 4, 4}, 7), values({2, 1, 3, 3}, 8)});
  CHECK_MESSAGE(result.passed, result.report);
}

TEST_CASE("im2col passes gradcheck, overlapping windows included") {
  const auto f = [](const std::vector<Var>& in) { return autograd::im2col(in[0], 3, 2, 1, 1); };
  const auto result = autograd::gradcheck(f, {values({2, 2, 4, 3}, 9)});
  CHECK_MESSAGE(result.passed, result.report);
}

TEST_CASE("max_pool2d takes each window's maximum and passes gradcheck") {
  // A 4x4 plane of distinct values: 2x2 windows with stride 2 pick 6, 8, 14, 16 (1-based by hand).
  const Tensor x = tensor::add(Tensor::arange(16).reshape({1, 1, 4, 4}), 1.0f);
  CHECK(autograd::max_pool2d(Var(x), 2, 2).value().to_vector() == std::vector<float>{6, 8, 14, 16});
  // Distinct values in [-1.5, 1.5], 0.02 apart: more than the finite-difference step
  // (at most 0.015 here), so no perturbation changes which element is a window's maximum.
  const Tensor spread = tensor::sub(tensor::mul(tensor::index_select(Tensor::arange(2 * 3 * 5 * 5).reshape({-1}), 0, [] {
    tensor::Generator gen(3);
    return tensor::permutation(150, gen);
  }()).reshape({2, 3, 5, 5}), 0.02f), 1.5f);
  for (const auto& [kernel, stride] : {std::pair{2, 2}, std::pair{3, 1}, std::pair{2, 1}}) {
    CAPTURE(kernel);
    const auto f = [kernel, stride](const std::vector<Var>& in) { return autograd::max_pool2d(in[0], kernel, stride); };
    const auto result = autograd::gradcheck(f, {spread});
    CHECK_MESSAGE(result.passed, result.report);
  }
}

TEST_CASE("max_pool2d's 2x2 loop and its general loop equal the definition, ties, NaNs and uncovered edges included") {
  // Values from {-1, 0, 1}: many ties, so the first-maximum rule is exercised. Rows of 4, 7
  // and 5 windows (14 x 14: the teacher's second pooling) and of 3: whole groups of four,
  // groups with an overlapping last four, and too few for a group.
  for (const auto& [shape, kernel, stride] :
       {std::tuple{Shape{2, 3, 6, 8}, 2, 2}, std::tuple{Shape{1, 2, 14, 14}, 2, 2}, std::tuple{Shape{2, 1, 6, 11}, 2, 2},
        std::tuple{Shape{1, 2, 5, 7}, 2, 2}, std::tuple{Shape{2, 2, 7, 7}, 3, 2},
        std::tuple{Shape{1, 3, 6, 6}, 2, 1}, std::tuple{Shape{1, 1, 9, 9}, 3, 3}}) {
    CAPTURE(tensor::to_string(shape));
    CAPTURE(kernel);
    CAPTURE(stride);
    tensor::Generator gen(17);
    Tensor x = Tensor::empty(shape);
    for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>(gen.below(3)) - 1.0f;
    const tensor::MaxPool2dResult pooled = tensor::max_pool2d(x, kernel, stride);
    const Tensor dy = values(pooled.values.shape(), 5);
    const auto [y, dx] = direct_max_pool2d(x, dy, kernel, stride);
    CHECK(pooled.values.to_vector() == y.to_vector());
    CHECK(tensor::max_pool2d_backward(dy, pooled.where, shape, kernel, stride).to_vector() == dx.to_vector());
    // With NaNs, where each window's maximum was taken (the gradient's positions) still
    // follows the definition: a NaN never compares greater.
    for (int64_t i = 0; i < x.numel(); i += 3) x.data()[i] = std::nanf("");
    const tensor::MaxPool2dResult with_nan = tensor::max_pool2d(x, kernel, stride);
    const Tensor dx_nan = direct_max_pool2d(x, dy, kernel, stride).second;
    CHECK(tensor::max_pool2d_backward(dy, with_nan.where, shape, kernel, stride).to_vector() == dx_nan.to_vector());
  }
}

TEST_CASE("max-pooling then ReLU gives the bits of ReLU then max-pooling, gradients included") {
  // ReLU is monotone, so it commutes with a maximum: the teacher pools first and rectifies
  // a quarter of the values.
  const Tensor x = values({2, 4, 8, 8}, 21);
  const Tensor w = values({2, 4, 4, 4}, 22);
  Var a(x, true), b(x, true);
  const Var pool_first = autograd::relu(autograd::max_pool2d(a, 2, 2));
  const Var relu_first = autograd::max_pool2d(autograd::relu(b), 2, 2);
  CHECK(pool_first.value().to_vector() == relu_first.value().to_vector());
  autograd::sum(autograd::mul(pool_first, Var(w))).backward();
  autograd::sum(autograd::mul(relu_first, Var(w))).backward();
  CHECK(a.grad().to_vector() == b.grad().to_vector());
}

TEST_CASE("conv2d and pooling report bad shapes and geometries") {
  const Var x(Tensor::zeros({8, 3, 28, 28}));
  CHECK_THROWS_WITH_AS(autograd::conv2d(x, Var(Tensor::zeros({32, 1, 3, 3})), Var(), 1, 0),
                       "conv2d: input [8, 3, 28, 28] has 3 channels but weight [32, 1, 3, 3] expects 1",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(autograd::conv2d(Var(Tensor::zeros({8, 784})), Var(Tensor::zeros({32, 1, 3, 3})), Var(), 1, 0),
                       "conv2d: expects input [N, C, H, W] and weight [O, C, kh, kw], got [8, 784] and [32, 1, 3, 3]",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(autograd::conv2d(x, Var(Tensor::zeros({4, 3, 3, 3})), Var(Tensor::zeros({5})), 1, 0),
                       "conv2d: bias [5] does not match 4 output channels", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(autograd::max_pool2d(Var(Tensor::zeros({1, 1, 1, 1})), 2, 2),
                       "max_pool2d: a window of 2 does not fit in size 1 with padding 0", tensor::ValueError);
  CHECK_THROWS_WITH_AS(autograd::conv2d(Var(Tensor::zeros({1, 1, 2, 2})), Var(Tensor::zeros({1, 1, 5, 5})), Var(), 1, 0),
                       "conv2d: a window of 5 does not fit in size 2 with padding 0", tensor::ValueError);
  // A position is i k + j inside its window: 4 does not exist in a 2x2 one.
  const tensor::MaxPool2dResult pooled = tensor::max_pool2d(Tensor::zeros({1, 1, 4, 4}), 2, 2);
  CHECK(pooled.where == std::vector<uint8_t>{0, 0, 0, 0});  // ties: the first pixel of each window
  CHECK_THROWS_WITH_AS(tensor::max_pool2d_backward(pooled.values, {0, 4, 0, 0}, {1, 1, 4, 4}, 2, 2),
                       "max_pool2d_backward: recorded position 4 (element 1) lies outside a 2x2 window",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::max_pool2d_backward(pooled.values, pooled.where, {1, 1, 2, 2}, 2, 2),
                       "max_pool2d_backward: gradient [1, 1, 2, 2] with 4 recorded maxima does not match the pooling "
                       "[1, 1, 1, 1] of [1, 1, 2, 2]",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::max_pool2d_backward(pooled.values, {0, 0, 0}, {1, 1, 4, 4}, 2, 2),
                       "max_pool2d_backward: gradient [1, 1, 2, 2] with 3 recorded maxima does not match the pooling "
                       "[1, 1, 2, 2] of [1, 1, 4, 4]",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(autograd::max_pool2d(Var(Tensor::zeros({1, 1, 20, 20})), 17, 1),
                       "max_pool2d: a window of 17 is larger than the 16 supported", tensor::ValueError);
  CHECK_THROWS_WITH_AS(autograd::max_pool2d(Var(Tensor::zeros({4, 4})), 2, 2),
                       "max_pool2d: expects an NCHW image batch, got shape [4, 4]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::conv_output_size(28, 3, 0, 1),
                       "conv_output_size: need kernel >= 1, stride >= 1, padding >= 0, got kernel 3, stride 0, padding 1",
                       tensor::ValueError);
}
}
