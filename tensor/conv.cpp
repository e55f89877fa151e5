#include "tensor/conv.h"

#include "tensor/errors.h"
#include "tensor/parallel.h"
#include "tensor/pool_planes.h"

#include <cblas.h>
#include <omp.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace tensor {

namespace {

void require_image(const Shape& shape, const char* op) {
  if (shape.size() != 4) throw ShapeError(std::string(op) + ": expects an NCHW image batch, got shape " + to_string(shape));
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

// The size of one image with its zero padding, as image_to_columns reads it.
int64_t padded_size(const Windows& g) { return g.c * (g.h + 2 * g.padding) * (g.w + 2 * g.padding); }

// One image's receptive fields as [C kh kw, Ho Wo]: row (c, i, j), column (oh, ow). The image
// is first copied into `padded` (padded_size(g) floats whose border is zero and stays so:
// the caller zeroes it once), so each row of the columns is a plain strided read of it, a
// contiguous run at stride 1, with no bounds to test; a window over the padding reads its
// zeros.
void image_to_columns(const float* image, const Windows& g, float* padded, float* cols) {
  const int64_t ph = g.h + 2 * g.padding, pw = g.w + 2 * g.padding;
  for (int64_t c = 0; c < g.c; ++c) {
    for (int64_t y = 0; y < g.h; ++y) {
      std::copy_n(image + (c * g.h + y) * g.w, g.w, padded + (c * ph + y + g.padding) * pw + g.padding);
    }
  }
  const int64_t out_w = g.out_w, stride = g.stride;
  for (int64_t c = 0; c < g.c; ++c) {
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        const float* window = padded + c * ph * pw + i * pw + j;  // window (0, 0)'s pixel (i, j)
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          const float* __restrict from = window + oh * stride * pw;
          float* __restrict out = cols + oh * out_w;
          if (stride == 1) {
            for (int64_t ow = 0; ow < out_w; ++ow) out[ow] = from[ow];
          } else {
            for (int64_t ow = 0; ow < out_w; ++ow) out[ow] = from[ow * stride];
          }
        }
        cols += g.out_h * out_w;
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
          if (g.stride == 1) {
            // A contiguous run, and cols never overlaps the image: vectorised adds. (Plain
            // copies of the bounds: clang does not let an OpenMP loop name a structured binding.)
            float* __restrict to = plane + base;
            const float* __restrict from = in;
            const int64_t begin = first, end = last;
#pragma omp simd
            for (int64_t ow = begin; ow < end; ++ow) to[ow] += from[ow];
          } else {
            for (int64_t ow = first; ow < last; ++ow) plane[base + ow * g.stride] += in[ow];
          }
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

// sums[o] += the sum of dy[o, 0..pixels), each channel added in pixel order (a fixed order,
// so the bits do not depend on anything else). A sum is a chain of dependent additions;
// eight channels at a time keep eight chains in flight instead of one.
void add_channel_sums(const float* dy, int64_t channels, int64_t pixels, float* sums) {
  constexpr int64_t kChains = 8;
  int64_t o = 0;
  for (; o + kChains <= channels; o += kChains) {
    float s[kChains] = {};
    for (int64_t p = 0; p < pixels; ++p) {
      for (int64_t k = 0; k < kChains; ++k) s[k] += dy[(o + k) * pixels + p];
    }
    for (int64_t k = 0; k < kChains; ++k) sums[o + k] += s[k];
  }
  for (; o < channels; ++o) {
    float s = 0.0f;
    for (int64_t p = 0; p < pixels; ++p) s += dy[o * pixels + p];
    sums[o] += s;
  }
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
  require_image(x.shape(), "im2col");
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
    std::vector<float> cols(static_cast<size_t>(rows * pixels)), padded(static_cast<size_t>(padded_size(g)), 0.0f);
    for (int64_t n = begin; n < end; ++n) {
      float* out = y.data() + n * out_channels * pixels;
      for (int64_t o = 0; o < out_channels; ++o) {
        std::fill(out + o * pixels, out + (o + 1) * pixels, b.defined() ? b.data()[o] : 0.0f);
      }
      image_to_columns(in.data() + n * g.c * g.h * g.w, g, padded.data(), cols.data());
      // y_n[O, HoWo] += W[O, CKK] cols[CKK, HoWo]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(out_channels), static_cast<int>(pixels),
                  static_cast<int>(rows), 1.0f, w.data(), static_cast<int>(rows), cols.data(), static_cast<int>(pixels),
                  1.0f, out, static_cast<int>(pixels));
    }
  }
  return y;
}

namespace {

// conv2d_backward's work, image by image: gradient(n, buffer) returns image n's output gradient
// [O, Ho Wo] (a pointer into a tensor, or `buffer`, which it may fill).
template <class Gradient>
Conv2dGrads convolution_backward(const Windows& g, Gradient gradient, const Tensor& x, const Tensor& weight,
                                 bool need_input, bool need_weight, bool need_bias) {
  const int64_t out_channels = weight.shape()[0];
  const int64_t rows = g.c * g.kh * g.kw;
  const int64_t pixels = g.out_h * g.out_w;
  const Tensor in = x.contiguous();
  const Tensor w = weight.contiguous();
  Conv2dGrads r;
  if (need_input) r.input = Tensor::empty(x.shape());  // each image zeroed by its thread, while in cache
  const int threads = in.numel() + g.n * out_channels * pixels >= kParallelMinElements ? num_threads() : 1;
  // One partial weight and bias gradient per thread, added below in thread order.
  std::vector<std::vector<float>> dw(static_cast<size_t>(threads)), db(static_cast<size_t>(threads));
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const auto [begin, end] = share(g.n, t, omp_get_num_threads());
    std::vector<float> cols(static_cast<size_t>(rows * pixels)), buffer(static_cast<size_t>(out_channels * pixels));
    std::vector<float> padded(need_weight ? static_cast<size_t>(padded_size(g)) : 0, 0.0f);
    if (need_weight) dw[static_cast<size_t>(t)].assign(static_cast<size_t>(out_channels * rows), 0.0f);
    if (need_bias) db[static_cast<size_t>(t)].assign(static_cast<size_t>(out_channels), 0.0f);
    for (int64_t n = begin; n < end; ++n) {
      const float* d = gradient(n, buffer.data());
      if (need_weight) {
        // dW[O, CKK] += dy_n[O, HoWo] cols[CKK, HoWo]^T
        image_to_columns(in.data() + n * g.c * g.h * g.w, g, padded.data(), cols.data());
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(out_channels), static_cast<int>(rows),
                    static_cast<int>(pixels), 1.0f, d, static_cast<int>(pixels), cols.data(), static_cast<int>(pixels),
                    1.0f, dw[static_cast<size_t>(t)].data(), static_cast<int>(rows));
      }
      if (need_bias) add_channel_sums(d, out_channels, pixels, db[static_cast<size_t>(t)].data());
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

}  // namespace

Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, int64_t stride, int64_t padding,
                            bool need_input, bool need_weight, bool need_bias) {
  const Windows g = conv_geometry(x, weight, Tensor(), stride, padding, "conv2d_backward");
  const int64_t out_channels = weight.shape()[0];
  if (dy.shape() != Shape{g.n, out_channels, g.out_h, g.out_w}) {
    throw ShapeError("conv2d_backward: gradient " + to_string(dy.shape()) + " does not match output [" +
                     std::to_string(g.n) + ", " + std::to_string(out_channels) + ", " + std::to_string(g.out_h) + ", " +
                     std::to_string(g.out_w) + "]");
  }
  const Tensor grad = dy.contiguous();
  const int64_t per_image = out_channels * g.out_h * g.out_w;
  return convolution_backward(
      g, [&](int64_t n, float*) { return grad.data() + n * per_image; }, x, weight, need_input, need_weight, need_bias);
}

Conv2dGrads conv2d_backward(const OutputGradient& dy, const Tensor& x, const Tensor& weight, int64_t stride,
                            int64_t padding, bool need_input, bool need_weight, bool need_bias) {
  const Windows g = conv_geometry(x, weight, Tensor(), stride, padding, "conv2d_backward");
  return convolution_backward(
      g,
      [&](int64_t n, float* buffer) {
        dy(n, buffer);
        return static_cast<const float*>(buffer);
      },
      x, weight, need_input, need_weight, need_bias);
}

namespace {

// Checks a pooling's geometry: rank 4 and a window of at most kMaxPoolKernelMax.
Windows pool_geometry(const Shape& image, int64_t kernel, int64_t stride, const char* op) {
  require_image(image, op);
  if (kernel > kMaxPoolKernelMax) {
    throw ValueError(std::string(op) + ": a window of " + std::to_string(kernel) + " is larger than the " +
                     std::to_string(kMaxPoolKernelMax) + " supported");
  }
  return windows(image, kernel, kernel, stride, 0, op);
}

// The maximum of a 2 x 2 window and its position, the first maximum in row-major order: the
// first maximum of each pair, then the lower pair's only where it is strictly larger. A NaN
// in the lower pair loses, as in the general loop, where nothing compares greater than the
// NaN or the value already held.
inline float max_of_window(float a, float b, float c, float d, uint8_t& at) {
  const bool right_top = b > a;
  const bool right_bottom = d > c || c != c;
  const float upper = right_top ? b : a;
  const float lower = right_bottom ? d : c;
  const bool down = lower > upper;
  at = static_cast<uint8_t>(down ? 2 + right_bottom : right_top);
  return down ? lower : upper;
}

#if defined(__SSE2__)
// a where mask is set, b elsewhere (SSE2 has no blend).
inline __m128 select(__m128 mask, __m128 a, __m128 b) { return _mm_or_ps(_mm_and_ps(mask, a), _mm_andnot_ps(mask, b)); }
#endif

#if defined(__SSE2__)
// Four neighbouring 2 x 2 windows at once (every x86-64 has SSE2; the compiler does not
// vectorise the stride-2 reads and byte stores by itself): the same comparisons as
// max_of_window. `top` and `bottom` point at the first window's two rows.
inline void pool4_2x2(const float* top, const float* bottom, float* out, uint8_t* at) {
  const __m128 t0 = _mm_loadu_ps(top), t1 = _mm_loadu_ps(top + 4);
  const __m128 b0 = _mm_loadu_ps(bottom), b1 = _mm_loadu_ps(bottom + 4);
  const __m128 a = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(2, 0, 2, 0)), b = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 1, 3, 1));
  const __m128 c = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)), d = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1));
  const __m128 right_top = _mm_cmpgt_ps(b, a);
  const __m128 right_bottom = _mm_or_ps(_mm_cmpgt_ps(d, c), _mm_cmpunord_ps(c, c));
  const __m128 upper = select(right_top, b, a), lower = select(right_bottom, d, c);
  const __m128 down = _mm_cmpgt_ps(lower, upper);
  _mm_storeu_ps(out, select(down, lower, upper));
  const __m128i one = _mm_set1_epi32(1);
  const __m128i lower_at = _mm_add_epi32(_mm_and_si128(_mm_castps_si128(right_bottom), one), _mm_set1_epi32(2));
  const __m128i upper_at = _mm_and_si128(_mm_castps_si128(right_top), one);
  __m128i position = _mm_castps_si128(select(down, _mm_castsi128_ps(lower_at), _mm_castsi128_ps(upper_at)));
  position = _mm_packus_epi16(_mm_packs_epi32(position, position), position);  // four bytes
  const int32_t bytes = _mm_cvtsi128_si32(position);
  std::memcpy(at, &bytes, sizeof bytes);
}
#endif

