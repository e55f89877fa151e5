// Chapter 7: the class never seen. Every image of one class is removed from the transfer set;
// can a student still recognise that class, from the probability the teacher gives it on other
// images? And how much more does a shift of that class's output bias recover?
//
// 1. Data and the cached teacher.
// 2. The omitted class, and where knowledge of it could come from.
// 3. T and alpha, chosen on the validation split (first seed).
// 4. Hard against soft over seeds: the omitted class and the rest.
// 5. The bias fix, chosen on validation.
// 6. Report.
#include "chapters/common/experiment.h"
#include "chapters/common/options.h"
#include "chapters/common/plot.h"
#include "chapters/common/report.h"
#include "nn/metrics.h"
#include "tensor/ops.h"

#include <fmt/core.h>

#include <string>

namespace {

using tensor::Tensor;

// --- configuration -------------------------------------------------------------------
const std::vector<int64_t> kWidths = {784, 100, 10};        // chapter 5's student
constexpr int64_t kEpochs = 10;
constexpr int kSeeds = 3;                                    // options.seed, options.seed + 1, ...
const std::vector<float> kTemperatures = {2, 4, 8, 20};     // the validation grid
const std::vector<float> kAlphas = {0.5f, 0.9f};
constexpr double kMaxBiasShift = 30.0, kBiasStep = 0.05;     // the bias shifts tried on validation
constexpr size_t kClasses = 10;

std::string name(size_t c) { return std::string(nn::kFashionMnistClasses[c]); }

// The class the teacher's soft targets say most about when it is absent: the one with the
// largest mean teacher probability (T = 1) over the other classes' training images.
size_t class_with_most_borrowed_mass(const Tensor& p, const nn::Labels& labels, const std::vector<int64_t>& train) {
  std::vector<double> mass(kClasses, 0.0), count(kClasses, 0.0);
  for (int64_t i : train) {
    const auto y = static_cast<size_t>(labels[static_cast<size_t>(i)]);
    for (size_t c = 0; c < kClasses; ++c) {
      if (c != y) mass[c] += p.data()[static_cast<size_t>(i) * kClasses + c];
    }
    for (size_t c = 0; c < kClasses; ++c) count[c] += c != y ? 1.0 : 0.0;
  }
  size_t best = 0;
  for (size_t c = 0; c < kClasses; ++c) {
    if (mass[c] / count[c] > mass[best] / count[best]) best = c;
  }
  return best;
}

// Fraction of the images of class `c` predicted as c, and accuracy over all images.
struct Accuracies {
  double omitted;
  double overall;
};

Accuracies accuracies(const Tensor& logits, const nn::Labels& labels, size_t c) {
  const nn::Labels predicted = nn::predictions(logits);
  int64_t right = 0, of_c = 0, right_c = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    right += predicted[i] == labels[i] ? 1 : 0;
    if (static_cast<size_t>(labels[i]) == c) {
      ++of_c;
      right_c += predicted[i] == labels[i] ? 1 : 0;
    }
  }
  return {static_cast<double>(right_c) / static_cast<double>(of_c),
          static_cast<double>(right) / static_cast<double>(labels.size())};
}

// `logits` with `shift` added to column c.
Tensor shifted(const Tensor& logits, size_t c, double shift) {
  Tensor out = logits.clone();
  for (int64_t i = 0; i < out.shape()[0]; ++i) out.data()[static_cast<size_t>(i) * kClasses + c] += static_cast<float>(shift);
  return out;
}

// The bias shift in [0, kMaxBiasShift] that maximises accuracy on the validation logits (the smallest of equals).
double best_bias_shift(const Tensor& validation_logits, const nn::Labels& labels, size_t c) {
  double best = 0.0, best_accuracy = -1.0;
  for (double shift = 0.0; shift <= kMaxBiasShift + 1e-9; shift += kBiasStep) {
    const double a = accuracies(shifted(validation_logits, c, shift), labels, c).overall;
    if (a > best_accuracy) {
      best_accuracy = a;
      best = shift;
    }
  }
  return best;
}

