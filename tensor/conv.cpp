#include "tensor/conv.h"

#include "tensor/errors.h"
#include "tensor/parallel.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <string>
#include <vector>

namespace tensor {

namespace {

void require_image(const Tensor& x, const char* op) {
  if (x.dim() != 4) throw ShapeError(std::string(op) + ": expects an NCHW image batch, got shape " + to_string(x.shape()));
}

// The geometry shared by im2col and col2im.
struct Windows {
  int64_t n, c, h, w, kh, kw, stride, padding, out_h, out_w;
};

Windows windows(const Shape& image, int64_t kh, int64_t kw, int64_t stride, int64_t padding, const char* op) {
  return {image[0], image[1], image[2], image[3], kh, kw, stride, padding,
          conv_output_size(image[2], kh, stride, padding, op), conv_output_size(image[3], kw, stride, padding, op)};
}

// The output columns ow whose input column ow * s - p + j falls inside [0, w): [first, last).
std::pair<int64_t, int64_t> valid_columns(const Windows& g, int64_t j) {
  const int64_t shift = g.padding - j;  // input column = ow * s - shift
  const int64_t first = std::min(g.out_w, std::max<int64_t>(0, (shift + g.stride - 1) / g.stride));
  // The last valid ow is floor((w - 1 + shift) / s); C++ division truncates toward zero, so a
  // negative numerator (the kernel column reaches only into the right padding) means none.
  const int64_t high = g.w - 1 + shift;
  const int64_t last = high < 0 ? first : std::max(first, std::min(g.out_w, high / g.stride + 1));
  return {first, last};
}

// One image's receptive fields as [C kh kw, Ho Wo]: row (c, i, j), column (oh, ow).
// Each row is a shifted copy of the image: the in-bounds middle of every output row is
// copied in one run (a memcpy at stride 1), the padding on either side is zero.
void image_to_columns(const float* image, const Windows& g, float* cols) {
  for (int64_t c = 0; c < g.c; ++c) {
    const float* plane = image + c * g.h * g.w;
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        const auto [first, last] = valid_columns(g, j);
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          const int64_t y = oh * g.stride - g.padding + i;
          float* out = cols + oh * g.out_w;
          if (y < 0 || y >= g.h) {
            std::fill(out, out + g.out_w, 0.0f);
            continue;
          }
          const int64_t base = y * g.w - g.padding + j;  // plane[base + ow * s] is input column ow * s - p + j
          std::fill(out, out + first, 0.0f);
          if (g.stride == 1) {
            std::copy(plane + base + first, plane + base + last, out + first);
          } else {
            for (int64_t ow = first; ow < last; ++ow) out[ow] = plane[base + ow * g.stride];
          }
          std::fill(out + last, out + g.out_w, 0.0f);
        }
        cols += g.out_h * g.out_w;
      }
    }
  }
}

// The adjoint of image_to_columns: adds each column entry back onto its pixel.
void columns_to_image(const float* cols, const Windows& g, float* image) {
  for (int64_t c = 0; c < g.c; ++c) {
    float* plane = image + c * g.h * g.w;
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        const auto [first, last] = valid_columns(g, j);
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          const int64_t y = oh * g.stride - g.padding + i;
          if (y < 0 || y >= g.h) continue;
          const float* in = cols + oh * g.out_w;
          const int64_t base = y * g.w - g.padding + j;
          for (int64_t ow = first; ow < last; ++ow) plane[base + ow * g.stride] += in[ow];
        }
        cols += g.out_h * g.out_w;
      }
    }
  }
}

// Checks a convolution's operands and returns its geometry.
Windows conv_geometry(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
                      const char* op) {
  if (x.dim() != 4 || weight.dim() != 4) {
    throw ShapeError(std::string(op) + ": expects input [N, C, H, W] and weight [O, C, kh, kw], got " +
                     to_string(x.shape()) + " and " + to_string(weight.shape()));
  }
  if (x.shape()[1] != weight.shape()[1]) {
    throw ShapeError(std::string(op) + ": input " + to_string(x.shape()) + " has " + std::to_string(x.shape()[1]) +
                     " channels but weight " + to_string(weight.shape()) + " expects " +
                     std::to_string(weight.shape()[1]));
  }
  if (bias.defined() && bias.shape() != Shape{weight.shape()[0]}) {
    throw ShapeError(std::string(op) + ": bias " + to_string(bias.shape()) + " does not match " +
                     std::to_string(weight.shape()[0]) + " output channels");
  }
  return windows(x.shape(), weight.shape()[2], weight.shape()[3], stride, padding, op);
}

