// Chapter 7: the class never seen, for every class. Each class in turn is removed from the
// transfer set; can a student still recognise it, from the probability the teacher lends it on
// other images, once a shift of that class's output bias gives it its share of predictions? And
// does the student learn more of the classes the teacher lends more?
//
// 1. Data and the cached teacher.
// 2. What the teacher lends each class: its mean probability on the other classes' training images.
// 3. T and alpha, chosen once on the validation split, on the class the teacher lends the most
//    (two tuning seeds of their own), by each student's validation accuracy after its bias fix.
// 4. Every class omitted in turn: hard and soft students that never see it, before and after the
//    bias fix, against the seeing twin (the same soft student trained on every class).
// 5. Where the most-lent class's probability comes from: the true classes that lend it.
// 6. Report and verdicts.
#include "chapters/ch07_unseen_class/rank_correlation.h"
#include "chapters/common/experiment.h"
#include "chapters/common/options.h"
#include "chapters/common/plot.h"
#include "chapters/common/report.h"
#include "chapters/common/verdict.h"
#include "chapters/lab/lab.h"
#include "nn/metrics.h"
#include "tensor/ops.h"
#include "tensor/random.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>

namespace {

using tensor::Tensor;

// --- configuration -------------------------------------------------------------------
struct Plan {
  int64_t epochs;
  std::vector<float> temperatures;  // the validation grid
  std::vector<float> alphas;
  int tuning_seeds;                 // the grid's students, on the most-lent class
  int seeds;                        // compared on, per omitted class ...
  int headline_seeds;               // ... and for the class the teacher lends the most
  int resamples;                    // bootstrap resamples of the seeds, for the correlation's interval
};
const std::vector<int64_t> kWidths = {784, 100, 10};  // chapter 5's small student
// T = 8 and 20 lost at every alpha in earlier runs of this chapter's grid.
const Plan kPlan = {.epochs = 20, .temperatures = {1, 2, 4}, .alphas = {0.5f, 0.9f, 1.0f}, .tuning_seeds = 2,
                    .seeds = 3, .headline_seeds = 5, .resamples = 2000};
const Plan kQuickPlan = {.epochs = 2, .temperatures = {2}, .alphas = {0.9f}, .tuning_seeds = 1,
                         .seeds = 2, .headline_seeds = 2, .resamples = 200};
const std::vector<float> kMassTemperatures = {1, 4, 20};  // where the most-lent class's mass comes from
constexpr int kBiasSteps = 600;                           // bias shifts tried: 0, 0.05, ..., 30
constexpr double kBiasStep = 0.05;
// The correlation's smallest effect of interest: a rank correlation under 0.3 in size orders
// fewer than two in three pairs of classes the same way on both measures (Kendall's reading).
constexpr double kSmallestCorrelation = 0.3;

std::string name(size_t c) { return std::string(nn::kFashionMnistClasses[c]); }
std::string transfer_without(size_t c) { return "without " + name(c); }

// --- 2. what the teacher lends each class ------------------------------------------------
// Row y, column c: the teacher's mean probability of class c on the training images of class y,
// at temperature T (nn::class_similarity over the students' training split).
std::vector<std::vector<double>> similarity(const book::Classroom& classroom, float t) {
  const book::BookData& d = classroom.data;
  return nn::class_similarity(tensor::index_select(classroom.teacher.train_logits, 0, d.split.train),
                              book::labels_of(d.data.train, d.split.train), t);
}

// What the teacher lends class c: its mean probability over the other classes' training images
// (the mean of column c without its own row; the classes are about equally large).
double lent(const std::vector<std::vector<double>>& s, size_t c) {
  double sum = 0.0;
  for (size_t y = 0; y < s.size(); ++y) sum += y != c ? s[y][c] : 0.0;
  return sum / static_cast<double>(s.size() - 1);
}

std::vector<double> lent_to_each(const book::Classroom& classroom, float t) {
  const std::vector<std::vector<double>> s = similarity(classroom, t);
  std::vector<double> out;
  for (size_t c = 0; c < s.size(); ++c) out.push_back(lent(s, c));
  return out;
}

size_t most_lent(const std::vector<double>& mass) {
  return static_cast<size_t>(std::max_element(mass.begin(), mass.end()) - mass.begin());
}

void announce(size_t headline, double lent) {
  fmt::print("the teacher lends {} the most (mean probability {:.4f} at T = 1 on the other classes' training images):\n"
             "it is omitted first, and chooses T and alpha for every class. The validation and test sets keep every\n"
             "class: T, alpha and each bias shift are chosen with the validation split's labels, the weights never\n"
             "see the omitted class.\n",
             name(headline), lent);
}

// --- measuring a student on the class it never saw -----------------------------------------
// Accuracy on the images of class c (its recall), and over all images.
struct Accuracies {
  double omitted = 0;
  double overall = 0;
};

Accuracies accuracies(const Tensor& logits, const nn::Labels& labels, size_t c) {
  const auto counts = nn::confusion_matrix(logits, labels);
  int64_t right = 0, all = 0, of_c = 0;
  for (size_t y = 0; y < counts.size(); ++y) {
    right += counts[y][y];
    for (int64_t n : counts[y]) all += n;
  }
  for (int64_t n : counts[c]) of_c += n;
  return {static_cast<double>(counts[c][c]) / static_cast<double>(of_c),
          static_cast<double>(right) / static_cast<double>(all)};
}

// `logits` with `shift` added to column c.
Tensor shifted(const Tensor& logits, size_t c, double shift) {
  Tensor out = logits.contiguous().clone();
  const auto classes = static_cast<size_t>(out.shape()[1]);
  for (size_t i = 0; i < static_cast<size_t>(out.shape()[0]); ++i) out.data()[i * classes + c] += static_cast<float>(shift);
  return out;
}

// The bias shift 0, 0.05, ..., 30 that maximises overall accuracy on the validation logits (the
// smallest of equals), and that accuracy.
struct BiasShift {
  double shift = 0.0;
  double validation_accuracy = -1.0;
};

BiasShift best_bias_shift(const Tensor& validation_logits, const nn::Labels& labels, size_t c) {
  BiasShift best;
  for (int k = 0; k <= kBiasSteps; ++k) {
    const double shift = k * kBiasStep;
    const double a = accuracies(shifted(validation_logits, c, shift), labels, c).overall;
    if (a > best.validation_accuracy) best = {shift, a};
  }
  return best;
}

// A student that never saw class c, on the test set before and after its bias fix (the shift
// chosen on validation; the test set only measures it).
struct Unseen {
  double validation_after_bias = 0;  // what T and alpha are chosen on: the model a reader would use
  double bias_shift = 0;
  Accuracies before, after;
};

Unseen measure(const book::StudentResult& s, const book::BookData& d, size_t c) {
  if (s.diverged) {  // no predictions: NaN, which the statistics carry to the verdicts
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return {nan, nan, {nan, nan}, {nan, nan}};
  }
  const BiasShift fix = best_bias_shift(s.validation_logits, book::labels_of(d.data.train, d.split.validation), c);
  return {fix.validation_accuracy, fix.shift, accuracies(s.test_logits, d.data.test.labels, c),
          accuracies(shifted(s.test_logits, c, fix.shift), d.data.test.labels, c)};
}

// One measure of every student of a list.
std::vector<double> column(const std::vector<Unseen>& students, double (*get)(const Unseen&)) {
  std::vector<double> out;
  for (const Unseen& u : students) out.push_back(get(u));
  return out;
}
double before(const Unseen& u) { return u.before.omitted; }
double after(const Unseen& u) { return u.after.omitted; }

// --- 3. T and alpha, once, on validation ---------------------------------------------------
// The lab's transfer sets (one without each class), then the grid on the most-lent class's
// tuning seeds, by validation accuracy after the bias fix, and its hard and soft students.
book::HardSoftComparison choose_targets(book::Lab& lab, size_t headline, const Plan& plan, const book::Options& options) {
  const book::BookData& d = lab.classroom().data;
  const std::vector<uint64_t> tuning_seeds = book::seed_range(options.seed, plan.tuning_seeds);
  const std::vector<uint64_t> headline_seeds =
      book::seed_range(options.seed + static_cast<uint64_t>(plan.tuning_seeds), plan.headline_seeds);
  book::banner(3, fmt::format("T and alpha on the validation split without {} (seeds {} .. {}), compared on seeds {} .. {}",
                              name(headline), tuning_seeds.front(), tuning_seeds.back(), headline_seeds.front(),
                              headline_seeds.back()));
  for (size_t c = 0; c < book::kClasses; ++c) {
    lab.add_transfer_set(transfer_without(c), nn::without_classes(d.data.train.labels, d.split.train, {static_cast<int64_t>(c)}));
  }
  const auto student = [&](const book::Targets& targets, uint64_t seed) {
    return book::StudentKey{.config = {.widths = kWidths, .epochs = plan.epochs, .seed = seed},
                            .targets = targets,
                            .transfer = transfer_without(headline)};
  };
  const auto after_fix = [&](const book::StudentResult& r) { return measure(r, d, headline).validation_after_bias; };
  book::HardSoftComparison tuned =
      book::compare_hard_soft(lab, student, book::soft_grid(plan.temperatures, plan.alphas), tuning_seeds,
                              headline_seeds, "students without " + name(headline), after_fix);
  book::Table grid({"T", "alpha", "validation accuracy after the bias fix"});
  for (const book::Candidate& c : tuned.candidates) {
    grid.add_row({tensor::to_string(c.targets.temperature), tensor::to_string(c.targets.alpha),
                  fmt::format("{:.4f}", c.validation_accuracy)});
  }
  fmt::print("mean over the tuning seeds (hard labels: {:.4f})\n{}chosen: {}\n",
             book::mean_std(book::column(tuned.tuning_hard, after_fix)).mean, grid.to_text(), tuned.chosen.describe());
  return tuned;
}

// --- 4. every class omitted in turn --------------------------------------------------------
// One omitted class: its students, its twin's accuracy on it, what the teacher lends it.
struct OmittedClass {
  size_t index = 0;
  double lent_t1 = 0, lent_distillation = 0;  // at T = 1 and at the distillation T
  std::vector<uint64_t> seeds = {};
  std::vector<Unseen> hard = {}, soft = {};
  std::vector<double> twin = {};            // the seeing twin's test accuracy on the class, per seed
  book::PairedDifference recognised = {};   // soft - hard test accuracy on the class, both after the fix
  double share_of_twin = 0;                 // mean soft accuracy after the fix / mean twin accuracy
  book::Interval share_interval = {};       // its bootstrap interval over seeds
};

// The share of the twin's accuracy on a class, with the seeds drawn as `pick` says.
double share(const OmittedClass& o, const std::vector<size_t>& pick) {
  double soft = 0.0, twin = 0.0;
  for (size_t k : pick) {
    soft += o.soft[k].after.omitted;
    twin += o.twin[k];
  }
  return soft / twin;
}

// Every class but `tuned` (whose students section 3 trained) omitted in turn, and the seeing
// twins: one plan for the lab, so every core stays busy.
std::vector<OmittedClass> omit_each(book::Lab& lab, const book::HardSoftComparison& tuned, size_t tuned_class,
                                    const std::vector<double>& lent_t1, const std::vector<double>& lent_distillation,
                                    const Plan& plan) {
  const book::BookData& d = lab.classroom().data;
  const auto key = [&](const std::string& transfer, const book::Targets& targets, uint64_t seed) {
    return book::StudentKey{.config = {.widths = kWidths, .epochs = plan.epochs, .seed = seed},
                            .targets = targets,
                            .transfer = transfer};
  };
  // The first of the most-lent class's seeds: the twins of those seeds serve every class.
  const std::vector<uint64_t> seeds(tuned.seeds.begin(), tuned.seeds.begin() + std::min<ptrdiff_t>(plan.seeds, std::ssize(tuned.seeds)));
  std::vector<book::StudentKey> keys, twins;
  for (uint64_t seed : tuned.seeds) twins.push_back(key("split", tuned.chosen, seed));  // every class
  for (size_t c = 0; c < book::kClasses; ++c) {
    if (c == tuned_class) continue;
    for (uint64_t seed : seeds) {
      keys.push_back(key(transfer_without(c), book::Targets::hard(), seed));
      keys.push_back(key(transfer_without(c), tuned.chosen, seed));
    }
  }
  keys.insert(keys.end(), twins.begin(), twins.end());
  lab.run(keys, "every other class omitted, and the seeing twins");
  const std::vector<const book::StudentResult*> twin = lab.run(twins, "the seeing twins");

  std::vector<OmittedClass> out;
  for (size_t c = 0; c < book::kClasses; ++c) {
    OmittedClass o{.index = c, .lent_t1 = lent_t1[c], .lent_distillation = lent_distillation[c]};
    o.seeds = c == tuned_class ? tuned.seeds : seeds;
    for (size_t k = 0; k < o.seeds.size(); ++k) {
      const auto& hard = c == tuned_class ? *tuned.hard[k] : lab.result(key(transfer_without(c), book::Targets::hard(), o.seeds[k]));
      const auto& soft = c == tuned_class ? *tuned.soft[k] : lab.result(key(transfer_without(c), tuned.chosen, o.seeds[k]));
      o.hard.push_back(measure(hard, d, c));
      o.soft.push_back(measure(soft, d, c));
      o.twin.push_back(twin[k]->diverged ? std::numeric_limits<double>::quiet_NaN()
                                         : accuracies(twin[k]->test_logits, d.data.test.labels, c).omitted);
    }
    o.recognised = book::paired_difference(column(o.hard, after), column(o.soft, after));
    std::vector<size_t> all(o.seeds.size());
    for (size_t k = 0; k < all.size(); ++k) all[k] = k;
    o.share_of_twin = share(o, all);
    out.push_back(std::move(o));
  }
  return out;
}

// The bootstrap over seeds: each resample draws every class's seeds with replacement (the same
// draws for every class with as many seeds: its students and its twins share their seeds), and
// recomputes each class's share of its twin and the rank correlation of the shares with the lent
// mass. Returns the correlation's 95% percentile interval and sets each class's share interval.
book::Interval bootstrap(std::vector<OmittedClass>& classes, const Plan& plan, uint64_t seed) {
  tensor::Generator gen(seed);
  std::vector<double> rhos, lent;
  std::vector<std::vector<double>> shares(classes.size());
  for (const OmittedClass& o : classes) lent.push_back(o.lent_distillation);
  for (int r = 0; r < plan.resamples; ++r) {
    std::map<size_t, std::vector<size_t>> draws;  // by number of seeds
    for (const OmittedClass& o : classes) {
      const size_t n = o.seeds.size();
      if (draws.count(n) != 0) continue;
      for (size_t k = 0; k < n; ++k) draws[n].push_back(static_cast<size_t>(gen.below(static_cast<int64_t>(n))));
    }
    std::vector<double> s;
    for (size_t i = 0; i < classes.size(); ++i) {
      s.push_back(share(classes[i], draws[classes[i].seeds.size()]));
      shares[i].push_back(s.back());
    }
    rhos.push_back(book::spearman(lent, s));
  }
  const auto percentiles = [](std::vector<double> v) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); })) return book::Interval{nan, nan};
    std::sort(v.begin(), v.end());
    const auto at = [&](double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)]; };
    return book::Interval{at(0.025), at(0.975)};
  };
  for (size_t i = 0; i < classes.size(); ++i) classes[i].share_interval = percentiles(shares[i]);
  return percentiles(rhos);
}

