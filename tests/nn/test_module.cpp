// Modules and layers: parameters, modes, shapes, values and gradients.
#include "nn/layers.h"

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tensor/errors.h"
#include "tensor/ops.h"

#include <doctest/doctest.h>

#include <cmath>
#include <memory>

using autograd::Var;
using tensor::Tensor;

namespace {

// A 784-100-10 MLP, the shape of the book's small student.
nn::Sequential mlp(tensor::Generator& gen) {
  nn::Sequential m;
  m.emplace<nn::Flatten>();
  m.emplace<nn::Linear>(784, 100, gen);
  m.emplace<nn::ReLU>();
  m.emplace<nn::Dropout>(0.5f, gen);
  m.emplace<nn::Linear>(100, 10, gen);
  return m;
}

}  // namespace

TEST_SUITE("nn/module") {
TEST_CASE("named_parameters lists every parameter recursively, in a stable dotted order") {
  tensor::Generator gen(1);
  nn::Sequential m = mlp(gen);
  const auto named = m.named_parameters();
  REQUIRE(named.size() == 4);
  CHECK(named[0].first == "1.weight");
  CHECK(named[1].first == "1.bias");
  CHECK(named[2].first == "4.weight");
  CHECK(named[3].first == "4.bias");
  CHECK(named[0].second.shape() == tensor::Shape{100, 784});
  // 784*100 + 100 + 100*10 + 10 by hand.
  CHECK(m.parameter_count() == 79510);
  for (const auto& [name, p] : named) CHECK(p.requires_grad());
}

TEST_CASE("nested Sequentials name their parameters with the full path") {
  tensor::Generator gen(2);
  auto inner = std::make_shared<nn::Sequential>();
  inner->emplace<nn::Linear>(3, 4, gen);
  nn::Sequential outer;
  outer.add(inner).emplace<nn::ReLU>();
  CHECK(outer.named_parameters()[0].first == "0.0.weight");
  CHECK(outer.summary() == "Sequential\n  (0) Sequential\n    (0) Linear(3 -> 4)\n  (1) ReLU\n");
}

TEST_CASE("train and eval switch every child, and dropout is the identity in eval mode") {
  tensor::Generator gen(3);
  nn::Sequential m = mlp(gen);
  CHECK(m.is_training());
  m.eval();
  CHECK_FALSE(m[3]->is_training());
  const Var x(tensor::normal({2, 1, 28, 28}, 0.0f, 1.0f, gen));
  CHECK(tensor::allclose(m(x).value(), m(x).value(), 0.0f, 0.0f));  // no randomness left
  m.train();
  CHECK(m[3]->is_training());
  CHECK_FALSE(tensor::allclose(m(x).value(), m(x).value()));  // fresh dropout masks differ
}

TEST_CASE("zero_grad forgets the gradients of every parameter") {
  tensor::Generator gen(4);
  nn::Sequential m = mlp(gen);
  autograd::sum(m(Var(Tensor::ones({2, 784})))).backward();
  for (const Var& p : m.parameters()) CHECK(p.grad().defined());
  m.zero_grad();
  for (const Var& p : m.parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("Linear computes x W^T + b and passes gradcheck") {
  tensor::Generator gen(5);
  nn::Linear layer(3, 2, gen);
  layer.weight.value().copy_(Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6}));
  layer.bias.value().copy_(Tensor::from_vector({2}, {0.5f, -1}));
  // [1, 1, 1] . [1, 2, 3] + 0.5 = 6.5 and [1, 1, 1] . [4, 5, 6] - 1 = 14, by hand.
  CHECK(layer(Var(Tensor::ones({1, 3}))).value().to_vector() == std::vector<float>{6.5f, 14.0f});
  const auto result = autograd::gradcheck(
      [](const std::vector<Var>& in) { return autograd::matmul(in[0], autograd::transpose(in[1], 0, 1)) + in[2]; },
      {tensor::uniform({4, 3}, -1, 1, gen), tensor::uniform({2, 3}, -1, 1, gen), tensor::uniform({2}, -1, 1, gen)});
  CHECK_MESSAGE(result.passed, result.report);
}

TEST_CASE("Linear's Kaiming initialisation has variance 2 / fan_in and zero biases") {
  tensor::Generator gen(6);
  nn::Linear layer(400, 300, gen);
  const std::vector<float> w = layer.weight.value().to_vector();
  double sum = 0, sum_sq = 0;
  for (float v : w) {
    sum += v;
    sum_sq += double(v) * v;
  }
  const double n = double(w.size());
  const double variance = sum_sq / n - (sum / n) * (sum / n);
  // Expected 2/400 = 0.005; the sample variance of 120,000 normals is within ~0.5% of it.
  CHECK(variance == doctest::Approx(0.005).epsilon(0.03));
  CHECK(tensor::allclose(layer.bias.value(), Tensor::zeros({300})));
}

TEST_CASE("Linear reports an input of the wrong width with both shapes") {
  tensor::Generator gen(7);
  nn::Linear layer(784, 100, gen);
  CHECK_THROWS_WITH_AS(layer(Var(Tensor::zeros({32, 100}))), "linear: input [32, 100] does not match weight [100, 784]",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::Linear(0, 3, gen), "Linear: in must be positive, got 0", tensor::ValueError);
}

TEST_CASE("a small CNN maps [N, 1, 28, 28] to [N, 10] and every parameter gets a gradient") {
  tensor::Generator gen(8);
  nn::Sequential cnn;
  cnn.emplace<nn::Conv2d>(1, 4, 3, 1, 1, gen);
  cnn.emplace<nn::ReLU>();
  cnn.emplace<nn::MaxPool2d>(2);
  cnn.emplace<nn::Conv2d>(4, 8, 3, 1, 1, gen);
  cnn.emplace<nn::ReLU>();
  cnn.emplace<nn::MaxPool2d>(2);
  cnn.emplace<nn::Flatten>();
  cnn.emplace<nn::Linear>(8 * 7 * 7, 10, gen);
  const Var y = cnn(Var(tensor::normal({3, 1, 28, 28}, 0, 1, gen)));
  CHECK(y.shape() == tensor::Shape{3, 10});
  autograd::sum(y).backward();
  for (const auto& [name, p] : cnn.named_parameters()) {
    CAPTURE(name);
    CHECK(p.grad().defined());
  }
  CHECK(cnn[0]->describe() == "Conv2d(1 -> 4, 3x3, stride 1, padding 1)");
  CHECK(cnn[2]->describe() == "MaxPool2d(2x2, stride 2)");
}

TEST_CASE("a whole CNN with pooling passes gradcheck on its input") {
  tensor::Generator gen(9);
  nn::Sequential cnn;
  cnn.emplace<nn::Conv2d>(1, 2, 3, 1, 1, gen);
  cnn.emplace<nn::MaxPool2d>(2);
  cnn.emplace<nn::Flatten>();
  cnn.emplace<nn::Linear>(2 * 2 * 2, 3, gen);
  // A smaller step than the default: max pooling has kinks wherever two conv outputs tie,
  // and a step of 1e-2 can cross one.
  autograd::GradcheckOptions options;
  options.step = 1e-3;
  const auto result = autograd::gradcheck([&cnn](const std::vector<Var>& in) { return cnn(in[0]); },
                                          {tensor::uniform({2, 1, 4, 4}, -1, 1, gen)}, options);
  CHECK_MESSAGE(result.passed, result.report);
}

TEST_CASE("BatchNorm2d normalises with the batch in training, updates its running statistics, and uses them in eval") {
  nn::BatchNorm2d bn(2, 0.5f);
  // Channel 0 holds 1, 2, 3, 4 (mean 2.5, unbiased variance 5/3); channel 1 holds 10 everywhere.
  const Var x(Tensor::from_vector({2, 2, 1, 2}, {1, 2, 10, 10, 3, 4, 10, 10}));
  const Tensor y = bn(x).value();
  CHECK(y.at({0, 0, 0, 0}) == doctest::Approx(-1.5 / std::sqrt(1.25 + 1e-5)));
  CHECK(y.at({1, 1, 0, 1}) == doctest::Approx(0.0));
  // Momentum 0.5 from (0, 1): mean (1.25, 5), variance ((1 + 5/3) / 2, 0.5).
  CHECK(bn.running_mean.to_vector() == std::vector<float>{1.25f, 5.0f});
  CHECK(bn.running_var.at({0}) == doctest::Approx((1.0 + 5.0 / 3.0) / 2.0));
  CHECK(bn.running_var.at({1}) == doctest::Approx(0.5));
  // In eval mode an image's output depends on the running statistics alone, not on its batch.
  bn.eval();
  const Tensor alone = bn(Var(Tensor::from_vector({1, 2, 1, 1}, {1, 10}))).value();
  CHECK(alone.at({0, 0, 0, 0}) == doctest::Approx((1.0 - 1.25) / std::sqrt((1.0 + 5.0 / 3.0) / 2.0 + 1e-5)));
  CHECK(alone.at({0, 1, 0, 0}) == doctest::Approx((10.0 - 5.0) / std::sqrt(0.5 + 1e-5)));
  CHECK(bn.running_mean.to_vector() == std::vector<float>{1.25f, 5.0f});  // eval changes nothing
}

TEST_CASE("BatchNorm2d in eval mode passes gradcheck on its input") {
  nn::BatchNorm2d bn(3);
  bn.running_mean.copy_(Tensor::from_vector({3}, {0.5f, -1.0f, 0.0f}));
  bn.running_var.copy_(Tensor::from_vector({3}, {2.0f, 0.5f, 1.0f}));
  bn.weight.value().copy_(Tensor::from_vector({3}, {1.5f, -0.5f, 1.0f}));
  bn.eval();
  tensor::Generator gen(12);
  const auto result = autograd::gradcheck([&bn](const std::vector<Var>& in) { return bn(in[0]); },
                                          {tensor::uniform({2, 3, 2, 2}, -1, 1, gen)});
  CHECK_MESSAGE(result.passed, result.report);
}

TEST_CASE("Sequential runs BatchNorm-pool-ReLU fused in training: the modules' bits, statistics, and gradients to rounding") {
  // A block of the teacher's kind (conv-BatchNorm-pool-ReLU, all four fused), a BatchNorm-pool-ReLU
  // block without a convolution (three fused), and one the fusion must leave alone (3 x 3
  // pooling); the same weights in both networks.
  const auto network = [](bool fused) {
    tensor::Generator gen(14);
    auto m = std::make_shared<nn::Sequential>();
    m->emplace<nn::Conv2d>(1, 3, 3, 1, 1, gen);
    m->emplace<nn::BatchNorm2d>(3);
    m->emplace<nn::MaxPool2d>(2);
    m->emplace<nn::ReLU>();
    m->emplace<nn::BatchNorm2d>(3);
    m->emplace<nn::MaxPool2d>(2);
    m->emplace<nn::ReLU>();
    m->emplace<nn::Conv2d>(3, 4, 3, 1, 1, gen);
    m->emplace<nn::BatchNorm2d>(4);
    m->emplace<nn::MaxPool2d>(3);
    m->emplace<nn::ReLU>();
    m->emplace<nn::Flatten>();
    m->emplace<nn::Linear>(4, 2, gen);
    m->set_fusion(fused);
    return m;
  };
  const auto fused = network(true), modules = network(false);
  tensor::Generator gen(15);
  const Tensor x = tensor::uniform({6, 1, 12, 12}, -1, 1, gen);
  for (int step = 0; step < 2; ++step) {
    CAPTURE(step);
    const Var yf = (*fused)(Var(x)), ym = (*modules)(Var(x));
    CHECK(yf.value().to_vector() == ym.value().to_vector());
    autograd::sum(autograd::mul(yf, yf)).backward();
    autograd::sum(autograd::mul(ym, ym)).backward();
    const auto pf = fused->named_parameters(), pm = modules->named_parameters();
    // A convolution's bias before a BatchNorm has a true gradient of 0 (the normalisation takes
    // out any shift): what it gets is rounding, up to 2e-4 here, against weight gradients up to 70.
    for (size_t i = 0; i < pf.size(); ++i) {
      CAPTURE(pf[i].first);
      CHECK(tensor::allclose(pf[i].second.grad(), pm[i].second.grad(), 1e-4f, 1e-3f));
    }
    const auto bf = fused->named_buffers(), bm = modules->named_buffers();
    for (size_t i = 0; i < bf.size(); ++i) {
      CAPTURE(bf[i].first);
      CHECK(bf[i].second.to_vector() == bm[i].second.to_vector());
    }
  }
  // Evaluation mode runs the modules one by one either way.
  fused->eval();
  modules->eval();
  CHECK((*fused)(Var(x)).value().to_vector() == (*modules)(Var(x)).value().to_vector());
}

TEST_CASE("BatchNorm2d's running statistics are buffers, not parameters") {
  nn::Sequential m;
  tensor::Generator gen(13);
  m.emplace<nn::Conv2d>(1, 2, 3, 1, 1, gen);
  m.emplace<nn::BatchNorm2d>(2);
  std::vector<std::string> names;
  for (const auto& [name, p] : m.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias"});
  names.clear();
  for (const auto& [name, b] : m.named_buffers()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"1.running_mean", "1.running_var"});
}

TEST_CASE("layers reject bad sizes with the layer's name") {
  tensor::Generator gen(10);
  CHECK_THROWS_WITH_AS(nn::Conv2d(1, 4, 3, 0, 1, gen), "Conv2d: stride must be positive, got 0", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::Conv2d(1, 4, 3, 1, -1, gen), "Conv2d: padding must be >= 0, got -1", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::MaxPool2d(0), "MaxPool2d: kernel must be positive, got 0", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::Dropout(1.0f, gen), "Dropout: p must be in [0, 1), got 1", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::BatchNorm2d(0), "BatchNorm2d: channels must be positive, got 0", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::BatchNorm2d(4, 0.0f), "BatchNorm2d: momentum must be in (0, 1], got 0", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::BatchNorm2d(4, 0.1f, 0.0f), "BatchNorm2d: eps must be > 0, got 0", tensor::ValueError);
  nn::BatchNorm2d bn(4);
  CHECK_THROWS_WITH_AS(bn(Var(Tensor::zeros({2, 3, 5, 5}))), "BatchNorm2d: expects [N, 4, H, W], got [2, 3, 5, 5]",
                       tensor::ShapeError);
}
}
