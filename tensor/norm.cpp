#include "tensor/norm.h"

#include "tensor/errors.h"
#include "tensor/parallel.h"
#include "tensor/pool_planes.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <string>
#include <vector>

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

// A channel's batch statistics, as batch_norm2d and batch_norm_pool_relu2d compute them.
struct ChannelStatistics {
  float mean, var, inv_std;
};

// Channel ch's mean and biased variance over its n planes of `plane` values: each plane summed
// in float (sum_planes' order), the planes in double, in two passes (the mean, then the squared
// deviations from it).
ChannelStatistics channel_statistics(const float* in, int64_t n, int64_t c, int64_t plane, int64_t ch, float eps) {
  const auto m = static_cast<double>(n * plane);
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
  return {mu, static_cast<float>(var), static_cast<float>(1.0 / std::sqrt(var + eps))};
}

// y = gamma x_hat + beta over one plane, the expression both forward passes use (the same bits).
inline void normalise_plane(const float* __restrict in, int64_t plane, const ChannelStatistics& s, float g, float b,
                            float* __restrict y) {
#pragma omp simd
  for (int64_t k = 0; k < plane; ++k) y[k] = g * normalised(in[k], s.mean, s.inv_std) + b;
}

// The same, keeping x_hat too.
inline void normalise_plane(const float* __restrict in, int64_t plane, const ChannelStatistics& s, float g, float b,
                            float* __restrict x_hat, float* __restrict y) {
#pragma omp simd
  for (int64_t k = 0; k < plane; ++k) {
    x_hat[k] = normalised(in[k], s.mean, s.inv_std);
    y[k] = g * x_hat[k] + b;
  }
}

// dx = gamma inv_std / M (M dy - sum dy - x_hat sum dy x_hat) over one plane, the expression both
// backward passes use.
inline void normalise_plane_backward(const float* __restrict dy, const float* __restrict in, int64_t plane, float m,
                                     float scale, float mu, float inv, float sum_dy, float sum_dy_h,
                                     float* __restrict dx) {
#pragma omp simd
  for (int64_t k = 0; k < plane; ++k) dx[k] = scale * (m * dy[k] - sum_dy - normalised(in[k], mu, inv) * sum_dy_h);
}

}  // namespace

BatchNorm2dResult batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps) {
  require_channels(x, gamma, "gamma", "batch_norm2d");
  require_channels(x, beta, "beta", "batch_norm2d");
  if (!(eps > 0.0f)) throw ValueError("batch_norm2d: eps must be > 0, got " + to_string(eps));
  const int64_t n = x.size(0), c = x.size(1), plane = x.size(2) * x.size(3);
  BatchNorm2dResult r{Tensor::empty(x.shape()), Tensor::empty({c}), Tensor::empty({c}), Tensor::empty({c})};
  const float* in = x.data();
  float* y = r.y.data();
  // One channel per thread: its sums are added in the same order whatever the thread count.
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelMinElements)
  for (int64_t ch = 0; ch < c; ++ch) {
    const ChannelStatistics s = channel_statistics(in, n, c, plane, ch, eps);
    const float g = gamma.data()[ch], b = beta.data()[ch];
    for (int64_t i = 0; i < n; ++i) {
      const int64_t base = (i * c + ch) * plane;
      normalise_plane(in + base, plane, s, g, b, y + base);
    }
    r.mean.data()[ch] = s.mean;
    r.var.data()[ch] = s.var;
    r.inv_std.data()[ch] = s.inv_std;
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
      normalise_plane_backward(d + base, in + base, plane, m, scale, mu, inv, sum_dy, sum_dy_h, dx + base);
    }
    g.beta.data()[ch] = sum_dy;
    g.gamma.data()[ch] = sum_dy_h;
  }
  return g;
}