// The rank correlation of the lent mass (at the distillation T) with the share of the twin.
struct Correlation {
  double rho = 0;
  book::Interval interval;  // bootstrap over seeds
};

Correlation correlate(std::vector<OmittedClass>& classes, const Plan& plan, uint64_t seed) {
  std::vector<double> lent, shares;
  for (const OmittedClass& o : classes) {
    lent.push_back(o.lent_distillation);
    shares.push_back(o.share_of_twin);
  }
  const book::Interval interval = bootstrap(classes, plan, seed);
  return {book::spearman(lent, shares), interval};
}

// The per-class table, most-lent class first, and the plot of the finding.
void report_classes(const std::vector<OmittedClass>& classes, const book::Targets& chosen, const Correlation& correlation,
                    book::Outcome outcome, const book::Options& options) {
  std::vector<const OmittedClass*> order;
  for (const OmittedClass& o : classes) order.push_back(&o);
  std::sort(order.begin(), order.end(),
            [](const OmittedClass* a, const OmittedClass* b) { return a->lent_distillation > b->lent_distillation; });
  const std::string t = tensor::to_string(chosen.temperature);
  book::Table table({"omitted class", "lent at T=1", "lent at T=" + t, "seeds", "hard, after fix", "soft, before fix",
                     "soft, after fix", "soft - hard after (95% CI)", "outcome", "twin (saw it)",
                     "share of twin (95% CI)"});
  book::LinePlot plot{"", fmt::format("mean probability the teacher lends the class on other classes' images (T = {})", t),
                      "share of the seeing twin's accuracy on the class, after the fix (%, +- 1 s.e.)", {}, true};
  for (const OmittedClass* o : order) {
    const book::MeanStd twin = book::mean_std(o->twin);
    table.add_row({name(o->index), fmt::format("{:.4f}", o->lent_t1), fmt::format("{:.4f}", o->lent_distillation),
                   std::to_string(o->seeds.size()), book::mean_std(column(o->hard, after)).to_string(3),
                   book::mean_std(column(o->soft, before)).to_string(3),
                   book::mean_std(column(o->soft, after)).to_string(3),
                   fmt::format("{} {}", o->recognised.to_string(3), o->recognised.confidence_interval().to_string(3)),
                   book::to_string(o->recognised.outcome(book::kSmallestAccuracyEffect)), twin.to_string(3),
                   fmt::format("{:.1f}% [{:.1f}, {:.1f}]", 100.0 * o->share_of_twin, 100.0 * o->share_interval.low,
                               100.0 * o->share_interval.high)});
    std::vector<double> per_seed;
    for (size_t k = 0; k < o->seeds.size(); ++k) per_seed.push_back(100.0 * o->soft[k].after.omitted / o->twin[k]);
    const book::MeanStd s = book::mean_std(per_seed);
    plot.series.push_back({name(o->index), {o->lent_distillation}, {100.0 * o->share_of_twin},
                           {s.std / std::sqrt(static_cast<double>(per_seed.size()))}, false});
  }
  fmt::print("test accuracy on the omitted class, mean +- std over the seeds (soft: {}); the twin is the same soft\n"
             "student trained on every class, on the same seeds\n{}",
             chosen.describe(), table.to_text());
  book::write_file(options.file("every_class.csv"), table.to_csv());
  const std::string r = fmt::format("Spearman rho {:.2f} [{:.2f}, {:.2f}]", correlation.rho, correlation.interval.low,
                                    correlation.interval.high);
  plot.title = outcome == book::Outcome::holds
                   ? "The more probability the teacher lends a class, the more of it a student learns unseen (" + r + ")"
               : outcome == book::Outcome::opposite
                   ? "The less probability the teacher lends a class, the more of it a student learns unseen (" + r + ")"
               : outcome == book::Outcome::no_effect
                   ? "What the teacher lends a class does not rank what a student learns of it unseen (" + r + ")"
                   : "Whether what the teacher lends a class ranks what a student learns unseen: this run cannot tell (" + r + ")";
  fmt::print("{}\n", book::save_plot(options.out, "share_of_twin_vs_lent_mass", plot));
}

