// Chapter 9: what makes a good teacher. Teachers that differ in one thing at a time, and the
// same student distilled from each, over paired seeds:
//
// 1. Data, the teachers (ch02's teacher after some of its epochs; three short teachers of different
//    seeds, a twin of each trained with label smoothing, and their ensemble) and the student.
// 2. Every teacher measured: accuracy, NLL, calibration, how its wrong-class mass is spread.
// 3. Teacher strength: students of ch02's teacher after 1 .. 24 epochs.
// 4. Label smoothing: three smoothed teachers against their twins: class similarities, students.
// 5. An ensemble against its best member: calibration, reliability diagram, students.
// 6. Temperature scaling: the temperature that calibrates the teacher against the one that teaches.
// 7. Report and verdicts.
#include "chapters/common/experiment.h"
#include "chapters/common/options.h"
#include "chapters/common/plot.h"
#include "chapters/common/report.h"
#include "chapters/lab/lab.h"
#include "nn/metrics.h"
#include "tensor/ops.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <string>

namespace {

// --- configuration -------------------------------------------------------------------
// The student is chapter 5's small one (the one soft targets helped most there), and it learns, as
// in chapter 8, from a stratified tenth of the training split drawn anew for each seed: there,
// distillation is worth about a point, enough to tell teachers apart.
struct Plan {
  std::vector<int64_t> widths;      // the student
  double fraction;                  // of the training split each student learns from
  int64_t epochs;                   // the student's
  int seeds;                        // students per (teacher, T)
  std::vector<float> temperatures;  // each teacher's T is chosen among these, on validation
  float alpha;                      // weight of the soft term
  int64_t teacher_epochs;           // of the short teachers (sections 4 and 5), all alike
  float smoothing;                  // label smoothing of section 4's smoothed teachers
  int members;                      // of section 5's ensemble; section 4 has as many pairs of twins
  int64_t bins;                     // of the calibration measures and reliability diagrams
};
const Plan kPlan = {.widths = {784, 100, 10},
                    .fraction = 0.1,
                    .epochs = 24,
                    .seeds = 5,
                    .temperatures = {1, 2, 4},
                    .alpha = 0.5f,
                    .teacher_epochs = 2,
                    .smoothing = 0.1f,
                    .members = 3,
                    .bins = 15};
const Plan kQuickPlan = {.widths = {784, 32, 10},
                         .fraction = 0.5,
                         .epochs = 2,
                         .seeds = 2,
                         .temperatures = {1, 4},
                         .alpha = 0.5f,
                         .teacher_epochs = 1,
                         .smoothing = 0.1f,
                         .members = 2,
                         .bins = 10};
// "As accurate": the smoothed teachers may trail their twins by at most this much test accuracy, on average, for
// section 4's question to be asked fairly.
constexpr double kAsAccurate = 0.005;

// --- the teachers --------------------------------------------------------------------
// A teacher, and what the chapter measures of it.
struct Teacher {
  std::string name;    // names rows, files and results
  std::string about;   // one line for tables
  int64_t epochs = 0;  // it was trained for (0: an ensemble)
  book::TeacherCache cache;
  double validation_accuracy = 0;  // on the validation split: what choices between teachers are made on
  double test_accuracy = 0;
  double test_nll = 0;  // nats
  double test_ece = 0;
  double fitted_t = 0;         // temperature scaling's T, fitted on the validation split
  double test_ece_scaled = 0;  // ECE of logits / fitted_t
  double test_nll_scaled = 0;
  double wrong_entropy_bits = 0;  // of the wrong-class mass, on the training images, T = 1
  nlohmann::json to_json() const {
    return {{"name", name},
            {"about", about},
            {"epochs", epochs},
            {"validation_accuracy", validation_accuracy},
            {"test_accuracy", test_accuracy},
            {"test_nll", test_nll},
            {"test_ece", test_ece},
            {"fitted_T", fitted_t},
            {"test_ece_after_scaling", test_ece_scaled},
            {"test_nll_after_scaling", test_nll_scaled},
            {"wrong_class_entropy_bits", wrong_entropy_bits},
            {"config", cache.config}};
  }
};

Teacher measure(std::string name, std::string about, int64_t epochs, book::TeacherCache cache, const book::BookData& d,
                int64_t bins) {
  Teacher t{std::move(name), std::move(about), epochs, std::move(cache)};
  const nn::Labels& test_labels = d.data.test.labels;
  const tensor::Tensor validation = tensor::index_select(t.cache.train_logits, 0, d.split.validation);
  const nn::Labels validation_labels = book::labels_of(d.data.train, d.split.validation);
  t.validation_accuracy = nn::accuracy(validation, validation_labels);
  t.test_accuracy = nn::accuracy(t.cache.test_logits, test_labels);
  t.test_nll = nn::mean_nll(t.cache.test_logits, test_labels);
  t.test_ece = nn::expected_calibration_error(t.cache.test_logits, test_labels, bins);
  t.fitted_t = nn::fit_temperature(validation, validation_labels);
  const tensor::Tensor scaled = tensor::div(t.cache.test_logits, static_cast<float>(t.fitted_t));
  t.test_ece_scaled = nn::expected_calibration_error(scaled, test_labels, bins);
  t.test_nll_scaled = nn::mean_nll(scaled, test_labels);
  t.wrong_entropy_bits = nn::wrong_class_entropy_bits(tensor::index_select(t.cache.train_logits, 0, d.split.train),
                                                      book::labels_of(d.data.train, d.split.train));
  return t;
}

// --- the students, in the lab ------------------------------------------------------------
// The chapter's students as the lab knows them: a seed fixes the student's transfer set, initial
// weights and batches, whatever the teacher, so students of one seed differ only in what they
// learn from. Every teacher is a teacher of the lab, by its name.
class Students {
 public:
  Students(const Plan& plan, book::Lab& lab, const std::vector<uint64_t>& seeds) : plan_(plan), lab_(lab) {
    for (uint64_t seed : seeds) lab.add_stratified(plan.fraction, seed);
  }
  void add_teacher(const Teacher& t) { lab_.add_teacher(t.name, t.cache.train_logits); }
  // The student of `teacher` (ignored for hard labels) with these targets and seed.
  book::StudentKey key(const Teacher& teacher, const book::Targets& targets, uint64_t seed) const {
    return {.config = {.widths = plan_.widths, .epochs = plan_.epochs, .seed = seed},
            .targets = targets,
            .transfer = lab_.add_stratified(plan_.fraction, seed),
            .teacher = teacher.name};
  }
  // Trains, side by side, the students of every teacher with every targets and seed, and the hard ones.
  void train(const std::vector<const Teacher*>& teachers, const std::vector<book::Targets>& targets,
             const std::vector<uint64_t>& seeds, const std::string& label) {
    std::vector<book::StudentKey> keys;
    for (uint64_t seed : seeds) keys.push_back(key(Teacher{}, book::Targets::hard(), seed));
    for (const Teacher* t : teachers) {
      for (const book::Targets& targets_ : targets) {
        for (uint64_t seed : seeds) keys.push_back(key(*t, targets_, seed));
      }
    }
    lab_.run(keys, label);
  }
  // Agreement and KL are measured against chapter 2's teacher by score_student: not read here.
  std::vector<double> hard(const std::vector<uint64_t>& seeds) const { return test(Teacher{}, book::Targets::hard(), seeds); }
  std::vector<double> validation(const Teacher& t, const book::Targets& targets, const std::vector<uint64_t>& seeds) const {
    std::vector<double> out;
    for (uint64_t s : seeds) out.push_back(lab_.result(key(t, targets, s)).scores.validation_accuracy);
    return out;
  }
  std::vector<double> test(const Teacher& t, const book::Targets& targets, const std::vector<uint64_t>& seeds) const {
    std::vector<double> out;
    for (uint64_t s : seeds) out.push_back(lab_.result(key(t, targets, s)).scores.test_accuracy);
    return out;
  }

