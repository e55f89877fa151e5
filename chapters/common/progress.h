/// \file
/// \brief The progress line of a training loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace book {

/// \ingroup chapters
/// \brief Epoch, loss, validation accuracy, images/s, elapsed time and ETA of a training loop.
///
/// On a terminal the current epoch's line is rewritten in place as batches go by; when
/// the output is piped (a log, CI) only the finished line of each epoch is printed.
class Progress {
 public:
  /// \param label what is being trained (e.g. "teacher") \param epochs how many in all
  /// \param batches_per_epoch batches in one epoch \param show print (false: only count)
  Progress(std::string label, int64_t epochs, int64_t batches_per_epoch, bool show = true);
  /// \brief One batch of `images` done with training loss `loss`.
  void batch(double loss, int64_t images);
  /// \brief The epoch is over: prints its line with the mean loss and the validation accuracy
  /// (negative: not measured after this epoch).
  void end_epoch(double validation_accuracy);
  /// \brief Seconds since the start.
  double elapsed() const;
  /// \brief Mean training loss of the epoch in progress (or just ended).
  double epoch_loss() const { return batches_ ? loss_sum_ / static_cast<double>(batches_) : 0.0; }

 private:
  std::string line(double validation_accuracy) const;

  std::string label_;
  int64_t epochs_, batches_per_epoch_;
  int64_t epoch_ = 0, batches_ = 0, images_ = 0;
  double loss_sum_ = 0.0;
  bool show_, terminal_;
  std::chrono::steady_clock::time_point start_, epoch_start_, last_draw_;
};

/// \ingroup chapters
/// \brief One line for many independent tasks run side by side (a lab's students): done of total,
/// tasks per minute, elapsed time and ETA. Thread-safe: any worker may report a task done.
///
/// On a terminal the line is rewritten in place; when the output is piped, a line is printed
/// at each tenth of the tasks and at the end, so a log shows progress without a line per task.
class TaskProgress {
 public:
  /// \param label what is run (e.g. "small students") \param total tasks in all
  /// \param show print (false: silent)
  TaskProgress(std::string label, int64_t total, bool show = true);
  /// \brief One more task is done.
  void done();

 private:
  std::string line() const;
  std::mutex mutex_;
  std::string label_;
  int64_t total_, done_ = 0;
  bool show_, terminal_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace book