// --- 5. where the most-lent class's probability comes from ---------------------------------
nlohmann::json where_it_comes_from(const book::Classroom& classroom, size_t c, const book::Options& options) {
  std::vector<std::string> headers = {"true class"};
  for (float t : kMassTemperatures) headers.push_back(fmt::format("mean p({}) at T={}", name(c), tensor::to_string(t)));
  book::Table table(headers);
  book::LinePlot plot{fmt::format("Teacher's mean probability of {} on the other classes' training images", name(c)),
                      "true class", "mean probability", {}};
  std::vector<std::vector<std::vector<double>>> mass;  // [temperature][true class][class]
  for (float t : kMassTemperatures) mass.push_back(similarity(classroom, t));
  for (size_t k = 0; k < kMassTemperatures.size(); ++k) {
    book::Series series{fmt::format("T = {}", tensor::to_string(kMassTemperatures[k])), {}, {}};
    for (size_t y = 0; y < mass[k].size(); ++y) {
      if (y == c) continue;
      series.x.push_back(static_cast<double>(series.x.size()));
      series.y.push_back(mass[k][y][c]);
      if (k == 0) plot.x_ticks.push_back(name(y));
    }
    plot.series.push_back(series);
  }
  nlohmann::json json = nlohmann::json::array();
  for (size_t y = 0; y < mass[0].size(); ++y) {
    if (y == c) continue;
    std::vector<std::string> row = {name(y)};
    nlohmann::json entry = {{"class", name(y)}};
    for (size_t k = 0; k < kMassTemperatures.size(); ++k) {
      row.push_back(fmt::format("{:.5f}", mass[k][y][c]));
      entry[fmt::format("T{}", tensor::to_string(kMassTemperatures[k]))] = mass[k][y][c];
    }
    table.add_row(row);
    json.push_back(entry);
  }
  fmt::print("{}", table.to_text());
  book::write_file(options.file("omitted_class_mass.csv"), table.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, "omitted_class_mass", plot));
  return json;
}