 private:
  const Plan& plan_;
  book::Lab& lab_;
};

// What a teacher's students come to: the T chosen on validation among the plan's, and at that T
// the students' accuracies and their gain over the hard students of the same seeds.
struct Taught {
  float temperature = 0;
  double validation = 0;        // mean validation accuracy at the chosen T
  std::vector<double> test;     // per seed
  book::PairedDifference gain;  // test accuracy minus the hard students'
  nlohmann::json per_t = nlohmann::json::array();
  nlohmann::json to_json() const {
    return {{"T", temperature},
            {"validation_accuracy", validation},
            {"test_accuracy", test},
            {"minus_hard", gain.to_json()},
            {"per_T", per_t}};
  }
};

Taught teach(const Plan& plan, const Teacher& teacher, const std::vector<uint64_t>& seeds, Students& runs) {
  const std::vector<double> hard = runs.hard(seeds);
  std::vector<book::Candidate> candidates;
  Taught out;
  for (float t : plan.temperatures) {
    const book::Targets targets = book::Targets::soft(t, plan.alpha);
    const std::vector<double> val = runs.validation(teacher, targets, seeds);
    candidates.push_back({targets, book::mean_std(val).mean, val});
    out.per_t.push_back(
        {{"T", t}, {"validation_accuracy", val}, {"test_accuracy", runs.test(teacher, targets, seeds)}});
  }
  const book::Candidate& best = book::best_on_validation(candidates);
  out.temperature = best.targets.temperature;
  out.validation = best.validation_accuracy;
  out.test = runs.test(teacher, best.targets, seeds);
  out.gain = book::paired_difference(hard, out.test);
  return out;
}

const std::vector<std::string> kTaughtHeaders = {"teacher",
                                                 "teacher test accuracy",
                                                 "T (validation)",
                                                 "student validation",
                                                 "student test accuracy",
                                                 "minus hard (paired)",
                                                 "95% CI"};
std::vector<std::string> taught_row(const Teacher& t, const Taught& s) {
  return {t.name,
          fmt::format("{:.4f}", t.test_accuracy),
          tensor::to_string(s.temperature),
          fmt::format("{:.4f}", s.validation),
          book::mean_std(s.test).to_string(),
          s.gain.to_string(),
          s.gain.confidence_interval().to_string()};
}

// One teacher's students against another's, seed by seed, for a verdict: `a` minus `b`.
book::PairedDifference versus(const Taught& a, const Taught& b) { return book::paired_difference(b.test, a.test); }

// Two teachers' students side by side: each taught at its own T, a table printed and written to
// `csv`, and `a`'s students minus `b`'s.
struct Duel {
  Taught a, b;
  book::PairedDifference a_minus_b;
};
Duel duel(const Plan& plan, const Teacher& a, const Teacher& b, const std::vector<uint64_t>& seeds, Students& runs,
          const book::Options& options, const std::string& csv) {
  Duel out{teach(plan, a, seeds, runs), teach(plan, b, seeds, runs), {}};
  out.a_minus_b = versus(out.a, out.b);
  book::Table table(kTaughtHeaders);
  table.add_row(taught_row(a, out.a));
  table.add_row(taught_row(b, out.b));
  fmt::print("their students, mean over seeds {} .. {}:\n{}", seeds.front(), seeds.back(), table.to_text());
  book::write_file(options.file(csv), table.to_csv());
  return out;
}

// --- 3. teacher strength -------------------------------------------------------------------
std::vector<int64_t> course_epochs_of(const std::vector<Teacher>& course) {
  std::vector<int64_t> epochs;
  for (const Teacher& t : course) epochs.push_back(t.epochs);
  return epochs;
}

struct Strength : book::Finding {
  std::vector<Taught> taught;    // one per teacher of the course, final last
  nlohmann::json short_teacher;  // a short teacher's students against the finished teacher's
};

Strength teacher_strength(const Plan& plan, const std::vector<Teacher>& course, const Teacher& short_teacher,
                          const std::vector<uint64_t>& seeds, Students& runs, const book::Options& options) {
  Strength out;
  book::Table table(kTaughtHeaders);
  out.json = nlohmann::json::array();
  for (const Teacher& t : course) {
    out.taught.push_back(teach(plan, t, seeds, runs));
    table.add_row(taught_row(t, out.taught.back()));
    out.json.push_back(
        {{"teacher", t.name}, {"teacher_test_accuracy", t.test_accuracy}, {"student", out.taught.back().to_json()}});
  }
  const std::vector<int64_t> epochs = course_epochs_of(course);
  fmt::print(
      "chapter 2's teacher after {} epochs, each teaching the student at its own T, mean over seeds {} .. {}:\n{}",
      fmt::join(epochs, ", "), seeds.front(), seeds.back(), table.to_text());
  book::write_file(options.file("teacher_strength.csv"), table.to_csv());
  // Beyond the course, for the record (not the verdict's question): a short teacher of section 4,
  // trained for a few epochs on a schedule of its own, against the finished teacher.
  const Taught from_short = teach(plan, short_teacher, seeds, runs);
  const book::PairedDifference short_minus_finished = versus(from_short, out.taught.back());
  fmt::print("for comparison, {} ({}, test accuracy {:.4f}, its T {}): {}\n", short_teacher.name, short_teacher.about,
             short_teacher.test_accuracy, tensor::to_string(from_short.temperature),
             short_minus_finished.describe(4, short_teacher.name + " - " + course.back().name + " students"));

  // The most accurate teacher (on validation) against the one whose students do best (on validation).
  size_t most_accurate = 0, best_teacher = 0;
  for (size_t k = 0; k < course.size(); ++k) {
    if (course[k].validation_accuracy > course[most_accurate].validation_accuracy) most_accurate = k;
    if (book::beats(out.taught[k].validation, out.taught[best_teacher].validation)) best_teacher = k;
  }
  std::string evidence = fmt::format(
      "most accurate on validation: {} ({:.4f} test); its students {:+.4f} over hard; best students on validation: {} "
      "({:.4f} test accuracy as a teacher)",
      course[most_accurate].name, course[most_accurate].test_accuracy, out.taught[most_accurate].gain.difference.mean,
      course[best_teacher].name, course[best_teacher].test_accuracy);
  // The most accurate teacher also has the best students on validation: the opposite of the claim.
  book::Outcome outcome = book::Outcome::opposite;
  if (best_teacher != most_accurate) {
    const book::PairedDifference d = versus(out.taught[best_teacher], out.taught[most_accurate]);
    outcome = d.outcome(book::kSmallestAccuracyEffect);
    evidence += "; " + d.describe(4, course[best_teacher].name + " - " + course[most_accurate].name + " students");
  }
  out.short_teacher = {{"teacher", short_teacher.name},
                       {"teacher_test_accuracy", short_teacher.test_accuracy},
                       {"student", from_short.to_json()},
                       {"minus_finished_teacher_students", short_minus_finished.to_json()}};
  out.verdict = {
      "The most accurate teacher is not always the best teacher (Cho and Hariharan 2019): a less accurate snapshot of "
      "chapter 2's teacher teaches the student better than the finished teacher",
      fmt::format("among the teacher after each of {} epochs, the one whose students (each teacher at its own T in "
                  "{{{}}}, alpha = {}) have the best mean validation accuracy is not the most accurate teacher on "
                  "validation (else opposite); then its students minus the most accurate teacher's on test, paired "
                  "over {} seeds, decide: 95% interval above 0 holds, below 0 opposite, inside +-{} (0.2 points of "
                  "accuracy) no effect, else cannot tell",
                  fmt::join(epochs, ", "), fmt::join(plan.temperatures, ", "), tensor::to_string(plan.alpha),
                  seeds.size(), book::kSmallestAccuracyEffect),
      outcome, evidence};
  return out;
}

// --- 4. label smoothing --------------------------------------------------------------------
using Matrix = std::vector<std::vector<double>>;

// The class-similarity matrix of chapter 4 (nn::class_similarity, T = 1, training images), and the
// same with its diagonal left out, for the heatmap: there the wrong classes are all there is to see.
Matrix similarity(const Teacher& t, const book::BookData& d) {
  return nn::class_similarity(tensor::index_select(t.cache.train_logits, 0, d.split.train),
                              book::labels_of(d.data.train, d.split.train));
}

book::Heatmap wrong_class_heatmap(const Teacher& t, const Matrix& s) {
  Matrix off = s;
  for (size_t y = 0; y < off.size(); ++y) off[y][y] = 0.0;
  book::Heatmap h{
      fmt::format("{}: mean probability of each wrong class (T = 1, training images; diagonal left out)", t.name),
      "class the teacher gives probability to",
      "true class",
      {},
      {},
      off,
      "mean probability"};
  for (auto name : nn::kFashionMnistClasses) {
    h.rows.emplace_back(name);
    h.columns.emplace_back(name);
  }
  return h;
}

// The share of each class's wrong-class mass that its most plausible wrong class takes, averaged
// over the classes: 1/9 when the wrong classes are all alike.
double top_wrong_share(const Matrix& s) {
  double total = 0.0;
  for (size_t y = 0; y < s.size(); ++y) {
    double top = 0.0;
    for (size_t c = 0; c < s[y].size(); ++c) {
      if (c != y) top = std::max(top, s[y][c]);
    }
    total += top / (1.0 - s[y][y]);
  }
  return total / static_cast<double>(s.size());
}

book::Finding label_smoothing(const Plan& plan, const std::vector<Teacher>& plain, const std::vector<Teacher>& smoothed,
                       const std::vector<uint64_t>& seeds, Students& runs, const book::Classroom& classroom,
                       const book::Options& options) {
  const book::BookData& d = classroom.data;
  book::Table teachers({"teacher", "test accuracy", "test NLL", "wrong-class mass (T = 1)",
                        "wrong-class entropy (bits)", "top wrong class's share"});
  std::vector<Matrix> similarities;  // [pair][plain, smoothed]
  for (size_t k = 0; k < plain.size(); ++k) {
    for (const Teacher* t : {&plain[k], &smoothed[k]}) {
      const Matrix s = similarity(*t, d);
      double wrong_mass = 0.0;
      for (size_t y = 0; y < s.size(); ++y) wrong_mass += (1.0 - s[y][y]) / static_cast<double>(s.size());
      teachers.add_row({t->name, fmt::format("{:.4f}", t->test_accuracy), fmt::format("{:.4f}", t->test_nll),
                        fmt::format("{:.4f}", wrong_mass), fmt::format("{:.3f}", t->wrong_entropy_bits),
                        fmt::format("{:.3f}", top_wrong_share(s))});
      similarities.push_back(s);
    }
  }
  fmt::print(
      "the twins (wrong-class numbers over the training images; {:.2f} bits and a share of {:.3f} would mean "
      "every wrong class alike):\n{}",
      std::log2(9.0), 1.0 / 9.0, teachers.to_text());
  book::write_file(options.file("label_smoothing_teachers.csv"), teachers.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, "similarity_plain", wrong_class_heatmap(plain[0], similarities[0])));
  fmt::print("{}\n",
             book::save_plot(options.out, "similarity_smoothed", wrong_class_heatmap(smoothed[0], similarities[1])));

