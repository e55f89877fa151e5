// Chapter 5: the student. The same small network trained twice from the same start, once on
// the labels and once on the teacher's soft targets: does the soft one generalise better?
//
// 1. Data and the cached teacher.
// 2. The student, and why this one.
// 3. T and alpha, chosen on the validation split (a tuning seed of their own).
// 4. Hard against soft over four further seeds: accuracy, NLL, calibration, agreement, KL.
// 5. Learning curves of the first comparison seed.
// 6. Report.
#include "chapters/common/experiment.h"
#include "chapters/common/explorer.h"
#include "chapters/common/options.h"
#include "chapters/common/plot.h"
#include "chapters/common/report.h"
#include "nn/metrics.h"
#include "tensor/ops.h"

#include <fmt/core.h>

#include <chrono>
#include <functional>
#include <string>

namespace {

// --- configuration -------------------------------------------------------------------
const std::vector<int64_t> kWidths = {784, 100, 10};   // the student: clearly weaker than the teacher
constexpr int64_t kEpochs = 20;                         // hard and soft alike
constexpr int kSeeds = 4;                               // compared on options.seed + 1 ... + 4
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
  double seconds = 0;
};

Run train_and_score(const book::StudentConfig& config, const book::Targets& targets, const book::Classroom& classroom) {
  const auto start = std::chrono::steady_clock::now();
  book::TrainedStudent student =
      book::train_student(config, targets, classroom.data, classroom.data.split.train, classroom.teacher.train_logits);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const book::StudentScores scores = book::score_student(*student.model, classroom);
  fmt::print("  seed {:<3} {:<22} validation {:.4f}  test {:.4f}  ({:.1f} s)\n", config.seed, targets.describe(),
             scores.validation_accuracy, scores.test_accuracy, seconds);
  return {std::move(student), scores, seconds};
}

}  // namespace

