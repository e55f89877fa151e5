#include "chapters/common/student.h"

#include "chapters/common/progress.h"
#include "nn/losses.h"
#include "nn/metrics.h"
#include "nn/optim.h"

namespace book {

std::shared_ptr<nn::Sequential> make_mlp(const std::vector<int64_t>& widths, tensor::Generator& gen) {
  auto m = std::make_shared<nn::Sequential>();
  m->emplace<nn::Flatten>();
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    if (i > 0) m->emplace<nn::ReLU>();
    m->emplace<nn::Linear>(widths[i], widths[i + 1], gen);
  }
  return m;
}

void train_on_labels(nn::Module& model, const BookData& data, int64_t epochs, float lr, uint64_t seed) {
  nn::DataLoader loader(data.data.train, data.split.train, 128, true, seed, data.norm);
  nn::SGD opt(model.parameters(), lr, 0.9f);
  Progress progress("student", epochs, loader.num_batches());
  const nn::Labels validation_labels = labels_of(data.data.train, data.split.validation);
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    loader.start_epoch(epoch);
    model.train();
    for (int64_t b = 0; b < loader.num_batches(); ++b) {
      const nn::Batch batch = loader.batch(b);
      opt.zero_grad();
      const autograd::Var loss = nn::cross_entropy(model(autograd::Var(batch.images)), batch.labels);
      loss.backward();
      opt.step();
      progress.batch(loss.value().item(), static_cast<int64_t>(batch.labels.size()));
    }
    progress.end_epoch(
        nn::accuracy(predict_logits(model, data.data.train, data.split.validation, data.norm), validation_labels));
  }
  model.eval();
}

}  // namespace book