// One plane's 2 x 2, stride-2 pooling: two input rows make one output row, four windows at
// a time; a row whose width is not a multiple of four ends with the last four windows again
// (overlapping the previous four, which it rewrites with the same values), so no window is
// left to the scalar loop unless the row has fewer than four.
void pool_plane_2x2(const float* image, const Windows& g, float* out, uint8_t* where) {
  const int64_t out_h = g.out_h, out_w = g.out_w, w = g.w;
  for (int64_t oh = 0; oh < out_h; ++oh) {
    const float* top = image + 2 * oh * w;
    const float* bottom = top + w;
    float* o = out + oh * out_w;
    uint8_t* at = where + oh * out_w;
    int64_t ow = 0;
#if defined(__SSE2__)
    if (out_w >= 4) {
      for (; ow + 4 <= out_w; ow += 4) pool4_2x2(top + 2 * ow, bottom + 2 * ow, o + ow, at + ow);
      if (ow < out_w) pool4_2x2(top + 2 * (out_w - 4), bottom + 2 * (out_w - 4), o + out_w - 4, at + out_w - 4);
      continue;
    }
#endif
    for (; ow < out_w; ++ow) {
      o[ow] = max_of_window(top[2 * ow], top[2 * ow + 1], bottom[2 * ow], bottom[2 * ow + 1], at[ow]);
    }
  }
}

