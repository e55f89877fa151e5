#include "chapters/common/progress.h"

#include <fmt/core.h>

#include <cmath>
#include <cstdio>

#include <unistd.h>

namespace book {

namespace {

std::string duration(double seconds) {
  const auto s = static_cast<int64_t>(std::lround(seconds));
  return s >= 60 ? fmt::format("{}m{:02d}s", s / 60, s % 60) : fmt::format("{}s", s);
}

}  // namespace

Progress::Progress(std::string label, int64_t epochs, int64_t batches_per_epoch, bool show)
    : label_(std::move(label)),
      epochs_(epochs),
      batches_per_epoch_(batches_per_epoch),
      show_(show),
      terminal_(::isatty(::fileno(stdout)) == 1),
      start_(std::chrono::steady_clock::now()),
      epoch_start_(start_),
      last_draw_(start_) {}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::line(double validation_accuracy) const {
  const double epoch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
  const double rate = epoch_seconds > 0 ? static_cast<double>(images_) / epoch_seconds : 0.0;
  // ETA from the batches done so far, in this epoch and before.
  const double done = static_cast<double>(epoch_ * batches_per_epoch_ + batches_);
  const double all = static_cast<double>(epochs_ * batches_per_epoch_);
  const double eta = done > 0 ? elapsed() * (all - done) / done : 0.0;
  std::string s = fmt::format("{} epoch {:>2}/{}  loss {:.4f}", label_, epoch_ + 1, epochs_, epoch_loss());
  s += validation_accuracy >= 0 ? fmt::format("  val acc {:.4f}", validation_accuracy) : std::string("  val acc   ... ");
  s += fmt::format("  {:>6.0f} img/s  elapsed {}  eta {}", rate, duration(elapsed()), duration(eta));
  return s;
}

void Progress::batch(double loss, int64_t images) {
  loss_sum_ += loss;
  ++batches_;
  images_ += images;
  if (!show_ || !terminal_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  fmt::print("\r{}\x1b[K", line(-1.0));
  std::fflush(stdout);
}

void Progress::end_epoch(double validation_accuracy) {
  if (show_) {
    fmt::print("{}{}\n", terminal_ ? "\r" : "", line(validation_accuracy));
    std::fflush(stdout);
  }
  ++epoch_;
  batches_ = 0;
  images_ = 0;
  loss_sum_ = 0.0;
  epoch_start_ = std::chrono::steady_clock::now();
}

TaskProgress::TaskProgress(std::string label, int64_t total, bool show)
    : label_(std::move(label)),
      total_(total),
      show_(show && total > 0),
      terminal_(::isatty(::fileno(stdout)) == 1),
      start_(std::chrono::steady_clock::now()) {}

std::string TaskProgress::line() const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double per_minute = elapsed > 0 ? 60.0 * static_cast<double>(done_) / elapsed : 0.0;
  const double eta = done_ > 0 ? elapsed * static_cast<double>(total_ - done_) / static_cast<double>(done_) : 0.0;
  return fmt::format("{}: {}/{} done  {:.1f} per minute  elapsed {}  eta {}", label_, done_, total_, per_minute,
                     duration(elapsed), duration(eta));
}

void TaskProgress::done() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++done_;
  if (!show_) return;
  const bool last = done_ == total_;
  if (terminal_) {
    fmt::print("\r{}\x1b[K{}", line(), last ? "\n" : "");
  } else if (last || (done_ * 10 / total_) != ((done_ - 1) * 10 / total_)) {
    fmt::print("{}\n", line());
  }
  std::fflush(stdout);
}

}  // namespace book