// [begin, end) of the images thread t of `threads` handles: a fixed static split.
std::pair<int64_t, int64_t> share(int64_t n, int64_t t, int64_t threads) { return {n * t / threads, n * (t + 1) / threads}; }

}  // namespace

int64_t conv_output_size(int64_t size, int64_t kernel, int64_t stride, int64_t padding, const char* op) {
  if (kernel < 1 || stride < 1 || padding < 0) {
    throw ValueError(std::string(op) + ": need kernel >= 1, stride >= 1, padding >= 0, got kernel " +
                     std::to_string(kernel) + ", stride " + std::to_string(stride) + ", padding " +
                     std::to_string(padding));
  }
  if (size + 2 * padding < kernel) {
    throw ValueError(std::string(op) + ": a window of " + std::to_string(kernel) + " does not fit in size " +
                     std::to_string(size) + " with padding " + std::to_string(padding));
  }
  return (size + 2 * padding - kernel) / stride + 1;
}

Tensor im2col(const Tensor& x, int64_t kernel_h, int64_t kernel_w, int64_t stride, int64_t padding) {
  require_image(x, "im2col");
  const Windows g = windows(x.shape(), kernel_h, kernel_w, stride, padding, "im2col");
  const Tensor in = x.contiguous();
  const int64_t row = g.c * g.kh * g.kw;
  Tensor cols = Tensor::empty({g.n * g.out_h * g.out_w, row});
  const float* src = in.data();
  float* dst = cols.data();
#pragma omp parallel for schedule(static) if (cols.numel() >= kParallelMinElements)
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        float* out = dst + ((n * g.out_h + oh) * g.out_w + ow) * row;
        for (int64_t c = 0; c < g.c; ++c) {
          const float* image = src + (n * g.c + c) * g.h * g.w;
          for (int64_t i = 0; i < g.kh; ++i) {
            const int64_t y = oh * g.stride - g.padding + i;
            for (int64_t j = 0; j < g.kw; ++j) {
              const int64_t xx = ow * g.stride - g.padding + j;
              *out++ = (y >= 0 && y < g.h && xx >= 0 && xx < g.w) ? image[y * g.w + xx] : 0.0f;
            }
          }
        }
      }
    }
  }
  return cols;
}