#if defined(__SSE2__)
// The gradient of four neighbouring 2 x 2 windows of a tiled plane: each window gets its
// output's gradient `dy` at its maximum (`at`: 0-3 in row-major order) and 0 elsewhere.
inline void unpool4_2x2(const float* dy, const uint8_t* at, float* top, float* bottom) {
  int32_t bytes;
  std::memcpy(&bytes, at, sizeof bytes);
  const __m128i zero = _mm_setzero_si128();
  const __m128i position = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(bytes), zero), zero);
  const __m128 v = _mm_loadu_ps(dy);
  const auto at_k = [&](int k) { return _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(position, _mm_set1_epi32(k))), v); };
  const __m128 a = at_k(0), b = at_k(1), c = at_k(2), e = at_k(3);
  _mm_storeu_ps(top, _mm_unpacklo_ps(a, b));
  _mm_storeu_ps(top + 4, _mm_unpackhi_ps(a, b));
  _mm_storeu_ps(bottom, _mm_unpacklo_ps(c, e));
  _mm_storeu_ps(bottom + 4, _mm_unpackhi_ps(c, e));
}
#endif

// The gradient of one plane's 2 x 2, stride-2 pooling over a plane the windows tile, four
// windows at a time, the last four of a row again when its width is not a multiple of four
// (as pool_plane_2x2 does: the overlap is rewritten with the same values).
void unpool_plane_2x2(const float* dy, const uint8_t* where, const Windows& g, float* image) {
  const int64_t out_h = g.out_h, out_w = g.out_w, w = g.w;
  for (int64_t oh = 0; oh < out_h; ++oh) {
    float* top = image + 2 * oh * w;
    float* bottom = top + w;
    const float* d = dy + oh * out_w;
    const uint8_t* at = where + oh * out_w;
    int64_t ow = 0;
#if defined(__SSE2__)
    if (out_w >= 4) {
      for (; ow + 4 <= out_w; ow += 4) unpool4_2x2(d + ow, at + ow, top + 2 * ow, bottom + 2 * ow);
      if (ow < out_w) unpool4_2x2(d + out_w - 4, at + out_w - 4, top + 2 * (out_w - 4), bottom + 2 * (out_w - 4));
      continue;
    }
#endif
    for (; ow < out_w; ++ow) {
      top[2 * ow] = at[ow] == 0 ? d[ow] : 0.0f;
      top[2 * ow + 1] = at[ow] == 1 ? d[ow] : 0.0f;
      bottom[2 * ow] = at[ow] == 2 ? d[ow] : 0.0f;
      bottom[2 * ow + 1] = at[ow] == 3 ? d[ow] : 0.0f;
    }
  }
}