  // Each pair's students, then, seed by seed, the mean over the pairs: one teacher of each kind
  // would compare two draws of teacher, whose own differences are as large as the effect.
  const size_t n = seeds.size();
  std::vector<double> plain_mean(n, 0.0), smoothed_mean(n, 0.0);
  std::vector<double> pair_means;
  double plain_accuracy = 0.0, smoothed_accuracy = 0.0;
  nlohmann::json pairs = nlohmann::json::array();
  for (size_t k = 0; k < plain.size(); ++k) {
    const Duel duel_k =
        duel(plan, plain[k], smoothed[k], seeds, runs, options, fmt::format("label_smoothing_students_{}.csv", k + 1));
    for (size_t i = 0; i < n; ++i) {
      plain_mean[i] += duel_k.a.test[i] / static_cast<double>(plain.size());
      smoothed_mean[i] += duel_k.b.test[i] / static_cast<double>(plain.size());
    }
    pair_means.push_back(duel_k.a_minus_b.difference.mean);
    plain_accuracy += plain[k].test_accuracy / static_cast<double>(plain.size());
    smoothed_accuracy += smoothed[k].test_accuracy / static_cast<double>(plain.size());
    pairs.push_back({{"plain",
                      {{"teacher", plain[k].name},
                       {"top_wrong_share", top_wrong_share(similarities[2 * k])},
                       {"student", duel_k.a.to_json()}}},
                     {"smoothed",
                      {{"teacher", smoothed[k].name},
                       {"top_wrong_share", top_wrong_share(similarities[2 * k + 1])},
                       {"student", duel_k.b.to_json()}}},
                     {"plain_minus_smoothed_students", duel_k.a_minus_b.to_json()}});
  }
  const book::PairedDifference d_students = book::paired_difference(smoothed_mean, plain_mean);
  const bool every_pair = std::all_of(pair_means.begin(), pair_means.end(), [](double m) { return m > 0; });
  const double accuracy_gap = smoothed_accuracy - plain_accuracy;
  const bool as_accurate = accuracy_gap >= -kAsAccurate;
  fmt::print("over the {} pairs, seed by seed: {}; each pair's mean: {:+.4f}\n", plain.size(),
             d_students.describe(4, "plain - smoothed teachers' students"), fmt::join(pair_means, ", "));
  book::Finding out;
  out.json = {{"smoothing", plan.smoothing},
              {"similarity", {{"plain", similarities[0]}, {"smoothed", similarities[1]}}},
              {"pairs", pairs},
              {"plain_test_accuracy", plain_accuracy},
              {"smoothed_test_accuracy", smoothed_accuracy},
              {"pair_means", pair_means},
              {"plain_minus_smoothed_students", d_students.to_json()}};
  out.verdict = {
      "A label-smoothed teacher teaches worse, even when it is as accurate (Muller et al. 2019: smoothing erases the "
      "dark knowledge in the wrong-class probabilities)",
      fmt::format(
          "{} pairs of twin teachers (seeds {} .. {}), one of each pair trained with label smoothing {}: the "
          "smoothed ones trail their twins by at most {:.1f} points of test accuracy on average, and the twins' "
          "students beat the smoothed teachers' on test (each teacher at its own T chosen on validation, "
          "alpha = {}; per seed the mean over the pairs, {} seeds): the paired 95% interval decides (above 0 "
          "holds, below 0 opposite, inside +-{} (0.2 points of accuracy) no effect, else cannot tell); it holds "
          "only if, besides, every pair's mean difference is above 0 (else opposite); smoothed teachers less "
          "accurate than that leave the question unfair: cannot tell",
          plain.size(), plain.front().cache.config.value("seed", uint64_t{0}),
          plain.back().cache.config.value("seed", uint64_t{0}), tensor::to_string(plan.smoothing), 100.0 * kAsAccurate,
          tensor::to_string(plan.alpha), n, book::kSmallestAccuracyEffect),
      book::all_of({book::precondition(as_accurate),
                    book::unless_diverged(book::met(every_pair), d_students.diverged()),
                    d_students.outcome(book::kSmallestAccuracyEffect)}),
      fmt::format("teachers {:.4f} (plain) and {:.4f} (smoothed) on average, smoothed - plain {:+.4f}; wrong-class "
                  "entropy {:.3f} and {:.3f} bits (first pair); {}; each pair's mean {:+.4f}",
                  plain_accuracy, smoothed_accuracy, accuracy_gap, plain[0].wrong_entropy_bits,
                  smoothed[0].wrong_entropy_bits, d_students.describe(4, "plain - smoothed teachers' students"),
                  fmt::join(pair_means, ", "))};
  return out;
}

