// Chapter 6: little data. Students learn from 1% ... 100% of the training images, with the
// labels or with the soft targets of the teacher trained on all of them. Where, and on which
// test images, do the soft targets help?
//
// 1. Data and the cached teacher.
// 2. The transfer sets and the training budget.
// 3. Hard against soft at each fraction (T and alpha chosen on validation at each).
// 4. Accuracy against fraction.
// 5. Near the decision boundary: accuracy by the teacher's margin.
// 6. Report.
#include "chapters/common/experiment.h"
#include "chapters/common/options.h"
#include "chapters/common/plot.h"
#include "chapters/common/report.h"
#include "nn/metrics.h"
#include "tensor/ops.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

namespace {

using tensor::Tensor;

// --- configuration -------------------------------------------------------------------
const std::vector<double> kFractions = {0.01, 0.02, 0.05, 0.10, 1.0};
const std::vector<int64_t> kWidths = {784, 100, 10};  // chapter 5's student
constexpr int64_t kMinEpochs = 10;                     // every transfer set is seen at least this often
constexpr int64_t kMinSteps = 1500;                    // and every student takes at least this many steps
constexpr int kSeeds = 3;                              // options.seed, options.seed + 1, ...
const std::vector<float> kTemperatures = {2, 4};       // the validation grid, at every fraction (T = 8 lost everywhere in chapter 5)
const std::vector<float> kAlphas = {0.5f, 0.9f};
constexpr int kMarginBuckets = 5;

std::string percent(double f) { return fmt::format("{:g}%", 100.0 * f); }

// A margin for a table: most of the teacher's margins are within 1e-3 of 1, so those are shown as 1 - x.
std::string margin_text(double m) {
  if (m < 0.999) return fmt::format("{:.3f}", m);
  return m < 1.0 ? fmt::format("1-{:.0e}", 1.0 - m) : std::string("1");
}

// Epochs that give at least kMinSteps steps and kMinEpochs passes over `examples` images.
int64_t budget_epochs(size_t examples, int64_t batch, int64_t min_epochs, int64_t min_steps) {
  const int64_t batches = (static_cast<int64_t>(examples) + batch - 1) / batch;
  return std::max(min_epochs, (min_steps + batches - 1) / batches);
}

struct Run {
  book::StudentScores scores;
  nn::Labels test_predictions;
};

Run train_and_score(const book::StudentConfig& config, const book::Targets& targets, const book::Classroom& c,
                    const std::vector<int64_t>& transfer) {
  const book::TrainedStudent s = book::train_student(config, targets, c.data, transfer, c.teacher.train_logits);
  Tensor test_logits;
  const book::StudentScores scores = book::score_student(*s.model, c, &test_logits);
  return {scores, nn::predictions(test_logits)};
}

// Everything measured at one fraction.
struct FractionResult {
  double fraction = 1.0;
  size_t images = 0;  // in the first seed's transfer set
  int64_t epochs = 0;
  book::Targets chosen = {};
  double hard_validation = 0;               // first seed, what the choice was compared with
  std::vector<book::Candidate> candidates = {};  // the grid, first seed
  std::vector<Run> hard = {}, soft = {};     // one per seed
  double seconds = 0;
};

std::vector<double> test_accuracies(const std::vector<Run>& runs) {
  std::vector<double> out;
  for (const Run& r : runs) out.push_back(r.scores.test_accuracy);
  return out;
}

// Accuracy of `predictions` on the test images in `bucket`.
double bucket_accuracy(const nn::Labels& predictions, const nn::Labels& labels, const std::vector<int64_t>& bucket) {
  int64_t right = 0;
  for (int64_t i : bucket) right += predictions[static_cast<size_t>(i)] == labels[static_cast<size_t>(i)] ? 1 : 0;
  return static_cast<double>(right) / static_cast<double>(bucket.size());
}

}  // namespace

