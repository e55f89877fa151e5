/// \file
/// \brief Chapter 7's statistic: Spearman's rank correlation between two measures of the same items.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace book {

/// \ingroup chapters
/// \brief The rank of each value among `values`, from 1 for the smallest; tied values share the
/// mean of the ranks they span (two values tied for ranks 3 and 4 both get 3.5).
inline std::vector<double> ranks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> out(values.size());
  for (size_t first = 0; first < order.size();) {
    size_t last = first;
    while (last + 1 < order.size() && values[order[last + 1]] == values[order[first]]) ++last;
    const double rank = 0.5 * static_cast<double>(first + last) + 1.0;
    for (size_t k = first; k <= last; ++k) out[order[k]] = rank;
    first = last + 1;
  }
  return out;
}

/// \ingroup chapters
/// \brief Spearman's rank correlation: the Pearson correlation of the ranks,
/// \f[ \rho = \frac{\sum_i (r_i - \bar r)(s_i - \bar s)}{\sqrt{\sum_i (r_i - \bar r)^2 \sum_i (s_i - \bar s)^2}}, \f]
/// r and s the ranks of x and y (`ranks`). +1 when y rises with x at every step, -1 when it
/// always falls; NaN when either has no spread (all values tied) or holds a NaN.
/// \throws std::invalid_argument when the sizes differ or there are fewer than two items.
inline double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) {
    throw std::invalid_argument("spearman: needs two equally long lists of at least 2 values, got " +
                                std::to_string(x.size()) + " and " + std::to_string(y.size()));
  }
  const auto has_nan = [](const std::vector<double>& v) {
    return std::any_of(v.begin(), v.end(), [](double a) { return std::isnan(a); });
  };
  if (has_nan(x) || has_nan(y)) return std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> r = ranks(x), s = ranks(y);
  const double mean = 0.5 * static_cast<double>(x.size() + 1);  // the mean of 1 .. n, ties or not
  double rs = 0, rr = 0, ss = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    rs += (r[i] - mean) * (s[i] - mean);
    rr += (r[i] - mean) * (r[i] - mean);
    ss += (s[i] - mean) * (s[i] - mean);
  }
  if (rr == 0 || ss == 0) return std::numeric_limits<double>::quiet_NaN();
  return rs / std::sqrt(rr * ss);
}

}  // namespace book
