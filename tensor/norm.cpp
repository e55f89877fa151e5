#include "tensor/norm.h"

#include "tensor/errors.h"
#include "tensor/parallel.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

namespace tensor {

namespace {

void require_channels(const Tensor& x, const Tensor& per_channel, const char* what, const char* op) {
  if (x.dim() != 4 || !x.is_contiguous()) {
    throw ShapeError(std::string(op) + ": expects a contiguous NCHW image batch, got " + to_string(x.shape()));
  }
  if (per_channel.dim() != 1 || per_channel.size(0) != x.size(1) || !per_channel.is_contiguous()) {
    throw ShapeError(std::string(op) + ": input " + to_string(x.shape()) + " has " + std::to_string(x.size(1)) +
                     " channels but " + what + " is " + to_string(per_channel.shape()));
  }
}

// x_hat, as the forward pass computes it and the backward pass recomputes it: one
// expression, so both get the same bits (for a float, and lane by lane for Lanes).
template <class V>
inline V normalised(V x, float mean, float inv_std) {
  return (x - mean) * inv_std;
}

// Four floats computed lane by lane, each lane exactly as a float would be (SSE2 on every
// x86-64, plain floats elsewhere: the same bits).
struct Lanes {
#if defined(__SSE2__)
  __m128 v;
  static Lanes load(const float* p) { return {_mm_loadu_ps(p)}; }
  static Lanes zero() { return {_mm_setzero_ps()}; }
  void store(float* out) const { _mm_storeu_ps(out, v); }
  friend Lanes operator+(Lanes a, Lanes b) { return {_mm_add_ps(a.v, b.v)}; }
  friend Lanes operator*(Lanes a, Lanes b) { return {_mm_mul_ps(a.v, b.v)}; }
  friend Lanes operator-(Lanes a, float b) { return {_mm_sub_ps(a.v, _mm_set1_ps(b))}; }
  friend Lanes operator*(Lanes a, float b) { return {_mm_mul_ps(a.v, _mm_set1_ps(b))}; }
#else
  float v[4];
  static Lanes load(const float* p) { return {{p[0], p[1], p[2], p[3]}}; }
  static Lanes zero() { return {{0.0f, 0.0f, 0.0f, 0.0f}}; }
  void store(float* out) const { std::copy_n(v, 4, out); }
  template <class F>
  static Lanes each(F f) { return {{f(0), f(1), f(2), f(3)}}; }
  friend Lanes operator+(Lanes a, Lanes b) { return each([&](int l) { return a.v[l] + b.v[l]; }); }
  friend Lanes operator*(Lanes a, Lanes b) { return each([&](int l) { return a.v[l] * b.v[l]; }); }
  friend Lanes operator-(Lanes a, float b) { return each([&](int l) { return a.v[l] - b; }); }
  friend Lanes operator*(Lanes a, float b) { return each([&](int l) { return a.v[l] * b; }); }
#endif
};

// The float sums of kSums terms over the `plane` values of each of kPlanes planes, each sum
// in one fixed order, the same for any compiler and instruction set: four lanes, lane l
// adding the terms k = l, l + 4, l + 8, ... of the first plane - plane % 4, the last
// plane % 4 terms added to lane 0 in turn, then (((lane 0 + 0) + lane 1) + lane 2) + lane 3
// (the order GCC gave the `omp simd` reductions these sums were before: the bits stayed).
// term(read, p, k) returns plane p's kSums terms at value k (at k .. k + 3 when `read`
// reads Lanes). A sum is a chain of dependent additions as long as the plane; the planes'
// chains are independent, so interleaving kPlanes of them keeps kPlanes times as many
// additions in flight.
template <int kPlanes, int kSums, class Term>
void sum_planes(int64_t plane, Term term, float (&sums)[kPlanes][kSums]) {
  const int64_t body = plane - plane % 4;
  Lanes acc[kPlanes][kSums];
  for (auto& per_plane : acc) std::fill_n(per_plane, kSums, Lanes::zero());
  for (int64_t k = 0; k < body; k += 4) {
    for (int p = 0; p < kPlanes; ++p) {
      const auto t = term([](const float* x) { return Lanes::load(x); }, p, k);
      for (int s = 0; s < kSums; ++s) acc[p][s] = acc[p][s] + t[s];
    }
  }
  for (int p = 0; p < kPlanes; ++p) {
    for (int s = 0; s < kSums; ++s) {
      float lane[4];
      acc[p][s].store(lane);
      for (int64_t k = body; k < plane; ++k) lane[0] += term([](const float* x) { return *x; }, p, k)[s];
      sums[p][s] = (((lane[0] + 0.0f) + lane[1]) + lane[2]) + lane[3];
    }
  }
}

// A channel's kSums sums over its n planes: each plane's in float (sum_planes, four planes
// at a time), the planes' added to totals in double in image order. term(read, i, k) is
// sum_planes' term for image i's plane.
template <int kSums, class Term>
void add_channel_sums(int64_t n, int64_t plane, Term term, double (&totals)[kSums]) {
  int64_t i = 0;
  const auto group = [&]<int kCount>() {
    float sums[kCount][kSums];
    sum_planes<kCount, kSums>(plane, [&](auto read, int p, int64_t k) { return term(read, i + p, k); }, sums);
    for (int p = 0; p < kCount; ++p) {
      for (int s = 0; s < kSums; ++s) totals[s] += sums[p][s];
    }
    i += kCount;
  };
  while (i + 4 <= n) group.template operator()<4>();
  while (i < n) group.template operator()<1>();
}

}  // namespace

BatchNorm2dResult batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps) {
  require_channels(x, gamma, "gamma", "batch_norm2d");
  require_channels(x, beta, "beta", "batch_norm2d");
  if (!(eps > 0.0f)) throw ValueError("batch_norm2d: eps must be > 0, got " + to_string(eps));
  const int64_t n = x.size(0), c = x.size(1), plane = x.size(2) * x.size(3);
  const auto m = static_cast<double>(n * plane);
  BatchNorm2dResult r{Tensor::empty(x.shape()), Tensor::empty({c}), Tensor::empty({c}), Tensor::empty({c})};
  const float* in = x.data();
  float* y = r.y.data();
  // One channel per thread: its sums are added in the same order whatever the thread count.
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelMinElements)
  for (int64_t ch = 0; ch < c; ++ch) {
    // Each plane is summed in float (sum_planes' order), the planes in double.
    const auto at = [&](int64_t i, int64_t k) { return in + (i * c + ch) * plane + k; };
    double sum[1] = {0.0};
    add_channel_sums<1>(n, plane, [&](auto read, int64_t i, int64_t k) { return std::array{read(at(i, k))}; }, sum);
    const double mean = m > 0 ? sum[0] / m : 0.0;
    const auto mu = static_cast<float>(mean);
    double squares[1] = {0.0};
    add_channel_sums<1>(
        n, plane,
        [&](auto read, int64_t i, int64_t k) {
          const auto deviation = read(at(i, k)) - mu;
          return std::array{deviation * deviation};
        },
        squares);
    const double var = m > 0 ? squares[0] / m : 0.0;
    const auto inv_std = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float g = gamma.data()[ch], b = beta.data()[ch];
    for (int64_t i = 0; i < n; ++i) {
      const int64_t base = (i * c + ch) * plane;
#pragma omp simd
      for (int64_t k = 0; k < plane; ++k) y[base + k] = g * normalised(in[base + k], mu, inv_std) + b;
    }
    r.mean.data()[ch] = mu;
    r.var.data()[ch] = static_cast<float>(var);
    r.inv_std.data()[ch] = inv_std;
  }
  return r;
}

