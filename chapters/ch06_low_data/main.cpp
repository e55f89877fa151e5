// Chapter 6: little data. Students learn from 1% ... 100% of the training images, with the
// labels or with the soft targets of the teacher trained on all of them. Where, and on which
// test images, do the soft targets help?
//
// 1. Data and the cached teacher.
// 2. The transfer sets and the training budget.
// 3. Hard against soft at each fraction (T and alpha chosen on validation at each, averaged
//    over four tuning seeds: with a few hundred images, each seed's draw ranks them its own way).
// 4. Accuracy against fraction.
// 5. By the teacher's margin: is the gain largest on the least-confident fifth?
// 6. Report.
#include "chapters/common/experiment.h"
#include "chapters/common/options.h"
#include "chapters/common/plot.h"
#include "chapters/common/report.h"
#include "chapters/common/verdict.h"
#include "chapters/lab/lab.h"
#include "nn/metrics.h"
#include "tensor/ops.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>

namespace {

using tensor::Tensor;

// --- configuration -------------------------------------------------------------------
const std::vector<double> kFractions = {0.01, 0.02, 0.05, 0.10, 1.0};
const std::vector<int64_t> kWidths = {784, 100, 10};  // chapter 5's student
constexpr int64_t kMinEpochs = 10;                     // every transfer set is seen at least this often
constexpr int64_t kMinSteps = 1000;                    // and every student takes at least this many steps
constexpr int kTuningSeeds = 4;  // T and alpha by the mean validation accuracy of seeds options.seed ... + 3
constexpr int kSeeds = 8;        // then compared on options.seed + 4 ... + 11
const std::vector<float> kTemperatures = {2, 4};       // the validation grid (T = 8 lost everywhere in chapter 5)
const std::vector<float> kAlphas = {0.5f, 0.9f};
constexpr int kMarginBuckets = 5;

std::string percent(double f) { return fmt::format("{:g}%", 100.0 * f); }

// A margin for a table: most of the teacher's margins are within 1e-3 of 1, so those are shown as 1 - x.
std::string margin_text(double m) {
  if (m < 0.999) return fmt::format("{:.3f}", m);
  return m < 1.0 ? fmt::format("1-{:.0e}", 1.0 - m) : std::string("1");
}

// Epochs that give at least min_steps steps and min_epochs passes over `examples` images.
int64_t budget_epochs(size_t examples, int64_t batch, int64_t min_epochs, int64_t min_steps) {
  const int64_t batches = (static_cast<int64_t>(examples) + batch - 1) / batch;
  return std::max(min_epochs, (min_steps + batches - 1) / batches);
}

std::vector<double> test_accuracies(const std::vector<const book::StudentResult*>& runs) {
  return book::column(runs, [](const book::StudentResult& r) { return r.scores.test_accuracy; });
}

std::vector<double> validation_accuracies(const std::vector<const book::StudentResult*>& runs) {
  return book::column(runs, [](const book::StudentResult& r) { return r.scores.validation_accuracy; });
}

// Fraction of the test images in `bucket` on which `predictions` equal `reference`.
double bucket_agreement(const nn::Labels& predictions, const nn::Labels& reference, const std::vector<int64_t>& bucket) {
  int64_t same = 0;
  for (int64_t i : bucket) same += predictions[static_cast<size_t>(i)] == reference[static_cast<size_t>(i)] ? 1 : 0;
  return static_cast<double>(same) / static_cast<double>(bucket.size());
}

// The chapter's design: how long every student trains, which fractions, which seeds.
struct Design {
  int64_t min_epochs, min_steps;
  std::vector<double> fractions;
  std::vector<uint64_t> tuning_seeds, seeds;
};

Design design_of(const book::Options& options) {
  return {options.quick ? 2 : kMinEpochs, options.quick ? 20 : kMinSteps,
          options.quick ? std::vector<double>{0.1, 1.0} : kFractions, book::seed_range(options.seed, kTuningSeeds),
          book::seed_range(options.seed + kTuningSeeds, kSeeds)};
}

// What was measured at the fractions: the hard-against-soft comparison of each, its transfer sets'
// size (every seed's has as many images), the students' epochs, and the wall time.
struct Measured {
  std::vector<book::HardSoftComparison> at;
  std::vector<size_t> images;
  std::vector<int64_t> epochs;
  std::vector<double> seconds;
};

// Section 3: at each fraction, T and alpha chosen on the tuning seeds, then hard against soft.
Measured hard_against_soft(const Design& design, book::Lab& lab, const book::Options& options) {
  const std::vector<double>& fractions = design.fractions;
  const std::vector<uint64_t>&tuning_seeds = design.tuning_seeds, &seeds = design.seeds;
  Measured out;
  std::vector<book::HardSoftComparison>& measured = out.at;
  std::vector<double>& seconds = out.seconds;
  std::vector<size_t>& images = out.images;
  std::vector<int64_t>& epochs = out.epochs;
  for (double fraction : fractions) {
    const auto start = std::chrono::steady_clock::now();
    for (const std::vector<uint64_t>* of : {&tuning_seeds, &seeds}) {
      for (uint64_t seed : *of) lab.add_stratified(fraction, seed);
    }
    images.push_back(lab.transfer_set(lab.add_stratified(fraction, seeds.front())).size());
    epochs.push_back(budget_epochs(images.back(), book::StudentConfig{}.batch, design.min_epochs, design.min_steps));
    const auto student = [&](const book::Targets& targets, uint64_t seed) {
      return book::StudentKey{.config = {.widths = kWidths, .epochs = epochs.back(), .seed = seed},
                              .targets = targets,
                              .transfer = lab.add_stratified(fraction, seed)};
    };
    measured.push_back(book::compare_hard_soft(lab, student, book::soft_grid(kTemperatures, kAlphas), tuning_seeds, seeds,
                                               percent(fraction) + " of the images"));
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    const book::HardSoftComparison& m = measured.back();
    fmt::print("{:>5} ({:>5} images, {:>3} epochs): chose {}; test hard {}, soft {}; {} [{:.0f} s]\n", percent(fraction),
               images.back(), epochs.back(), m.chosen.describe(),
               book::mean_std(test_accuracies(m.hard)).to_string(), book::mean_std(test_accuracies(m.soft)).to_string(),
               book::paired_difference(test_accuracies(m.hard), test_accuracies(m.soft)).describe(), seconds.back());
  }

  std::vector<std::string> grid_headers = {"fraction", "hard"};
  for (const book::Candidate& c : measured.front().candidates) grid_headers.push_back(c.targets.describe());
  book::Table grid_table(grid_headers);
  for (size_t f = 0; f < fractions.size(); ++f) {
    std::vector<std::string> row = {
        percent(fractions[f]),
        fmt::format("{:.4f}", book::mean_std(validation_accuracies(measured[f].tuning_hard)).mean)};
    for (const book::Candidate& c : measured[f].candidates) row.push_back(fmt::format("{:.4f}", c.validation_accuracy));
    grid_table.add_row(row);
  }
  fmt::print("what was tried: validation accuracy, mean over the students of seeds {}\n{}",
             fmt::join(tuning_seeds, ", "), grid_table.to_text());
  book::write_file(options.file("validation_grid.csv"), grid_table.to_csv());

  return out;
}

// Section 4: test accuracy against the fraction, a table and a plot; returns hard_test_accuracy,
// soft_test_accuracy (per fraction and seed) and per_fraction for results.json.
nlohmann::json accuracy_against_fraction(const Design& design, const Measured& measured, double teacher,
                                         const book::Options& options) {
  const std::vector<double>& fractions = design.fractions;
  const std::vector<uint64_t>& seeds = design.seeds;
  book::Table table({"fraction", "images", "epochs", "T", "alpha", "hard labels", "soft targets", "soft - hard (paired)",
                     "beyond 2 std", "teacher gap closed"});
  book::Series hard_series{"hard labels", {}, {}, {}}, soft_series{"soft targets (T, alpha chosen on validation)", {}, {}, {}};
  nlohmann::json hard_json = nlohmann::json::array(), soft_json = nlohmann::json::array(), rows = nlohmann::json::array();
  for (size_t f = 0; f < fractions.size(); ++f) {
    const book::HardSoftComparison& m = measured.at[f];
    const std::vector<double> h = test_accuracies(m.hard), s = test_accuracies(m.soft);
    const book::MeanStd hard = book::mean_std(h), soft = book::mean_std(s);
    const book::PairedDifference d = book::paired_difference(h, s);
    nlohmann::json gap_closed = nullptr;  // undefined when the teacher is no better than the hard student
    if (teacher > hard.mean) gap_closed = nn::gap_closed(soft.mean, hard.mean, teacher);
    table.add_row({percent(fractions[f]), std::to_string(measured.images[f]), std::to_string(measured.epochs[f]),
                   tensor::to_string(m.chosen.temperature), tensor::to_string(m.chosen.alpha), hard.to_string(),
                   soft.to_string(), d.to_string(), d.beyond_two_std() ? "yes" : "no",
                   gap_closed.is_null() ? "-" : fmt::format("{:.0f}%", 100.0 * gap_closed.get<double>())});
    for (auto& [series, value] : {std::pair{&hard_series, hard}, std::pair{&soft_series, soft}}) {
      series->x.push_back(100.0 * fractions[f]);
      series->y.push_back(value.mean);
      series->error.push_back(value.std);
    }
    hard_json.push_back(h);
    soft_json.push_back(s);
    rows.push_back({{"fraction", fractions[f]},
                    {"images", measured.images[f]},
                    {"epochs", measured.epochs[f]},
                    {"T", m.chosen.temperature},
                    {"alpha", m.chosen.alpha},
                    {"hard_validation_accuracy_tuning_seeds", validation_accuracies(m.tuning_hard)},
                    {"validation_grid", book::to_json(m.candidates)},
                    {"hard_mean", hard.mean},
                    {"soft_mean", soft.mean},
                    {"soft_minus_hard", d.to_json()},
                    {"gap_closed", gap_closed},
                    {"seconds", measured.seconds[f]}});
  }
  fmt::print("test accuracy, mean +- std over seeds {} .. {} (teacher {:.4f})\n{}", seeds.front(), seeds.back(), teacher,
             table.to_text());
  book::write_file(options.file("accuracy_vs_fraction.csv"), table.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, "accuracy_vs_fraction",
                                     book::LinePlot{"Test accuracy against the size of the transfer set (mean +- std)",
                                                    "training images used (% of the split's training part, log scale)",
                                                    "test accuracy",
                                                    {hard_series, soft_series,
                                                     {"teacher (all data)", {hard_series.x.front(), hard_series.x.back()},
                                                      {teacher, teacher}}},
                                                    true}));