// One plane's pooling over any k x k window and stride.
void pool_plane(const float* image, const Windows& g, float* out, uint8_t* where) {
  const int64_t k = g.kh;
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      const float* window = image + oh * g.stride * g.w + ow * g.stride;
      float best = window[0];
      int64_t at = 0;
      for (int64_t i = 0; i < k; ++i) {
        for (int64_t j = 0; j < k; ++j) {
          if (window[i * g.w + j] > best) best = window[i * g.w + j], at = i * k + j;
        }
      }
      *out++ = best;
      *where++ = static_cast<uint8_t>(at);
    }
  }
}

}  // namespace

namespace detail {

void max_pool_plane_2x2(const float* image, int64_t h, int64_t w, float* out, uint8_t* where) {
  pool_plane_2x2(image, Windows{1, 1, h, w, 2, 2, 2, 0, h / 2, w / 2}, out, where);
}

void max_pool_plane_2x2_backward(const float* dy, const uint8_t* where, int64_t h, int64_t w, float* image) {
  unpool_plane_2x2(dy, where, Windows{1, 1, h, w, 2, 2, 2, 0, h / 2, w / 2}, image);
}

void gather_at_maxima_2x2(const float* image, const uint8_t* where, int64_t h, int64_t w, float* out) {
  const int64_t out_h = h / 2, out_w = w / 2;
  for (int64_t oh = 0; oh < out_h; ++oh) {
    const float* top = image + 2 * oh * w;
    const float* bottom = top + w;
    const uint8_t* at = where + oh * out_w;
    float* o = out + oh * out_w;
    int64_t ow = 0;
#if defined(__SSE2__)
    // Four windows at a time: the same deinterleaving as pool4_2x2, then a select by position.
    const auto gather4 = [&](int64_t first) {
      const __m128 t0 = _mm_loadu_ps(top + 2 * first), t1 = _mm_loadu_ps(top + 2 * first + 4);
      const __m128 b0 = _mm_loadu_ps(bottom + 2 * first), b1 = _mm_loadu_ps(bottom + 2 * first + 4);
      const __m128 a = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(2, 0, 2, 0)), b = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 1, 3, 1));
      const __m128 c = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)), d = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1));
      int32_t bytes;
      std::memcpy(&bytes, at + first, sizeof bytes);
      const __m128i zero = _mm_setzero_si128();
      const __m128i position = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(bytes), zero), zero);
      const auto is = [&](int k) { return _mm_castsi128_ps(_mm_cmpeq_epi32(position, _mm_set1_epi32(k))); };
      const __m128 upper = select(is(1), b, a), lower = select(is(3), d, c);
      _mm_storeu_ps(o + first, select(_mm_castsi128_ps(_mm_cmpgt_epi32(position, _mm_set1_epi32(1))), lower, upper));
    };
    if (out_w >= 4) {
      for (; ow + 4 <= out_w; ow += 4) gather4(ow);
      if (ow < out_w) gather4(out_w - 4);
      continue;
    }
