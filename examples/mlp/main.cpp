// Example 1: a small MLP trained on Fashion-MNIST with the public API of the kd package.
//
//   mlp [--data DIR] [--limit N]
//
// --data is the directory of Fashion-MNIST's four gzipped IDX files (by default
// $KD_FASHION_MNIST_DIR, else /usr/share/datasets/fashion-mnist, from Debian's
// dataset-fashion-mnist); --limit N trains on the first N training images only, a run of
// seconds. Prints the training loss and the test accuracy after each epoch.
#include "autograd/variable.h"
#include "nn/data.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "nn/metrics.h"
#include "nn/optim.h"
#include "tensor/parallel.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <exception>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

using autograd::Var;

constexpr int kEpochs = 5;
constexpr int64_t kBatchSize = 64;
constexpr uint64_t kSeed = 1;  // the weights' initialisation and the batches' order

// A bad command line: one line on stderr and exit code 2.
int usage_error(const std::string& problem) {
  std::fprintf(stderr, "mlp: %s (usage: mlp [--data DIR] [--limit N])\n", problem.c_str());
  return 2;
}

int main(int argc, char** argv) try {
  // Adam's second moment of a vanishing gradient drifts into subnormal floats, each about a
  // hundred times slower to compute with; flushed to zero, they cost nothing (tensor/parallel.h).
  tensor::set_flush_denormal(true);
  std::string dir = nn::default_fashion_mnist_dir();
  int64_t limit = 60000;
  for (int i = 1; i < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag != "--data" && flag != "--limit") return usage_error("unknown argument '" + std::string(flag) + "'");
    if (i + 1 == argc) return usage_error(std::string(flag) + " needs a value");
    const std::string_view value = argv[i + 1];
    if (flag == "--data") {
      dir = value;
    } else if (auto [end, error] = std::from_chars(value.begin(), value.end(), limit);
               error != std::errc() || end != value.end() || limit < 1) {
      return usage_error("--limit needs a positive whole number, not '" + std::string(value) + "'");
    }
  }

  // Data: the first `limit` training images, and the whole test set, both normalised with
  // the mean and standard deviation of the training pixels.
  const nn::FashionMnist data = nn::load_fashion_mnist(dir);
  std::vector<int64_t> train(std::min(limit, data.train.size()));
  std::iota(train.begin(), train.end(), 0);
  const nn::Normalization norm = nn::pixel_statistics(data.train, train);
  nn::DataLoader loader(data.train, train, kBatchSize, /*shuffle=*/true, kSeed, norm);
  std::vector<int64_t> test(data.test.size());
  std::iota(test.begin(), test.end(), 0);
  const nn::Batch test_set = nn::make_batch(data.test, test, norm);  // images [10000, 1, 28, 28]

  // Model: [N, 1, 28, 28] -> [N, 784] -> [N, 128] -> ReLU -> [N, 10] logits.
  tensor::Generator gen(kSeed);
  nn::Sequential model;
  model.emplace<nn::Flatten>();
  model.emplace<nn::Linear>(28 * 28, 128, gen);
  model.emplace<nn::ReLU>();
  model.emplace<nn::Linear>(128, 10, gen);
  nn::Adam opt(model.parameters(), /*lr=*/1e-3f);

  for (int epoch = 0; epoch < kEpochs; ++epoch) {
    // One pass over the training images in a new order: forward, loss, backward, step.
    loader.start_epoch(epoch);
    double loss_sum = 0;
    for (int64_t i = 0; i < loader.num_batches(); ++i) {
      const nn::Batch batch = loader.batch(i);
      const Var loss = nn::cross_entropy(model(Var(batch.images)), batch.labels);
      opt.zero_grad();
      loss.backward();
      opt.step();
      loss_sum += loss.value().item();
    }
    // The test set, without recording a graph.
    autograd::NoGradGuard no_grad;
    const double accuracy = nn::accuracy(model(Var(test_set.images)).value(), test_set.labels);
    std::printf("epoch %d: %zu training images, mean loss %.4f, test accuracy %.2f%%\n", epoch + 1, train.size(),
                loss_sum / static_cast<double>(loader.num_batches()), 100 * accuracy);
  }
  return 0;
} catch (const std::exception& e) {  // a missing or corrupt data file, say: one line, exit code 1
  std::fprintf(stderr, "mlp: %s\n", e.what());
  return 1;
}