Tensor col2im(const Tensor& cols, const Shape& image_shape, int64_t kernel_h, int64_t kernel_w, int64_t stride,
              int64_t padding) {
  if (image_shape.size() != 4) {
    throw ShapeError("col2im: expects an NCHW image shape, got " + to_string(image_shape));
  }
  const Windows g = windows(image_shape, kernel_h, kernel_w, stride, padding, "col2im");
  const int64_t row = g.c * g.kh * g.kw;
  if (cols.shape() != Shape{g.n * g.out_h * g.out_w, row}) {
    throw ShapeError("col2im: columns " + to_string(cols.shape()) + " do not match image " + to_string(image_shape) +
                     " with a " + std::to_string(g.kh) + "x" + std::to_string(g.kw) + " kernel");
  }
  const Tensor in = cols.contiguous();
  Tensor x = Tensor::zeros(image_shape);
  const float* src = in.data();
  float* dst = x.data();
  // Images are independent: split the batch across threads; within one, windows overlap.
#pragma omp parallel for schedule(static) if (cols.numel() >= kParallelMinElements)
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const float* from = src + ((n * g.out_h + oh) * g.out_w + ow) * row;
        for (int64_t c = 0; c < g.c; ++c) {
          float* image = dst + (n * g.c + c) * g.h * g.w;
          for (int64_t i = 0; i < g.kh; ++i) {
            const int64_t y = oh * g.stride - g.padding + i;
            for (int64_t j = 0; j < g.kw; ++j, ++from) {
              const int64_t xx = ow * g.stride - g.padding + j;
              if (y >= 0 && y < g.h && xx >= 0 && xx < g.w) image[y * g.w + xx] += *from;
            }
          }
        }
      }
    }
  }
  return x;
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding) {
  const Windows g = conv_geometry(x, weight, bias, stride, padding, "conv2d");
  const int64_t out_channels = weight.shape()[0];
  const int64_t rows = g.c * g.kh * g.kw;     // K of the product
  const int64_t pixels = g.out_h * g.out_w;   // N of the product
  const Tensor in = x.contiguous();
  const Tensor w = weight.contiguous();
  const Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = Tensor::empty({g.n, out_channels, g.out_h, g.out_w});
  if (y.numel() == 0) return y;
  const int threads = in.numel() + y.numel() >= kParallelMinElements ? num_threads() : 1;
#pragma omp parallel num_threads(threads)
  {
    const auto [begin, end] = share(g.n, omp_get_thread_num(), omp_get_num_threads());
    std::vector<float> cols(static_cast<size_t>(rows * pixels));
    for (int64_t n = begin; n < end; ++n) {
      float* out = y.data() + n * out_channels * pixels;
      for (int64_t o = 0; o < out_channels; ++o) {
        std::fill(out + o * pixels, out + (o + 1) * pixels, b.defined() ? b.data()[o] : 0.0f);
      }
      image_to_columns(in.data() + n * g.c * g.h * g.w, g, cols.data());
      // y_n[O, HoWo] += W[O, CKK] cols[CKK, HoWo]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(out_channels), static_cast<int>(pixels),
                  static_cast<int>(rows), 1.0f, w.data(), static_cast<int>(rows), cols.data(), static_cast<int>(pixels),
                  1.0f, out, static_cast<int>(pixels));
    }
  }
  return y;
}

Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, int64_t stride, int64_t padding,
                            bool need_input, bool need_weight, bool need_bias) {
  const Windows g = conv_geometry(x, weight, Tensor(), stride, padding, "conv2d_backward");
  const int64_t out_channels = weight.shape()[0];
  const int64_t rows = g.c * g.kh * g.kw;
  const int64_t pixels = g.out_h * g.out_w;
  if (dy.shape() != Shape{g.n, out_channels, g.out_h, g.out_w}) {
    throw ShapeError("conv2d_backward: gradient " + to_string(dy.shape()) + " does not match output [" +
                     std::to_string(g.n) + ", " + std::to_string(out_channels) + ", " + std::to_string(g.out_h) + ", " +
                     std::to_string(g.out_w) + "]");
  }
  const Tensor in = x.contiguous();
  const Tensor w = weight.contiguous();
  const Tensor grad = dy.contiguous();
  Conv2dGrads r;
  if (need_input) r.input = Tensor::empty(x.shape());  // each image zeroed by its thread, while in cache
  const int threads = in.numel() + grad.numel() >= kParallelMinElements ? num_threads() : 1;
  // One partial weight and bias gradient per thread, added below in thread order.
  std::vector<std::vector<float>> dw(static_cast<size_t>(threads)), db(static_cast<size_t>(threads));
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const auto [begin, end] = share(g.n, t, omp_get_num_threads());
    std::vector<float> cols(static_cast<size_t>(rows * pixels));
    if (need_weight) dw[static_cast<size_t>(t)].assign(static_cast<size_t>(out_channels * rows), 0.0f);
    if (need_bias) db[static_cast<size_t>(t)].assign(static_cast<size_t>(out_channels), 0.0f);
    for (int64_t n = begin; n < end; ++n) {
      const float* d = grad.data() + n * out_channels * pixels;
      if (need_weight) {
        // dW[O, CKK] += dy_n[O, HoWo] cols[CKK, HoWo]^T
        image_to_columns(in.data() + n * g.c * g.h * g.w, g, cols.data());
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(out_channels), static_cast<int>(rows),
                    static_cast<int>(pixels), 1.0f, d, static_cast<int>(pixels), cols.data(), static_cast<int>(pixels),
                    1.0f, dw[static_cast<size_t>(t)].data(), static_cast<int>(rows));
      }
      if (need_bias) {
        for (int64_t o = 0; o < out_channels; ++o) {
          float s = 0.0f;
          for (int64_t p = 0; p < pixels; ++p) s += d[o * pixels + p];
          db[static_cast<size_t>(t)][static_cast<size_t>(o)] += s;
        }
      }
      if (need_input) {
        // dcols[CKK, HoWo] = W[O, CKK]^T dy_n[O, HoWo], then back onto the image's pixels.
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(rows), static_cast<int>(pixels),
                    static_cast<int>(out_channels), 1.0f, w.data(), static_cast<int>(rows), d, static_cast<int>(pixels),
                    0.0f, cols.data(), static_cast<int>(pixels));
        float* image = r.input.data() + n * g.c * g.h * g.w;
        std::fill(image, image + g.c * g.h * g.w, 0.0f);
        columns_to_image(cols.data(), g, image);
      }
    }
  }
  const auto reduce = [threads](const std::vector<std::vector<float>>& parts, const Shape& shape) {
    Tensor total = Tensor::zeros(shape);
    for (int t = 0; t < threads; ++t) {
      const std::vector<float>& p = parts[static_cast<size_t>(t)];
      for (size_t i = 0; i < p.size(); ++i) total.data()[i] += p[i];
    }
    return total;
  };
  if (need_weight) r.weight = reduce(dw, weight.shape());
  if (need_bias) r.bias = reduce(db, {out_channels});
  return r;
}