// One student, measured before and after its bias fix.
struct Run {
  double validation_accuracy;  // before the fix: what T and alpha are chosen on
  Accuracies test;             // before the fix
  double bias_shift;           // chosen on validation
  Accuracies test_after_bias;
};

Run train_and_measure(const book::StudentConfig& config, const book::Targets& targets, const book::Classroom& cl,
                      const std::vector<int64_t>& transfer, size_t c) {
  const book::BookData& d = cl.data;
  const book::TrainedStudent s = book::train_student(config, targets, d, transfer, cl.teacher.train_logits);
  const Tensor validation = book::predict_logits(*s.model, d.data.train, d.split.validation, d.norm);
  const Tensor test = book::predict_logits(*s.model, d.data.test, d.test_indices, d.norm);
  const nn::Labels validation_labels = book::labels_of(d.data.train, d.split.validation);
  Run r;
  r.validation_accuracy = nn::accuracy(validation, validation_labels);
  r.test = accuracies(test, d.data.test.labels, c);
  r.bias_shift = best_bias_shift(validation, validation_labels, c);
  r.test_after_bias = accuracies(shifted(test, c, r.bias_shift), d.data.test.labels, c);
  fmt::print("  seed {:<3} {:<22} validation {:.4f}  test: {} {:.4f}, all {:.4f}\n", config.seed, targets.describe(),
             r.validation_accuracy, name(c), r.test.omitted, r.test.overall);
  return r;
}

std::vector<double> values(const std::vector<Run>& runs, double (*get)(const Run&)) {
  std::vector<double> out;
  for (const Run& r : runs) out.push_back(get(r));
  return out;
}

}  // namespace

