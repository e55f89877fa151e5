#include "chapters/common/experiment.h"

#include "nn/metrics.h"
#include "tensor/ops.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace book {

Classroom open_classroom(const Options& options) {
  BookData data = load_book_data(options);
  TeacherCache teacher = load_or_train_teacher(options, data);
  const double accuracy = nn::accuracy(teacher.test_logits, data.data.test.labels);
  fmt::print("{} training images ({} to learn from, {} for validation), {} test images; teacher test accuracy {:.4f}\n",
             data.data.train.size(), data.split.train.size(), data.split.validation.size(), data.data.test.size(),
             accuracy);
  return {std::move(data), std::move(teacher), accuracy};
}

nlohmann::json StudentScores::to_json() const {
  return {{"validation_accuracy", validation_accuracy},
          {"test_accuracy", test_accuracy},
          {"test_errors", test_errors},
          {"test_nll", test_nll},
          {"test_ece", test_ece},
          {"agreement", agreement},
          {"kl_to_teacher", kl_to_teacher},
          {"validation_agreement", validation_agreement},
          {"validation_kl", validation_kl},
          {"errors_copied", errors_copied}};
}

StudentScores score_student(nn::Module& model, const Classroom& classroom, tensor::Tensor* test_logits,
                            tensor::Tensor* validation_logits) {
  const BookData& d = classroom.data;
  const tensor::Tensor validation = predict_logits(model, d.data.train, d.split.validation, d.norm);
  const tensor::Tensor test = predict_logits(model, d.data.test, d.test_indices, d.norm);
  StudentScores s;
  s.validation_accuracy = nn::accuracy(validation, labels_of(d.data.train, d.split.validation));
  s.test_accuracy = nn::accuracy(test, d.data.test.labels);
  s.test_errors = nn::error_count(test, d.data.test.labels);
  s.test_nll = nn::mean_nll(test, d.data.test.labels);
  s.test_ece = nn::expected_calibration_error(test, d.data.test.labels);
  s.agreement = nn::agreement(test, classroom.teacher.test_logits);
  s.kl_to_teacher = nn::mean_kl(classroom.teacher.test_logits, test);
  const tensor::Tensor teacher_validation = tensor::index_select(classroom.teacher.train_logits, 0, d.split.validation);
  s.validation_agreement = nn::agreement(validation, teacher_validation);
  s.validation_kl = nn::mean_kl(teacher_validation, validation);
  s.errors_copied = nn::errors_copied(test, classroom.teacher.test_logits, d.data.test.labels);
  if (test_logits != nullptr) *test_logits = test;
  if (validation_logits != nullptr) *validation_logits = validation;
  return s;
}

MeanStd mean_std(const std::vector<double>& values) {
  if (values.empty()) throw std::invalid_argument("mean_std: no values to average");
  double sum = 0;
  for (double v : values) sum += v;
  const double mean = sum / static_cast<double>(values.size());
  if (values.size() == 1) return {mean, 0.0};
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  return {mean, std::sqrt(squares / static_cast<double>(values.size() - 1))};
}

std::string MeanStd::to_string(int digits) const { return fmt::format("{:.{}f} +- {:.{}f}", mean, digits, std, digits); }

bool PairedDifference::beyond_two_std() const {
  return per_seed.size() >= 2 && std::abs(difference.mean) > 2.0 * difference.std;
}

double PairedDifference::effect_size() const {
  if (per_seed.size() < 2) return 0.0;
  if (difference.std == 0) return difference.mean == 0 ? 0.0 : std::copysign(INFINITY, difference.mean);
  return difference.mean / difference.std;
}

Interval PairedDifference::confidence_interval() const {
  const int64_t n = static_cast<int64_t>(per_seed.size());
  if (n < 2) throw std::invalid_argument(fmt::format("confidence_interval: {} seed, need at least 2", n));
  const double half = student_t_quantile(0.95, n - 1) * difference.std / std::sqrt(static_cast<double>(n));
  return {difference.mean - half, difference.mean + half};
}

bool PairedDifference::soft_wins() const {
  return per_seed.size() >= 2 && difference.mean > 0 && confidence_interval().excludes_zero();
}

Outcome PairedDifference::outcome(double delta) const {
  if (per_seed.size() < 2 || diverged() > 0) return Outcome::cannot_tell;
  return outcome_of(confidence_interval(), delta);
}

int64_t PairedDifference::seeds_to_decide(double delta) const {
  if (per_seed.size() < 2 || !(difference.std > 0) || !(delta > 0)) return 0;
  // The interval's width at n seeds falls with n: bracket the smallest n that is narrow enough
  // by doubling, then bisect.
  const auto narrow_enough = [&](int64_t n) {
    return 2.0 * student_t_quantile(0.95, n - 1) * difference.std / std::sqrt(static_cast<double>(n)) <= delta;
  };
  int64_t low = 1, high = 2;  // narrow_enough(low) is false (one seed has no interval)
  while (!narrow_enough(high)) {
    if (high >= kMaxSeedsToDecide) return -1;
    low = high;
    high = std::min(2 * high, kMaxSeedsToDecide);
  }
  while (high - low > 1) {
    const int64_t mid = low + (high - low) / 2;
    (narrow_enough(mid) ? high : low) = mid;
  }
  return high;
}

