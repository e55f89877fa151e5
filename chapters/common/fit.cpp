#include "chapters/common/fit.h"

#include "chapters/common/progress.h"
#include "nn/metrics.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace book {

std::vector<EpochRecord> fit(nn::Module& model, nn::Optimizer& opt, nn::DataLoader& loader, const BookData& data,
                             const FitConfig& config, const BatchLoss& loss, const BatchTransform& transform) {
  const nn::Labels validation_labels = labels_of(data.data.train, data.split.validation);
  const int64_t total_steps = config.epochs * loader.num_batches();
  Progress progress(config.label, config.epochs, loader.num_batches(), config.progress);
  std::vector<EpochRecord> curve;
  int64_t step = 0;
  double seconds = 0.0;  // of training since the last record
  for (int64_t epoch = 0; epoch < config.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    loader.start_epoch(epoch);
    model.train();
    for (int64_t b = 0; b < loader.num_batches(); ++b, ++step) {
      nn::Batch batch = loader.batch(b);
      if (transform) transform(batch, epoch);
      opt.set_lr(nn::cosine_lr(config.lr, step, total_steps));
      opt.zero_grad();
      const autograd::Var value = loss(model(autograd::Var(batch.images)), batch, epoch);
      const float l = value.value().item();
      if (!std::isfinite(l)) {
        model.eval();
        throw Diverged(fmt::format("{}: loss is {} at epoch {}, step {} (learning rate {}); stopped before updating the "
                                   "weights, try a smaller learning rate",
                                   config.label, l, epoch + 1, step + 1, opt.lr()),
                       epoch + 1, step + 1);
      }
      value.backward();
      opt.step();
      progress.batch(l, static_cast<int64_t>(batch.labels.size()));
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if ((epoch + 1) % std::max<int64_t>(config.validate_every, 1) != 0 && epoch + 1 != config.epochs) {
      progress.end_epoch(-1.0);
      continue;
    }
    const double val =
        nn::accuracy(predict_logits(model, data.data.train, data.split.validation, data.norm), validation_labels);
    curve.push_back({epoch + 1, progress.epoch_loss(), val, seconds});
    if (config.after_validation) config.after_validation(curve.back());
    seconds = 0.0;
    progress.end_epoch(val);
  }
  model.eval();
  return curve;
}

}  // namespace book