  return {{"hard_test_accuracy", hard_json}, {"soft_test_accuracy", soft_json}, {"per_fraction", rows}};
}

// The fifths of the test set by the teacher's margin, least confident first.
const std::vector<std::string> kFifthNames = {"least confident", "second", "middle", "fourth", "most confident"};

// Section 5's findings: the buckets for results.json, and the soft - hard gain per bucket on the
// smallest transfer set (the second verdict's numbers).
struct ByMargin {
  nlohmann::json buckets;
  std::vector<book::PairedDifference> smallest_gain;
};

// Section 5: the test set in quintiles of the teacher's margin, hard and soft students' accuracy
// in each, at the smallest and the largest fraction.
ByMargin accuracy_by_margin(const Design& design, const Measured& measured, const book::Classroom& classroom,
                            const book::Options& options) {
  const nn::Labels& test_labels = classroom.data.data.test.labels;
  const std::vector<double>& fractions = design.fractions;
  // Quintiles of the test set by the teacher's top-1 minus top-2 probability.
  const std::vector<nn::Margin> margin = nn::margins(classroom.teacher.test_logits);
  std::vector<int64_t> order(margin.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return margin[a] < margin[b]; });
  std::vector<std::vector<int64_t>> buckets(kMarginBuckets);
  for (size_t k = 0; k < order.size(); ++k) buckets[k * kMarginBuckets / order.size()].push_back(order[k]);
  const nn::Labels teacher_predictions = nn::predictions(classroom.teacher.test_logits);
  // The smallest transfer set and the full one.
  const std::vector<const book::HardSoftComparison*> extremes = {&measured.at.front(), &measured.at.back()};
  const std::vector<double> extreme_fractions = {fractions.front(), fractions.back()};
  std::vector<std::string> headers = {"teacher margin", "images", "teacher"};
  for (double f : extreme_fractions) {
    for (const char* what : {"hard @", "soft @", "soft - hard @", "agree hard @", "agree soft @"}) headers.push_back(what + percent(f));
  }
  book::Table bucket_table(headers);
  // The gain soft - hard with its interval on each fifth, at the smallest transfer set.
  book::DifferencePlot gain_plot{"", "fifths of the test set by the teacher's margin (top-1 minus top-2 probability)",
                                 fmt::format("soft - hard test accuracy, {} of the data", percent(fractions.front())),
                                 {}, {}, {}, {}};
  nlohmann::json bucket_json = nlohmann::json::array();
  std::vector<book::PairedDifference> smallest_gain;  // soft - hard per bucket, on the smallest transfer set
  for (int b = 0; b < kMarginBuckets; ++b) {
    const std::vector<int64_t>& bucket = buckets[static_cast<size_t>(b)];
    const double lo = margin[static_cast<size_t>(bucket.front())].probability;
    const double hi = margin[static_cast<size_t>(bucket.back())].probability;
    const std::string range = margin_text(lo) + " .. " + margin_text(hi);
    const double teacher_accuracy = bucket_agreement(teacher_predictions, test_labels, bucket);
    gain_plot.categories.push_back(kFifthNames[std::min<size_t>(static_cast<size_t>(b), kFifthNames.size() - 1)]);
    std::vector<std::string> row = {range, std::to_string(bucket.size()), fmt::format("{:.3f}", teacher_accuracy)};
    nlohmann::json entry = {{"margin_min", lo}, {"margin_max", hi}, {"images", bucket.size()},
                            {"teacher_accuracy", teacher_accuracy}};
    for (size_t e = 0; e < extremes.size(); ++e) {
      std::vector<double> h, s, h_agree, s_agree;
      // A diverged student has no predictions: NaN, which the statistics carry to the verdict.
      const auto measure = [&](const book::StudentResult& run, std::vector<double>& accuracy, std::vector<double>& agree) {
        const double nan = std::numeric_limits<double>::quiet_NaN();
        const nn::Labels predictions = run.diverged ? nn::Labels{} : nn::predictions(run.test_logits);
        accuracy.push_back(run.diverged ? nan : bucket_agreement(predictions, test_labels, bucket));
        agree.push_back(run.diverged ? nan : bucket_agreement(predictions, teacher_predictions, bucket));
      };
      for (const book::StudentResult* run : extremes[e]->hard) measure(*run, h, h_agree);
      for (const book::StudentResult* run : extremes[e]->soft) measure(*run, s, s_agree);
      const book::PairedDifference d = book::paired_difference(h, s);
      if (e == 0) smallest_gain.push_back(d);
      row.push_back(book::mean_std(h).to_string(3));
      row.push_back(book::mean_std(s).to_string(3));
      row.push_back(fmt::format("{:+.3f}{}", d.difference.mean, d.beyond_two_std() ? " *" : ""));
      row.push_back(fmt::format("{:.3f}", book::mean_std(h_agree).mean));
      row.push_back(fmt::format("{:.3f}", book::mean_std(s_agree).mean));
      if (e == 0) {
        const bool interval = d.per_seed.size() >= 2;
        gain_plot.mean.push_back(d.difference.mean);
        gain_plot.low.push_back(interval ? d.confidence_interval().low : d.difference.mean);
        gain_plot.high.push_back(interval ? d.confidence_interval().high : d.difference.mean);
      }
      entry[percent(extreme_fractions[e])] = {{"hard", h},
                                          {"soft", s},
                                          {"soft_minus_hard", d.to_json()},
                                          {"hard_agreement_with_teacher", h_agree},
                                          {"soft_agreement_with_teacher", s_agree}};
    }
    bucket_table.add_row(row);
    bucket_json.push_back(entry);
  }
  const size_t best = static_cast<size_t>(std::max_element(gain_plot.mean.begin(), gain_plot.mean.end()) - gain_plot.mean.begin());
  gain_plot.title = fmt::format("With {} of the data the gain is largest on the {} fifth of the test set by the "
                                "teacher's margin ({:+.3f})",
                                percent(fractions.front()), kFifthNames[std::min<size_t>(best, kFifthNames.size() - 1)],
                                gain_plot.mean.empty() ? 0.0 : gain_plot.mean[best]);
  fmt::print("test images in {} equal buckets by the teacher's margin; accuracy mean +- std over seeds, and the\n"
             "mean share of the bucket on which the student agrees with the teacher (* : the paired difference\n"
             "is beyond 2 std)\n{}",
             kMarginBuckets, bucket_table.to_text());
  book::write_file(options.file("accuracy_by_margin.csv"), bucket_table.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, "accuracy_by_margin", gain_plot));

  return {bucket_json, smallest_gain};
}

