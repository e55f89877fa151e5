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

}  // namespace book
