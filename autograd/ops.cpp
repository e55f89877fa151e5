#include "autograd/ops.h"

#include "tensor/errors.h"
#include "tensor/matmul.h"
#include "tensor/ops.h"

#include <string>

namespace autograd {

// y = a + b            dy/da = 1, dy/db = 1 (summed back over broadcast dimensions)
Var add(const Var& a, const Var& b) {
  Tensor y = tensor::add(a.value(), b.value());
  return make_var(std::move(y), {a, b}, "add", [sa = a.shape(), sb = b.shape()](const Tensor& dy, Grads& g) {
    g[0] += tensor::sum_to(dy, sa);
    g[1] += tensor::sum_to(dy, sb);
  });
}

// y = a - b            dy/da = 1, dy/db = -1
Var sub(const Var& a, const Var& b) {
  Tensor y = tensor::sub(a.value(), b.value());
  return make_var(std::move(y), {a, b}, "sub", [sa = a.shape(), sb = b.shape()](const Tensor& dy, Grads& g) {
    g[0] += tensor::sum_to(dy, sa);
    if (g.wants(1)) g[1] += tensor::neg(tensor::sum_to(dy, sb));
  });
}

// y = a * b            dy/da = b, dy/db = a
Var mul(const Var& a, const Var& b) {
  Tensor y = tensor::mul(a.value(), b.value());
  return make_var(std::move(y), {a, b}, "mul", [va = a.value(), vb = b.value()](const Tensor& dy, Grads& g) {
    if (g.wants(0)) g[0] += tensor::sum_to(tensor::mul(dy, vb), va.shape());
    if (g.wants(1)) g[1] += tensor::sum_to(tensor::mul(dy, va), vb.shape());
  });
}

// y = a / b            dy/da = 1 / b, dy/db = -a / b^2 = -y / b
Var div(const Var& a, const Var& b) {
  Tensor y = tensor::div(a.value(), b.value());
  return make_var(y, {a, b}, "div", [sa = a.shape(), vb = b.value(), y](const Tensor& dy, Grads& g) {
    const Tensor dy_over_b = tensor::div(dy, vb);
    if (g.wants(0)) g[0] += tensor::sum_to(dy_over_b, sa);
    if (g.wants(1)) g[1] += tensor::sum_to(tensor::neg(tensor::mul(dy_over_b, y)), vb.shape());
  });
}

// y = w x (0 where w = 0)   dy/dx = w
Var masked_mul(const Var& x, const Tensor& w) {
  Tensor y = tensor::masked_mul(x.value(), w);
  return make_var(std::move(y), {x}, "masked_mul", [shape = x.shape(), w](const Tensor& dy, Grads& g) {
    g[0] += tensor::sum_to(tensor::mul(dy, w), shape);
  });
}

// y = x + s            dy/dx = 1
Var add(const Var& x, float s) {
  return make_var(tensor::add(x.value(), s), {x}, "add", [](const Tensor& dy, Grads& g) { g[0] += dy; });
}

// y = x * s            dy/dx = s
Var mul(const Var& x, float s) {
  return make_var(tensor::mul(x.value(), s), {x}, "mul",
                  [s](const Tensor& dy, Grads& g) { g[0] += tensor::mul(dy, s); });
}

// y = x / s            dy/dx = 1 / s
Var div(const Var& x, float s) {
  return make_var(tensor::div(x.value(), s), {x}, "div",
                  [s](const Tensor& dy, Grads& g) { g[0] += tensor::div(dy, s); });
}

// y = -x               dy/dx = -1
Var neg(const Var& x) {
  return make_var(tensor::neg(x.value()), {x}, "neg", [](const Tensor& dy, Grads& g) { g[0] += tensor::neg(dy); });
}

// y = e^x              dy/dx = e^x = y
Var exp(const Var& x) {
  Tensor y = tensor::exp(x.value());
  return make_var(y, {x}, "exp", [y](const Tensor& dy, Grads& g) { g[0] += tensor::mul(dy, y); });
}

// y = ln x             dy/dx = 1 / x
Var log(const Var& x) {
  return make_var(tensor::log(x.value()), {x}, "log",
                  [vx = x.value()](const Tensor& dy, Grads& g) { g[0] += tensor::div(dy, vx); });
}

// y = max(x, 0)        dy/dx = [x > 0]
Var relu(const Var& x) {
  Tensor y = tensor::relu(x.value());
  return make_var(y, {x}, "relu", [y](const Tensor& dy, Grads& g) { g[0] += tensor::relu_backward(dy, y); });
}

// Y = A B              dL/dA = dY B^T, dL/dB = A^T dY (transposes are views, handed to BLAS as flags)
Var matmul(const Var& a, const Var& b) {
  Tensor y = tensor::matmul(a.value(), b.value());
  return make_var(std::move(y), {a, b}, "matmul", [va = a.value(), vb = b.value()](const Tensor& dy, Grads& g) {
    const int64_t r = va.dim() - 2;  // the two matrix axes are r, r + 1
    if (g.wants(0)) g[0] += tensor::matmul(dy, vb.transpose(r, r + 1));
    if (g.wants(1)) g[1] += tensor::matmul(va.transpose(r, r + 1), dy);
  });
}

// Y = X W^T + b         dL/dX = dY W, dL/dW = dY^T X, dL/db = sum over rows of dY
Var linear(const Var& x, const Var& weight, const Var& bias) {
  Tensor y = tensor::linear(x.value(), weight.value(), bias.defined() ? bias.value() : Tensor());
  std::vector<Var> inputs = {x, weight};
  if (bias.defined()) inputs.push_back(bias);
  return make_var(std::move(y), std::move(inputs), "linear",
                  [vx = x.value(), vw = weight.value()](const Tensor& dy, Grads& g) {
                    if (g.wants(0)) g[0] += tensor::matmul(dy, vw);
                    if (g.wants(1)) g[1] += tensor::matmul(dy.t(), vx);  // [out, N] @ [N, in]: already W's layout
                    if (g.size() > 2 && g.wants(2)) g[2] += tensor::sum(dy, 0);
                  });
}

// y = sum_i x_i        dy/dx_i = 1
Var sum(const Var& x) {
  return make_var(tensor::sum(x.value()), {x}, "sum",
                  [shape = x.shape()](const Tensor& dy, Grads& g) { g[0] += tensor::Tensor::full(shape, dy.item()); });
}

// y = sum_j x_..j..    dy/dx_..j.. = 1: dy broadcast back along the axis
Var sum(const Var& x, int64_t axis, bool keepdim) {
  Tensor y = tensor::sum(x.value(), axis, keepdim);
  const int64_t a = tensor::normalize_axis(axis, x.shape(), "sum");
  return make_var(std::move(y), {x}, "sum", [shape = x.shape(), a](const Tensor& dy, Grads& g) {
    Shape kept = shape;
    kept[a] = 1;
    g[0] += tensor::Tensor::empty(shape).copy_(dy.reshape(kept));
  });
}

// y = (1/n) sum_i x_i  dy/dx_i = 1/n
Var mean(const Var& x) {
  const auto n = static_cast<float>(x.value().numel());
  return make_var(tensor::mean(x.value()), {x}, "mean", [shape = x.shape(), n](const Tensor& dy, Grads& g) {
    g[0] += tensor::Tensor::full(shape, dy.item() / n);
  });
}

// y = (1/n) sum_j x_..j..   dy/dx_..j.. = 1/n
Var mean(const Var& x, int64_t axis, bool keepdim) {
  Tensor y = tensor::mean(x.value(), axis, keepdim);
  const int64_t a = tensor::normalize_axis(axis, x.shape(), "mean");
  return make_var(std::move(y), {x}, "mean", [shape = x.shape(), a](const Tensor& dy, Grads& g) {
    Shape kept = shape;
    kept[a] = 1;
    g[0] += tensor::Tensor::empty(shape).copy_(tensor::div(dy.reshape(kept), static_cast<float>(shape[a])));
  });
}

// y = log sum_j e^{x_j}     dy/dx_j = e^{x_j - y} = softmax(x)_j
Var logsumexp(const Var& x, int64_t axis, bool keepdim) {
  Tensor y = tensor::logsumexp(x.value(), axis, keepdim);
  const int64_t a = tensor::normalize_axis(axis, x.shape(), "logsumexp");
  Shape kept = x.shape();
  kept[a] = 1;
  return make_var(y, {x}, "logsumexp", [vx = x.value(), y = y.reshape(kept), kept](const Tensor& dy, Grads& g) {
    const Tensor p = tensor::exp(tensor::sub(vx, y));
    g[0] += tensor::mul(p, dy.reshape(kept));
  });
}

// y = x viewed in a new shape    dL/dx = dL/dy in x's shape
Var reshape(const Var& x, const Shape& shape) {
  return make_var(x.value().reshape(shape), {x}, "reshape", [from = x.shape()](const Tensor& dy, Grads& g) {
    g[0] += dy.reshape(from);
  });
}

// y = x with two axes swapped    dL/dx = dL/dy with them swapped back
Var transpose(const Var& x, int64_t axis0, int64_t axis1) {
  return make_var(x.value().transpose(axis0, axis1), {x}, "transpose", [axis0, axis1](const Tensor& dy, Grads& g) {
    g[0] += dy.transpose(axis0, axis1).contiguous();
  });
}

// y = x with its axes reordered      dL/dx = dL/dy with the inverse order
Var permute(const Var& x, const std::vector<int64_t>& order) {
  Tensor y = x.value().permute(order);
  std::vector<int64_t> inverse(order.size());
  for (size_t i = 0; i < order.size(); ++i) inverse[static_cast<size_t>(order[i])] = static_cast<int64_t>(i);
  return make_var(std::move(y), {x}, "permute", [inverse](const Tensor& dy, Grads& g) {
    g[0] += dy.permute(inverse).contiguous();
  });
}

// y = x[.., start:start+length, ..]    dL/dx = dL/dy inside the range, 0 outside
Var narrow(const Var& x, int64_t axis, int64_t start, int64_t length) {
  return make_var(x.value().narrow(axis, start, length), {x}, "narrow",
                  [shape = x.shape(), axis, start, length](const Tensor& dy, Grads& g) {
                    Tensor dx = tensor::Tensor::zeros(shape);
                    dx.narrow(axis, start, length).copy_(dy);
                    g[0] += dx;
                  });
}

// y_..i.. = x_..indices[i]..     dL/dx_..k.. = sum over i with indices[i] = k of dL/dy_..i..
Var index_select(const Var& x, int64_t axis, const std::vector<int64_t>& indices) {
  return make_var(tensor::index_select(x.value(), axis, indices), {x}, "index_select",
                  [shape = x.shape(), axis, indices](const Tensor& dy, Grads& g) {
                    Tensor dx = tensor::Tensor::zeros(shape);
                    tensor::index_add_(dx, axis, indices, dy);
                    g[0] += dx;
                  });
}

namespace {
void check_temperature(float temperature, const char* op) {
  if (!(temperature > 0.0f)) {
    throw tensor::ValueError(std::string(op) + ": temperature must be > 0, got " + tensor::to_string(temperature));
  }
}
}  // namespace

// log p = log_softmax(z / T)     dL/dz = (dL/dlog p - p * sum_j dL/dlog p_j) / T
Var log_softmax(const Var& z, float temperature, int64_t axis) {
  check_temperature(temperature, "log_softmax");
  const Tensor scaled = temperature == 1.0f ? z.value() : tensor::div(z.value(), temperature);
  Tensor y = tensor::log_softmax(scaled, axis);
  return make_var(y, {z}, "log_softmax", [y, axis, temperature](const Tensor& dy, Grads& g) {
    const Tensor p = tensor::exp(y);
    const Tensor dz = tensor::sub(dy, tensor::mul(p, tensor::sum(dy, axis, true)));
    g[0] += temperature == 1.0f ? dz : tensor::div(dz, temperature);
  });
}

// p = exp(log p): composed.
Var softmax(const Var& z, float temperature, int64_t axis) {
  check_temperature(temperature, "softmax");
  return exp(log_softmax(z, temperature, axis));
}

// y = m * x / (1 - p)     dy/dx = m / (1 - p), with the mask m saved
Var dropout(const Var& x, float p, tensor::Generator& gen) {
  if (!(p >= 0.0f && p < 1.0f)) {
    throw tensor::ValueError("dropout: p must be in [0, 1), got " + tensor::to_string(p));
  }
  if (p == 0.0f) return x;
  const Tensor mask = tensor::div(tensor::bernoulli(x.shape(), 1.0f - p, gen), 1.0f - p);
  return make_var(tensor::mul(x.value(), mask), {x}, "dropout",
                  [mask](const Tensor& dy, Grads& g) { g[0] += tensor::mul(dy, mask); });
}

}  // namespace autograd