#endif
    for (; ow < out_w; ++ow) o[ow] = (at[ow] < 2 ? top : bottom)[2 * ow + (at[ow] & 1)];
  }
}

}  // namespace detail

MaxPool2dResult max_pool2d(const Tensor& x, int64_t kernel, int64_t stride) {
  const Windows g = pool_geometry(x.shape(), kernel, stride, "max_pool2d");
  const Tensor in = x.contiguous();
  MaxPool2dResult r{Tensor::empty({g.n, g.c, g.out_h, g.out_w}), {}};
  r.where.resize(static_cast<size_t>(r.values.numel()));
  const int64_t in_plane = g.h * g.w, out_plane = g.out_h * g.out_w;
  const bool two_by_two = kernel == 2 && stride == 2;
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelMinElements)
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    const float* image = in.data() + plane * in_plane;
    float* out = r.values.data() + plane * out_plane;
    uint8_t* where = r.where.data() + plane * out_plane;
    if (two_by_two) {
      pool_plane_2x2(image, g, out, where);
    } else {
      pool_plane(image, g, out, where);
    }
  }
  return r;
}

Tensor max_pool2d_backward(const Tensor& dy, const std::vector<uint8_t>& where, const Shape& image_shape,
                           int64_t kernel, int64_t stride) {
  const Windows g = pool_geometry(image_shape, kernel, stride, "max_pool2d_backward");
  const Shape pooled{g.n, g.c, g.out_h, g.out_w};
  if (dy.shape() != pooled || static_cast<int64_t>(where.size()) != dy.numel()) {
    throw ShapeError("max_pool2d_backward: gradient " + to_string(dy.shape()) + " with " + std::to_string(where.size()) +
                     " recorded maxima does not match the pooling " + to_string(pooled) + " of " +
                     to_string(image_shape));
  }
  // The largest recorded position first (a vectorised pass), the offending one only if needed.
  uint8_t largest = 0;
#pragma omp simd reduction(max : largest)
  for (size_t i = 0; i < where.size(); ++i) largest = std::max(largest, where[i]);
  if (largest >= kernel * kernel) {
    const auto outside = std::find_if(where.begin(), where.end(), [&](uint8_t at) { return at >= kernel * kernel; });
    throw ShapeError("max_pool2d_backward: recorded position " + std::to_string(*outside) + " (element " +
                     std::to_string(outside - where.begin()) + ") lies outside a " + std::to_string(kernel) + "x" +
                     std::to_string(kernel) + " window");
  }
  const Tensor grad = dy.contiguous();
  Tensor dx = Tensor::empty(image_shape);
  const int64_t in_plane = g.h * g.w, out_plane = g.out_h * g.out_w;
  // 2 x 2 windows that tile the plane cover every pixel exactly once: each is written, not added.
  const bool tiles_2x2 = kernel == 2 && stride == 2 && g.out_h * 2 == g.h && g.out_w * 2 == g.w;
#pragma omp parallel for schedule(static) if (dx.numel() >= kParallelMinElements)
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    float* image = dx.data() + plane * in_plane;
    const float* d = grad.data() + plane * out_plane;
    const uint8_t* at = where.data() + plane * out_plane;
    if (tiles_2x2) {
      unpool_plane_2x2(d, at, g, image);
      continue;
    }
    std::fill(image, image + in_plane, 0.0f);
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const int64_t o = oh * g.out_w + ow;
        image[(oh * stride + at[o] / kernel) * g.w + ow * stride + at[o] % kernel] += d[o];
      }
    }
  }
  return dx;
}

}  // namespace tensor