namespace {

// The 2 x 2 windows of batch_norm_pool_relu2d must tile the image.
void require_tiled(const Tensor& x, const char* op) {
  if (x.size(2) % 2 != 0 || x.size(3) % 2 != 0) {
    throw ShapeError(std::string(op) + ": 2 x 2 windows must tile the image, so H and W must be even, got " +
                     to_string(x.shape()));
  }
}

}  // namespace

// z = relu(max over each 2 x 2 window of y), y = gamma x_hat + beta. The statistics channel by
// channel (the second pass over a channel finds it in the cache); then the planes in memory order
// (streams the hardware prefetches), each plane of y made in a plane-sized buffer that stays in
// the cache, pooled from there by max_pool2d's kernel, and never written to memory.
BatchNormPoolRelu2dResult batch_norm_pool_relu2d(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                                 float eps) {
  require_channels(x, gamma, "gamma", "batch_norm_pool_relu2d");
  require_channels(x, beta, "beta", "batch_norm_pool_relu2d");
  if (!(eps > 0.0f)) throw ValueError("batch_norm_pool_relu2d: eps must be > 0, got " + to_string(eps));
  require_tiled(x, "batch_norm_pool_relu2d");
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), plane = h * w;
  const int64_t out_w = w / 2, out_plane = plane / 4;
  BatchNormPoolRelu2dResult r{Tensor::empty({n, c, h / 2, out_w}), {}, Tensor::empty({n, c, h / 2, out_w}),
                              Tensor::empty({c}), Tensor::empty({c}), Tensor::empty({c})};
  r.where.resize(static_cast<size_t>(r.y.numel()));
  const float* in = x.data();
  const bool parallel = x.numel() >= kParallelMinElements;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t ch = 0; ch < c; ++ch) {
    const ChannelStatistics s = channel_statistics(in, n, c, plane, ch, eps);
    r.mean.data()[ch] = s.mean;
    r.var.data()[ch] = s.var;
    r.inv_std.data()[ch] = s.inv_std;
  }
#pragma omp parallel if (parallel)
  {
    std::vector<float> normalised_x(static_cast<size_t>(plane)), y(static_cast<size_t>(plane));
#pragma omp for schedule(static)
    for (int64_t p = 0; p < n * c; ++p) {
      const int64_t ch = p % c;
      const ChannelStatistics s{r.mean.data()[ch], r.var.data()[ch], r.inv_std.data()[ch]};
      const float* image = in + p * plane;
      float* z = r.y.data() + p * out_plane;
      float* x_hat = r.x_hat_at_max.data() + p * out_plane;
      uint8_t* where = r.where.data() + p * out_plane;
      normalise_plane(image, plane, s, gamma.data()[ch], beta.data()[ch], normalised_x.data(), y.data());
      detail::max_pool_plane_2x2(y.data(), h, w, z, where);
      detail::gather_at_maxima_2x2(normalised_x.data(), where, h, w, x_hat);
#pragma omp simd
      for (int64_t o = 0; o < out_plane; ++o) z[o] = z[o] > 0.0f ? z[o] : 0.0f;
    }
  }
  return r;
}