BatchNorm2dGrads batch_norm2d_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& gamma,
                                       const Tensor& inv_std) {
  require_channels(dy, gamma, "gamma", "batch_norm2d_backward");
  require_channels(dy, mean, "mean", "batch_norm2d_backward");
  require_channels(dy, inv_std, "inv_std", "batch_norm2d_backward");
  if (x.shape() != dy.shape() || !x.is_contiguous()) {
    throw ShapeError("batch_norm2d_backward: input " + to_string(x.shape()) + " does not match dy " +
                     to_string(dy.shape()));
  }
  const int64_t n = dy.size(0), c = dy.size(1), plane = dy.size(2) * dy.size(3);
  const auto m = static_cast<float>(n * plane);
  BatchNorm2dGrads g{Tensor::empty(dy.shape()), Tensor::empty({c}), Tensor::empty({c})};
  const float* d = dy.data();
  const float* in = x.data();
  float* dx = g.input.data();
#pragma omp parallel for schedule(static) if (dy.numel() >= kParallelMinElements)
  for (int64_t ch = 0; ch < c; ++ch) {
    const float mu = mean.data()[ch], inv = inv_std.data()[ch];
    // sum dy and sum dy x_hat: each plane in float (sum_planes' order), the planes in double.
    double totals[2] = {0.0, 0.0};
    add_channel_sums<2>(
        n, plane,
        [&](auto read, int64_t i, int64_t k) {
          const int64_t at = (i * c + ch) * plane + k;
          const auto grad = read(d + at);
          return std::array{grad, grad * normalised(read(in + at), mu, inv)};
        },
        totals);
    const double d_beta = totals[0], d_gamma = totals[1];
    const float scale = m > 0 ? gamma.data()[ch] * inv / m : 0.0f;
    const auto sum_dy = static_cast<float>(d_beta), sum_dy_h = static_cast<float>(d_gamma);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t base = (i * c + ch) * plane;
#pragma omp simd
      for (int64_t k = 0; k < plane; ++k) {
        dx[base + k] = scale * (m * d[base + k] - sum_dy - normalised(in[base + k], mu, inv) * sum_dy_h);
      }
    }
    g.beta.data()[ch] = sum_dy;
    g.gamma.data()[ch] = sum_dy_h;
  }
  return g;
}

}  // namespace tensor
