#include "chapters/common/verdict.h"

#include "chapters/common/report.h"

#include <fmt/core.h>

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

nlohmann::json Verdict::to_json() const {
  return {{"claim", claim}, {"criterion", criterion}, {"holds", holds}, {"evidence", evidence}};
}

std::string Verdict::to_text(const std::string& name) const {
  return fmt::format("VERDICT ({}): {}\n  claim:     {}\n  criterion: {}\n  evidence:  {}\n", name,
                     holds ? "holds" : "does not hold", claim, criterion, evidence);
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
