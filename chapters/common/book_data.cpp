#include "chapters/common/book_data.h"

#include "autograd/variable.h"

#include <fmt/core.h>

#include <cstdlib>
#include <numeric>

namespace book {

namespace {

// A new dataset holding only the given examples.
nn::Dataset subset(const nn::Dataset& d, const std::vector<int64_t>& indices) {
  nn::Dataset s;
  s.height = d.height;
  s.width = d.width;
  s.classes = d.classes;
  const int64_t pixels = d.height * d.width;
  for (int64_t i : indices) {
    s.images.insert(s.images.end(), d.images.begin() + i * pixels, d.images.begin() + (i + 1) * pixels);
    s.labels.push_back(d.labels[static_cast<size_t>(i)]);
  }
  return s;
}

std::vector<int64_t> all(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace

BookData load_book_data(const Options& options) {
  BookData b;
  try {
    b.data = nn::load_fashion_mnist(options.data);
  } catch (const nn::DataError& e) {
    fmt::print(stderr, "{}: {}\n", options.chapter, e.what());
    std::exit(1);
  }
  if (options.quick) {
    b.data.train = subset(b.data.train, nn::stratified_subset(b.data.train.labels, all(b.data.train.size()), 0.04, 1));
    b.data.test = subset(b.data.test, nn::stratified_subset(b.data.test.labels, all(b.data.test.size()), 0.1, 1));
  }
  b.split = nn::validation_split(b.data.train.labels, kValidationFraction, kSplitSeed);
  b.norm = nn::pixel_statistics(b.data.train, b.split.train);
  b.test_indices = all(b.data.test.size());
  return b;
}

std::vector<int64_t> transfer_set(const BookData& data, double fraction, uint64_t seed) {
  if (fraction == 1.0) return data.split.train;
  return nn::stratified_subset(data.data.train.labels, data.split.train, fraction, seed);
}

nn::Labels labels_of(const nn::Dataset& data, const std::vector<int64_t>& indices) {
  nn::Labels labels;
  labels.reserve(indices.size());
  for (int64_t i : indices) labels.push_back(data.labels.at(static_cast<size_t>(i)));
  return labels;
}

tensor::Tensor predict_logits(nn::Module& model, const nn::Dataset& data, const std::vector<int64_t>& indices,
                              const nn::Normalization& norm, int64_t batch_size) {
  const bool was_training = model.is_training();
  model.eval();
  autograd::NoGradGuard no_grad;
  std::vector<tensor::Tensor> parts;
  int64_t classes = 0;
  for (size_t start = 0; start < indices.size(); start += static_cast<size_t>(batch_size)) {
    const std::vector<int64_t> part(indices.begin() + static_cast<std::ptrdiff_t>(start),
                                    indices.begin() + static_cast<std::ptrdiff_t>(
                                                          std::min(indices.size(), start + static_cast<size_t>(batch_size))));
    parts.push_back(model(autograd::Var(nn::make_batch(data, part, norm).images)).value());
    classes = parts.back().shape()[1];
  }
  tensor::Tensor logits = tensor::Tensor::empty({static_cast<int64_t>(indices.size()), classes});
  int64_t row = 0;
  for (const tensor::Tensor& p : parts) {
    logits.narrow(0, row, p.shape()[0]).copy_(p);
    row += p.shape()[0];
  }
  model.train(was_training);
  return logits;
}

}  // namespace book