// --- 5. the ensemble ------------------------------------------------------------------------
book::Series reliability(const std::string& name, const tensor::Tensor& logits, const nn::Labels& labels,
                         int64_t bins) {
  book::Series s{name, {}, {}};
  for (const nn::ReliabilityBin& b : nn::reliability_diagram(logits, labels, bins)) {
    if (b.count == 0) continue;
    s.x.push_back(b.confidence);
    s.y.push_back(b.accuracy);
  }
  return s;
}

book::LinePlot reliability_plot(std::string title, std::vector<book::Series> series) {
  series.insert(series.begin(), book::Series{"calibrated (accuracy = confidence)", {0, 1}, {0, 1}});
  return {std::move(title), "confidence (mean top probability of the bin)", "accuracy in the bin", std::move(series)};
}

book::Finding ensemble(const Plan& plan, const std::vector<Teacher>& members, const Teacher& mean_p, const Teacher& mean_z,
                const std::vector<uint64_t>& seeds, Students& runs, const book::Classroom& classroom,
                const book::Options& options) {
  size_t best = 0;
  for (size_t k = 0; k < members.size(); ++k) {
    if (members[k].validation_accuracy > members[best].validation_accuracy) best = k;
  }
  const Teacher& member = members[best];
  book::Table teachers({"teacher", "validation accuracy", "test accuracy", "test NLL", "test ECE"});
  std::vector<const Teacher*> rows;
  for (const Teacher& m : members) rows.push_back(&m);
  rows.push_back(&mean_p);
  rows.push_back(&mean_z);
  for (const Teacher* t : rows) {
    teachers.add_row({t->name + (t == &member ? " (best member)" : ""), fmt::format("{:.4f}", t->validation_accuracy),
                      fmt::format("{:.4f}", t->test_accuracy), fmt::format("{:.4f}", t->test_nll),
                      fmt::format("{:.4f}", t->test_ece)});
  }
  fmt::print(
      "the members and the ensembles (probabilities averaged: the one that teaches; logits averaged, for "
      "comparison):\n{}",
      teachers.to_text());
  book::write_file(options.file("ensemble_teachers.csv"), teachers.to_csv());
  const nn::Labels& labels = classroom.data.data.test.labels;
  fmt::print("{}\n", book::save_plot(
                         options.out, "reliability_ensemble",
                         reliability_plot("Reliability on the test set: the ensemble and its best member",
                                          {reliability(member.name, member.cache.test_logits, labels, plan.bins),
                                           reliability(mean_p.name, mean_p.cache.test_logits, labels, plan.bins)})));

  const Duel students = duel(plan, mean_p, member, seeds, runs, options, "ensemble_students.csv");
  const Taught &from_ensemble = students.a, &from_member = students.b;
  const book::PairedDifference& d = students.a_minus_b;
  book::Finding out;
  out.json = {{"members",
               [&] {
                 nlohmann::json m = nlohmann::json::array();
                 for (const Teacher& t : members) m.push_back(t.name);
                 return m;
               }()},
              {"best_member", member.name},
              {"averaging", "probabilities"},
              {"best_member_student", from_member.to_json()},
              {"ensemble_student", from_ensemble.to_json()},
              {"ensemble_minus_member_students", d.to_json()}};
  out.verdict = {
      "An ensemble of teachers teaches better than its best member (Hinton et al. 2015's setting)",
      fmt::format("the students of the ensemble of {} teachers (probabilities averaged) beat those of its best member "
                  "(on validation) on test, each teacher at its own T chosen on validation, alpha = {}; {}",
                  members.size(), tensor::to_string(plan.alpha),
                  book::paired_criterion(fmt::format("difference over {} seeds", seeds.size()), book::kSmallestAccuracyEffect,
                                         "0.2 points of accuracy")),
      d.outcome(book::kSmallestAccuracyEffect),
      fmt::format("ensemble {:.4f} test accuracy, NLL {:.4f}, ECE {:.4f}; best member ({}) {:.4f}, {:.4f}, {:.4f}; {}",
                  mean_p.test_accuracy, mean_p.test_nll, mean_p.test_ece, member.name, member.test_accuracy,
                  member.test_nll, member.test_ece, d.describe(4, "ensemble - member students"))};
  return out;
}

