#include "tensor/norm.h"

#include "tensor/errors.h"
#include "tensor/parallel.h"

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
// expression, so both get the same bits.
inline float normalised(float x, float mean, float inv_std) { return (x - mean) * inv_std; }

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
    // Each plane is summed in float lanes (omp simd: a fixed order for a given build), the
    // planes in double.
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const float* p = in + (i * c + ch) * plane;
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (int64_t k = 0; k < plane; ++k) s += p[k];
      sum += s;
    }
    const double mean = m > 0 ? sum / m : 0.0;
    const auto mu = static_cast<float>(mean);
    double squares = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const float* p = in + (i * c + ch) * plane;
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (int64_t k = 0; k < plane; ++k) s += (p[k] - mu) * (p[k] - mu);
      squares += s;
    }
    const double var = m > 0 ? squares / m : 0.0;
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
    double d_beta = 0.0, d_gamma = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t base = (i * c + ch) * plane;
      float sb = 0.0f, sg = 0.0f;
#pragma omp simd reduction(+ : sb, sg)
      for (int64_t k = 0; k < plane; ++k) {
        sb += d[base + k];
        sg += d[base + k] * normalised(in[base + k], mu, inv);
      }
      d_beta += sb;
      d_gamma += sg;
    }
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