// --- 6. verdicts -----------------------------------------------------------------------------
// Claim 6 on the most-lent class (five seeds), with every class's outcome as evidence.
book::Verdict unseen_class_verdict(const std::vector<OmittedClass>& classes, size_t headline, const Plan& plan) {
  const OmittedClass& h = classes[headline];
  const book::PairedDifference fixed = book::paired_difference(column(h.soft, before), column(h.soft, after));
  std::vector<std::string> held, other;
  for (const OmittedClass& o : classes) {
    const book::Outcome outcome = o.recognised.outcome(book::kSmallestAccuracyEffect);
    (outcome == book::Outcome::holds ? held : other).push_back(
        outcome == book::Outcome::holds ? name(o.index) : fmt::format("{} ({})", name(o.index), book::to_string(outcome)));
  }
  return {fmt::format("A student can learn a class it never saw: taught with soft targets on a transfer set without {} "
                      "(the class the teacher lends the most), after a shift of that class's output bias it "
                      "recognises {} images, which the same student taught with labels cannot, and the shift recovers "
                      "more than it knew before",
                      name(h.index), name(h.index)),
          fmt::format("two paired differences over the {} seeds: the soft student's {} test accuracy after the bias "
                      "fix minus the hard student's after its own fix, and the soft student's after the fix minus "
                      "before; each 95% Student's t interval above 0 holds, below 0 opposite, inside +-{} (0.2 points) "
                      "no effect, else cannot tell; the verdict holds when both hold (else opposite if one is, else "
                      "no effect if one is, else cannot tell). The same first difference for every other class, on {} "
                      "seeds each, is reported beside it",
                      h.seeds.size(), name(h.index), book::kSmallestAccuracyEffect, plan.seeds),
          book::all_of({h.recognised.outcome(book::kSmallestAccuracyEffect), fixed.outcome(book::kSmallestAccuracyEffect)}),
          fmt::format("{}: soft after the fix {} minus hard after its fix {} = {} {}; the fix's gain {} {}; {:.1f}% of the "
                      "seeing twin's {:.4f}. Holds for {} of {} classes ({}){}",
                      name(h.index), book::mean_std(column(h.soft, after)).to_string(),
                      book::mean_std(column(h.hard, after)).to_string(), h.recognised.to_string(),
                      h.recognised.confidence_interval().to_string(), fixed.to_string(),
                      fixed.confidence_interval().to_string(), 100.0 * h.share_of_twin, book::mean_std(h.twin).mean,
                      held.size(), classes.size(), fmt::join(held, ", "),
                      other.empty() ? "" : fmt::format("; not for {}", fmt::join(other, ", ")))};
}