// --- 6. temperature scaling ----------------------------------------------------------------
book::Finding temperature_scaling(const Plan& plan, const Teacher& teacher, const Taught& taught,
                           const std::vector<uint64_t>& seeds, Students& runs, const book::Classroom& classroom,
                           const book::Options& options) {
  const nn::Labels& labels = classroom.data.data.test.labels;
  const auto fitted = static_cast<float>(teacher.fitted_t);
  fmt::print("{}: T fitted on the validation split {:.3f}; test ECE {:.4f} -> {:.4f}, test NLL {:.4f} -> {:.4f}\n",
             teacher.name, teacher.fitted_t, teacher.test_ece, teacher.test_ece_scaled, teacher.test_nll,
             teacher.test_nll_scaled);
  const tensor::Tensor scaled = tensor::div(teacher.cache.test_logits, fitted);
  fmt::print("{}\n", book::save_plot(
                         options.out, "reliability_scaling",
                         reliability_plot(fmt::format("Reliability on the test set: {} before and after temperature "
                                                      "scaling (T = {:.2f})",
                                                      teacher.name, teacher.fitted_t),
                                          {reliability("as trained", teacher.cache.test_logits, labels, plan.bins),
                                           reliability("scaled", scaled, labels, plan.bins)})));
  // Distilling at T_fit is distilling from the calibrated teacher at T = 1.
  const book::Targets at_fitted = book::Targets::soft(fitted, plan.alpha);
  runs.train({&teacher}, {at_fitted}, seeds, "students of the calibrated teacher");
  const std::vector<double> calibrated = runs.test(teacher, at_fitted, seeds);
  const book::PairedDifference hard_gain = book::paired_difference(runs.hard(seeds), calibrated);
  const book::PairedDifference d = book::paired_difference(calibrated, taught.test);
  book::Table table({"distilled at", "student test accuracy", "minus hard (paired)", "95% CI"});
  table.add_row({fmt::format("T = {:.3f} (calibrated teacher at T = 1)", teacher.fitted_t),
                 book::mean_std(calibrated).to_string(), hard_gain.to_string(),
                 hard_gain.confidence_interval().to_string()});
  table.add_row({fmt::format("T = {} (chosen on validation)", tensor::to_string(taught.temperature)),
                 book::mean_std(taught.test).to_string(), taught.gain.to_string(),
                 taught.gain.confidence_interval().to_string()});
  fmt::print("students of {}, mean over seeds {} .. {}:\n{}", teacher.name, seeds.front(), seeds.back(),
             table.to_text());
  book::write_file(options.file("temperature_scaling.csv"), table.to_csv());
  const bool calibrates = teacher.test_ece_scaled < teacher.test_ece;
  const bool hotter = taught.temperature > fitted;
  book::Finding out;
  out.json = {{"teacher", teacher.name},
              {"fitted_T", teacher.fitted_t},
              {"test_ece", teacher.test_ece},
              {"test_ece_after_scaling", teacher.test_ece_scaled},
              {"test_nll", teacher.test_nll},
              {"test_nll_after_scaling", teacher.test_nll_scaled},
              {"distillation_T", taught.temperature},
              {"student_at_fitted_T", {{"test_accuracy", calibrated}, {"minus_hard", hard_gain.to_json()}}},
              {"chosen_minus_fitted_students", d.to_json()}};
  out.verdict = {
      "The temperature that calibrates the teacher is not the one that teaches best: distillation wants a hotter "
      "teacher than a calibrated one",
      fmt::format("temperature scaling (T fitted on the validation split's NLL) lowers the teacher's test ECE; the T "
                  "chosen for distillation on validation (among {{{}}}) is above the fitted T; and the students "
                  "distilled at the chosen T beat those distilled at the fitted T on test (paired over {} seeds: the "
                  "95% interval above 0 holds, below 0 opposite, inside +-{} (0.2 points of accuracy) no effect, "
                  "else cannot tell); a scaling that does not calibrate leaves the question unasked (cannot tell), "
                  "a chosen T not above the fitted one is the opposite",
                  fmt::join(plan.temperatures, ", "), seeds.size(), book::kSmallestAccuracyEffect),
      book::all_of({book::precondition(calibrates), book::met(hotter), d.outcome(book::kSmallestAccuracyEffect)}),
      fmt::format("fitted T {:.3f}, test ECE {:.4f} -> {:.4f}; distillation's T {}; {}", teacher.fitted_t,
                  teacher.test_ece, teacher.test_ece_scaled, tensor::to_string(taught.temperature),
                  d.describe(4, "chosen T - fitted T students"))};
  return out;
}