// The two verdicts of claim 5: little data, and the least-confident fifth of the test set.
std::vector<std::pair<std::string, book::Verdict>> verdicts(const Design& design, const Measured& measured,
                                                             const ByMargin& margins) {
  const std::vector<double>& fractions = design.fractions;
  // Claim 5, part 1: the gain is real where data is scarce, and larger there than with all of it.
  const book::PairedDifference scarce =
      book::paired_difference(test_accuracies(measured.at.front().hard), test_accuracies(measured.at.front().soft));
  const book::PairedDifference plenty =
      book::paired_difference(test_accuracies(measured.at.back().hard), test_accuracies(measured.at.back().soft));
  book::Verdict little_data = book::soft_beats_hard(
      fmt::format("Soft targets help most when data is scarce: with {} of the training images the soft student beats the "
                  "hard one, by more than with {}",
                  percent(fractions.front()), percent(fractions.back())),
      fmt::format("test accuracy at {}", percent(fractions.front())), scarce);
  little_data.criterion += fmt::format("; and its mean must be larger than at {} (else opposite)", percent(fractions.back()));
  little_data.outcome = book::all_of({little_data.outcome, book::met(scarce.difference.mean > plenty.difference.mean)});
  little_data.evidence += fmt::format("; at {}: {}", percent(fractions.back()), plenty.describe());
  // Claim 5, part 2, as measured here: the gain is largest on the least-confident fifth. Per seed,
  // the gain on the fifth of the test set where the teacher is least sure (its margin, top-1 minus
  // top-2 probability, smallest) minus the gain on the fifth where it is surest.
  const book::PairedDifference& low = margins.smallest_gain.front();
  const book::PairedDifference& high = margins.smallest_gain.back();
  const book::PairedDifference least_minus_most = book::paired_difference(high.per_seed, low.per_seed);
  const book::Verdict least_confident{
      fmt::format("With {} of the data, the soft targets' gain is largest on the least-confident fifth: the fifth of the "
                  "test images with the smallest teacher margin gains more than the fifth with the largest",
                  percent(fractions.front())),
      book::paired_criterion("excess of the soft - hard gain in test accuracy on the fifth of the test images with the "
                             "smallest teacher margin over the gain on the fifth with the largest",
                             book::kSmallestAccuracyEffect, "0.2 points of accuracy, 4 of a fifth's 2,000 images"),
      least_minus_most.outcome(book::kSmallestAccuracyEffect),
      fmt::format("gain on the smallest-margin fifth {}, on the largest-margin fifth {}; excess per seed {}, 95% CI {}",
                  low.to_string(3), high.to_string(3), least_minus_most.to_string(3),
                  least_minus_most.per_seed.size() >= 2 ? least_minus_most.confidence_interval().to_string(3) : "-")};
  return {{"little_data", little_data}, {"least_confident_fifth", least_confident}};
}

}  // namespace

