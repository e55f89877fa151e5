/// \file
/// \brief What a claim chapter concludes from its own run: the verdict (claim, criterion,
/// holds or not, evidence), and the Student's t interval the hard-against-soft criteria use.
#pragma once

#include "chapters/common/options.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace book {

/// \ingroup chapters
/// \brief The two-sided Student's t quantile: the \f$ t \f$ with
/// \f$ P(|T_\nu| \le t) = \mathrm{level} \f$ for \f$ \nu \f$ degrees of freedom
/// (e.g. 2.776 for level 0.95 and \f$ \nu = 4 \f$).
///
/// For integer \f$ \nu \f$ the distribution function has a closed form in
/// \f$ \theta = \arctan(t / \sqrt\nu) \f$ (Abramowitz and Stegun 26.7.3-4):
/// \f[ P(|T_\nu| \le t) = \begin{cases}
///   \tfrac{2}{\pi}\bigl(\theta + \sin\theta \sum_{k=0}^{(\nu-3)/2} a_k \cos^{2k+1}\theta\bigr) & \nu \text{ odd}
///   \\ \sin\theta \sum_{k=0}^{(\nu-2)/2} b_k \cos^{2k}\theta & \nu \text{ even}
/// \end{cases} \f]
/// with \f$ a_0 = b_0 = 1 \f$, \f$ a_k = a_{k-1} \tfrac{2k}{2k+1} \f$, \f$ b_k = b_{k-1} \tfrac{2k-1}{2k} \f$;
/// the quantile is found by bisection on it.
/// \throws std::invalid_argument when dof < 1 or level is not in (0, 1).
double student_t_quantile(double level, int64_t dof);

/// \ingroup chapters
/// \brief A closed interval [low, high].
struct Interval {
  double low = 0;   ///< lower end
  double high = 0;  ///< upper end
  /// \brief True when 0 lies outside the interval.
  bool excludes_zero() const { return low > 0 || high < 0; }
  /// \brief "[+0.0031, +0.0062]" with `digits` decimals.
  std::string to_string(int digits = 4) const;
};

/// \ingroup chapters
/// \brief A claim of the book, settled by one run: what was claimed, the test it had to pass,
/// whether it passed, and the numbers that decided it.
struct Verdict {
  std::string claim;      ///< the claim in one sentence
  std::string criterion;  ///< what the run must show for the claim to hold
  bool holds = false;     ///< whether this run shows it
  std::string evidence;   ///< the deciding numbers, in one or two sentences
  /// \brief {claim, criterion, holds, evidence}, as results.json records it.
  nlohmann::json to_json() const;
  /// \brief The verdict for the terminal: "VERDICT (name): holds", then claim, criterion, evidence.
  std::string to_text(const std::string& name) const;
};

/// \ingroup chapters
/// \brief Prints each verdict with `Verdict::to_text`, after a blank line.
void print_verdicts(const std::vector<std::pair<std::string, Verdict>>& verdicts);

/// \ingroup chapters
/// \brief Adds a chapter's verdicts to `results` (one: `verdict`; several: `verdicts`, keyed by
/// name), writes `results.json` with `write_results`, prints where, and prints the verdicts:
/// the last thing a chapter prints.
/// \param options the run \param results the chapter's numbers
/// \param verdicts (name, verdict) pairs, in the order the chapter's text discusses them
void finish_with_verdicts(const Options& options, nlohmann::json results,
                          const std::vector<std::pair<std::string, Verdict>>& verdicts);

}  // namespace book