// Student gain against teacher accuracy, one series per kind of teacher.
book::Series gain_series(const std::string& name, const std::vector<const Teacher*>& teachers,
                         const std::vector<const Taught*>& taught) {
  book::Series s{name, {}, {}, {}};
  for (size_t k = 0; k < teachers.size(); ++k) {
    const double n = static_cast<double>(taught[k]->gain.per_seed.size());
    s.x.push_back(teachers[k]->test_accuracy);
    s.y.push_back(100.0 * taught[k]->gain.difference.mean);
    s.error.push_back(100.0 * taught[k]->gain.difference.std / std::sqrt(n));
  }
  return s;
}

// Every teacher of the chapter: chapter 2's course, the short teachers, their smoothed twins and
// their ensembles.
struct Staff {
  std::vector<Teacher> course;    // chapter 2's teacher after 1, 2, 4, 8, 16 epochs and finished
  std::vector<Teacher> members;   // short teachers of seeds N, N+1, ...
  std::vector<Teacher> smoothed;  // a twin of each member, trained with label smoothing
  Teacher mean_p, mean_z;         // the members' ensemble: probabilities averaged (teaches), logits averaged
  // All of them, in the order of the teachers' table.
  std::vector<const Teacher*> all() const {
    std::vector<const Teacher*> out;
    for (const std::vector<Teacher>* group : {&course, &members, &smoothed}) {
      for (const Teacher& t : *group) out.push_back(&t);
    }
    out.push_back(&mean_p);
    out.push_back(&mean_z);
    return out;
  }
};