int chapter(const book::Options& options) {
  fmt::print("Chapter 6: little data (seed {}{})\n", options.seed, options.quick ? ", --quick" : "");
  const Design design = design_of(options);

  // --- 1. data and teacher ---------------------------------------------------------------
  book::banner(1, "Data and the cached teacher");
  const book::Classroom classroom = book::open_classroom(options);
  const book::BookData& data = classroom.data;

  // --- 2. transfer sets -------------------------------------------------------------------
  book::banner(2, "Transfer sets and the training budget");
  fmt::print("each seed draws its own stratified transfer set from the split's {} training images; the teacher\n"
             "(trained on all of them) gives soft targets for it; hard and soft students of a seed share the\n"
             "transfer set, the initial weights and the batches. Every student takes at least {} steps and {}\n"
             "epochs. T and alpha are chosen per fraction on the {} validation images, by the mean over\n"
             "seeds {} (each draws its own transfer set: one seed's choice is partly luck), then compared on\n"
             "seeds {} .. {}.\n",
             data.split.train.size(), design.min_steps, design.min_epochs, data.split.validation.size(),
             fmt::join(design.tuning_seeds, ", "), design.seeds.front(), design.seeds.back());

  // --- 3. hard against soft at each fraction ------------------------------------------------
  book::banner(3, "Hard against soft at each fraction");
  book::Lab lab(classroom, book::Lab::workers_for(options));
  const Measured measured = hard_against_soft(design, lab, options);

  // --- 4. accuracy against fraction -------------------------------------------------------
  book::banner(4, "Test accuracy against the size of the transfer set");
  const nlohmann::json by_fraction = accuracy_against_fraction(design, measured, classroom.teacher_test_accuracy, options);

  // --- 5. accuracy by the teacher's margin ----------------------------------------------------
  book::banner(5, "By the teacher's margin: the gain on each fifth of the test set");
  const ByMargin margins = accuracy_by_margin(design, measured, classroom, options);

  // --- 6. report -------------------------------------------------------------------------
  book::banner(6, "Report");
  for (const size_t f : {size_t{0}, design.fractions.size() - 1}) {
    const book::HardSoftComparison& m = measured.at[f];
    fmt::print("at {}: {}\n", percent(design.fractions[f]),
               book::paired_difference(test_accuracies(m.hard), test_accuracies(m.soft)).describe());
  }
  nlohmann::json results = by_fraction;
  results["teacher_test_accuracy"] = classroom.teacher_test_accuracy;
  results["student"] = book::StudentConfig{.widths = kWidths}.to_json();
  results["student"].erase("seed");
  results["student"].erase("epochs");
  results["min_epochs"] = design.min_epochs;
  results["min_steps"] = design.min_steps;
  results["tuning_seeds"] = design.tuning_seeds;
  results["seeds"] = design.seeds;
  results["fractions"] = design.fractions;
  results["margin_buckets"] = margins.buckets;
  results["teacher_config"] = classroom.teacher.config;
  book::finish_with_verdicts(options, results, verdicts(design, measured, margins));
  return 0;
}

int main(int argc, char** argv) {
  return book::run_chapter(argc, argv, "ch06_low_data", "Chapter 6: soft targets with little data", chapter);
}
