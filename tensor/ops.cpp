#include "tensor/ops.h"

#include "tensor/errors.h"
#include "tensor/parallel.h"
#include "tensor/strided.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace tensor {

namespace {

// y = f(a, b) elementwise over the broadcast shape.
template <class F>
Tensor binary_map(const char* op, const Tensor& a, const Tensor& b, F f) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor y = Tensor::empty(shape);
  float* out = y.data();
  const float* pa = a.data();
  const float* pb = b.data();
  detail::for_each_run<3>(
      shape, {y.strides(), detail::broadcast_strides(a, shape), detail::broadcast_strides(b, shape)},
      [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& step) {
        float* o = out + off[0];
        const float* x = pa + off[1];
        const float* z = pb + off[2];
        if (step[1] == 1 && step[2] == 1) {
          for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], z[i]);
        } else if (step[1] == 1 && step[2] == 0) {
          const float zs = *z;
          for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], zs);
        } else {
          for (int64_t i = 0; i < n; ++i) o[i] = f(x[i * step[1]], z[i * step[2]]);
        }
      });
  return y;
}

// y = f(x) elementwise.
template <class F>
Tensor unary_map(const Tensor& x, F f) {
  Tensor y = Tensor::empty(x.shape());
  float* out = y.data();
  const float* in = x.data();
  detail::for_each_run<2>(x.shape(), {y.strides(), x.strides()},
                          [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& step) {
                            float* o = out + off[0];
                            const float* v = in + off[1];
                            if (step[1] == 1) {
                              for (int64_t i = 0; i < n; ++i) o[i] = f(v[i]);
                            } else {
                              for (int64_t i = 0; i < n; ++i) o[i] = f(v[i * step[1]]);
                            }
                          });
  return y;
}

// x viewed as [outer, n, inner] around `axis`, contiguous.
struct AxisView {
  Tensor x;  // contiguous
  int64_t outer = 1, n = 1, inner = 1;
  Shape out_shape;  // with or without the reduced axis
};

AxisView axis_view(const Tensor& x, int64_t axis, bool keepdim, const char* op) {
  const int64_t a = normalize_axis(axis, x.shape(), op);
  AxisView v;
  v.x = x.contiguous();
  for (int64_t i = 0; i < a; ++i) v.outer *= x.shape()[i];
  v.n = x.shape()[a];
  for (int64_t i = a + 1; i < x.dim(); ++i) v.inner *= x.shape()[i];
  v.out_shape = x.shape();
  if (keepdim) {
    v.out_shape[a] = 1;
  } else {
    v.out_shape.erase(v.out_shape.begin() + a);
  }
  return v;
}

void require_nonempty_axis(const AxisView& v, const Tensor& x, int64_t axis, const char* op) {
  if (v.n == 0) {
    throw ShapeError(std::string(op) + ": axis " + std::to_string(axis) + " of shape " + to_string(x.shape()) +
                     " is empty");
  }
}

// Calls body(o, k0, k1) for blocks of inner positions [k0, k1) of outer row o, in parallel
// when the reduction is large. Each (o, k) output is written by exactly one call.
template <class Body>
void for_each_reduction_block(const AxisView& v, Body body) {
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (v.inner + kBlock - 1) / kBlock;
  const int64_t items = v.outer * blocks;
  const bool parallel = v.outer * v.n * v.inner >= kParallelMinElements && items > 1;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t item = 0; item < items; ++item) {
    const int64_t o = item / blocks;
    const int64_t k0 = (item % blocks) * kBlock;
    body(o, k0, std::min(k0 + kBlock, v.inner));
  }
}

// Sum along an axis, accumulated in float over contiguous inner blocks.
Tensor sum_axis(const Tensor& x, int64_t axis, bool keepdim, float scale, const char* op) {
  const AxisView v = axis_view(x, axis, keepdim, op);
  Tensor y = Tensor::empty(v.out_shape);
  const float* in = v.x.data();
  float* out = y.data();
  for_each_reduction_block(v, [&](int64_t o, int64_t k0, int64_t k1) {
    float* acc = out + o * v.inner;
    for (int64_t k = k0; k < k1; ++k) acc[k] = 0.0f;
    for (int64_t j = 0; j < v.n; ++j) {
      const float* row = in + (o * v.n + j) * v.inner;
      for (int64_t k = k0; k < k1; ++k) acc[k] += row[k];
    }
    for (int64_t k = k0; k < k1; ++k) acc[k] *= scale;
  });
  return y;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary_map("add", a, b, [](float x, float y) { return x + y; }); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_map("sub", a, b, [](float x, float y) { return x - y; }); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_map("mul", a, b, [](float x, float y) { return x * y; }); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_map("div", a, b, [](float x, float y) { return x / y; }); }