// Section 1: chapter 2's course (cached by it), and the short teachers, trained here once and cached
// in `out/teachers` (chapter 2's settings but for the epochs; seed included in what the cache must match).
Staff gather_teachers(const Plan& plan, const book::Options& options, const book::BookData& d) {
  Staff staff;
  for (book::NamedTeacher& t : book::load_or_train_teacher_course(options, d)) {
    staff.course.push_back(measure(t.name,
                                   fmt::format("chapter 2's teacher after {} epoch{}", t.epochs, t.epochs == 1 ? "" : "s"),
                                   t.epochs, std::move(t.cache), d, plan.bins));
  }
  const std::string teacher_dir = options.file("teachers");
  book::TeacherConfig short_config = book::teacher_config(options);
  short_config.epochs = plan.teacher_epochs;
  short_config.snapshot_epochs.clear();
  const auto short_teacher = [&](uint64_t seed, float smoothing) {
    book::TeacherConfig c = short_config;
    c.seed = seed;
    c.label_smoothing = smoothing;
    const std::string name = fmt::format("{}_seed{}", smoothing > 0 ? "smoothed" : "plain", seed);
    const auto teacher_start = std::chrono::steady_clock::now();
    book::TeacherCache cache = book::load_or_train_teacher(teacher_dir, name, c, d);
    fmt::print("  {} ready in {:.0f} s\n", name,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - teacher_start).count());
    return measure(name,
                   fmt::format("{} epoch{}, seed {}{}", c.epochs, c.epochs == 1 ? "" : "s", seed,
                               smoothing > 0 ? ", label smoothing " + tensor::to_string(smoothing) : ""),
                   c.epochs, std::move(cache), d, plan.bins);
  };
  for (int k = 0; k < plan.members; ++k) staff.members.push_back(short_teacher(options.seed + static_cast<uint64_t>(k), 0.0f));
  for (int k = 0; k < plan.members; ++k) {
    staff.smoothed.push_back(short_teacher(options.seed + static_cast<uint64_t>(k), plan.smoothing));
  }
  std::vector<book::TeacherCache> member_caches;
  for (const Teacher& m : staff.members) member_caches.push_back(m.cache);
  staff.mean_p = measure("ensemble", fmt::format("{} plain teachers, probabilities averaged", staff.members.size()), 0,
                         book::average_teachers(member_caches, book::Averaging::probabilities), d, plan.bins);
  staff.mean_z = measure("ensemble_logits", fmt::format("{} plain teachers, logits averaged", staff.members.size()), 0,
                         book::average_teachers(member_caches, book::Averaging::logits), d, plan.bins);
  return staff;
}

// Section 2: what each teacher is, as a table; returns the teachers as JSON.
nlohmann::json describe_teachers(const Plan& plan, const Staff& staff, const book::Options& options) {
  book::Table teachers({"teacher", "what", "validation accuracy", "test accuracy", "test NLL", "test ECE", "fitted T",
                        "ECE after", "wrong-class entropy (bits)"});
  nlohmann::json json = nlohmann::json::array();
  for (const Teacher* t : staff.all()) {
    teachers.add_row({t->name, t->about, fmt::format("{:.4f}", t->validation_accuracy),
                      fmt::format("{:.4f}", t->test_accuracy), fmt::format("{:.4f}", t->test_nll),
                      fmt::format("{:.4f}", t->test_ece), fmt::format("{:.3f}", t->fitted_t),
                      fmt::format("{:.4f}", t->test_ece_scaled), fmt::format("{:.3f}", t->wrong_entropy_bits)});
    json.push_back(t->to_json());
  }
  fmt::print(
      "{}(ECE over {} bins; fitted T: temperature scaling on the validation split; wrong-class entropy on the "
      "training images at T = 1, at most {:.2f} bits)\n",
      teachers.to_text(), plan.bins, std::log2(9.0));
  book::write_file(options.file("teachers.csv"), teachers.to_csv());
  return json;
}

// Section 7's plot: student gain against teacher accuracy, the course as a line, the short teachers
// (of other kinds) as points.
void plot_gain_against_accuracy(const Plan& plan, const Staff& staff, const Strength& strength,
                                const std::vector<uint64_t>& seeds, Students& runs, const book::Options& options) {
  std::vector<const Teacher*> course_teachers;
  std::vector<const Taught*> course_taught;
  for (size_t k = 0; k < staff.course.size(); ++k) {
    course_teachers.push_back(&staff.course[k]);
    course_taught.push_back(&strength.taught[k]);
  }
  std::vector<book::Series> series = {
      gain_series(fmt::format("chapter 2's teacher after {} epochs", fmt::join(course_epochs_of(staff.course), ", ")),
                  course_teachers, course_taught)};
  const auto kind = [&](const std::string& name, const std::vector<const Teacher*>& teachers) {
    std::vector<Taught> taught;
    for (const Teacher* t : teachers) taught.push_back(teach(plan, *t, seeds, runs));
    std::vector<const Taught*> pointers;
    for (const Taught& t : taught) pointers.push_back(&t);
    book::Series s = gain_series(name, teachers, pointers);
    s.joined = false;
    series.push_back(s);
  };
  std::vector<const Teacher*> plain_ones, smoothed_ones;
  for (const Teacher& t : staff.members) plain_ones.push_back(&t);
  for (const Teacher& t : staff.smoothed) smoothed_ones.push_back(&t);
  kind(fmt::format("{}-epoch teachers", plan.teacher_epochs), plain_ones);
  kind(fmt::format("{}-epoch teachers, label smoothing {}", plan.teacher_epochs, tensor::to_string(plan.smoothing)),
       smoothed_ones);
  kind("their ensemble", {&staff.mean_p});
  fmt::print(
      "{}\n",
      book::save_plot(options.out, "gain_vs_teacher_accuracy",
                      book::LinePlot{fmt::format("The students' gain over hard labels: {:+.2f} points from the "
                                                 "weakest snapshot of chapter 2's teacher, {:+.2f} from the finished "
                                                 "one (mean and standard error of {} seeds)",
                                                 series[0].y.front(), series[0].y.back(), seeds.size()),
                                     "teacher test accuracy", "student's soft - hard test accuracy (points)", series}));
}

}  // namespace

