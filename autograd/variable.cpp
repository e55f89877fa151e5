#include "autograd/variable.h"

#include "tensor/ops.h"

#include <cassert>
#include <unordered_set>
#include <utility>

namespace autograd {

namespace {
thread_local bool g_grad_enabled = true;
}  // namespace

bool grad_enabled() { return g_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

Node::~Node() {
  // Take over the inputs this node is the last owner of, and theirs, with a stack:
  // a recursive chain of destructors would overflow on deep graphs.
  std::vector<std::shared_ptr<Node>> pending = std::move(inputs);
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    if (n && n.use_count() == 1) {
      for (auto& i : n->inputs) pending.push_back(std::move(i));
      n->inputs.clear();
      n->backward = nullptr;
    }
  }
}

Var::Var(Tensor value, bool requires_grad) : node_(std::make_shared<Node>()) {
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
  node_->op = "leaf";
}

void Var::set_requires_grad(bool required) {
  if (!is_leaf()) throw GradError("set_requires_grad: only leaves can change requires_grad, not the output of " + op());
  node_->requires_grad = required;
}

void Var::retain_grad() { node_->retains_grad = true; }

Var Var::detach() const { return Var(node_->value, false); }

void Grads::Slot::operator+=(const Tensor& g) {
  if (node_ == nullptr) return;
  assert(g.shape() == node_->value.shape() && "a backward rule produced a gradient of the wrong shape");
  // Out of place: the incoming tensor may be a view of another node's gradient.
  node_->grad = node_->grad.defined() ? tensor::add(node_->grad, g) : g;
}

Var make_var(Tensor value, std::vector<Var> inputs, std::string op, BackwardFn backward) {
  Var out(std::move(value), false);
  out.node_->op = std::move(op);
  bool any = false;
  for (const Var& v : inputs) any = any || v.requires_grad();
  if (!any || !grad_enabled()) return out;
  out.node_->requires_grad = true;
  out.node_->backward = std::move(backward);
  out.node_->inputs.reserve(inputs.size());
  for (Var& v : inputs) out.node_->inputs.push_back(v.node());
  return out;
}

void Var::backward() const {
  if (value().numel() != 1) {
    throw GradError("backward: needs a scalar output or an explicit gradient, got shape " +
                    tensor::to_string(shape()));
  }
  backward(Tensor::ones(shape()));
}

void Var::backward(const Tensor& dy) const {
  if (node_->released) {
    throw GradError("backward: the graph of this " + op() +
                    " was already released by an earlier backward(); run the forward pass again");
  }
  if (!requires_grad()) {
    throw GradError("backward: the output of " + op() +
                    " does not require grad (no input requires it, or it was computed under NoGradGuard)");
  }
  if (dy.shape() != shape()) {
    throw GradError("backward: gradient of shape " + tensor::to_string(dy.shape()) + " for an output of shape " +
                    tensor::to_string(shape()));
  }

  // Topological order by an iterative depth-first search: a node is appended after all of
  // its inputs, so walking the list backwards visits every node before its inputs. The
  // list owns the nodes, since releasing one node's inputs may drop the last other owner.
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> seen{node_.get()};
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{node_, 0}};
  while (!stack.empty()) {
    auto& [n, next] = stack.back();
    if (next < n->inputs.size()) {
      std::shared_ptr<Node> in = n->inputs[next++];
      if (in->requires_grad && seen.insert(in.get()).second) {
        if (in->released) {
          throw GradError("backward: the graph through " + in->op +
                          " was already released by an earlier backward(); run the forward pass again");
        }
        stack.emplace_back(std::move(in), 0);
      }
    } else {
      order.push_back(std::move(n));
      stack.pop_back();
    }
  }

  // A leaf root accumulates like any leaf; an interior root starts from dy.
  node_->grad = node_->grad.defined() && !node_->backward ? tensor::add(node_->grad, dy) : dy;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* n = it->get();
    if (!n->backward) continue;  // a leaf: its gradient stays
    if (n->grad.defined()) {
      Grads g(n->inputs);
      n->backward(n->grad, g);
    }
    // Release what the backward pass saved; keep the gradient only if asked.
    n->backward = nullptr;
    n->inputs.clear();
    n->released = true;
    if (!n->retains_grad) n->grad = Tensor();
  }
}

}  // namespace autograd
