// Chapter 5: the student. The same small network trained twice from the same start, once on
// the labels and once on the teacher's soft targets: does the soft one generalise better?
//
// 1. Data and the cached teacher.
// 2. The student, and why this one.
// 3. T and alpha, chosen on the validation split (first seed).
// 4. Hard against soft over several seeds: accuracy, NLL, calibration, agreement, KL.
// 5. Learning curves of the first seed.
// 6. Report.
#include "chapters/common/experiment.h"
#include "chapters/common/options.h"
#include "chapters/common/plot.h"
#include "chapters/common/report.h"
#include "nn/metrics.h"
#include "tensor/ops.h"

#include <fmt/core.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>

namespace {

// --- configuration -------------------------------------------------------------------
const std::vector<int64_t> kWidths = {784, 100, 10};   // the student: clearly weaker than the teacher
constexpr int64_t kEpochs = 20;                         // hard and soft alike
constexpr int kSeeds = 5;                               // options.seed, options.seed + 1, ...
const std::vector<float> kTemperatures = {1, 2, 4, 8};  // the validation grid
const std::vector<float> kAlphas = {0.5f, 0.9f};

// What is measured of each student, by name, for the tables and results.json.
struct Metric {
  std::string name;
  std::string key;  // in results.json
  int digits;
  std::function<double(const book::StudentScores&)> get;
};
const std::vector<Metric> kMetrics = {
    {"test accuracy", "test_accuracy", 4, [](const book::StudentScores& s) { return s.test_accuracy; }},
    {"test errors", "test_errors", 1, [](const book::StudentScores& s) { return static_cast<double>(s.test_errors); }},
    {"test NLL (nats)", "test_nll", 4, [](const book::StudentScores& s) { return s.test_nll; }},
    {"test ECE", "test_ece", 4, [](const book::StudentScores& s) { return s.test_ece; }},
    {"agreement with teacher", "agreement", 4, [](const book::StudentScores& s) { return s.agreement; }},
    {"KL(teacher || student) (nats)", "kl_to_teacher", 4, [](const book::StudentScores& s) { return s.kl_to_teacher; }},
    {"validation accuracy", "validation_accuracy", 4, [](const book::StudentScores& s) { return s.validation_accuracy; }},
};

std::vector<double> column(const std::vector<book::StudentScores>& runs, const Metric& m) {
  std::vector<double> out;
  for (const auto& r : runs) out.push_back(m.get(r));
  return out;
}

struct Run {
  book::TrainedStudent student;
  book::StudentScores scores;
  double seconds;
};

Run train_and_score(const book::StudentConfig& config, const book::Targets& targets, const book::Classroom& c) {
  const auto start = std::chrono::steady_clock::now();
  book::TrainedStudent s = book::train_student(config, targets, c.data, c.data.split.train, c.teacher.train_logits);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  book::StudentScores scores = book::score_student(*s.model, c);
  fmt::print("  seed {:<3} {:<22} validation {:.4f}  test {:.4f}  ({:.1f} s)\n", config.seed, targets.describe(),
             scores.validation_accuracy, scores.test_accuracy, seconds);
  return {std::move(s), scores, seconds};
}

}  // namespace