book::Verdict lent_mass_verdict(const std::vector<OmittedClass>& classes, const book::Targets& chosen,
                                const Correlation& correlation, const Plan& plan) {
  return {"The more probability the teacher lends a class on other classes' images, the more of that class a student "
          "that never saw it recovers",
          fmt::format("Spearman's rank correlation over the {} classes between the teacher's mean probability of the "
                      "class on the other classes' training images at the distillation T ({}) and the soft student's "
                      "share of its seeing twin's accuracy on the class after the bias fix; its 95% interval is the "
                      "percentile interval of {} bootstrap resamples of the seeds (the classes are the population: "
                      "only the students' seeds are resampled); above 0 holds, below 0 opposite, inside +-{} no "
                      "effect (a weaker rank correlation orders fewer than two in three pairs of classes alike), else "
                      "cannot tell",
                      classes.size(), tensor::to_string(chosen.temperature), plan.resamples, kSmallestCorrelation),
          book::outcome_of(correlation.interval, kSmallestCorrelation),
          fmt::format("rho {:.3f}, 95% interval {}", correlation.rho, correlation.interval.to_string(3))};
}

nlohmann::json to_json(const OmittedClass& o) {
  const auto side = [](const std::vector<Unseen>& students) {
    return nlohmann::json{{"omitted_class_accuracy", column(students, before)},
                          {"omitted_class_accuracy_after_bias", column(students, after)},
                          {"bias_shift", column(students, [](const Unseen& u) { return u.bias_shift; })},
                          {"overall_accuracy", column(students, [](const Unseen& u) { return u.before.overall; })},
                          {"overall_accuracy_after_bias", column(students, [](const Unseen& u) { return u.after.overall; })}};
  };
  return {{"name", name(o.index)},
          {"index", o.index},
          {"lent_mass", {{"T1", o.lent_t1}, {"distillation_T", o.lent_distillation}}},
          {"seeds", o.seeds},
          {"hard", side(o.hard)},
          {"soft", side(o.soft)},
          {"twin_omitted_class_accuracy", o.twin},
          {"mean",  // over the seeds: what every_class.csv shows
           {{"soft_before", book::mean_std(column(o.soft, before)).mean},
            {"soft_after", book::mean_std(column(o.soft, after)).mean},
            {"hard_after", book::mean_std(column(o.hard, after)).mean},
            {"soft_bias_shift", book::mean_std(column(o.soft, [](const Unseen& u) { return u.bias_shift; })).mean},
            {"twin", book::mean_std(o.twin).mean}}},
          {"soft_minus_hard_after_bias", o.recognised.to_json()},
          {"share_of_twin", {{"mean", o.share_of_twin}, {"ci95", {o.share_interval.low, o.share_interval.high}}}},
          {"outcome", book::to_string(o.recognised.outcome(book::kSmallestAccuracyEffect))}};
}

