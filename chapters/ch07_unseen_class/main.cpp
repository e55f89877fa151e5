// Chapter 7: the class never seen. Every image of one class is removed from the transfer set;
// can a student still recognise that class, from the probability the teacher gives it on other
// images? And how much more does a shift of that class's output bias recover?
//
// 1. Data and the cached teacher.
// 2. The omitted class, and where knowledge of it could come from.
// 3. T and alpha, chosen on the validation split (a tuning seed of their own), by each
//    student's validation accuracy after its bias fix: the model a reader would use.
// 4. Hard against soft over five further seeds, before and after the bias fix.
// 5. The reference: the same soft student, shirts included, on the same seeds.
// 6. Report and verdict.
#include "chapters/common/experiment.h"
#include "chapters/common/options.h"
#include "chapters/common/plot.h"
#include "chapters/common/report.h"
#include "chapters/common/verdict.h"
#include "chapters/lab/lab.h"
#include "nn/metrics.h"
#include "tensor/ops.h"

#include <fmt/core.h>

#include <limits>
#include <string>

namespace {

using tensor::Tensor;

// --- configuration -------------------------------------------------------------------
const std::vector<int64_t> kWidths = {784, 100, 10};      // chapter 5's small student
constexpr int64_t kEpochs = 20;
constexpr int kSeeds = 5;                                  // compared on options.seed + 1 ... + 5
const std::vector<float> kTemperatures = {1, 2, 4};        // the validation grid (T = 8 and 20 lost
const std::vector<float> kAlphas = {0.5f, 0.9f, 1.0f};     // at every alpha in earlier runs)
const std::vector<float> kMassTemperatures = {1, 4, 20};  // where the knowledge comes from, at these T
constexpr int kBiasSteps = 600;                           // bias shifts tried: 0, 0.05, ..., 30
constexpr double kBiasStep = 0.05;
constexpr double kTeacherShare = 0.9;  // the target: after the shift, this share of the teacher's accuracy on the class

std::string name(size_t c) { return std::string(nn::kFashionMnistClasses[c]); }

// The class the teacher's soft targets say most about when it is absent: the largest mean
// teacher probability (T = 1) over the other classes' training images, averaged over those classes.
size_t class_with_most_borrowed_mass(const std::vector<std::vector<double>>& mass) {
  size_t best = 0;
  double best_mass = -1.0;
  for (size_t c = 0; c < mass.size(); ++c) {
    double borrowed = 0.0;
    for (size_t y = 0; y < mass.size(); ++y) borrowed += y != c ? mass[y][c] : 0.0;
    if (borrowed > best_mass) {
      best_mass = borrowed;
      best = c;
    }
  }
  return best;
}

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

// One student, measured before and after its bias fix.
struct Run {
  double validation_accuracy = 0;  // before the fix
  double validation_accuracy_after_bias = 0;  // after it: what T and alpha are chosen on (the model a reader would use)
  Accuracies test;                 // before the fix
  double bias_shift = 0;           // chosen on validation
  Accuracies test_after_bias;
};

// A student of the lab, measured on the omitted class before and after its bias fix.
Run measure(const book::StudentResult& s, const book::BookData& data, size_t omitted) {
  const nn::Labels validation_labels = book::labels_of(data.data.train, data.split.validation);
  if (s.diverged) {  // no predictions: NaN, which the statistics carry to the verdict
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return {nan, nan, {nan, nan}, nan, {nan, nan}};
  }
  Run r;
  r.validation_accuracy = s.scores.validation_accuracy;
  r.test = accuracies(s.test_logits, data.data.test.labels, omitted);
  const BiasShift fix = best_bias_shift(s.validation_logits, validation_labels, omitted);
  r.bias_shift = fix.shift;
  r.validation_accuracy_after_bias = fix.validation_accuracy;
  r.test_after_bias = accuracies(shifted(s.test_logits, omitted, r.bias_shift), data.data.test.labels, omitted);
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
  const std::vector<float> temperatures = options.quick ? std::vector<float>{2, 4} : kTemperatures;
  nlohmann::json results;

  // --- 1. data and teacher ---------------------------------------------------------------
  book::banner(1, "Data and the cached teacher");
  const book::Classroom classroom = book::open_classroom(options);
  const book::BookData& data = classroom.data;
  const nn::Labels& train_labels = data.data.train.labels;

  // --- 2. the omitted class ------------------------------------------------------------------
  book::banner(2, "The omitted class");
  const Tensor train_part_logits = tensor::index_select(classroom.teacher.train_logits, 0, data.split.train);
  const nn::Labels train_part_labels = book::labels_of(data.data.train, data.split.train);
  const size_t omitted = class_with_most_borrowed_mass(nn::class_similarity(train_part_logits, train_part_labels, 1.0f));
  const std::vector<int64_t> transfer =
      nn::without_classes(train_labels, data.split.train, {static_cast<int64_t>(omitted)});
  fmt::print("omitted: {} (of the ten classes, the teacher gives it the most probability on the other classes'\n"
             "training images, so its soft targets say the most about it); the transfer set keeps {} of the\n"
             "{} training images. The validation and test sets keep all classes: T, alpha and the bias shift\n"
             "are chosen with the validation split's labelled {} images, the weights never see one.\n",
             name(omitted), transfer.size(), data.split.train.size(), name(omitted));
  // Where the knowledge can come from: the teacher's mass on the omitted class, per true class.
  std::vector<std::string> headers = {"true class"};
  for (float t : kMassTemperatures) headers.push_back(fmt::format("mean p({}) at T={}", name(omitted), tensor::to_string(t)));
  book::Table source(headers);
  book::LinePlot source_plot{fmt::format("Teacher's mean probability of {} on the transfer set's images", name(omitted)),
                             "true class", "mean probability", {}};
  std::vector<std::vector<std::vector<double>>> mass;  // [temperature][true class][class]
  for (float t : kMassTemperatures) mass.push_back(nn::class_similarity(train_part_logits, train_part_labels, t));
  nlohmann::json source_json = nlohmann::json::array();
  for (size_t k = 0; k < kMassTemperatures.size(); ++k) {
    book::Series series{fmt::format("T = {}", tensor::to_string(kMassTemperatures[k])), {}, {}};
    for (size_t y = 0; y < mass[k].size(); ++y) {
      if (y == omitted) continue;
      series.x.push_back(static_cast<double>(series.x.size()));
      series.y.push_back(mass[k][y][omitted]);
      if (k == 0) source_plot.x_ticks.push_back(name(y));
    }
    source_plot.series.push_back(series);
  }
  for (size_t y = 0; y < mass[0].size(); ++y) {
    if (y == omitted) continue;
    std::vector<std::string> row = {name(y)};
    nlohmann::json entry = {{"class", name(y)}};
    for (size_t k = 0; k < kMassTemperatures.size(); ++k) {
      row.push_back(fmt::format("{:.5f}", mass[k][y][omitted]));
      entry[fmt::format("T{}", tensor::to_string(kMassTemperatures[k]))] = mass[k][y][omitted];
    }
    source.add_row(row);
    source_json.push_back(entry);
  }
  fmt::print("{}", source.to_text());
  book::write_file(options.file("omitted_class_mass.csv"), source.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, "omitted_class_mass", source_plot));