int chapter(const book::Options& options) {
  fmt::print("Chapter 5: hard labels against soft targets (seed {}{})\n", options.seed, options.quick ? ", --quick" : "");
  const int64_t epochs = options.quick ? 2 : kEpochs;
  const int seeds = options.quick ? 3 : kSeeds;
  const std::vector<float> temperatures = options.quick ? std::vector<float>{2, 4} : kTemperatures;
  nlohmann::json results;

  // --- 1. data and teacher ---------------------------------------------------------------
  book::banner(1, "Data and the cached teacher");
  const book::Classroom classroom = book::open_classroom(options);

  // --- 2. the student ----------------------------------------------------------------------
  book::banner(2, "The student");
  book::StudentConfig config{.widths = kWidths, .epochs = epochs, .seed = options.seed};
  {
    tensor::Generator preview(options.seed);
    const auto mlp = book::make_mlp(kWidths, preview);
    fmt::print("{}{} parameters; SGD, momentum 0.9, peak learning rate {}, cosine schedule, {} epochs of\n"
               "batches of {}, no dropout, no weight decay, no augmentation: hard and soft students of a seed\n"
               "start from the same weights and see the same batches, only the targets differ\n",
               mlp->summary(), mlp->parameter_count(), config.lr, config.epochs, config.batch);
  }

  // --- 3. T and alpha on validation ------------------------------------------------------------
  book::banner(3, "Choosing T and alpha on the validation split (first seed)");
  Run hard_first = train_and_score(config, book::Targets::hard(), classroom);
  std::vector<book::Candidate> candidates;
  std::map<std::pair<float, float>, Run> grid;
  for (float alpha : kAlphas) {
    for (float t : temperatures) {
      const book::Targets targets = book::Targets::soft(t, alpha);
      Run run = train_and_score(config, targets, classroom);
      candidates.push_back({targets, run.scores.validation_accuracy});
      grid.emplace(std::make_pair(t, alpha), std::move(run));
    }
  }
  const book::Candidate chosen = book::best_on_validation(candidates);
  std::vector<std::string> headers = {"alpha \\ T"};
  for (float t : temperatures) headers.push_back(tensor::to_string(t));
  book::Table grid_table(headers);
  book::LinePlot grid_plot{"Validation accuracy of the soft student against T (first seed)", "temperature T (log scale)",
                           "validation accuracy", {}, true};
  nlohmann::json grid_json = nlohmann::json::array();
  for (float alpha : kAlphas) {
    std::vector<std::string> row = {tensor::to_string(alpha)};
    book::Series series{fmt::format("soft, alpha = {}", tensor::to_string(alpha)), {}, {}};
    for (float t : temperatures) {
      const double v = grid.at({t, alpha}).scores.validation_accuracy;
      row.push_back(fmt::format("{:.4f}", v));
      series.x.push_back(t);
      series.y.push_back(v);
      grid_json.push_back({{"T", t}, {"alpha", alpha}, {"validation_accuracy", v}});
    }
    grid_table.add_row(row);
    grid_plot.series.push_back(series);
  }
  grid_plot.series.push_back({"hard labels", {temperatures.front(), temperatures.back()},
                              {hard_first.scores.validation_accuracy, hard_first.scores.validation_accuracy}});
  fmt::print("validation accuracy (hard labels: {:.4f})\n{}", hard_first.scores.validation_accuracy,
             grid_table.to_text());
  book::write_file(options.file("validation_grid.csv"), grid_table.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, "validation_grid", grid_plot));
  fmt::print("chosen: T = {}, alpha = {} (validation {:.4f})\n", tensor::to_string(chosen.targets.temperature),
             tensor::to_string(chosen.targets.alpha), chosen.validation_accuracy);

  // --- 4. hard against soft over seeds ------------------------------------------------------
  book::banner(4, fmt::format("Hard against soft over {} seeds", seeds));
  std::vector<Run> hard, soft;
  hard.push_back(std::move(hard_first));
  soft.push_back(std::move(grid.at({chosen.targets.temperature, chosen.targets.alpha})));
  for (int k = 1; k < seeds; ++k) {
    config.seed = options.seed + static_cast<uint64_t>(k);
    hard.push_back(train_and_score(config, book::Targets::hard(), classroom));
    soft.push_back(train_and_score(config, chosen.targets, classroom));
  }
  std::vector<book::StudentScores> hard_scores, soft_scores;
  for (const Run& r : hard) hard_scores.push_back(r.scores);
  for (const Run& r : soft) soft_scores.push_back(r.scores);

  book::Table table({"metric", "hard labels", "soft targets", "soft - hard (paired)", "beyond 2 std"});
  nlohmann::json hard_json, soft_json, difference_json;
  for (const Metric& m : kMetrics) {
    const std::vector<double> h = column(hard_scores, m), s = column(soft_scores, m);
    const book::PairedDifference d = book::paired_difference(h, s);
    table.add_row({m.name, book::format(book::mean_std(h), m.digits), book::format(book::mean_std(s), m.digits),
                   fmt::format("{:+.{}f} +- {:.{}f}", d.difference.mean, m.digits, d.difference.std, m.digits),
                   d.beyond_two_std() ? "yes" : "no"});
  }
  for (const Metric& m : kMetrics) {
    hard_json[m.key] = column(hard_scores, m);
    soft_json[m.key] = column(soft_scores, m);
    difference_json[m.key] = book::paired_difference(column(hard_scores, m), column(soft_scores, m)).to_json();
  }
  fmt::print("mean +- std over seeds {} .. {}\n{}", options.seed, options.seed + static_cast<uint64_t>(seeds) - 1,
             table.to_text());
  book::write_file(options.file("hard_vs_soft.csv"), table.to_csv());

  const std::vector<double> hard_acc = column(hard_scores, kMetrics[0]), soft_acc = column(soft_scores, kMetrics[0]);
  const book::PairedDifference accuracy_difference = book::paired_difference(hard_acc, soft_acc);
  const double hard_mean = book::mean_std(hard_acc).mean, soft_mean = book::mean_std(soft_acc).mean;
  fmt::print("test accuracy, {}\n", accuracy_difference.describe());
  nlohmann::json gap_closed = nullptr;  // undefined when the teacher is no better than the student
  if (classroom.teacher_test_accuracy > hard_mean) {
    gap_closed = nn::gap_closed(soft_mean, hard_mean, classroom.teacher_test_accuracy);
    fmt::print("teacher {:.4f}, hard student {:.4f}: a gap of {:.2f} points; soft targets close {:.1f}% of it\n",
               classroom.teacher_test_accuracy, hard_mean, 100.0 * (classroom.teacher_test_accuracy - hard_mean),
               100.0 * gap_closed.get<double>());
  } else {
    fmt::print("the teacher ({:.4f}) is no better than the hard student ({:.4f}): there is no gap to close\n",
               classroom.teacher_test_accuracy, hard_mean);
  }
  std::vector<double> seed_axis;
  for (int k = 0; k < seeds; ++k) seed_axis.push_back(static_cast<double>(options.seed) + k);
  fmt::print("{}\n", book::save_plot(options.out, "test_accuracy_per_seed",
                                     book::LinePlot{"Test accuracy per seed: the same student, hard or soft targets",
                                                    "seed",
                                                    "test accuracy",
                                                    {{"hard labels", seed_axis, hard_acc},
                                                     {chosen.targets.describe(), seed_axis, soft_acc},
                                                     {"teacher", {seed_axis.front(), seed_axis.back()},
                                                      {classroom.teacher_test_accuracy, classroom.teacher_test_accuracy}}}}));

  // --- 5. learning curves ----------------------------------------------------------------------
  book::banner(5, "Learning curves (first seed)");
  book::LinePlot curves{"Validation accuracy during training (first seed)", "epoch", "validation accuracy", {}};
  for (const auto& [name, run] : {std::pair{std::string("hard labels"), &hard[0]},
                                  std::pair{chosen.targets.describe(), &soft[0]}}) {
    book::Series s{name, {}, {}};
    for (const book::EpochRecord& r : run->student.curve) {
      s.x.push_back(static_cast<double>(r.epoch));
      s.y.push_back(r.validation_accuracy);
    }
    curves.series.push_back(s);
    fmt::print("{:<22} final training loss {:.4f}, validation {:.4f}\n", name, run->student.curve.back().train_loss,
               run->student.curve.back().validation_accuracy);
  }
  fmt::print("{}\n", book::save_plot(options.out, "learning_curves", curves));

  // --- 6. report -------------------------------------------------------------------------
  book::banner(6, "Report");
  double seconds = 0;
  for (const auto* runs : {&hard, &soft}) {
    for (const Run& r : *runs) seconds += r.seconds;
  }
  for (const auto& [key, run] : grid) seconds += key == std::pair{chosen.targets.temperature, chosen.targets.alpha} ? 0 : run.seconds;
  fmt::print("{}: test accuracy {} (hard) vs {} (soft); {:.0f} s of student training\n",
             accuracy_difference.beyond_two_std() && accuracy_difference.difference.mean > 0
                 ? "soft targets generalise better here"
                 : "no clear gain from soft targets here",
             book::format(book::mean_std(hard_acc)), book::format(book::mean_std(soft_acc)), seconds);
  results["teacher_test_accuracy"] = classroom.teacher_test_accuracy;
  results["student"] = config.to_json();
  results["student"].erase("seed");
  results["seeds"] = seed_axis;
  results["validation_grid"] = grid_json;
  results["hard_validation_accuracy_first_seed"] = hard[0].scores.validation_accuracy;
  results["T"] = chosen.targets.temperature;
  results["alpha"] = chosen.targets.alpha;
  results["hard"] = hard_json;
  results["soft"] = soft_json;
  results["soft_minus_hard"] = difference_json;
  results["gap_closed"] = gap_closed;
  results["student_training_seconds"] = seconds;
  results["teacher_config"] = classroom.teacher.config;
  book::write_json(options.file("results.json"), results);
  fmt::print("results: {}\n", options.file("results.json"));
  return 0;
}

int main(int argc, char** argv) {
  return book::run_chapter(argc, argv, "ch05_student", "Chapter 5: hard labels against soft targets", chapter);
}