int chapter(const book::Options& options) {
  fmt::print("Chapter 6: little data (seed {}{})\n", options.seed, options.quick ? ", --quick" : "");
  const int64_t min_epochs = options.quick ? 2 : kMinEpochs;
  const int64_t min_steps = options.quick ? 20 : kMinSteps;
  const std::vector<float> temperatures = options.quick ? std::vector<float>{2, 4} : kTemperatures;
  const std::vector<double> fractions = options.quick ? std::vector<double>{0.1, 1.0} : kFractions;
  nlohmann::json results;

  // --- 1. data and teacher ---------------------------------------------------------------
  book::banner(1, "Data and the cached teacher");
  const book::Classroom classroom = book::open_classroom(options);
  const book::BookData& data = classroom.data;
  const nn::Labels& test_labels = data.data.test.labels;

  // --- 2. transfer sets -------------------------------------------------------------------
  book::banner(2, "Transfer sets and the training budget");
  fmt::print("each seed draws its own stratified transfer set from the split's {} training images; the teacher\n"
             "(trained on all of them) gives soft targets for it; hard and soft students of a seed share the\n"
             "transfer set, the initial weights and the batches. Every student takes at least {} steps and {}\n"
             "epochs. T and alpha are chosen per fraction on the {} validation images (first seed).\n",
             data.split.train.size(), min_steps, min_epochs, data.split.validation.size());

  // --- 3. hard against soft at each fraction ------------------------------------------------
  book::banner(3, "Hard against soft at each fraction");
  std::vector<FractionResult> measured;
  for (double fraction : fractions) {
    const auto start = std::chrono::steady_clock::now();
    FractionResult r;
    r.fraction = fraction;
    for (int k = 0; k < kSeeds; ++k) {
      const uint64_t seed = options.seed + static_cast<uint64_t>(k);
      const std::vector<int64_t> transfer =
          fraction < 1.0 ? nn::stratified_subset(data.data.train.labels, data.split.train, fraction, seed)
                         : data.split.train;
      const book::StudentConfig config{.widths = kWidths,
                                       .epochs = budget_epochs(transfer.size(), 128, min_epochs, min_steps),
                                       .seed = seed};
      if (k == 0) {
        r.images = transfer.size();
        r.epochs = config.epochs;
        r.hard.push_back(train_and_score(config, book::Targets::hard(), classroom, transfer));
        r.hard_validation = r.hard.back().scores.validation_accuracy;
        std::vector<Run> grid;
        for (float alpha : kAlphas) {
          for (float t : temperatures) {
            grid.push_back(train_and_score(config, book::Targets::soft(t, alpha), classroom, transfer));
            r.candidates.push_back({book::Targets::soft(t, alpha), grid.back().scores.validation_accuracy});
          }
        }
        r.chosen = book::best_on_validation(r.candidates).targets;
        for (size_t i = 0; i < grid.size(); ++i) {
          if (r.candidates[i].targets.temperature == r.chosen.temperature &&
              r.candidates[i].targets.alpha == r.chosen.alpha) {
            r.soft.push_back(grid[i]);
          }
        }
      } else {
        r.hard.push_back(train_and_score(config, book::Targets::hard(), classroom, transfer));
        r.soft.push_back(train_and_score(config, r.chosen, classroom, transfer));
      }
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const book::PairedDifference d = book::paired_difference(test_accuracies(r.hard), test_accuracies(r.soft));
    fmt::print("{:>5} ({:>5} images, {:>3} epochs): chosen {} (validation {:.4f}, hard {:.4f}); test hard {}, soft {}; "
               "{} [{:.0f} s]\n",
               percent(fraction), r.images, r.epochs, r.chosen.describe(), book::best_on_validation(r.candidates).validation_accuracy,
               r.hard_validation, book::format(book::mean_std(test_accuracies(r.hard))),
               book::format(book::mean_std(test_accuracies(r.soft))), d.describe(), r.seconds);
    measured.push_back(std::move(r));
  }

  std::vector<std::string> grid_headers = {"fraction", "hard"};
  for (const book::Candidate& c : measured.front().candidates) grid_headers.push_back(c.targets.describe());
  book::Table grid_table(grid_headers);
  for (const FractionResult& r : measured) {
    std::vector<std::string> row = {percent(r.fraction), fmt::format("{:.4f}", r.hard_validation)};
    for (const book::Candidate& c : r.candidates) row.push_back(fmt::format("{:.4f}", c.validation_accuracy));
    grid_table.add_row(row);
  }
  fmt::print("what was tried: validation accuracy of the first seed's students\n{}", grid_table.to_text());
  book::write_file(options.file("validation_grid.csv"), grid_table.to_csv());

  // --- 4. accuracy against fraction -------------------------------------------------------
  book::banner(4, "Test accuracy against the size of the transfer set");
  book::Table table({"fraction", "images", "epochs", "T", "alpha", "hard labels", "soft targets", "soft - hard (paired)",
                     "beyond 2 std"});
  book::Series hard_series{"hard labels", {}, {}, {}}, soft_series{"soft targets (T, alpha chosen on validation)", {}, {}, {}};
  nlohmann::json hard_json = nlohmann::json::array(), soft_json = nlohmann::json::array(), rows = nlohmann::json::array();
  for (const FractionResult& r : measured) {
    const std::vector<double> h = test_accuracies(r.hard), s = test_accuracies(r.soft);
    const book::PairedDifference d = book::paired_difference(h, s);
    table.add_row({percent(r.fraction), std::to_string(r.images), std::to_string(r.epochs),
                   tensor::to_string(r.chosen.temperature), tensor::to_string(r.chosen.alpha),
                   book::format(book::mean_std(h)), book::format(book::mean_std(s)),
                   fmt::format("{:+.4f} +- {:.4f}", d.difference.mean, d.difference.std), d.beyond_two_std() ? "yes" : "no"});
    for (auto& [series, values] : {std::pair{&hard_series, &h}, std::pair{&soft_series, &s}}) {
      series->x.push_back(100.0 * r.fraction);
      series->y.push_back(book::mean_std(*values).mean);
      series->error.push_back(book::mean_std(*values).std);
    }
    hard_json.push_back(h);
    soft_json.push_back(s);
    nlohmann::json grid = nlohmann::json::array();
    for (const book::Candidate& c : r.candidates) {
      grid.push_back({{"T", c.targets.temperature}, {"alpha", c.targets.alpha}, {"validation_accuracy", c.validation_accuracy}});
    }
    rows.push_back({{"fraction", r.fraction}, {"images", r.images}, {"epochs", r.epochs}, {"T", r.chosen.temperature},
                    {"alpha", r.chosen.alpha}, {"hard_validation_accuracy_first_seed", r.hard_validation},
                    {"validation_grid", grid}, {"soft_minus_hard", d.to_json()}, {"seconds", r.seconds}});
  }
  fmt::print("test accuracy, mean +- std over {} seeds\n{}", kSeeds, table.to_text());
  book::write_file(options.file("accuracy_vs_fraction.csv"), table.to_csv());
  const double teacher = classroom.teacher_test_accuracy;
  fmt::print("{}\n", book::save_plot(options.out, "accuracy_vs_fraction",
                                     book::LinePlot{"Test accuracy against the size of the transfer set (mean +- std)",
                                                    "training images used (% of the split's training part, log scale)",
                                                    "test accuracy",
                                                    {hard_series, soft_series,
                                                     {"teacher (all data)", {hard_series.x.front(), hard_series.x.back()},
                                                      {teacher, teacher}}},
                                                    true}));

  // --- 5. accuracy by the teacher's margin ----------------------------------------------------
  book::banner(5, "Near the decision boundary: accuracy by the teacher's margin");
  // Margin of each test image: the teacher's top-1 minus top-2 probability at T = 1.
  const Tensor p = tensor::exp(tensor::log_softmax(classroom.teacher.test_logits, 1));
  std::vector<double> margin(static_cast<size_t>(p.shape()[0]));
  for (size_t i = 0; i < margin.size(); ++i) {
    std::vector<float> row(p.data() + i * 10, p.data() + i * 10 + 10);
    std::partial_sort(row.begin(), row.begin() + 2, row.end(), std::greater<>());
    margin[i] = row[0] - row[1];
  }
  std::vector<int64_t> order(margin.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return margin[a] < margin[b]; });
  std::vector<std::vector<int64_t>> buckets(kMarginBuckets);
  for (size_t k = 0; k < order.size(); ++k) buckets[k * kMarginBuckets / order.size()].push_back(order[k]);
  const nn::Labels teacher_predictions = nn::predictions(classroom.teacher.test_logits);
  std::vector<const FractionResult*> ends = {&measured.front(), &measured.back()};
  std::vector<std::string> headers = {"teacher margin", "images", "teacher"};
  for (const FractionResult* r : ends) {
    headers.push_back("hard @" + percent(r->fraction));
    headers.push_back("soft @" + percent(r->fraction));
    headers.push_back("soft - hard @" + percent(r->fraction));
  }
  book::Table bucket_table(headers);
  book::LinePlot bucket_plot{"Test accuracy by the teacher's margin (top-1 minus top-2 probability)",
                             "teacher's margin (quintiles of the test set)", "test accuracy", {}};
  std::vector<book::Series> bucket_series;
  for (const FractionResult* r : ends) {
    bucket_series.push_back({"hard @" + percent(r->fraction), {}, {}, {}});
    bucket_series.push_back({"soft @" + percent(r->fraction), {}, {}, {}});
  }
  nlohmann::json bucket_json = nlohmann::json::array();
  for (int b = 0; b < kMarginBuckets; ++b) {
    const std::vector<int64_t>& bucket = buckets[static_cast<size_t>(b)];
    const double lo = margin[static_cast<size_t>(bucket.front())], hi = margin[static_cast<size_t>(bucket.back())];
    const std::string range = margin_text(lo) + " .. " + margin_text(hi);
    bucket_plot.x_ticks.push_back(range);
    std::vector<std::string> row = {range, std::to_string(bucket.size()),
                                    fmt::format("{:.4f}", bucket_accuracy(teacher_predictions, test_labels, bucket))};
    nlohmann::json entry = {{"margin_min", lo}, {"margin_max", hi}, {"images", bucket.size()},
                            {"teacher_accuracy", bucket_accuracy(teacher_predictions, test_labels, bucket)}};
    for (size_t e = 0; e < ends.size(); ++e) {
      std::vector<double> h, s;
      for (const Run& run : ends[e]->hard) h.push_back(bucket_accuracy(run.test_predictions, test_labels, bucket));
      for (const Run& run : ends[e]->soft) s.push_back(bucket_accuracy(run.test_predictions, test_labels, bucket));
      const book::PairedDifference d = book::paired_difference(h, s);
      row.push_back(book::format(book::mean_std(h), 3));
      row.push_back(book::format(book::mean_std(s), 3));
      row.push_back(fmt::format("{:+.3f}{}", d.difference.mean, d.beyond_two_std() ? " *" : ""));
      for (size_t which = 0; which < 2; ++which) {
        book::Series& series = bucket_series[2 * e + which];
        series.x.push_back(b);
        series.y.push_back(book::mean_std(which == 0 ? h : s).mean);
        series.error.push_back(book::mean_std(which == 0 ? h : s).std);
      }
      entry[percent(ends[e]->fraction)] = {{"hard", h}, {"soft", s}, {"soft_minus_hard", d.to_json()}};
    }
    bucket_table.add_row(row);
    bucket_json.push_back(entry);
  }
  bucket_plot.series = bucket_series;
  fmt::print("test images in {} equal buckets by the teacher's margin; accuracy mean +- std over seeds\n"
             "(* : the paired difference is beyond 2 std)\n{}",
             kMarginBuckets, bucket_table.to_text());
  book::write_file(options.file("accuracy_by_margin.csv"), bucket_table.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, "accuracy_by_margin", bucket_plot));

  // --- 6. report -------------------------------------------------------------------------
  book::banner(6, "Report");
  for (const FractionResult* r : ends) {
    const book::PairedDifference d = book::paired_difference(test_accuracies(r->hard), test_accuracies(r->soft));
    fmt::print("at {}: {}\n", percent(r->fraction), d.describe());
  }
  std::vector<double> seeds;
  for (int k = 0; k < kSeeds; ++k) seeds.push_back(static_cast<double>(options.seed) + k);
  results["teacher_test_accuracy"] = teacher;
  results["student"] = book::StudentConfig{.widths = kWidths}.to_json();
  results["student"].erase("seed");
  results["student"].erase("epochs");
  results["min_epochs"] = min_epochs;
  results["min_steps"] = min_steps;
  results["seeds"] = seeds;
  results["fractions"] = fractions;
  results["hard_test_accuracy"] = hard_json;
  results["soft_test_accuracy"] = soft_json;
  results["per_fraction"] = rows;
  results["margin_buckets"] = bucket_json;
  results["teacher_config"] = classroom.teacher.config;
  book::write_json(options.file("results.json"), results);
  fmt::print("results: {}\n", options.file("results.json"));
  return 0;
}

int main(int argc, char** argv) {
  return book::run_chapter(argc, argv, "ch06_low_data", "Chapter 6: soft targets with little data", chapter);
}