Tensor masked_mul(const Tensor& x, const Tensor& w) {
  return binary_map("masked_mul", x, w, [](float v, float weight) { return weight == 0.0f ? 0.0f : weight * v; });
}
Tensor maximum(const Tensor& a, const Tensor& b) {
  // NaN in either operand propagates, as in NumPy.
  return binary_map("maximum", a, b, [](float x, float y) { return (x > y || x != x) ? x : y; });
}

Tensor add(const Tensor& x, float s) { return unary_map(x, [s](float v) { return v + s; }); }
Tensor sub(const Tensor& x, float s) { return unary_map(x, [s](float v) { return v - s; }); }
Tensor mul(const Tensor& x, float s) { return unary_map(x, [s](float v) { return v * s; }); }
Tensor div(const Tensor& x, float s) { return unary_map(x, [s](float v) { return v / s; }); }
Tensor maximum(const Tensor& x, float s) { return unary_map(x, [s](float v) { return (v > s || v != v) ? v : s; }); }

Tensor eq(const Tensor& a, const Tensor& b) { return binary_map("eq", a, b, [](float x, float y) { return x == y ? 1.0f : 0.0f; }); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_map("gt", a, b, [](float x, float y) { return x > y ? 1.0f : 0.0f; }); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_map("lt", a, b, [](float x, float y) { return x < y ? 1.0f : 0.0f; }); }
Tensor eq(const Tensor& x, float s) { return unary_map(x, [s](float v) { return v == s ? 1.0f : 0.0f; }); }
Tensor gt(const Tensor& x, float s) { return unary_map(x, [s](float v) { return v > s ? 1.0f : 0.0f; }); }
Tensor lt(const Tensor& x, float s) { return unary_map(x, [s](float v) { return v < s ? 1.0f : 0.0f; }); }

Tensor neg(const Tensor& x) { return unary_map(x, [](float v) { return -v; }); }
Tensor exp(const Tensor& x) { return unary_map(x, [](float v) { return std::exp(v); }); }
Tensor log(const Tensor& x) { return unary_map(x, [](float v) { return std::log(v); }); }
Tensor sqrt(const Tensor& x) { return unary_map(x, [](float v) { return std::sqrt(v); }); }
Tensor relu(const Tensor& x) { return unary_map(x, [](float v) { return v > 0.0f ? v : 0.0f; }); }

Tensor relu_backward(const Tensor& dy, const Tensor& y) {
  if (dy.shape() != y.shape()) {
    throw ShapeError("relu_backward: shapes " + to_string(dy.shape()) + " and " + to_string(y.shape()) + " differ");
  }
  return binary_map("relu_backward", dy, y, [](float g, float v) { return v > 0.0f ? g : 0.0f; });
}

Tensor& add_(Tensor& y, const Tensor& x) {
  if (!broadcasts_to(x.shape(), y.shape())) {
    throw ShapeError("add_: cannot broadcast " + to_string(x.shape()) + " to " + to_string(y.shape()));
  }
  if (x.shares_storage_with(y)) return add_(y, x.clone());  // add_(a, a.t()) must read a before writing it
  float* out = y.data();
  const float* in = x.data();
  detail::for_each_run<2>(y.shape(), {y.strides(), detail::broadcast_strides(x, y.shape())},
                          [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& step) {
                            float* o = out + off[0];
                            const float* v = in + off[1];
                            for (int64_t i = 0; i < n; ++i) o[i * step[0]] += v[i * step[1]];
                          });
  return y;
}

Tensor sum(const Tensor& x) {
  const Tensor c = x.contiguous();
  const float* in = c.data();
  const int64_t n = c.numel();
  // One partial sum per thread over a fixed static split, added in thread order:
  // the same thread count always gives the same bits.
  const int threads = n >= kParallelMinElements ? num_threads() : 1;
  std::vector<double> partial(static_cast<size_t>(threads), 0.0);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int64_t t = omp_get_thread_num();
    const int64_t count = omp_get_num_threads();
    double acc = 0.0;
    for (int64_t i = n * t / count; i < n * (t + 1) / count; ++i) acc += in[i];
    partial[static_cast<size_t>(t)] = acc;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  return Tensor::scalar(static_cast<float>(total));
}

Tensor sum(const Tensor& x, int64_t axis, bool keepdim) { return sum_axis(x, axis, keepdim, 1.0f, "sum"); }

Tensor mean(const Tensor& x) {
  return Tensor::scalar(x.numel() == 0 ? std::numeric_limits<float>::quiet_NaN()
                                       : static_cast<float>(static_cast<double>(sum(x).item()) / x.numel()));
}