// results.json: the setting, every omitted class, the correlation (the verdicts are added last).
nlohmann::json results_of(const book::Classroom& classroom, const book::HardSoftComparison& tuned,
                          const std::vector<OmittedClass>& classes, size_t headline, const Correlation& correlation,
                          const nlohmann::json& sources, const Plan& plan) {
  const book::BookData& d = classroom.data;
  nlohmann::json results;
  results["teacher_test_accuracy"] = classroom.teacher_test_accuracy;
  results["teacher_config"] = classroom.teacher.config;
  results["student"] = book::StudentConfig{.widths = kWidths, .epochs = plan.epochs}.to_json();
  results["student"].erase("seed");
  results["headline_class"] = name(headline);
  results["tuning_seeds"] = tuned.tuning_seeds;
  results["validation_grid"] = book::to_json(tuned.candidates);
  results["T"] = tuned.chosen.temperature;
  results["alpha"] = tuned.chosen.alpha;
  results["classes"] = nlohmann::json::array();
  for (const OmittedClass& o : classes) {
    nlohmann::json j = to_json(o);
    j["teacher_accuracy"] = accuracies(classroom.teacher.test_logits, d.data.test.labels, o.index).omitted;
    results["classes"].push_back(j);
  }
  results["headline_mass_sources"] = sources;
  results["correlation"] = {{"spearman", correlation.rho},
                            {"ci95", {correlation.interval.low, correlation.interval.high}},
                            {"resamples", plan.resamples}};
  return results;
}

}  // namespace