  // --- 3. T and alpha on validation, then the comparison ---------------------------------------
  const std::vector<uint64_t> seeds = book::seed_range(options.seed + 1, kSeeds);
  book::banner(3, fmt::format("Choosing T and alpha on the validation split (seed {}), then comparing on seeds {} .. {}",
                              options.seed, seeds.front(), seeds.back()));
  book::Lab lab(classroom, book::Lab::workers_for(options));
  lab.add_transfer_set("without " + name(omitted), transfer);
  const auto student = [&](const book::Targets& targets, uint64_t seed) {
    return book::StudentKey{.config = {.widths = kWidths, .epochs = epochs, .seed = seed},
                            .targets = targets,
                            .transfer = "without " + name(omitted)};
  };
  // T and alpha are chosen on the validation accuracy after the fix: the model a reader would use.
  const book::HardSoftComparison trained = book::compare_hard_soft(
      lab, student, book::soft_grid(temperatures, kAlphas), {options.seed}, seeds, "students without " + name(omitted),
      [&](const book::StudentResult& r) { return measure(r, data, omitted).validation_accuracy_after_bias; });
  const auto measured = [&](const std::vector<const book::StudentResult*>& students) {
    std::vector<Run> out;
    for (const book::StudentResult* s : students) out.push_back(measure(*s, data, omitted));
    return out;
  };
  const auto print = [&](uint64_t seed, const book::Targets& targets, const Run& r) {
    fmt::print("  seed {:<3} {:<22} validation {:.4f} ({:.4f} after a shift of {:.2f})  test: {} {:.4f} ({:.4f} after), "
               "all {:.4f} ({:.4f} after)\n",
               seed, targets.describe(), r.validation_accuracy, r.validation_accuracy_after_bias, r.bias_shift,
               name(omitted), r.test.omitted, r.test_after_bias.omitted, r.test.overall, r.test_after_bias.overall);
  };
  struct {
    std::vector<Run> hard, soft;
    book::Targets chosen;
    std::vector<book::Candidate> candidates;
  } comparison{measured(trained.hard), measured(trained.soft), trained.chosen, trained.candidates};
  const Run tuning_hard = measure(*trained.tuning_hard.front(), data, omitted);
  print(options.seed, book::Targets::hard(), tuning_hard);
  for (size_t g = 0; g < trained.candidates.size(); ++g) {
    print(options.seed, trained.candidates[g].targets, measure(*trained.tuning_soft[g].front(), data, omitted));
  }
  for (size_t k = 0; k < seeds.size(); ++k) {
    print(seeds[k], book::Targets::hard(), comparison.hard[k]);
    print(seeds[k], comparison.chosen, comparison.soft[k]);
  }
  fmt::print("chosen: T = {}, alpha = {} (hard labels on seed {}: validation {:.4f})\n",
             tensor::to_string(comparison.chosen.temperature), tensor::to_string(comparison.chosen.alpha), options.seed,
             tuning_hard.validation_accuracy);

