/// \file
/// \brief What a claim chapter concludes from its own run: the verdict (claim, criterion, one of
/// four outcomes, evidence), and the Student's t interval the hard-against-soft criteria use.
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
/// \brief What one run says of a claim. A claim measured as an effect with a 95% interval and a
/// smallest effect of interest \f$ \delta \f$ (stated with its criterion, before the run) gets one
/// of four outcomes; "does not hold" is never said, because it would mix three of them:
/// an effect the other way, an effect shown too small to matter, and an experiment that cannot
/// tell which.
enum class Outcome {
  holds,        ///< the interval lies on the claimed side of 0
  opposite,     ///< it lies on the other side (for a criterion that is not an interval: it is not met)
  no_effect,    ///< it lies inside \f$ [-\delta, +\delta] \f$: whatever the effect is, it is smaller than \f$ \delta \f$
  cannot_tell,  ///< none of these: more seeds would be needed (or a student diverged)
};

/// \ingroup chapters
/// \brief "holds", "opposite", "no effect" or "cannot tell": as results.json and the pages write it.
std::string to_string(Outcome outcome);

/// \ingroup chapters
/// \brief The outcome of the claim "the effect is positive" from its 95% interval:
/// \f[ \text{holds if } \ell > 0,\quad \text{opposite if } h < 0,\quad
///     \text{no effect if } -\delta \le \ell \text{ and } h \le \delta,\quad \text{else cannot tell} \f]
/// for the interval \f$ [\ell, h] \f$. An interval with a NaN end (a diverged student) cannot tell.
/// \param ci the 95% interval of the effect \param delta the smallest effect of interest, > 0
/// \throws std::invalid_argument when delta is not positive.
Outcome outcome_of(const Interval& ci, double delta);

/// \ingroup chapters
/// \brief The outcome of a claim that needs every one of its parts: holds when all hold;
/// otherwise opposite when any part is, else no effect when any part is, else cannot tell.
Outcome all_of(const std::vector<Outcome>& parts);

/// \ingroup chapters
/// \brief The outcome of a criterion that is not an interval (a limit, a ranking, a threshold):
/// holds when met, opposite when not.
inline Outcome met(bool criterion) { return criterion ? Outcome::holds : Outcome::opposite; }

/// \ingroup chapters
/// \brief The outcome of a precondition of a question (that it can be asked fairly, e.g. twin
/// teachers equally accurate): holds when met, cannot tell when not. Never the opposite: a
/// question not asked has no answer.
inline Outcome precondition(bool met) { return met ? Outcome::holds : Outcome::cannot_tell; }

/// \ingroup chapters
/// \brief `outcome`, or cannot tell when `diverged` > 0 of the students it rests on diverged
/// (their NaN would make a threshold or a comparison look unmet).
inline Outcome unless_diverged(Outcome outcome, int64_t diverged) {
  return diverged > 0 ? Outcome::cannot_tell : outcome;
}

/// \ingroup chapters
/// \brief A claim of the book, settled by one run: what was claimed, the test it had to pass
/// (with its smallest effect of interest), the outcome, and the numbers that decided it.
struct Verdict {
  std::string claim;      ///< the claim in one sentence
  std::string criterion;  ///< what the run must show, and the smallest effect of interest with why that size
  Outcome outcome = Outcome::cannot_tell;  ///< what this run shows
  std::string evidence;   ///< the deciding numbers, in one or two sentences
  /// \brief True when the outcome is `Outcome::holds`.
  bool holds() const { return outcome == Outcome::holds; }
  /// \brief {claim, criterion, outcome, holds, evidence}, as results.json records it.
  nlohmann::json to_json() const;
  /// \brief The verdict for the terminal: "VERDICT (name): no effect", then claim, criterion, evidence.
  std::string to_text(const std::string& name) const;
};

/// \ingroup chapters
/// \brief What a section of a chapter answers: its verdict, and its numbers for results.json.
/// A section that answers more derives from it (e.g. chapter 8's sweep adds the best T per width).
struct Finding {
  Verdict verdict;      ///< the claim the section settles
  nlohmann::json json;  ///< the section's numbers, under its key of results.json
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
