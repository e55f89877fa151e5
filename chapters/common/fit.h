/// \file
/// \brief The training loop every chapter shares: batches, loss, step, schedule, validation.
#pragma once

#include "chapters/common/book_data.h"
#include "nn/optim.h"

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace book {

/// \ingroup chapters
/// \brief One epoch of a learning curve.
struct EpochRecord {
  int64_t epoch = 0;               ///< 1-based
  double train_loss = 0;           ///< mean training loss over this epoch's batches
  double validation_accuracy = 0;  ///< on the validation split, after the epoch
  double seconds = 0;              ///< training time since the previous record (one epoch when every epoch is validated)
};

/// \ingroup chapters
/// \brief How long and how fast to train, and what to print.
struct FitConfig {
  std::string label;      ///< names the run in progress lines and errors, e.g. "teacher"
  int64_t epochs = 1;     ///< passes over the loader's examples
  float lr = 0.01f;       ///< peak learning rate, cosine-annealed to 0 over all steps
  bool progress = true;   ///< print a progress line per epoch (false: silent)
  int64_t validate_every = 1;  ///< measure validation accuracy every this many epochs, and after the last
  /// \brief Called with each validated epoch's record, the model as that epoch left it (e.g. to
  /// keep the weights of the best validation epoch); may be empty.
  std::function<void(const EpochRecord&)> after_validation = nullptr;
};

/// \ingroup chapters
/// \brief Training stopped because a batch's loss was not finite (before the step that would
/// have spread it to the weights): where it happened, for a chapter to record.
class Diverged : public std::runtime_error {
 public:
  /// \param message the whole one-line message \param epoch 1-based \param step 1-based, over all epochs
  Diverged(const std::string& message, int64_t epoch, int64_t step) : std::runtime_error(message), epoch(epoch), step(step) {}
  int64_t epoch;  ///< the epoch it happened in, 1-based
  int64_t step;   ///< the step, 1-based, counted over all epochs
};

/// \ingroup chapters
/// \brief A batch's loss from the model's logits for it; `epoch` counts from 0 (what a student
/// that sees view e mod K of its images reads its teacher's logits by).
using BatchLoss = std::function<autograd::Var(const autograd::Var& logits, const nn::Batch& batch, int64_t epoch)>;

/// \ingroup chapters
/// \brief Changes a batch before the model sees it (augmentation); `epoch` counts from 0.
using BatchTransform = std::function<void(nn::Batch& batch, int64_t epoch)>;

/// \ingroup chapters
/// \brief Trains `model` with `opt` on the loader's batches for `config.epochs` epochs, the
/// learning rate following \f$ \eta_t = \tfrac12 \eta_0 (1 + \cos(\pi t / T)) \f$ over the T
/// steps, and measures validation accuracy on `data.split.validation` after every
/// `config.validate_every`-th epoch and the last.
///
/// A loss that is not finite stops training before the step that would spread it to the
/// weights. The model is left in evaluation mode.
/// \param model the network \param opt its optimizer \param loader the training batches
/// \param data the book's data (for validation) \param config epochs, rate, label
/// \param loss the batch loss \param transform applied to each batch first (may be empty)
/// \returns one record per validated epoch
/// \throws Diverged `student: loss is nan at epoch 3, step 120 (learning rate 0.05); ...`.
std::vector<EpochRecord> fit(nn::Module& model, nn::Optimizer& opt, nn::DataLoader& loader, const BookData& data,
                             const FitConfig& config, const BatchLoss& loss, const BatchTransform& transform = {});

}  // namespace book