int chapter(const book::Options& options) {
  fmt::print("Chapter 5: hard labels against soft targets (seed {}{})\n", options.seed, options.quick ? ", --quick" : "");
  const int64_t epochs = options.quick ? 2 : kEpochs;
  const int seeds = options.quick ? 2 : kSeeds;
  const std::vector<float> temperatures = options.quick ? std::vector<float>{2, 4} : kTemperatures;
  nlohmann::json results;

  // --- 1. data and teacher ---------------------------------------------------------------
  book::banner(1, "Data and the cached teacher");
  const book::Classroom classroom = book::open_classroom(options);

  // --- 2. the student ----------------------------------------------------------------------
  book::banner(2, "The student");
  const book::StudentConfig config{.widths = kWidths, .epochs = epochs};
  {
    tensor::Generator preview(options.seed);
    const auto mlp = book::make_mlp(kWidths, preview);
    fmt::print("{}{} parameters; SGD, momentum 0.9, peak learning rate {}, cosine schedule, {} epochs of\n"
               "batches of {}, no dropout, no weight decay, no augmentation: hard and soft students of a seed\n"
               "start from the same weights and see the same batches, only the targets differ\n",
               mlp->summary(), mlp->parameter_count(), config.lr, config.epochs, config.batch);
  }

  // --- 3. T and alpha on validation, then hard against soft ---------------------------------------
  book::banner(3, fmt::format("Choosing T and alpha on the validation split (seed {}), then comparing on seeds {} .. {}",
                              options.seed, options.seed + 1, options.seed + static_cast<uint64_t>(seeds)));
  const auto train = [&](const book::Targets& targets, uint64_t seed) {
    book::StudentConfig c = config;
    c.seed = seed;
    return train_and_score(c, targets, classroom);
  };
  const book::HardSoftComparison<Run> comparison = book::compare_hard_soft<Run>(
      book::soft_grid(temperatures, kAlphas), options.seed, book::seed_range(options.seed + 1, seeds), train,
      [](const Run& r) { return r.scores.validation_accuracy; });

  // The temperature explorer's students: the first comparison seed's hard and soft pair.
  book::write_explorer_students(options, classroom, *comparison.hard.front().student.model,
                                *comparison.soft.front().student.model, comparison.chosen, comparison.seeds.front());

  std::vector<std::string> headers = {"alpha \\ T"};
  for (float t : temperatures) headers.push_back(tensor::to_string(t));
  book::Table grid_table(headers);
  book::LinePlot grid_plot{fmt::format("Validation accuracy of the soft student against T (seed {})", options.seed),
                           "temperature T (log scale)", "validation accuracy", {}, true};
  for (float alpha : kAlphas) {
    std::vector<std::string> row = {tensor::to_string(alpha)};
    book::Series series{fmt::format("soft, alpha = {}", tensor::to_string(alpha)), {}, {}};
    for (const book::Candidate& c : comparison.candidates) {
      if (c.targets.alpha != alpha) continue;
      row.push_back(fmt::format("{:.4f}", c.validation_accuracy));
      series.x.push_back(c.targets.temperature);
      series.y.push_back(c.validation_accuracy);
    }
    grid_table.add_row(row);
    grid_plot.series.push_back(series);
  }
  const double hard_validation = comparison.tuning_hard.scores.validation_accuracy;
  grid_plot.series.push_back({"hard labels", {temperatures.front(), temperatures.back()}, {hard_validation, hard_validation}});
  fmt::print("what was tried: validation accuracy on seed {} (hard labels: {:.4f})\n{}", options.seed, hard_validation,
             grid_table.to_text());
  book::write_file(options.file("validation_grid.csv"), grid_table.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, "validation_grid", grid_plot));
  fmt::print("chosen: T = {}, alpha = {}\n", tensor::to_string(comparison.chosen.temperature),
             tensor::to_string(comparison.chosen.alpha));

  // --- 4. the comparison ------------------------------------------------------------------
  book::banner(4, fmt::format("Hard against soft over {} seeds", seeds));
  std::vector<book::StudentScores> hard_scores, soft_scores;
  for (const Run& r : comparison.hard) hard_scores.push_back(r.scores);
  for (const Run& r : comparison.soft) soft_scores.push_back(r.scores);
  book::Table table({"metric", "hard labels", "soft targets", "soft - hard (paired)", "beyond 2 std"});
  nlohmann::json hard_json, soft_json, difference_json;
  for (const Metric& m : kMetrics) {
    const std::vector<double> h = column(hard_scores, m), s = column(soft_scores, m);
    const book::PairedDifference d = book::paired_difference(h, s);
    table.add_row({m.name, book::mean_std(h).to_string(m.digits), book::mean_std(s).to_string(m.digits),
                   d.to_string(m.digits), d.beyond_two_std() ? "yes" : "no"});
    hard_json[m.key] = h;
    soft_json[m.key] = s;
    difference_json[m.key] = d.to_json();
  }
  const std::vector<uint64_t>& seed_list = comparison.seeds;
  fmt::print("mean +- std over seeds {} .. {}\n{}", seed_list.front(), seed_list.back(), table.to_text());
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
  const std::vector<double> seed_axis(seed_list.begin(), seed_list.end());
  const double teacher = classroom.teacher_test_accuracy;
  fmt::print("{}\n", book::save_plot(options.out, "test_accuracy_per_seed",
                                     book::LinePlot{"Test accuracy per seed: the same student, hard or soft targets",
                                                    "seed",
                                                    "test accuracy",
                                                    {{"hard labels", seed_axis, hard_acc},
                                                     {comparison.chosen.describe(), seed_axis, soft_acc},
                                                     {"teacher", {seed_axis.front(), seed_axis.back()}, {teacher, teacher}}}}));

  // --- 5. learning curves ----------------------------------------------------------------------
  book::banner(5, fmt::format("Learning curves (seed {})", seed_list.front()));
  book::LinePlot curves{fmt::format("Validation accuracy during training (seed {})", seed_list.front()), "epoch",
                        "validation accuracy", {}};
  for (const auto& [name, run] : {std::pair{std::string("hard labels"), &comparison.hard.front()},
                                  std::pair{comparison.chosen.describe(), &comparison.soft.front()}}) {
    book::Series s{name, {}, {}};
    for (const book::EpochRecord& r : run->student.curve) {
      s.x.push_back(static_cast<double>(r.epoch));
      s.y.push_back(r.validation_accuracy);
    }
    curves.series.push_back(s);
    fmt::print("{:<22} validation accuracy after epoch 1: {:.4f}, after the last: {:.4f}\n", name,
               run->student.curve.front().validation_accuracy, run->student.curve.back().validation_accuracy);
  }
  int soft_ahead = 0;
  for (size_t e = 0; e < comparison.hard.front().student.curve.size(); ++e) {
    soft_ahead += comparison.soft.front().student.curve[e].validation_accuracy >
                  comparison.hard.front().student.curve[e].validation_accuracy;
  }
  fmt::print("the soft student is ahead after {} of {} epochs\n", soft_ahead, comparison.hard.front().student.curve.size());
  fmt::print("{}\n", book::save_plot(options.out, "learning_curves", curves));

  // --- 6. report -------------------------------------------------------------------------
  book::banner(6, "Report");
  double seconds = comparison.tuning_hard.seconds;
  for (const std::vector<Run>* runs : {&comparison.tuning_soft, &comparison.hard, &comparison.soft}) {
    for (const Run& r : *runs) seconds += r.seconds;
  }
  fmt::print("{}: test accuracy {} (hard) vs {} (soft); {:.0f} s of student training\n",
             accuracy_difference.beyond_two_std() && accuracy_difference.difference.mean > 0
                 ? "soft targets generalise better here"
                 : "no clear gain from soft targets here",
             book::mean_std(hard_acc).to_string(), book::mean_std(soft_acc).to_string(), seconds);
  results["teacher_test_accuracy"] = teacher;
  results["student"] = config.to_json();
  results["student"].erase("seed");
  results["tuning_seed"] = comparison.tuning_seed;
  results["seeds"] = seed_list;
  results["validation_grid"] = book::to_json(comparison.candidates);
  results["hard_validation_accuracy_tuning_seed"] = hard_validation;
  results["T"] = comparison.chosen.temperature;
  results["alpha"] = comparison.chosen.alpha;
  results["hard"] = hard_json;
  results["soft"] = soft_json;
  results["soft_minus_hard"] = difference_json;
  results["gap_closed"] = gap_closed;
  results["student_training_seconds"] = seconds;
  results["teacher_config"] = classroom.teacher.config;
  book::write_results(options, results);
  fmt::print("results: {}\n", options.file("results.json"));
  return 0;
}

int main(int argc, char** argv) {
  return book::run_chapter(argc, argv, "ch05_student", "Chapter 5: hard labels against soft targets", chapter);
}
