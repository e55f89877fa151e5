#include "chapters/common/views.h"

#include "autograd/variable.h"
#include "tensor/ops.h"

#include <algorithm>
#include <limits>
#include <string>

namespace book {

namespace {

// The seed of view v of image i: distinct (seed, v, i) give distinct seeds for any realistic K and
// data set, and the generator's splitmix64 seeding makes nearby seeds independent streams.
uint64_t view_seed(uint64_t seed, int64_t view, int64_t image) {
  return seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(view) * 0xBF58476D1CE4E5B9ull +
         static_cast<uint64_t>(image) * 0x94D049BB133111EBull;
}

}  // namespace

FixedViews::FixedViews(nn::Augmentation::Config config, int64_t count, uint64_t seed)
    : config_(config), count_(count), seed_(seed) {
  if (count < 1) throw tensor::ValueError("FixedViews: count must be >= 1, got " + std::to_string(count));
  nn::Augmentation check(config, seed);  // rejects a negative shift here, not at the first batch
}

void FixedViews::apply(tensor::Tensor& images, const std::vector<int64_t>& indices, int64_t view) const {
  if (images.dim() != 4 || !images.is_contiguous() || images.shape()[0] != static_cast<int64_t>(indices.size())) {
    throw tensor::ShapeError("FixedViews::apply: expects a contiguous [" + std::to_string(indices.size()) +
                             ", C, H, W] batch, got " + tensor::to_string(images.shape()));
  }
  if (view < 0 || view >= count_) {
    throw tensor::IndexError("FixedViews::apply: view " + std::to_string(view) + " outside [0, " +
                             std::to_string(count_) + ")");
  }
  for (size_t k = 0; k < indices.size(); ++k) {
    tensor::Tensor image = images.narrow(0, static_cast<int64_t>(k), 1);
    nn::Augmentation augment(config_, view_seed(seed_, view, indices[k]));
    augment(image);
  }
}

std::string FixedViews::describe() const { return nn::Augmentation(config_, seed_).describe(); }

tensor::Tensor teacher_view_logits(nn::Module& teacher, const FixedViews& views, const BookData& d,
                                   const std::vector<int64_t>& indices) {
  const int64_t n = d.data.train.size(), classes = kClasses, batch = 256;
  tensor::Tensor out = tensor::Tensor::full({views.count(), n, classes}, std::numeric_limits<float>::quiet_NaN());
  // Evaluation mode while it runs, and the caller's mode back however it ends.
  struct Mode {
    nn::Module& module;
    bool training;
    ~Mode() {
      if (training) module.train(true);
    }
  } restore{teacher, teacher.is_training()};
  // A model already in evaluation mode is only read: several threads may share it.
  if (teacher.is_training()) teacher.eval();
  autograd::NoGradGuard no_grad;
  for (int64_t v = 0; v < views.count(); ++v) {
    for (size_t start = 0; start < indices.size(); start += batch) {
      const std::vector<int64_t> part(
          indices.begin() + static_cast<std::ptrdiff_t>(start),
          indices.begin() + static_cast<std::ptrdiff_t>(std::min(indices.size(), start + batch)));
      nn::Batch b = nn::make_batch(d.data.train, part, d.norm);
      views.apply(b.images, part, v);
      const tensor::Tensor logits = teacher(autograd::Var(b.images)).value().contiguous();
      const tensor::Shape expected{static_cast<int64_t>(part.size()), classes};
      if (logits.shape() != expected) {
        throw tensor::ShapeError("teacher_view_logits: the teacher gave " + tensor::to_string(logits.shape()) +
                                 " for a batch of " + std::to_string(part.size()) + " images, not " +
                                 tensor::to_string(expected));
      }
      for (size_t k = 0; k < part.size(); ++k) {
        std::copy_n(logits.data() + static_cast<int64_t>(k) * classes, classes,
                    out.data() + (v * n + part[k]) * classes);
      }
    }
  }
  return out;
}

}  // namespace book