Tensor mean(const Tensor& x, int64_t axis, bool keepdim) {
  const int64_t n = x.shape()[normalize_axis(axis, x.shape(), "mean")];
  return sum_axis(x, axis, keepdim, n == 0 ? std::numeric_limits<float>::quiet_NaN() : 1.0f / static_cast<float>(n),
                  "mean");
}

Tensor max(const Tensor& x) {
  if (x.numel() == 0) throw ShapeError("max: empty tensor of shape " + to_string(x.shape()));
  return max(x.reshape({-1}), 0, false);
}

Tensor max(const Tensor& x, int64_t axis, bool keepdim) {
  const AxisView v = axis_view(x, axis, keepdim, "max");
  require_nonempty_axis(v, x, axis, "max");
  Tensor y = Tensor::empty(v.out_shape);
  const float* in = v.x.data();
  float* out = y.data();
  for_each_reduction_block(v, [&](int64_t o, int64_t k0, int64_t k1) {
    float* m = out + o * v.inner;
    const float* first = in + o * v.n * v.inner;
    for (int64_t k = k0; k < k1; ++k) m[k] = first[k];
    for (int64_t j = 1; j < v.n; ++j) {
      const float* row = first + j * v.inner;
      for (int64_t k = k0; k < k1; ++k) m[k] = (row[k] > m[k] || row[k] != row[k]) ? row[k] : m[k];
    }
  });
  return y;
}

Tensor argmax(const Tensor& x, int64_t axis, bool keepdim) {
  const AxisView v = axis_view(x, axis, keepdim, "argmax");
  require_nonempty_axis(v, x, axis, "argmax");
  Tensor y = Tensor::empty(v.out_shape);
  const float* in = v.x.data();
  float* out = y.data();
  for_each_reduction_block(v, [&](int64_t o, int64_t k0, int64_t k1) {
    const float* first = in + o * v.n * v.inner;
    for (int64_t k = k0; k < k1; ++k) {
      int64_t best = 0;
      for (int64_t j = 1; j < v.n; ++j) {
        if (first[j * v.inner + k] > first[best * v.inner + k]) best = j;
      }
      out[o * v.inner + k] = static_cast<float>(best);
    }
  });
  return y;
}

Tensor logsumexp(const Tensor& x, int64_t axis, bool keepdim) {
  const AxisView v = axis_view(x, axis, keepdim, "logsumexp");
  require_nonempty_axis(v, x, axis, "logsumexp");
  Tensor y = Tensor::empty(v.out_shape);
  const float* in = v.x.data();
  float* out = y.data();
  for_each_reduction_block(v, [&](int64_t o, int64_t k0, int64_t k1) {
    const float* first = in + o * v.n * v.inner;
    for (int64_t k = k0; k < k1; ++k) {
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < v.n; ++j) m = std::max(m, first[j * v.inner + k]);
      // An infinite max (all -inf, or some +inf) is the answer itself; shifting by it would give NaN.
      if (std::isinf(m)) {
        out[o * v.inner + k] = m;
        continue;
      }
      float s = 0.0f;
      for (int64_t j = 0; j < v.n; ++j) s += std::exp(first[j * v.inner + k] - m);
      out[o * v.inner + k] = m + std::log(s);
    }
  });
  return y;
}

Tensor log_softmax(const Tensor& x, int64_t axis) {
  AxisView v = axis_view(x, axis, true, "log_softmax");
  require_nonempty_axis(v, x, axis, "log_softmax");
  Tensor y = Tensor::empty(x.shape());
  const float* in = v.x.data();
  float* out = y.data();
  for_each_reduction_block(v, [&](int64_t o, int64_t k0, int64_t k1) {
    const float* first = in + o * v.n * v.inner;
    float* result = out + o * v.n * v.inner;
    for (int64_t k = k0; k < k1; ++k) {
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < v.n; ++j) m = std::max(m, first[j * v.inner + k]);
      // An infinite max cannot be subtracted (inf - inf); leave such rows unshifted. Their
      // result is NaN, as in PyTorch: a softmax of all -inf, or with a +inf, is undefined.
      if (std::isinf(m)) m = 0.0f;
      float s = 0.0f;
      for (int64_t j = 0; j < v.n; ++j) s += std::exp(first[j * v.inner + k] - m);
      const float log_s = std::log(s);
      for (int64_t j = 0; j < v.n; ++j) result[j * v.inner + k] = (first[j * v.inner + k] - m) - log_s;
    }
  });
  return y;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  if (!broadcasts_to(shape, x.shape())) {
    throw ShapeError("sum_to: cannot sum " + to_string(x.shape()) + " down to " + to_string(shape));
  }
  Tensor y = x;
  const size_t lead = x.shape().size() - shape.size();
  for (size_t i = 0; i < lead; ++i) y = sum(y, 0, false);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1 && y.shape()[i] != 1) y = sum(y, static_cast<int64_t>(i), true);
  }
  return y.reshape(shape);
}