int chapter(const book::Options& options) {
  fmt::print("Chapter 7: the class never seen (seed {}{})\n", options.seed, options.quick ? ", --quick" : "");
  const int64_t epochs = options.quick ? 2 : kEpochs;
  const std::vector<float> temperatures = options.quick ? std::vector<float>{4, 20} : kTemperatures;
  nlohmann::json results;

  // --- 1. data and teacher ---------------------------------------------------------------
  book::banner(1, "Data and the cached teacher");
  const book::Classroom classroom = book::open_classroom(options);
  const book::BookData& data = classroom.data;
  const nn::Labels& train_labels = data.data.train.labels;

  // --- 2. the omitted class ------------------------------------------------------------------
  book::banner(2, "The omitted class");
  const Tensor p_train = tensor::exp(tensor::log_softmax(classroom.teacher.train_logits, 1));
  const size_t omitted = class_with_most_borrowed_mass(p_train, train_labels, data.split.train);
  const std::vector<int64_t> transfer =
      nn::without_classes(train_labels, data.split.train, {static_cast<int64_t>(omitted)});
  fmt::print("omitted: {} (of the ten classes, the teacher gives it the most probability on the other classes'\n"
             "training images, so its soft targets say the most about it); the transfer set keeps {} of the\n"
             "{} training images. The validation and test sets keep all classes.\n",
             name(omitted), transfer.size(), data.split.train.size());
  // Where the knowledge can come from: the teacher's mass on the omitted class, per true class.
  book::Table source({"true class", "images", "mean p(omitted) at T=1", "at T=4", "at T=20"});
  book::LinePlot source_plot{fmt::format("Teacher's mean probability of {} on the transfer set's images", name(omitted)),
                             "true class", "mean probability", {}};
  nlohmann::json source_json = nlohmann::json::array();
  std::vector<std::vector<double>> mass(3, std::vector<double>(kClasses, 0.0));
  const std::vector<float> source_temperatures = {1, 4, 20};
  std::vector<double> count(kClasses, 0.0);
  for (size_t k = 0; k < source_temperatures.size(); ++k) {
    const Tensor logits = tensor::index_select(classroom.teacher.train_logits, 0, transfer);
    const Tensor p = tensor::exp(tensor::log_softmax(tensor::div(logits, source_temperatures[k]), 1));
    for (size_t i = 0; i < transfer.size(); ++i) {
      const auto y = static_cast<size_t>(train_labels[static_cast<size_t>(transfer[i])]);
      mass[k][y] += p.data()[i * kClasses + omitted];
      if (k == 0) count[y] += 1.0;
    }
  }
  for (size_t k = 0; k < source_temperatures.size(); ++k) {
    book::Series series{fmt::format("T = {}", tensor::to_string(source_temperatures[k])), {}, {}};
    for (size_t y = 0; y < kClasses; ++y) {
      if (y == omitted) continue;
      mass[k][y] /= count[y];
      series.x.push_back(static_cast<double>(series.x.size()));
      series.y.push_back(mass[k][y]);
      if (k == 0) source_plot.x_ticks.push_back(name(y));
    }
    source_plot.series.push_back(series);
  }
  for (size_t y = 0; y < kClasses; ++y) {
    if (y == omitted) continue;
    source.add_row({name(y), fmt::format("{:.0f}", count[y]), fmt::format("{:.5f}", mass[0][y]),
                    fmt::format("{:.5f}", mass[1][y]), fmt::format("{:.5f}", mass[2][y])});
    source_json.push_back({{"class", name(y)}, {"images", count[y]}, {"T1", mass[0][y]}, {"T4", mass[1][y]},
                           {"T20", mass[2][y]}});
  }
  fmt::print("{}", source.to_text());
  book::write_file(options.file("omitted_class_mass.csv"), source.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, "omitted_class_mass", source_plot));

  // --- 3. T and alpha on validation ------------------------------------------------------------
  book::banner(3, "Choosing T and alpha on the validation split (first seed)");
  book::StudentConfig config{.widths = kWidths, .epochs = epochs, .seed = options.seed};
  std::vector<Run> hard = {train_and_measure(config, book::Targets::hard(), classroom, transfer, omitted)};
  std::vector<book::Candidate> candidates;
  std::vector<Run> grid;
  for (float alpha : kAlphas) {
    for (float t : temperatures) {
      grid.push_back(train_and_measure(config, book::Targets::soft(t, alpha), classroom, transfer, omitted));
      candidates.push_back({book::Targets::soft(t, alpha), grid.back().validation_accuracy});
    }
  }
  const book::Candidate& chosen = book::best_on_validation(candidates);
  std::vector<Run> soft = {grid[static_cast<size_t>(&chosen - candidates.data())]};
  nlohmann::json grid_json = nlohmann::json::array();
  for (const book::Candidate& c : candidates) {
    grid_json.push_back({{"T", c.targets.temperature}, {"alpha", c.targets.alpha},
                         {"validation_accuracy", c.validation_accuracy}});
  }
  fmt::print("chosen: T = {}, alpha = {} (validation {:.4f}; hard labels {:.4f})\n",
             tensor::to_string(chosen.targets.temperature), tensor::to_string(chosen.targets.alpha),
             chosen.validation_accuracy, hard[0].validation_accuracy);

  // --- 4. hard against soft over seeds -----------------------------------------------------------
  book::banner(4, fmt::format("Hard against soft over {} seeds", kSeeds));
  for (int k = 1; k < kSeeds; ++k) {
    config.seed = options.seed + static_cast<uint64_t>(k);
    hard.push_back(train_and_measure(config, book::Targets::hard(), classroom, transfer, omitted));
    soft.push_back(train_and_measure(config, chosen.targets, classroom, transfer, omitted));
  }
  struct Measure {
    std::string label;
    std::string key;
    double (*get)(const Run&);
  };
  const std::vector<Measure> measures = {
      {name(omitted) + " test accuracy", "omitted_class_accuracy", [](const Run& r) { return r.test.omitted; }},
      {"overall test accuracy", "overall_accuracy", [](const Run& r) { return r.test.overall; }},
      {"bias shift (chosen on validation)", "bias_shift", [](const Run& r) { return r.bias_shift; }},
      {name(omitted) + " test accuracy after the shift", "omitted_class_accuracy_after_bias",
       [](const Run& r) { return r.test_after_bias.omitted; }},
      {"overall test accuracy after the shift", "overall_accuracy_after_bias",
       [](const Run& r) { return r.test_after_bias.overall; }},
  };
  book::Table table({"measure", "hard labels", "soft targets", "soft - hard (paired)", "beyond 2 std"});
  nlohmann::json hard_json, soft_json, difference_json;
  for (const Measure& m : measures) {
    const std::vector<double> h = values(hard, m.get), s = values(soft, m.get);
    const book::PairedDifference d = book::paired_difference(h, s);
    table.add_row({m.label, book::format(book::mean_std(h)), book::format(book::mean_std(s)),
                   fmt::format("{:+.4f} +- {:.4f}", d.difference.mean, d.difference.std), d.beyond_two_std() ? "yes" : "no"});
    hard_json[m.key] = book::mean_std(h).mean;
    soft_json[m.key] = book::mean_std(s).mean;
    hard_json[m.key + "_per_seed"] = h;
    soft_json[m.key + "_per_seed"] = s;
    difference_json[m.key] = d.to_json();
  }

  // --- 5. the bias fix -------------------------------------------------------------------------
  book::banner(5, "Results, and the bias fix");
  fmt::print("the shift added to the {} logit is the one in 0 .. {} (steps of {}) that maximises each student's\n"
             "accuracy on the validation split; the test set only measures it. Mean +- std over seeds {} .. {}\n{}",
             name(omitted), kMaxBiasShift, kBiasStep, options.seed, options.seed + kSeeds - 1, table.to_text());
  book::write_file(options.file("hard_vs_soft.csv"), table.to_csv());
  const std::vector<std::string> stages = {"before the shift", "after the shift"};
  book::LinePlot plot{fmt::format("Test accuracy on {}, a class missing from the transfer set", name(omitted)), "",
                      fmt::format("{} test accuracy (mean +- std over seeds)", name(omitted)), {}, false, stages};
  for (const auto& [label, runs] : {std::pair{std::string("hard labels"), &hard},
                                    std::pair{chosen.targets.describe(), &soft}}) {
    const book::MeanStd before = book::mean_std(values(*runs, measures[0].get));
    const book::MeanStd after = book::mean_std(values(*runs, measures[3].get));
    plot.series.push_back({label, {0, 1}, {before.mean, after.mean}, {before.std, after.std}});
  }
  fmt::print("{}\n", book::save_plot(options.out, "omitted_class_accuracy", plot));

  // --- 6. report -------------------------------------------------------------------------
  book::banner(6, "Report");
  fmt::print("{} never seen: hard student {:.4f}, soft student {:.4f}, soft after the bias shift {:.4f} "
             "(teacher {:.4f})\n",
             name(omitted), hard_json["omitted_class_accuracy"].get<double>(),
             soft_json["omitted_class_accuracy"].get<double>(),
             soft_json["omitted_class_accuracy_after_bias"].get<double>(),
             accuracies(classroom.teacher.test_logits, data.data.test.labels, omitted).omitted);
  std::vector<double> seeds;
  for (int k = 0; k < kSeeds; ++k) seeds.push_back(static_cast<double>(options.seed) + k);
  results["omitted_class"] = name(omitted);
  results["omitted_class_index"] = omitted;
  results["transfer_images"] = transfer.size();
  results["teacher_test_accuracy"] = classroom.teacher_test_accuracy;
  results["teacher_omitted_class_accuracy"] = accuracies(classroom.teacher.test_logits, data.data.test.labels, omitted).omitted;
  results["teacher_mass_on_omitted_class"] = source_json;
  results["student"] = config.to_json();
  results["student"].erase("seed");
  results["seeds"] = seeds;
  results["validation_grid"] = grid_json;
  results["T"] = chosen.targets.temperature;
  results["alpha"] = chosen.targets.alpha;
  results["hard"] = hard_json;
  results["soft"] = soft_json;
  results["soft_minus_hard"] = difference_json;
  results["teacher_config"] = classroom.teacher.config;
  book::write_json(options.file("results.json"), results);
  fmt::print("results: {}\n", options.file("results.json"));
  return 0;
}

int main(int argc, char** argv) {
  return book::run_chapter(argc, argv, "ch07_unseen_class", "Chapter 7: a class the student never saw", chapter);
}
