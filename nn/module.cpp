#include "nn/module.h"

#include "nn/layers.h"

#include <optional>
#include <utility>

namespace nn {

std::vector<NamedParameter> Module::named_parameters() const {
  std::vector<NamedParameter> out;
  collect("", out);
  return out;
}

void Module::collect(const std::string& prefix, std::vector<NamedParameter>& out) const {
  for (const auto& [name, p] : parameters_) out.emplace_back(prefix + name, p);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect_buffers("", out);
  return out;
}

void Module::collect_buffers(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, b] : buffers_) out.emplace_back(prefix + name, b);
  for (const auto& [name, child] : children_) child->collect_buffers(prefix + name + ".", out);
}

std::vector<Var> Module::parameters() const {
  std::vector<Var> out;
  for (auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const Var& p : parameters()) n += p.value().numel();
  return n;
}

void Module::zero_grad() {
  for (Var& p : parameters()) p.zero_grad();
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

std::string Module::summary() const {
  std::string out;
  summarise(0, "", out);
  return out;
}

void Module::summarise(int depth, const std::string& name, std::string& out) const {
  out += std::string(static_cast<size_t>(2 * depth), ' ') + (name.empty() ? "" : "(" + name + ") ") + describe() + "\n";
  for (const auto& [child_name, child] : children_) child->summarise(depth + 1, child_name, out);
}

Var Module::register_parameter(std::string name, Tensor value) {
  Var p(std::move(value), true);
  parameters_.emplace_back(std::move(name), p);
  return p;
}

Tensor Module::register_buffer(std::string name, Tensor value) {
  buffers_.emplace_back(std::move(name), value);
  return value;
}

std::shared_ptr<Module> Module::register_module(std::string name, std::shared_ptr<Module> child) {
  children_.emplace_back(std::move(name), child);
  return child;
}

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) {
  for (auto& m : modules) add(std::move(m));
}

Sequential& Sequential::add(std::shared_ptr<Module> module) {
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
  return *this;
}

namespace {

// The BatchNorm2d at modules[i] when it begins a block BatchNorm2d - MaxPool2d(2, stride 2) - ReLU
// that can run fused (in training mode), else null. The caller checks that its input's sides are even.
BatchNorm2d* fusable_block(const std::vector<std::shared_ptr<Module>>& modules, size_t i) {
  if (i + 2 >= modules.size()) return nullptr;
  auto* norm = dynamic_cast<BatchNorm2d*>(modules[i].get());
  const auto* pool = dynamic_cast<const MaxPool2d*>(modules[i + 1].get());
  const bool relu = dynamic_cast<const ReLU*>(modules[i + 2].get()) != nullptr;
  if (norm == nullptr || !norm->is_training() || pool == nullptr || pool->kernel() != 2 || pool->stride() != 2 ||
      !relu) {
    return nullptr;
  }
  return norm;
}

// The sides (Ho, Wo) of conv's output on x, when x is an image batch the convolution fits; else nothing.
std::optional<std::pair<int64_t, int64_t>> conv_output_sides(const Conv2d& conv, const Var& x) {
  if (x.value().dim() != 4 || x.shape()[1] != conv.weight.shape()[1]) return std::nullopt;
  const int64_t kh = conv.weight.shape()[2], kw = conv.weight.shape()[3], s = conv.stride(), p = conv.padding();
  const int64_t h = x.shape()[2] + 2 * p - kh, w = x.shape()[3] + 2 * p - kw;
  if (h < 0 || w < 0) return std::nullopt;
  return std::pair{h / s + 1, w / s + 1};
}

}  // namespace

Var Sequential::forward(const Var& x) {
  Var y = x;
  for (size_t i = 0; i < modules_.size(); ++i) {
    if (fuse_) {
      // Conv2d - BatchNorm2d - MaxPool2d(2) - ReLU: all four in one op.
      if (auto* conv = dynamic_cast<Conv2d*>(modules_[i].get())) {
        const auto sides = conv_output_sides(*conv, y);
        const bool even = sides && sides->first % 2 == 0 && sides->second % 2 == 0;
        if (BatchNorm2d* norm = even ? fusable_block(modules_, i + 1) : nullptr) {
          y = norm->forward_conv_pool_relu(*conv, y);
          i += 3;
          continue;
        }
      }
      // BatchNorm2d - MaxPool2d(2) - ReLU: three in one.
      const bool even = y.value().dim() == 4 && y.shape()[2] % 2 == 0 && y.shape()[3] % 2 == 0;
      if (BatchNorm2d* norm = even ? fusable_block(modules_, i) : nullptr) {
        y = norm->forward_pool_relu(y);
        i += 2;
        continue;
      }
    }
    y = modules_[i]->forward(y);
  }
  return y;
}

std::string Sequential::describe() const { return "Sequential"; }

}  // namespace nn