  // --- 4. results, and the bias fix ----------------------------------------------------------
  book::banner(4, "Hard against soft, before and after the bias fix");
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
    const std::vector<double> h = values(comparison.hard, m.get), s = values(comparison.soft, m.get);
    const book::PairedDifference d = book::paired_difference(h, s);
    table.add_row({m.label, book::mean_std(h).to_string(), book::mean_std(s).to_string(), d.to_string(),
                   d.beyond_two_std() ? "yes" : "no"});
    hard_json[m.key] = book::mean_std(h).mean;
    soft_json[m.key] = book::mean_std(s).mean;
    hard_json[m.key + "_per_seed"] = h;
    soft_json[m.key + "_per_seed"] = s;
    difference_json[m.key] = d.to_json();
  }
  fmt::print("the shift added to the {} logit is the one in 0 .. {} (steps of {}) that maximises each student's\n"
             "accuracy on the validation split; the test set only measures it. Mean +- std over seeds {} .. {}\n{}",
             name(omitted), kBiasSteps * kBiasStep, kBiasStep, seeds.front(), seeds.back(), table.to_text());
  book::write_file(options.file("hard_vs_soft.csv"), table.to_csv());
  book::LinePlot plot{fmt::format("Test accuracy on {}, a class missing from the transfer set", name(omitted)),
                      "",
                      fmt::format("{} test accuracy (mean +- std over seeds)", name(omitted)),
                      {},
                      false,
                      {"before the shift", "after the shift"}};
  for (const auto& [label, runs] : {std::pair{std::string("hard labels"), &comparison.hard},
                                    std::pair{comparison.chosen.describe(), &comparison.soft}}) {
    const book::MeanStd before = book::mean_std(values(*runs, measures[0].get));
    const book::MeanStd after = book::mean_std(values(*runs, measures[3].get));
    plot.series.push_back({label, {0, 1}, {before.mean, after.mean}, {before.std, after.std}});
  }
  fmt::print("{}\n", book::save_plot(options.out, "omitted_class_accuracy", plot));

  // --- 5. the reference: what the same student reaches when it does see the class -----------
  book::banner(5, fmt::format("The reference: the same soft student with {} in its transfer set", name(omitted)));
  std::vector<book::StudentKey> seeing;
  for (uint64_t seed : seeds) {
    seeing.push_back({.config = {.widths = kWidths, .epochs = epochs, .seed = seed}, .targets = comparison.chosen});
  }
  std::vector<double> reference;  // its omitted-class test accuracy, per comparison seed
  const std::vector<const book::StudentResult*> twins = lab.run(seeing, "students that see " + name(omitted));
  for (size_t k = 0; k < seeds.size(); ++k) {
    reference.push_back(accuracies(twins[k]->test_logits, data.data.test.labels, omitted).omitted);
    fmt::print("  seed {:<3} {:<22} all {} training images: test {} {:.4f}\n", seeds[k], comparison.chosen.describe(),
               data.split.train.size(), name(omitted), reference.back());
  }
  const std::vector<double> soft_after = values(comparison.soft, measures[3].get);
  const book::MeanStd seen = book::mean_std(reference);
  const book::MeanStd after = book::mean_std(soft_after);
  const double reference_share = after.mean / seen.mean;
  fmt::print("{} test accuracy when the student sees the class: {}; the student that never saw it reaches {:.1f}%\n"
             "of that after its shift: what seeing the class gives this student, with these targets and epochs.\n",
             name(omitted), seen.to_string(), 100.0 * reference_share);

  // --- 6. report -------------------------------------------------------------------------
  book::banner(6, "Report");
  const double teacher_omitted = accuracies(classroom.teacher.test_logits, data.data.test.labels, omitted).omitted;
  fmt::print("{} never seen: hard student {:.4f}, soft student {:.4f}, soft after the bias shift {:.4f} "
             "(teacher {:.4f})\n",
             name(omitted), hard_json["omitted_class_accuracy"].get<double>(),
             soft_json["omitted_class_accuracy"].get<double>(),
             soft_json["omitted_class_accuracy_after_bias"].get<double>(), teacher_omitted);
  results["omitted_class"] = name(omitted);
  results["omitted_class_index"] = omitted;
  results["transfer_images"] = transfer.size();
  results["teacher_test_accuracy"] = classroom.teacher_test_accuracy;
  results["teacher_omitted_class_accuracy"] = teacher_omitted;
  results["teacher_mass_on_omitted_class"] = source_json;
  results["student"] = book::StudentConfig{.widths = kWidths, .epochs = epochs}.to_json();
  results["student"].erase("seed");
  results["tuning_seed"] = options.seed;
  results["seeds"] = seeds;
  results["validation_grid"] = book::to_json(comparison.candidates);
  results["T"] = comparison.chosen.temperature;
  results["alpha"] = comparison.chosen.alpha;
  results["hard"] = hard_json;
  results["soft"] = soft_json;
  results["soft_minus_hard"] = difference_json;
  results["teacher_config"] = classroom.teacher.config;
  // Claim 6: the soft student recognises the class it never saw (the hard one cannot: it never
  // saw the label), and the bias fix recovers more. How close that comes to the teacher is
  // reported beside the verdict, against the target of kTeacherShare of its accuracy there.
  const std::vector<double> hard_before = values(comparison.hard, measures[0].get);
  const std::vector<double> soft_before = values(comparison.soft, measures[0].get);
  const book::PairedDifference learned = book::paired_difference(hard_before, soft_before);
  const book::PairedDifference fixed = book::paired_difference(soft_before, soft_after);
  const double share = after.mean / teacher_omitted;
  const double seen_share = seen.mean / teacher_omitted;  // the reference's share of the teacher's accuracy
  fmt::print("after the shift the soft student reaches {:.1f}% of the teacher's accuracy on {} (target: {:.0f}%: {});\n"
             "the same student seeing the class reaches {:.1f}%\n",
             100.0 * share, name(omitted), 100.0 * kTeacherShare, share >= kTeacherShare ? "met" : "not met",
             100.0 * seen_share);
  results["teacher_share_after_bias"] = {{"share", share}, {"target", kTeacherShare}, {"met", share >= kTeacherShare}};
  results["seen_class_reference"] = {{"targets", comparison.chosen.describe()},
                                     {"transfer_images", data.split.train.size()},
                                     {"omitted_class_accuracy", seen.mean},
                                     {"omitted_class_accuracy_per_seed", reference},
                                     {"teacher_share", seen_share},
                                     {"share_reached_after_bias", reference_share}};
  const book::Verdict verdict{
      fmt::format("A student can learn a class it never saw: taught with soft targets on a transfer set without {}, it "
                  "recognises some of its images, and a shift of that class's output bias recovers more",
                  name(omitted)),
      fmt::format("two paired differences, by seed: the soft student's {} test accuracy minus the hard student's, and "
                  "after the bias shift minus before; each 95% Student's t interval above 0 holds, below 0 opposite, "
                  "inside +-{} (0.2 points of accuracy) no effect, else cannot tell; the verdict holds when both hold "
                  "(else opposite if one is, else no effect if one is, else cannot tell)",
                  name(omitted), book::kSmallestAccuracyEffect),
      book::all_of({learned.outcome(book::kSmallestAccuracyEffect), fixed.outcome(book::kSmallestAccuracyEffect)}),
      fmt::format("{} test accuracy over {} seeds: hard {}, soft {} (soft - hard {}, 95% CI {}); after the shift {} "
                  "(the shift's gain {}, 95% CI {}): {:.1f}% of the teacher's {:.4f}, {:.1f}% of the same student's {:.4f} when it "
                  "sees the class",
                  name(omitted), seeds.size(), book::mean_std(hard_before).to_string(),
                  book::mean_std(soft_before).to_string(), learned.to_string(), learned.confidence_interval().to_string(),
                  after.to_string(), fixed.to_string(), fixed.confidence_interval().to_string(),
                  100.0 * share, teacher_omitted, 100.0 * reference_share, seen.mean)};
  book::finish_with_verdicts(options, results, {{"unseen_class", verdict}});
  return 0;
}

int main(int argc, char** argv) {
  return book::run_chapter(argc, argv, "ch07_unseen_class", "Chapter 7: a class the student never saw", chapter);
}
