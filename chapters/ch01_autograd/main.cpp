// Chapter 1: tensors and reverse-mode automatic differentiation, from the ground up.
//
// 1. A small expression graph: every node's value and gradient, next to finite differences.
// 2. Why reverse mode: one forward+backward pass against two forward passes per parameter.
// 3. A tiny model trained with the same machinery the teacher uses.
// 4. Report: results.json and the training plot.
#include "autograd/ops.h"
#include "chapters/common/options.h"
#include "chapters/common/plot.h"
#include "chapters/common/report.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "nn/metrics.h"
#include "nn/optim.h"
#include "tensor/ops.h"

#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <utility>

namespace {

using autograd::Var;
using tensor::Tensor;

// --- configuration -------------------------------------------------------------------
constexpr int64_t kPointsPerClass = 200;  // toy data: three interleaved spirals
constexpr int64_t kHidden = 32;           // toy model: 2 - 32 - 32 - 3
constexpr int kEpochs = 300;              // full-batch steps
constexpr float kLearningRate = 0.05f;    // SGD with momentum 0.9
constexpr double kStep = 1e-4;            // finite-difference step, in double precision
constexpr int kQuickEpochs = 30;          // --quick: a smoke run
constexpr int kBackwardRepeats = 20;      // forward+backward passes averaged for the timing

// f(a, b, c) = log(1 + exp(a * b)) * c - a / b: a few ops, one input used twice.
struct Graph {
  Var a, b, c, ab, softplus, scaled, ratio, f;
};

Graph build_graph(double a, double b, double c) {
  Graph g;
  g.a = Var(Tensor::scalar(static_cast<float>(a)), true);
  g.b = Var(Tensor::scalar(static_cast<float>(b)), true);
  g.c = Var(Tensor::scalar(static_cast<float>(c)), true);
  g.ab = g.a * g.b;
  g.softplus = autograd::log(autograd::exp(g.ab) + 1.0f);
  g.scaled = g.softplus * g.c;
  g.ratio = g.a / g.b;
  g.f = g.scaled - g.ratio;
  // Interior nodes free their gradients after backward unless asked to keep them.
  for (Var* v : {&g.ab, &g.softplus, &g.scaled, &g.ratio, &g.f}) v->retain_grad();
  return g;
}

// The same function in double precision, for central finite differences.
double f_double(double a, double b, double c) { return std::log(1.0 + std::exp(a * b)) * c - a / b; }

// Three interleaved spirals in the plane, one per class.
std::pair<Tensor, nn::Labels> spirals(tensor::Generator& gen) {
  Tensor x = Tensor::empty({3 * kPointsPerClass, 2});
  nn::Labels y;
  for (int64_t k = 0; k < 3; ++k) {
    for (int64_t i = 0; i < kPointsPerClass; ++i) {
      const double r = static_cast<double>(i) / kPointsPerClass;
      const double angle = 4.0 * r + 2.0 * std::numbers::pi * k / 3.0 + 0.2 * gen.normal();
      x.set({k * kPointsPerClass + i, 0}, static_cast<float>(r * std::cos(angle)));
      x.set({k * kPointsPerClass + i, 1}, static_cast<float>(r * std::sin(angle)));
      y.push_back(k);
    }
  }
  return {x, y};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// --- 1. a graph, its values and gradients -------------------------------------------
// Backward through the graph at (a, b, c) = (0.5, -1.5, 2): every node's value and gradient, the
// inputs' gradients next to central finite differences of the double-precision function. Returns
// results.json's "graph".
nlohmann::json graph_gradients(const book::Options& options) {
  const double a = 0.5, b = -1.5, c = 2.0;
  Graph g = build_graph(a, b, c);
  g.f.backward();
  const double h = kStep;
  const double numeric_a = (f_double(a + h, b, c) - f_double(a - h, b, c)) / (2 * h);
  const double numeric_b = (f_double(a, b + h, c) - f_double(a, b - h, c)) / (2 * h);
  const double numeric_c = (f_double(a, b, c + h) - f_double(a, b, c - h)) / (2 * h);
  book::Table nodes({"node", "op", "value", "df/dnode (backward)", "finite difference"});
  const auto row = [&](const char* name, const Var& v, const std::string& numeric) {
    nodes.add_row({name, v.op(), fmt::format("{:.6f}", v.value().item()), fmt::format("{:.6f}", v.grad().item()), numeric});
  };
  row("a", g.a, fmt::format("{:.6f}", numeric_a));
  row("b", g.b, fmt::format("{:.6f}", numeric_b));
  row("c", g.c, fmt::format("{:.6f}", numeric_c));
  row("a*b", g.ab, "");
  row("softplus", g.softplus, "");
  row("softplus*c", g.scaled, "");
  row("a/b", g.ratio, "");
  row("f", g.f, "");
  fmt::print("{}", nodes.to_text());
  book::write_file(options.file("graph.csv"), nodes.to_csv());
  const double max_error = std::max({std::fabs(g.a.grad().item() - numeric_a), std::fabs(g.b.grad().item() - numeric_b),
                                     std::fabs(g.c.grad().item() - numeric_c)});
  fmt::print("largest |backward - finite difference| over a, b, c: {:.2e} (float32 values, double differences)\n",
             max_error);
  return {{"f", g.f.value().item()},
          {"grad", {{"a", g.a.grad().item()}, {"b", g.b.grad().item()}, {"c", g.c.grad().item()}}},
          {"finite_difference", {{"a", numeric_a}, {"b", numeric_b}, {"c", numeric_c}}},
          {"max_abs_error", max_error}};
}

// --- 2. the toy problem and model -----------------------------------------------------
// The toy problem of sections 2 and 3, and what section 2 measures on it.
struct Toy {
  Tensor x;                     // [N, 2] points
  nn::Labels y;                 // N labels: the spiral of each point
  nn::Sequential model;         // 2 - 32 - 32 - 3
  nlohmann::json reverse_mode;  // the cost of all gradients, for results.json
};

// Reverse mode: one backward pass gives every parameter's gradient. Finite differences
// need two forward passes per parameter (in --quick runs, timed on the first layer only
// and scaled up to all parameters). Returns results.json's "reverse_mode".
nlohmann::json reverse_mode(nn::Sequential& model, const Tensor& x, const nn::Labels& y, bool quick) {
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < kBackwardRepeats; ++r) {
    model.zero_grad();
    nn::cross_entropy(model(Var(x)), y).backward();
  }
  const double backward_seconds = seconds_since(start) / kBackwardRepeats;
  std::vector<Var> params = model.parameters();
  const size_t timed = quick ? 1 : params.size();
  int64_t differenced = 0;
  double max_difference = 0.0;
  start = std::chrono::steady_clock::now();
  {
    autograd::NoGradGuard no_grad;
    for (size_t k = 0; k < timed; ++k) {
      float* values = params[k].value().data();
      const float* grad = params[k].grad().data();
      for (int64_t i = 0; i < params[k].value().numel(); ++i, ++differenced) {
        const float saved = values[i];
        values[i] = saved + 1e-3f;
        const double up = nn::cross_entropy(model(Var(x)), y).value().item();
        values[i] = saved - 1e-3f;
        const double down = nn::cross_entropy(model(Var(x)), y).value().item();
        values[i] = saved;
        max_difference = std::max(max_difference, std::fabs((up - down) / 2e-3 - grad[i]));
      }
    }
  }
  const double numeric_seconds =
      seconds_since(start) * static_cast<double>(model.parameter_count()) / static_cast<double>(differenced);
  fmt::print("all {} gradients: one forward+backward pass {:.5f} s; finite differences {:.3f} s{} ({:.0f}x slower)\n",
             model.parameter_count(), backward_seconds, numeric_seconds,
             differenced < model.parameter_count() ? fmt::format(" (timed on {}, scaled)", differenced) : "",
             numeric_seconds / backward_seconds);
  fmt::print("largest |backward - finite difference| over {} parameters: {:.1e} (float32, step 1e-3)\n", differenced,
             max_difference);
  return {{"parameters", model.parameter_count()},
          {"backward_seconds", backward_seconds},
          {"finite_difference_seconds", numeric_seconds},
          {"max_abs_difference", max_difference}};
}

// The three spirals and the MLP, initialised from the seed, and the cost of its gradients.
Toy tiny_model(const book::Options& options) {
  tensor::Generator gen(options.seed);
  auto [x, y] = spirals(gen);
  Toy toy{std::move(x), std::move(y), {}, {}};
  toy.model.emplace<nn::Linear>(2, kHidden, gen);
  toy.model.emplace<nn::ReLU>();
  toy.model.emplace<nn::Linear>(kHidden, kHidden, gen);
  toy.model.emplace<nn::ReLU>();
  toy.model.emplace<nn::Linear>(kHidden, 3, gen);
  fmt::print("{}{} parameters, {} points\n", toy.model.summary(), toy.model.parameter_count(), toy.y.size());
  toy.reverse_mode = reverse_mode(toy.model, toy.x, toy.y, options.quick);
  return toy;
}

// --- 3. training ------------------------------------------------------------------------
// The model's learning curve, one point per step.
struct Training {
  int steps = 0;
  book::Series loss{"training loss", {}, {}}, accuracy{"training accuracy", {}, {}};
  double final_accuracy = 0;  // after the last step
};

// Full-batch SGD on the toy problem, one progress line every tenth of the steps.
Training train(Toy& toy, bool quick) {
  toy.model.zero_grad();
  nn::SGD opt(toy.model.parameters(), kLearningRate, 0.9f);
  Training out;
  out.steps = quick ? kQuickEpochs : kEpochs;
  for (int epoch = 1; epoch <= out.steps; ++epoch) {
    opt.zero_grad();
    const Var logits = toy.model(Var(toy.x));
    const Var loss = nn::cross_entropy(logits, toy.y);
    loss.backward();
    opt.step();
    out.loss.x.push_back(epoch);
    out.loss.y.push_back(loss.value().item());
    out.accuracy.x.push_back(epoch);
    out.accuracy.y.push_back(nn::accuracy(logits.value(), toy.y));
    if (epoch % (out.steps / 10) == 0 || epoch == 1) {
      fmt::print("step {:>4}  loss {:.4f}  accuracy {:.3f}\n", epoch, out.loss.y.back(), out.accuracy.y.back());
    }
  }
  out.final_accuracy = [&] {
    autograd::NoGradGuard no_grad;
    return nn::accuracy(toy.model(Var(toy.x)).value(), toy.y);
  }();
  return out;
}

// --- 4. report ------------------------------------------------------------------------
// The final numbers and the training plot; writes results.json from `results` and the toy's numbers.
void report(const book::Options& options, const Training& training, nlohmann::json results) {
  fmt::print("final training loss {:.4f}, training accuracy {:.3f} after {} steps\n", training.loss.y.back(),
             training.final_accuracy, training.steps);
  fmt::print("{}\n", book::save_plot(options.out, "toy_training",
                                     book::LinePlot{"Three spirals: a 2-32-32-3 MLP trained by backpropagation",
                                                    "step (full batch)",
                                                    "loss (nats) / accuracy",
                                                    {training.loss, training.accuracy},
                                                    false}));
  results["toy"] = {
      {"steps", training.steps}, {"final_loss", training.loss.y.back()}, {"train_accuracy", training.final_accuracy}};
  results["seed"] = options.seed;
  book::write_results(options, results);
  fmt::print("results: {}/results.json\n", options.out);
}

}  // namespace

int chapter(const book::Options& options) {
  fmt::print("Chapter 1: reverse-mode automatic differentiation (seed {})\n", options.seed);
  nlohmann::json results;

  book::banner(1, "A small graph: f(a, b, c) = log(1 + e^(a b)) c - a / b");
  results["graph"] = graph_gradients(options);

  book::banner(2, "A tiny model: three spirals, a 2-32-32-3 MLP");
  Toy toy = tiny_model(options);
  results["reverse_mode"] = toy.reverse_mode;

  book::banner(3, "Training with SGD (momentum 0.9), full batch");
  const Training training = train(toy, options.quick);

  book::banner(4, "Report");
  report(options, training, results);
  return 0;
}

int main(int argc, char** argv) {
  return book::run_chapter(argc, argv, "ch01_autograd", "Chapter 1: tensors and reverse-mode autodiff", chapter);
}
