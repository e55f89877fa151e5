// The real data set, as Debian's dataset-fashion-mnist installs it (./run installs the package).
#include "nn/data.h"

#include <doctest/doctest.h>

#include <filesystem>

TEST_SUITE("nn/data") {
TEST_CASE("the installed Fashion-MNIST has 60,000 + 10,000 balanced 28x28 images of 10 classes") {
  const std::string dir = nn::default_fashion_mnist_dir();
  REQUIRE_MESSAGE(std::filesystem::exists(dir), dir << " is missing: install the Debian package dataset-fashion-mnist");
  const nn::FashionMnist data = nn::load_fashion_mnist(dir);
  CHECK(data.train.size() == 60000);
  CHECK(data.test.size() == 10000);
  CHECK(data.train.height == 28);
  CHECK(data.train.width == 28);
  CHECK(data.train.images.size() == 60000u * 28u * 28u);
  // Fashion-MNIST is balanced by construction: 6,000 training and 1,000 test images per class.
  std::vector<int64_t> train_counts(10, 0), test_counts(10, 0);
  for (int64_t y : data.train.labels) ++train_counts[static_cast<size_t>(y)];
  for (int64_t y : data.test.labels) ++test_counts[static_cast<size_t>(y)];
  CHECK(train_counts == std::vector<int64_t>(10, 6000));
  CHECK(test_counts == std::vector<int64_t>(10, 1000));
}
}