MaxPool2dResult max_pool2d(const Tensor& x, int64_t kernel, int64_t stride) {
  require_image(x, "max_pool2d");
  const Windows g = windows(x.shape(), kernel, kernel, stride, 0, "max_pool2d");
  const Tensor in = x.contiguous();
  MaxPool2dResult r{Tensor::empty({g.n, g.c, g.out_h, g.out_w}), {}};
  r.argmax.resize(static_cast<size_t>(r.values.numel()));
  const float* src = in.data();
  float* out = r.values.data();
  int64_t* where = r.argmax.data();
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelMinElements)
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    const float* image = src + plane * g.h * g.w;
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        int64_t best = (oh * g.stride) * g.w + ow * g.stride;
        for (int64_t i = 0; i < kernel; ++i) {
          for (int64_t j = 0; j < kernel; ++j) {
            const int64_t at = (oh * g.stride + i) * g.w + ow * g.stride + j;
            if (image[at] > image[best]) best = at;
          }
        }
        const int64_t o = (plane * g.out_h + oh) * g.out_w + ow;
        out[o] = image[best];
        where[o] = plane * g.h * g.w + best;
      }
    }
  }
  return r;
}

Tensor max_pool2d_backward(const Tensor& dy, const std::vector<int64_t>& argmax, const Shape& image_shape) {
  if (image_shape.size() != 4) {
    throw ShapeError("max_pool2d_backward: expects an NCHW image shape, got " + to_string(image_shape));
  }
  if (static_cast<size_t>(dy.numel()) != argmax.size()) {
    throw ShapeError("max_pool2d_backward: gradient " + to_string(dy.shape()) + " has " + std::to_string(dy.numel()) +
                     " elements but " + std::to_string(argmax.size()) + " maxima were recorded");
  }
  const Tensor g = dy.contiguous();
  Tensor dx = Tensor::empty(image_shape);  // each plane zeroed by its thread, just before its scatter
  float* out = dx.data();
  const float* in = g.data();
  const int64_t size = dx.numel();
  const int64_t planes = image_shape[0] * image_shape[1];
  const int64_t plane_size = image_shape[2] * image_shape[3];
  const int64_t per_plane = planes > 0 ? static_cast<int64_t>(argmax.size()) / planes : 0;
  if (per_plane * planes != static_cast<int64_t>(argmax.size())) {
    throw ShapeError("max_pool2d_backward: " + std::to_string(argmax.size()) + " maxima do not split over the " +
                     std::to_string(planes) + " planes of " + to_string(image_shape));
  }
  // Every maximum must lie in its own plane, as max_pool2d records it: planes are then
  // split among threads, each zeroing its plane and adding its gradients in order. A
  // position outside its plane is skipped and reported (the lowest such entry) after.
  int64_t bad = -1;
#pragma omp parallel for schedule(static) if (size >= kParallelMinElements)
  for (int64_t plane = 0; plane < planes; ++plane) {
    float* target = out + plane * plane_size;
    std::fill(target, target + plane_size, 0.0f);
    for (int64_t i = plane * per_plane; i < (plane + 1) * per_plane; ++i) {
      const int64_t at = argmax[static_cast<size_t>(i)] - plane * plane_size;
      if (at < 0 || at >= plane_size) {
#pragma omp critical(max_pool2d_backward_bad)
        bad = bad < 0 ? i : std::min(bad, i);
        continue;
      }
      target[at] += in[i];
    }
  }
  if (bad >= 0) {
    const int64_t at = argmax[static_cast<size_t>(bad)];
    throw ShapeError("max_pool2d_backward: recorded position " + std::to_string(at) +
                     (at < 0 || at >= size ? " outside image " : " is not in plane " +
                                                                     std::to_string(bad / per_plane) + " of ") +
                     to_string(image_shape));
  }
  return dx;
}

}  // namespace tensor
