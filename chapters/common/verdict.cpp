#include "chapters/common/verdict.h"

#include "chapters/common/report.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace book {

namespace {

// P(|T| <= t) for Student's t with `dof` degrees of freedom (see student_t_quantile).
double t_central_probability(double t, int64_t dof) {
  const double theta = std::atan(t / std::sqrt(static_cast<double>(dof)));
  const double s = std::sin(theta), c = std::cos(theta);
  if (dof % 2 == 1) {
    double sum = 0, term = c;  // a_k cos^(2k+1)
    for (int64_t k = 0; 2 * k + 3 <= dof; ++k) {
      if (k > 0) term *= c * c * (2.0 * static_cast<double>(k)) / (2.0 * static_cast<double>(k) + 1.0);
      sum += term;
    }
    return 2.0 / std::numbers::pi * (theta + (dof > 1 ? s * sum : 0.0));
  }
  double sum = 0, term = 1;  // b_k cos^(2k)
  for (int64_t k = 0; 2 * k + 2 <= dof; ++k) {
    if (k > 0) term *= c * c * (2.0 * static_cast<double>(k) - 1.0) / (2.0 * static_cast<double>(k));
    sum += term;
  }
  return s * sum;
}

}  // namespace

double student_t_quantile(double level, int64_t dof) {
  if (dof < 1) throw std::invalid_argument(fmt::format("student_t_quantile: {} degrees of freedom (need at least 1)", dof));
  if (!(level > 0 && level < 1)) throw std::invalid_argument(fmt::format("student_t_quantile: level {} is not in (0, 1)", level));
  double low = 0, high = 1;
  while (t_central_probability(high, dof) < level) high *= 2;
  for (int i = 0; i < 200 && high - low > 1e-12 * high; ++i) {
    const double mid = 0.5 * (low + high);
    (t_central_probability(mid, dof) < level ? low : high) = mid;
  }
  return 0.5 * (low + high);
}

std::string Interval::to_string(int digits) const { return fmt::format("[{:+.{}f}, {:+.{}f}]", low, digits, high, digits); }

std::string to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::holds:
      return "holds";
    case Outcome::opposite:
      return "opposite";
    case Outcome::no_effect:
      return "no effect";
    case Outcome::cannot_tell:
      return "cannot tell";
  }
  return "?";
}

Outcome outcome_of(const Interval& ci, double delta) {
  if (!(delta > 0)) throw std::invalid_argument(fmt::format("outcome_of: the smallest effect of interest must be > 0, got {}", delta));
  if (std::isnan(ci.low) || std::isnan(ci.high)) return Outcome::cannot_tell;
  if (ci.low > 0) return Outcome::holds;
  if (ci.high < 0) return Outcome::opposite;
  if (ci.low >= -delta && ci.high <= delta) return Outcome::no_effect;
  return Outcome::cannot_tell;
}

Outcome all_of(const std::vector<Outcome>& parts) {
  const auto any = [&](Outcome o) { return std::find(parts.begin(), parts.end(), o) != parts.end(); };
  if (std::all_of(parts.begin(), parts.end(), [](Outcome o) { return o == Outcome::holds; })) return Outcome::holds;
  if (any(Outcome::opposite)) return Outcome::opposite;
  if (any(Outcome::no_effect)) return Outcome::no_effect;
  return Outcome::cannot_tell;
}

nlohmann::json Verdict::to_json() const {
  return {{"claim", claim}, {"criterion", criterion}, {"outcome", to_string(outcome)}, {"holds", holds()},
          {"evidence", evidence}};
}

std::string Verdict::to_text(const std::string& name) const {
  return fmt::format("VERDICT ({}): {}\n  claim:     {}\n  criterion: {}\n  evidence:  {}\n", name,
                     to_string(outcome), claim, criterion, evidence);
}

void finish_with_verdicts(const Options& options, nlohmann::json results,
                          const std::vector<std::pair<std::string, Verdict>>& verdicts) {
  if (verdicts.size() == 1) {
    results["verdict"] = verdicts.front().second.to_json();
  } else {
    for (const auto& [name, v] : verdicts) results["verdicts"][name] = v.to_json();
  }
  write_results(options, results);
  fmt::print("results: {}\n", options.file("results.json"));
  print_verdicts(verdicts);
}

void print_verdicts(const std::vector<std::pair<std::string, Verdict>>& verdicts) {
  for (const auto& [name, v] : verdicts) fmt::print("\n{}", v.to_text(name));
}

}  // namespace book
