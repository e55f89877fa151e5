// Example 2: distillation from a teacher's logits saved in a checkpoint.
//
//   distill [--data DIR] [--limit N] [--logits FILE]
//
// 1. Unless FILE (default teacher_logits.ckpt) exists, trains a wide teacher MLP on the first
//    N training images (default all) and saves its logits on them to FILE, with
//    nn::save_tensors. Once saved, the teacher itself is never needed again.
// 2. Reads the logits back with nn::load_tensors and trains a small student on them with
//    nn::distillation_loss: the teacher's softmax at temperature T, mixed with the labels.
// --data is Fashion-MNIST's directory, as for example 1.
#include "autograd/variable.h"
#include "nn/checkpoint.h"
#include "nn/data.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "nn/metrics.h"
#include "nn/optim.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using autograd::Var;
using tensor::Tensor;

constexpr int64_t kTeacherHidden = 512;   // 784 -> 512 -> 10
constexpr int64_t kStudentHidden = 32;    // 784 -> 32 -> 10
constexpr int kEpochs = 5;                // for each of the two
constexpr float kTemperature = 4.0f;      // T: how far the teacher's softmax is softened
constexpr float kAlpha = 0.9f;            // weight of the soft term; 1 - alpha goes to the labels
constexpr uint64_t kSeed = 1;

// An MLP with one hidden layer: [N, 1, 28, 28] -> [N, 10] logits.
nn::Sequential mlp(int64_t hidden, tensor::Generator& gen) {
  nn::Sequential model;
  model.emplace<nn::Flatten>();
  model.emplace<nn::Linear>(28 * 28, hidden, gen);
  model.emplace<nn::ReLU>();
  model.emplace<nn::Linear>(hidden, 10, gen);
  return model;
}

// Trains `model` with Adam for kEpochs on the loader's batches, minimising loss(logits, batch).
void train(nn::Module& model, nn::DataLoader& loader, const std::function<Var(const Var&, const nn::Batch&)>& loss) {
  nn::Adam opt(model.parameters(), /*lr=*/1e-3f);
  for (int epoch = 0; epoch < kEpochs; ++epoch) {
    loader.start_epoch(epoch);
    for (int64_t i = 0; i < loader.num_batches(); ++i) {
      const nn::Batch batch = loader.batch(i);
      const Var value = loss(model(Var(batch.images)), batch);
      opt.zero_grad();
      value.backward();
      opt.step();
    }
  }
}

// The model's logits [N, 10] for images [N, 1, 28, 28], without recording a graph.
Tensor logits_of(nn::Module& model, const Tensor& images) {
  autograd::NoGradGuard no_grad;
  return model(Var(images)).value();
}

int usage_error(const std::string& problem) {
  std::fprintf(stderr, "distill: %s (usage: distill [--data DIR] [--limit N] [--logits FILE])\n", problem.c_str());
  return 2;
}

int main(int argc, char** argv) try {
  // Adam's second moment of a vanishing gradient drifts into subnormal floats, each about a
  // hundred times slower to compute with; flushed to zero, they cost nothing (tensor/parallel.h).
  tensor::set_flush_denormal(true);
  std::string dir = nn::default_fashion_mnist_dir(), logits_path = "teacher_logits.ckpt";
  int64_t limit = 60000;
  for (int i = 1; i < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag != "--data" && flag != "--limit" && flag != "--logits")
      return usage_error("unknown argument '" + std::string(flag) + "'");
    if (i + 1 == argc) return usage_error(std::string(flag) + " needs a value");
    const std::string_view value = argv[i + 1];
    if (flag == "--data") {
      dir = value;
    } else if (flag == "--logits") {
      logits_path = value;
    } else if (auto [end, error] = std::from_chars(value.begin(), value.end(), limit);
               error != std::errc() || end != value.end() || limit < 1) {
      return usage_error("--limit needs a positive whole number, not '" + std::string(value) + "'");
    }
  }

  // Data: the first `limit` training images; row n of the teacher's logits is image n.
  const nn::FashionMnist data = nn::load_fashion_mnist(dir);
  std::vector<int64_t> train_set(std::min(limit, data.train.size()));
  std::iota(train_set.begin(), train_set.end(), 0);
  const int64_t n = static_cast<int64_t>(train_set.size());
  const nn::Normalization norm = nn::pixel_statistics(data.train, train_set);
  nn::DataLoader loader(data.train, train_set, /*batch_size=*/64, /*shuffle=*/true, kSeed, norm);
  std::vector<int64_t> test(data.test.size());
  std::iota(test.begin(), test.end(), 0);
  const nn::Batch test_set = nn::make_batch(data.test, test, norm);

  // --- 1. the teacher's logits, computed once ------------------------------------------
  if (!std::filesystem::exists(logits_path)) {
    tensor::Generator gen(kSeed);
    nn::Sequential teacher = mlp(kTeacherHidden, gen);
    train(teacher, loader, [](const Var& logits, const nn::Batch& b) { return nn::cross_entropy(logits, b.labels); });
    Tensor logits = Tensor::empty({n, 10});
    nn::DataLoader in_order(data.train, train_set, /*batch_size=*/1000, /*shuffle=*/false, kSeed, norm);
    for (int64_t i = 0; i < in_order.num_batches(); ++i) {
      const nn::Batch b = in_order.batch(i);
      logits.narrow(0, b.indices.front(), b.images.size(0)).copy_(logits_of(teacher, b.images));
    }
    nn::save_tensors(logits_path, {{"logits", logits}},
                     "teacher 784-" + std::to_string(kTeacherHidden) + "-10, first " + std::to_string(n) + " images");
    std::printf("teacher: test accuracy %.2f%%; its logits on %lld training images saved to %s\n",
                100 * nn::accuracy(logits_of(teacher, test_set.images), test_set.labels), static_cast<long long>(n),
                logits_path.c_str());
  }

  // --- 2. the student, from the saved logits -------------------------------------------
  const nn::Checkpoint saved = nn::load_tensors(logits_path);  // checks the file's CRC-32
  if (saved.tensors.size() != 1 || saved.tensors[0].first != "logits" ||
      saved.tensors[0].second.shape() != tensor::Shape{n, 10}) {
    throw std::runtime_error(logits_path + ": not the teacher logits [" + std::to_string(n) +
                             ", 10] of these training images (delete it to train the teacher again)");
  }
  const Tensor& teacher_logits = saved.tensors[0].second;  // [n, 10]; no gradient flows to it
  tensor::Generator gen(kSeed + 1);  // its own: the same student whether the teacher ran or not
  nn::Sequential student = mlp(kStudentHidden, gen);
  train(student, loader, [&](const Var& logits, const nn::Batch& b) {
    return nn::distillation_loss(logits, tensor::index_select(teacher_logits, 0, b.indices), b.labels, kTemperature,
                                 kAlpha);
  });
  std::printf("student 784-%lld-10 (T = %g, alpha = %g), from %s (%s): test accuracy %.2f%%\n",
              static_cast<long long>(kStudentHidden), kTemperature, kAlpha, logits_path.c_str(), saved.metadata.c_str(),
              100 * nn::accuracy(logits_of(student, test_set.images), test_set.labels));
  return 0;
} catch (const std::exception& e) {  // a missing data file, a corrupt checkpoint: one line, exit code 1
  std::fprintf(stderr, "distill: %s\n", e.what());
  return 1;
}
