/// \file
/// \brief `Module`: named parameters, train/eval mode, and `Sequential` to chain modules.
#pragma once

#include "autograd/variable.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nn {

/// \defgroup nn nn: modules, losses, optimizers, data, metrics, checkpoints
/// \brief The building blocks of the chapters, on top of `autograd`.

/// \defgroup modules modules: Module, Sequential and the layers
/// \ingroup nn
/// \brief Networks as trees of modules that own their parameters.

using autograd::Var;
using tensor::Shape;
using tensor::Tensor;

/// \ingroup modules
/// \brief A parameter's full dotted name (e.g. `"0.weight"`) and its variable.
using NamedParameter = std::pair<std::string, Var>;

/// \ingroup modules
/// \brief The base of every layer and model: owns parameters and child modules.
///
/// Parameters are leaves that require grad. `named_parameters()` lists them recursively
/// in a stable order (registration order, depth first), with dotted names like
/// `"3.weight"`; checkpoints and optimizers rely on that order.
class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;             ///< parameters are owned once: no copies
  Module& operator=(const Module&) = delete;  ///< parameters are owned once: no copies
  Module(Module&&) = default;                 ///< moves the parameters and children
  Module& operator=(Module&&) = default;      ///< moves the parameters and children

  /// \brief The module's computation. \param x the input batch \returns the output batch
  virtual Var forward(const Var& x) = 0;
  /// \brief Same as `forward(x)`.
  Var operator()(const Var& x) { return forward(x); }

  /// \brief Every parameter of this module and its children, with dotted names, in a stable order.
  std::vector<NamedParameter> named_parameters() const;
  /// \brief Every buffer (state that is saved with the parameters but not trained, such as
  /// BatchNorm's running statistics) of this module and its children, with dotted names, in
  /// a stable order.
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  /// \brief The parameters alone, in the order of `named_parameters()`.
  std::vector<Var> parameters() const;
  /// \brief Total number of scalar parameters.
  int64_t parameter_count() const;
  /// \brief Forgets every parameter's gradient.
  void zero_grad();

  /// \brief Training mode on (dropout active) or off, for this module and every child.
  void train(bool on = true);
  /// \brief Evaluation mode: `train(false)`.
  void eval() { train(false); }
  /// \brief Whether the module is in training mode (the default).
  bool is_training() const { return training_; }

  /// \brief A one-line description, e.g. `Linear(784 -> 100)`.
  virtual std::string describe() const = 0;
  /// \brief This module and its children, one per line, indented.
  std::string summary() const;

 protected:
  /// \brief Adds a parameter holding `value`; returns its variable (a leaf that requires grad).
  Var register_parameter(std::string name, Tensor value);
  /// \brief Adds a buffer holding `value`; returns a handle on the same storage (change it in place).
  Tensor register_buffer(std::string name, Tensor value);
  /// \brief Adds a child module under `name`; returns it.
  std::shared_ptr<Module> register_module(std::string name, std::shared_ptr<Module> child);

 private:
  void collect(const std::string& prefix, std::vector<NamedParameter>& out) const;
  void collect_buffers(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const;
  void summarise(int depth, const std::string& name, std::string& out) const;

  std::vector<NamedParameter> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

/// \ingroup modules
/// \brief Applies its children in order: \f$ y = f_k(\dots f_2(f_1(x))) \f$. Children are named "0", "1", ...
class Sequential : public Module {
 public:
  Sequential() = default;
  /// \brief Chains the given modules, in order.
  explicit Sequential(std::vector<std::shared_ptr<Module>> modules);
  /// \brief Appends a module; returns *this for chaining.
  Sequential& add(std::shared_ptr<Module> module);
  /// \brief Constructs a module of type M in place and appends it; returns it.
  template <class M, class... Args>
  std::shared_ptr<M> emplace(Args&&... args) {
    auto m = std::make_shared<M>(std::forward<Args>(args)...);
    add(m);
    return m;
  }
  /// \brief The i-th module.
  const std::shared_ptr<Module>& operator[](size_t i) const { return modules_.at(i); }
  /// \brief How many modules it chains.
  size_t size() const { return modules_.size(); }

  /// \brief Applies every module in order. \param x the input of the first \returns the output of the last
  ///
  /// In training mode a `BatchNorm2d` followed by a 2 x 2, stride-2 `MaxPool2d` and a `ReLU`, on
  /// images of even height and width, runs as one fused op (`BatchNorm2d::forward_pool_relu`),
  /// with the `Conv2d` before it when there is one (`BatchNorm2d::forward_conv_pool_relu`): the
  /// same values, bit for bit, and the same gradients to float rounding, without writing the
  /// full-size normalised batch or its gradient. `set_fusion(false)` runs the modules one by one
  /// (the reference the tests hold the fused blocks to).
  Var forward(const Var& x) override;
  std::string describe() const override;  ///< `Sequential`
  /// \brief Whether `forward` fuses BatchNorm-pool-ReLU blocks (on by default).
  void set_fusion(bool on) { fuse_ = on; }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
  bool fuse_ = true;
};

}  // namespace nn