int64_t PairedDifference::diverged() const {
  return std::count_if(per_seed.begin(), per_seed.end(), [](double d) { return std::isnan(d); });
}

std::string PairedDifference::describe(int digits, const std::string& what) const {
  if (per_seed.size() < 2) return fmt::format("{} = {:+.{}f} on one seed: no spread to compare with", what, difference.mean, digits);
  return fmt::format("{} = {} over {} seeds, 95% CI {}, effect size {:.1f} ({})", what, to_string(digits),
                     per_seed.size(), confidence_interval().to_string(digits), effect_size(),
                     beyond_two_std() ? "beyond 2 std" : "within 2 std");
}

std::string PairedDifference::to_string(int digits) const {
  return fmt::format("{:+.{}f} +- {:.{}f}", difference.mean, digits, difference.std, digits);
}

nlohmann::json PairedDifference::to_json() const {
  nlohmann::json out = {{"per_seed", per_seed}, {"mean", difference.mean}, {"std", difference.std},
                        {"beyond_two_std", beyond_two_std()}};
  if (per_seed.size() >= 2) {
    const Interval ci = confidence_interval();
    out["ci95"] = {ci.low, ci.high};
    const double e = effect_size();
    out["effect_size"] = std::isfinite(e) ? nlohmann::json(e) : nlohmann::json(nullptr);
  }
  return out;
}

std::string paired_criterion(const std::string& what, double delta, const std::string& why) {
  return fmt::format("the 95% Student's t confidence interval of the paired {}: above 0, holds; below 0, opposite; "
                     "inside +-{} ({}), no effect; otherwise cannot tell",
                     what, delta, why);
}

std::string paired_evidence(const PairedDifference& difference, double delta, const std::string& what) {
  std::string per_seed;
  for (double d : difference.per_seed) per_seed += fmt::format("{}{:+.4f}", per_seed.empty() ? "" : ", ", d);
  std::string out = fmt::format("{}; per seed: {}", difference.describe(4, what), per_seed);
  if (const int64_t n = difference.diverged(); n > 0) {
    out += fmt::format("; {} of {} pairs have a diverged student", n, difference.per_seed.size());
  } else if (difference.outcome(delta) == Outcome::cannot_tell) {
    const int64_t n = difference.seeds_to_decide(delta);
    if (n > 0) out += fmt::format("; about {} seeds would narrow the interval to {} at this spread", n, delta);
    if (n < 0) out += fmt::format("; not even {} seeds would narrow the interval to {} at this spread", kMaxSeedsToDecide, delta);
  }
  return out;
}

Verdict soft_beats_hard(const std::string& claim, const std::string& what, const PairedDifference& difference) {
  constexpr double delta = kSmallestAccuracyEffect;
  return {claim,
          paired_criterion("soft - hard difference in " + what, delta,
                           "0.2 points of accuracy, below the test set's resolution for one student"),
          difference.outcome(delta), paired_evidence(difference, delta)};
}

PairedDifference paired_difference(const std::vector<double>& hard, const std::vector<double>& soft) {
  if (hard.size() != soft.size() || hard.empty()) {
    throw std::invalid_argument(fmt::format("paired_difference: {} hard and {} soft values", hard.size(), soft.size()));
  }
  PairedDifference p;
  for (size_t i = 0; i < hard.size(); ++i) p.per_seed.push_back(soft[i] - hard[i]);
  p.difference = mean_std(p.per_seed);
  return p;
}

nlohmann::json to_json(const std::vector<Candidate>& candidates) {
  nlohmann::json out = nlohmann::json::array();
  for (const Candidate& c : candidates) {
    out.push_back({{"T", c.targets.temperature},
                   {"alpha", c.targets.alpha},
                   {"validation_accuracy", c.validation_accuracy},
                   {"validation_accuracy_per_tuning_seed", c.per_seed}});
  }
  return out;
}

std::vector<Targets> soft_grid(const std::vector<float>& temperatures, const std::vector<float>& alphas) {
  std::vector<Targets> grid;
  for (float alpha : alphas) {
    for (float t : temperatures) grid.push_back(Targets::soft(t, alpha));
  }
  return grid;
}

std::vector<uint64_t> seed_range(uint64_t first, int n) {
  std::vector<uint64_t> seeds;
  for (int k = 0; k < n; ++k) seeds.push_back(first + static_cast<uint64_t>(k));
  return seeds;
}

const Candidate& best_on_validation(const std::vector<Candidate>& candidates) {
  if (candidates.empty()) throw std::invalid_argument("best_on_validation: no candidates");
  const Candidate* best = &candidates.front();
  for (const Candidate& c : candidates) {
    if (beats(c.validation_accuracy, best->validation_accuracy)) best = &c;
  }
  return *best;
}

}  // namespace book