int chapter(const book::Options& options) {
  fmt::print("Chapter 7: the class never seen (seed {}{})\n", options.seed, options.quick ? ", --quick" : "");
  const Plan& plan = options.quick ? kQuickPlan : kPlan;

  book::banner(1, "Data and the cached teacher");
  const book::Classroom classroom = book::open_classroom(options);

  book::banner(2, "What the teacher lends each class on the other classes' images");
  const std::vector<double> lent_t1 = lent_to_each(classroom, 1.0f);
  const size_t headline = most_lent(lent_t1);
  announce(headline, lent_t1[headline]);

  book::Lab lab(classroom, book::Lab::workers_for(options));
  const book::HardSoftComparison tuned = choose_targets(lab, headline, plan, options);

  book::banner(4, "Every class omitted in turn, against the twin that saw it");
  std::vector<OmittedClass> classes =
      omit_each(lab, tuned, headline, lent_t1, lent_to_each(classroom, tuned.chosen.temperature), plan);
  const Correlation correlation = correlate(classes, plan, options.seed);
  const book::Verdict by_mass = lent_mass_verdict(classes, tuned.chosen, correlation, plan);
  report_classes(classes, tuned.chosen, correlation, by_mass.outcome, options);

  book::banner(5, fmt::format("Where the probability the teacher lends {} comes from", name(headline)));
  const nlohmann::json sources = where_it_comes_from(classroom, headline, options);

  book::banner(6, "Report");
  book::finish_with_verdicts(options, results_of(classroom, tuned, classes, headline, correlation, sources, plan),
                             {{"unseen_class", unseen_class_verdict(classes, headline, plan)}, {"lent_mass", by_mass}});
  return 0;
}

int main(int argc, char** argv) {
  return book::run_chapter(argc, argv, "ch07_unseen_class", "Chapter 7: a class the student never saw", chapter);
}
