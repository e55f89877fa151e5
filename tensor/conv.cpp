#include "tensor/conv.h"

#include "tensor/errors.h"
#include "tensor/parallel.h"

#include <algorithm>
#include <string>

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
  if (static_cast<size_t>(dy.numel()) != argmax.size()) {
    throw ShapeError("max_pool2d_backward: gradient " + to_string(dy.shape()) + " has " + std::to_string(dy.numel()) +
                     " elements but " + std::to_string(argmax.size()) + " maxima were recorded");
  }
  const Tensor g = dy.contiguous();
  Tensor dx = Tensor::zeros(image_shape);
  float* out = dx.data();
  const float* in = g.data();
  const int64_t size = dx.numel();
  // Windows may overlap (stride < kernel), so accumulate serially.
  for (size_t i = 0; i < argmax.size(); ++i) {
    if (argmax[i] < 0 || argmax[i] >= size) {
      throw ShapeError("max_pool2d_backward: recorded position " + std::to_string(argmax[i]) + " outside image " +
                       to_string(image_shape));
    }
    out[argmax[i]] += in[i];
  }
  return dx;
}

}  // namespace tensor
