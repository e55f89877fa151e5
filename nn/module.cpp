#include "nn/module.h"

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

Var Sequential::forward(const Var& x) {
  Var y = x;
  for (auto& m : modules_) y = m->forward(y);
  return y;
}

std::string Sequential::describe() const { return "Sequential"; }

}  // namespace nn