// g = dz where z > 0, else 0 (the ReLU), at each window's maximum (the pooling): dy, zero
// elsewhere. Then batch_norm2d_backward's formula, its two sums taken over the maxima alone
// (the zeros add nothing), channel by channel on the quarter-size planes.
BatchNormPoolRelu2dSums batch_norm_pool_relu2d_sums(const Tensor& dz, const Tensor& x,
                                                   const BatchNormPoolRelu2dResult& forward) {
  require_channels(x, forward.mean, "mean", "batch_norm_pool_relu2d_backward");
  require_tiled(x, "batch_norm_pool_relu2d_backward");
  const int64_t n = x.size(0), c = x.size(1), out_plane = x.size(2) * x.size(3) / 4;
  const Shape pooled{n, c, x.size(2) / 2, x.size(3) / 2};
  if (dz.shape() != pooled || !dz.is_contiguous() || forward.y.shape() != pooled ||
      forward.x_hat_at_max.shape() != pooled || static_cast<int64_t>(forward.where.size()) != dz.numel() ||
      forward.inv_std.shape() != Shape{c}) {
    throw ShapeError("batch_norm_pool_relu2d_backward: gradient " + to_string(dz.shape()) + " and forward output " +
                     to_string(forward.y.shape()) + " do not match the pooling " + to_string(pooled) + " of input " +
                     to_string(x.shape()));
  }
  BatchNormPoolRelu2dSums r{Tensor::empty(pooled), Tensor::empty({c}), Tensor::empty({c})};
  const bool parallel = x.numel() >= kParallelMinElements;
  const int64_t count = dz.numel();
  const float* d = dz.data();
  const float* z = forward.y.data();
  float* kept = r.at_max.data();
  // Both operands read unconditionally, so the select vectorises.
#pragma omp parallel for simd schedule(static) if (parallel)
  for (int64_t o = 0; o < count; ++o) {
    const float grad = d[o], value = z[o];
    kept[o] = value > 0.0f ? grad : 0.0f;
  }
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t ch = 0; ch < c; ++ch) {
    // sum dy and sum dy x_hat over the maxima: each plane in float (sum_planes' order), the planes in double.
    double totals[2] = {0.0, 0.0};
    add_channel_sums<2>(
        n, out_plane,
        [&](auto read, int64_t i, int64_t k) {
          const int64_t at = (i * c + ch) * out_plane + k;
          const auto grad = read(kept + at);
          return std::array{grad, grad * read(forward.x_hat_at_max.data() + at)};
        },
        totals);
    r.beta.data()[ch] = static_cast<float>(totals[0]);
    r.gamma.data()[ch] = static_cast<float>(totals[1]);
  }
  return r;
}

// dx = gamma inv_std / M (M dy - sum dy - x_hat sum dy x_hat), dy unpooled plane by plane into
// a plane-sized buffer.
void batch_norm_pool_relu2d_input_grad_image(const BatchNormPoolRelu2dSums& sums, const Tensor& x, const Tensor& gamma,
                                             const BatchNormPoolRelu2dResult& forward, int64_t image, float* dx) {
  assert(image >= 0 && image < x.size(0) && "batch_norm_pool_relu2d_input_grad_image: no such image");
  const int64_t c = x.size(1), h = x.size(2), w = x.size(3), plane = h * w, out_plane = plane / 4;
  const auto m = static_cast<float>(x.size(0) * plane);
  std::vector<float> dy(static_cast<size_t>(plane));
  for (int64_t ch = 0; ch < c; ++ch) {
    const int64_t p = image * c + ch;
    const float mu = forward.mean.data()[ch], inv = forward.inv_std.data()[ch];
    const float scale = m > 0 ? gamma.data()[ch] * inv / m : 0.0f;
    detail::max_pool_plane_2x2_backward(sums.at_max.data() + p * out_plane, forward.where.data() + p * out_plane, h, w,
                                        dy.data());
    normalise_plane_backward(dy.data(), x.data() + p * plane, plane, m, scale, mu, inv, sums.beta.data()[ch],
                             sums.gamma.data()[ch], dx + ch * plane);
  }
}

BatchNorm2dGrads batch_norm_pool_relu2d_backward(const Tensor& dz, const Tensor& x, const Tensor& gamma,
                                                 const BatchNormPoolRelu2dResult& forward) {
  require_channels(x, gamma, "gamma", "batch_norm_pool_relu2d_backward");
  BatchNormPoolRelu2dSums sums = batch_norm_pool_relu2d_sums(dz, x, forward);
  BatchNorm2dGrads g{Tensor::empty(x.shape()), sums.gamma, sums.beta};
  const int64_t n = x.size(0), per_image = x.numel() / std::max<int64_t>(n, 1);
  // The images in memory order (streams the hardware prefetches).
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    batch_norm_pool_relu2d_input_grad_image(sums, x, gamma, forward, i, g.input.data() + i * per_image);
  }
  return g;
}

}  // namespace tensor