Tensor index_select(const Tensor& x, int64_t axis, const std::vector<int64_t>& indices) {
  const AxisView v = axis_view(x, axis, true, "index_select");
  for (int64_t i : indices) {
    if (i < 0 || i >= v.n) {
      throw IndexError("index_select: index " + std::to_string(i) + " out of range for axis " + std::to_string(axis) +
                       " of shape " + to_string(x.shape()));
    }
  }
  Shape shape = x.shape();
  shape[normalize_axis(axis, shape, "index_select")] = static_cast<int64_t>(indices.size());
  Tensor y = Tensor::empty(shape);
  const auto k = static_cast<int64_t>(indices.size());
  const float* in = v.x.data();
  float* out = y.data();
#pragma omp parallel for schedule(static) if (y.numel() >= kParallelMinElements)
  for (int64_t r = 0; r < v.outer * k; ++r) {
    const int64_t o = r / k;
    const float* src = in + (o * v.n + indices[static_cast<size_t>(r % k)]) * v.inner;
    std::copy(src, src + v.inner, out + r * v.inner);
  }
  return y;
}

Tensor& index_add_(Tensor& y, int64_t axis, const std::vector<int64_t>& indices, const Tensor& src) {
  if (!y.is_contiguous()) throw ShapeError("index_add_: target of shape " + to_string(y.shape()) + " is not contiguous");
  const int64_t a = normalize_axis(axis, y.shape(), "index_add_");
  Shape expected = y.shape();
  expected[a] = static_cast<int64_t>(indices.size());
  if (src.shape() != expected) {
    throw ShapeError("index_add_: source " + to_string(src.shape()) + " does not match " + to_string(expected) +
                     " (target " + to_string(y.shape()) + " with " + std::to_string(indices.size()) + " indices)");
  }
  const AxisView v = axis_view(y, a, true, "index_add_");
  for (int64_t i : indices) {
    if (i < 0 || i >= v.n) {
      throw IndexError("index_add_: index " + std::to_string(i) + " out of range for axis " + std::to_string(axis) +
                       " of shape " + to_string(y.shape()));
    }
  }
  const Tensor s = src.contiguous();
  const auto k = static_cast<int64_t>(indices.size());
  // Serial over the picked rows: repeated indices add into the same row.
  for (int64_t o = 0; o < v.outer; ++o) {
    for (int64_t r = 0; r < k; ++r) {
      float* dst = y.data() + (o * v.n + indices[static_cast<size_t>(r)]) * v.inner;
      const float* from = s.data() + (o * k + r) * v.inner;
      for (int64_t i = 0; i < v.inner; ++i) dst[i] += from[i];
    }
  }
  return y;
}

bool allclose(const Tensor& a, const Tensor& b, float rtol, float atol) {
  if (a.shape() != b.shape()) return false;
  const std::vector<float> va = a.to_vector();
  const std::vector<float> vb = b.to_vector();
  for (size_t i = 0; i < va.size(); ++i) {
    if (!(std::fabs(va[i] - vb[i]) <= atol + rtol * std::fabs(vb[i]))) return false;
  }
  return true;
}

std::string to_string(const Tensor& x, int precision) {
  if (!x.defined()) return "(undefined)";
  const std::vector<float> values = x.to_vector();
  const Shape& shape = x.shape();
  std::ostringstream out;
  out.precision(precision);
  if (shape.empty()) {
    out << values[0];
    return out.str();
  }
  // Open a bracket at each dimension boundary the flat index crosses, close after.
  const Strides block = contiguous_strides(shape);
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t d = 0; d < shape.size(); ++d) {
      if (static_cast<int64_t>(i) % (block[d] * shape[d]) == 0) out << '[';
    }
    out << values[i];
    size_t closed = 0;
    for (size_t d = shape.size(); d-- > 0;) {
      if ((static_cast<int64_t>(i) + 1) % (block[d] * shape[d]) == 0) {
        out << ']';
        ++closed;
      } else {
        break;
      }
    }
    if (i + 1 < values.size()) out << (closed > 0 ? ",\n" + std::string(shape.size() - closed, ' ') : ", ");
  }
  if (values.empty()) out << "[]";
  return out.str();
}

}  // namespace tensor
