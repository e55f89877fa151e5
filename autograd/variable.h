/// \file
/// \brief `Var`: a tensor that remembers how it was computed, and reverse-mode `backward()`.
#pragma once

#include "tensor/errors.h"
#include "tensor/tensor.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace autograd {

/// \defgroup autograd autograd: the graph and every differentiable op
/// \brief Reverse-mode automatic differentiation over `tensor::Tensor`.
/// \see \ref ch01_autograd, where reverse mode is checked against finite differences.
///
/// Each op computes its value with the tensor kernels and records, next to it, the
/// function that turns the gradient of its output into gradients of its inputs.
/// `Var::backward()` visits the recorded graph once, outputs before inputs.

using tensor::Shape;
using tensor::Tensor;

/// \ingroup autograd
/// \brief Thrown when `backward()` cannot run: nothing to differentiate, a non-scalar
/// output without a gradient, or a graph already released by an earlier `backward()`.
class GradError : public tensor::Error {
 public:
  using tensor::Error::Error;
};

class Grads;

/// \ingroup autograd
/// \brief The backward rule of one op: given \f$ \partial L / \partial y \f$ (shape of y),
/// add \f$ \partial L / \partial x_i \f$ into `g[i]` for each input.
using BackwardFn = std::function<void(const Tensor& dy, Grads& g)>;

/// \ingroup autograd
/// \brief One node of the graph: a value, its gradient, and how it was computed.
///
/// Users hold nodes through `Var`. A node's backward closure captures tensors only, never
/// other nodes, so the graph has no cycles and is freed when the last `Var` goes.
struct Node {
  Tensor value;                              ///< [any]
  Tensor grad;                               ///< [same as value]; undefined until backward reaches it
  bool requires_grad = false;                ///< gradients flow into (or through) this node
  bool retains_grad = false;                 ///< an interior node that keeps its grad after backward
  bool released = false;                     ///< its backward already ran and its buffers are freed
  std::string op;                            ///< the op that made it ("leaf" for inputs)
  std::vector<std::shared_ptr<Node>> inputs; ///< the op's inputs, in order
  BackwardFn backward;                       ///< empty for leaves

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  /// \brief Frees the chain of inputs iteratively, so a graph thousands of nodes deep
  /// does not overflow the stack on destruction.
  ~Node();
};

/// \ingroup autograd
/// \brief A differentiable value: a tensor, its optional gradient, and the op that produced it.
///
/// Copies share the node (like tensors share storage). A leaf is made by the constructor;
/// every op on `Var`s returns an interior node that remembers its inputs when any of them
/// requires a gradient and grad mode is on (see `NoGradGuard`).
///
/// **Calling backward twice.** After `backward()` the graph's interior nodes release what
/// they saved for the backward pass (this is what frees training memory). A second
/// `backward()` through any of them throws `GradError`; run the forward pass again instead.
/// Gradients of leaves accumulate with `+=` across calls until `zero_grad()`.
class Var {
 public:
  /// \brief An undefined variable (no node).
  Var() = default;
  /// \brief A leaf holding `value`; with `requires_grad`, `backward()` fills its `grad()`.
  explicit Var(Tensor value, bool requires_grad = false);

  bool defined() const { return node_ != nullptr; }                 ///< false when default-constructed
  const Tensor& value() const { return node_->value; }              ///< the value [any]
  /// \brief The value, writable in place (optimizers update parameters through it).
  Tensor& value() { return node_->value; }
  const Shape& shape() const { return node_->value.shape(); }       ///< shape of the value
  /// \brief The accumulated gradient, same shape as the value; undefined before any backward.
  ///
  /// Read-only in spirit: to save copies it may share storage with other gradients or with
  /// the `dy` given to `backward` (the library never writes a gradient in place). Clone it
  /// before editing it in place.
  const Tensor& grad() const { return node_->grad; }
  bool requires_grad() const { return node_->requires_grad; }       ///< true if gradients flow here
  /// \brief True for a variable made by the constructor (or a constant result), false for a recorded op.
  bool is_leaf() const { return node_->backward == nullptr && node_->inputs.empty() && !node_->released; }
  const std::string& op() const { return node_->op; }               ///< the op that produced it
  /// \brief Turns gradient tracking on or off for a leaf.
  /// \throws GradError when called on an interior node.
  void set_requires_grad(bool required);
  /// \brief Keeps this interior node's gradient after `backward()` (leaves always keep theirs).
  void retain_grad();
  /// \brief Forgets the gradient (the next backward starts from zero).
  void zero_grad() { node_->grad = Tensor(); }
  /// \brief A new leaf sharing this value but cut from the graph: no gradient flows through it.
  Var detach() const;

  /// \brief Back-propagates from this scalar: \f$ \partial y / \partial x \f$ into every leaf x that requires grad.
  /// \throws GradError when this is not a scalar, requires no grad, or its graph was released.
  void backward() const;
  /// \brief Back-propagates a given output gradient `dy` (shape of the value).
  /// \throws GradError on a shape mismatch or as `backward()`.
  void backward(const Tensor& dy) const;

  /// \brief The node (for ops and graph printing).
  const std::shared_ptr<Node>& node() const { return node_; }

 private:
  std::shared_ptr<Node> node_;
  friend Var make_var(Tensor value, std::vector<Var> inputs, std::string op, BackwardFn backward);
};

/// \ingroup autograd
/// \brief The gradient slots of one op's inputs, handed to its backward rule.
///
/// `g[i] += t` adds `t` (shape of input i) to input i's gradient; it is a no-op when input i
/// needs no gradient, and `g.wants(i)` lets a rule skip computing it at all.
class Grads {
 public:
  /// \brief One input's gradient slot.
  class Slot {
   public:
    /// \brief Accumulates `g` into the slot.
    /// \pre `g` has the input's shape (an internal invariant: asserted).
    void operator+=(const Tensor& g);

   private:
    friend class Grads;
    explicit Slot(Node* node) : node_(node) {}
    Node* node_;
  };
  /// \brief Gradient slots of `inputs`.
  explicit Grads(const std::vector<std::shared_ptr<Node>>& inputs) : inputs_(inputs) {}
  Slot operator[](size_t i) { return Slot(wants(i) ? inputs_[i].get() : nullptr); }  ///< slot of input i
  bool wants(size_t i) const { return inputs_[i]->requires_grad; }  ///< does input i need a gradient?
  size_t size() const { return inputs_.size(); }                     ///< number of inputs

 private:
  const std::vector<std::shared_ptr<Node>>& inputs_;
};

/// \ingroup autograd
/// \brief Records an op: the result `value`, its `inputs` and its backward rule.
///
/// When no input requires a gradient, or grad mode is off, the result is a constant leaf
/// and `backward` is dropped (with whatever it captured).
Var make_var(Tensor value, std::vector<Var> inputs, std::string op, BackwardFn backward);

/// \ingroup autograd
/// \brief While alive, no op records a graph on this thread (evaluation, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// \ingroup autograd
/// \brief Whether ops record the graph on this thread (false inside a `NoGradGuard`).
bool grad_enabled();

}  // namespace autograd