int chapter(const book::Options& options) {
  fmt::print("Chapter 9: what makes a good teacher (seed {}{})\n", options.seed, options.quick ? ", --quick" : "");
  const Plan& plan = options.quick ? kQuickPlan : kPlan;
  const std::vector<uint64_t> seeds = book::seed_range(options.seed, plan.seeds);
  const auto start = std::chrono::steady_clock::now();

  // --- 1. data, teachers, student ------------------------------------------------------------
  book::banner(1, "Data, the teachers and the student");
  const book::Classroom classroom = book::open_classroom(options);
  const book::BookData& d = classroom.data;
  const Staff staff = gather_teachers(plan, options, d);
  const double teachers_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(
      "the student: {}; alpha = {}, each teacher's T chosen on validation among {{{}}}; on seeds {} .. {} the "
      "students of every teacher learn from the same images, start from the same weights and see the same batches\n",
      book::StudentConfig{.widths = plan.widths, .epochs = plan.epochs}.describe(plan.fraction, d.split.train.size()),
      tensor::to_string(plan.alpha), fmt::join(plan.temperatures, ", "), seeds.front(), seeds.back());

  // --- 2. the teachers -----------------------------------------------------------------------
  book::banner(2, "The teachers");
  const nlohmann::json teachers_json = describe_teachers(plan, staff, options);
  // Every teacher but the logit-averaged ensemble (measured, never teaching) teaches at each T.
  book::Lab lab(classroom, book::Lab::workers_for(options));
  Students runs(plan, lab, seeds);
  std::vector<const Teacher*> teaching = staff.all();
  teaching.pop_back();
  for (const Teacher* t : teaching) runs.add_teacher(*t);
  std::vector<book::Targets> grid;
  for (float t : plan.temperatures) grid.push_back(book::Targets::soft(t, plan.alpha));
  fmt::print("every teacher's students at each T, and the hard students, side by side ({} at once):\n", lab.workers());
  runs.train(teaching, grid, seeds, "students of every teacher");

  // --- 3. teacher strength ------------------------------------------------------------------
  book::banner(3, "Teacher strength");
  const Strength strength = teacher_strength(plan, staff.course, staff.members.front(), seeds, runs, options);

  // --- 4. label smoothing -------------------------------------------------------------------
  book::banner(4, "Label smoothing");
  const book::Finding smoothing = label_smoothing(plan, staff.members, staff.smoothed, seeds, runs, classroom, options);

  // --- 5. the ensemble ------------------------------------------------------------------------
  book::banner(5, "An ensemble teacher");
  const book::Finding ensembles = ensemble(plan, staff.members, staff.mean_p, staff.mean_z, seeds, runs, classroom, options);

  // --- 6. temperature scaling ---------------------------------------------------------------
  book::banner(6, "Calibration and temperature scaling");
  const book::Finding scaling =
      temperature_scaling(plan, staff.course.back(), strength.taught.back(), seeds, runs, classroom, options);

  // --- 7. report ------------------------------------------------------------------------------
  book::banner(7, "Report");
  plot_gain_against_accuracy(plan, staff, strength, seeds, runs, options);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("{} students, {:.0f} s of student training; teachers ready after {:.0f} s; {:.0f} s in all\n",
             lab.trained(), lab.student_seconds(), teachers_seconds, total);
  nlohmann::json results;
  const book::StudentConfig defaults;
  results["student_training"] = defaults.to_json();
  results["student_training"]["widths"] = plan.widths;
  results["student_training"]["epochs"] = plan.epochs;
  results["student_training"]["transfer_fraction"] = plan.fraction;
  results["student_training"].erase("seed");
  results["seeds"] = seeds;
  results["alpha"] = plan.alpha;
  results["temperatures"] = plan.temperatures;
  results["teachers"] = teachers_json;
  results["teacher_strength"] = strength.json;
  results["short_teacher_against_finished"] = strength.short_teacher;
  results["label_smoothing"] = smoothing.json;
  results["ensemble"] = ensembles.json;
  results["temperature_scaling"] = scaling.json;
  results["students_trained"] = lab.trained();
  results["student_training_seconds"] = lab.student_seconds();
  results["teachers_seconds"] = teachers_seconds;
  results["total_seconds"] = total;
  book::finish_with_verdicts(options, results,
                             {{"teacher_strength", strength.verdict},
                              {"label_smoothing", smoothing.verdict},
                              {"ensemble", ensembles.verdict},
                              {"temperature_scaling", scaling.verdict}});
  return 0;
}

int main(int argc, char** argv) {
  return book::run_chapter(argc, argv, "ch09_good_teacher", "Chapter 9: what makes a good teacher", chapter);
}
