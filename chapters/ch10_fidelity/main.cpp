// Chapter 10: does the student learn the teacher's function? Three questions, each answered by
// students trained from the same starts on the same batches, over paired seeds:
//
// 1. Data, the cached teacher (its logits, and its weights to run it on new views) and the student.
// 2. Fidelity against generalisation: students of every T and alpha, their agreement and KL with
//    the teacher against their accuracy.
// 3. Consistent teaching: students of augmented images, taught on the view they see or from the
//    un-augmented image's soft target, against labels with the same augmentation.
// 4. Born-again networks: the student trained on labels teaches an identical network, which
//    teaches a third.
// 5. Report and verdicts.
#include "chapters/common/experiment.h"
#include "chapters/common/options.h"
#include "chapters/common/plot.h"
#include "chapters/common/report.h"
#include "chapters/common/views.h"
#include "chapters/lab/lab.h"
#include "nn/metrics.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace {

// --- configuration -------------------------------------------------------------------
// The student is chapter 5's small one, learning, as in chapters 8 and 9, from a stratified tenth
// of the training split drawn anew for each seed: there soft targets are worth about a point.
struct Plan {
  std::vector<int64_t> widths;      // the student (and every born-again generation)
  double fraction;                  // of the training split each student learns from
  int64_t epochs;                   // the student's
  int seeds;                        // students per setting
  std::vector<float> temperatures;  // section 2's grid: every T with every alpha
  std::vector<float> alphas;
  int64_t views;                               // section 3: fixed views of each image, view e mod K in epoch e
  int64_t max_shift;                           // a view's shift, up to this many pixels each way (and a flip)
  std::vector<float> born_again_temperatures;  // a generation's T and alpha are chosen on validation among these
  std::vector<float> born_again_alphas;
  int generations;                                 // the first learns from labels, each next one from the one before
  int64_t all_images_epochs;                       // section 2's second regime: students of all the training images
  std::vector<book::Targets> all_images_settings;  // its soft settings (against labels)
};
const Plan kPlan = {.widths = {784, 100, 10},
                    .fraction = 0.1,
                    .epochs = 24,
                    .seeds = 5,
                    .temperatures = {1, 2, 4, 8},
                    .alphas = {0.5f, 0.9f, 1.0f},
                    .views = 8,
                    .max_shift = 2,
                    .born_again_temperatures = {1, 2, 4},
                    .born_again_alphas = {0.5f, 1.0f},
                    .generations = 3,
                    .all_images_epochs = 8,
                    .all_images_settings = {book::Targets::soft(4, 0.9f), book::Targets::soft(2, 1.0f)}};
const Plan kQuickPlan = {.widths = {784, 32, 10},
                         .fraction = 0.5,
                         .epochs = 2,
                         .seeds = 2,
                         .temperatures = {1, 4},
                         .alphas = {0.5f, 1.0f},
                         .views = 2,
                         .max_shift = 2,
                         .born_again_temperatures = {1, 4},
                         .born_again_alphas = {1.0f},
                         .generations = 3,
                         .all_images_epochs = 1,
                         .all_images_settings = {book::Targets::soft(4, 0.9f)}};

// --- the students, in the lab ------------------------------------------------------------
// Who teaches: a name (part of what identifies a student) and the logits it teaches with, for
// every training image ([N, 10]) or every view of every training image ([K, N, 10]).
struct Teacher {
  std::string name;
  tensor::Tensor logits;
};

// What a student learns from: its seed's tenth of the training split as it is, the same tenth in
// fixed augmented views, or every image of the training split.
enum class Sees { tenth, tenth_in_views, all_images };
constexpr const char* kSees[] = {"", "augmented", "all images"};

// The chapter's students as the lab knows them. A seed fixes the student's transfer set, initial
// weights, batches and views, whatever it learns from; every teacher (the book's, the teacher on
// each seed's views, each born-again generation) is a teacher of the lab, by its name. Sections
// declare their students (`train`) and the lab trains them side by side, networks kept (the
// born-again generations teach with theirs; a 784-100-10 network is 0.3 MB).
class Students {
 public:
  Students(const Plan& plan, book::Lab& lab, const std::vector<uint64_t>& seeds) : plan_(plan), lab_(lab) {
    for (uint64_t seed : seeds) lab.add_stratified(plan.fraction, seed);
  }
  const std::vector<int64_t>& transfer(uint64_t seed, Sees sees = Sees::tenth) const {
    return lab_.transfer_set(sees == Sees::all_images ? "split" : lab_.add_stratified(plan_.fraction, seed));
  }
  book::StudentConfig config(uint64_t seed, Sees sees) const {
    book::StudentConfig c{.widths = plan_.widths, .epochs = plan_.epochs, .seed = seed};
    if (sees == Sees::all_images) c.epochs = plan_.all_images_epochs;
    if (sees == Sees::tenth_in_views) {
      const nn::Normalization& norm = lab_.classroom().data.norm;
      c.views = plan_.views;
      c.augmentation = {.horizontal_flip = true, .max_shift = plan_.max_shift, .fill = -norm.mean / norm.std};
    }
    return c;
  }
  void add_teacher(const Teacher& t) { lab_.add_teacher(t.name, t.logits); }
  // Runs task(i) for every seed i side by side, as the lab runs students: on one thread each, so
  // that what a task computes (a teacher's logits) does not depend on the core count.
  void per_seed(size_t seeds, const std::function<void(size_t)>& task) const {
    tensor::run_side_by_side(static_cast<int64_t>(seeds), lab_.workers(), [&](int64_t i) { task(static_cast<size_t>(i)); });
  }
  // The student of `teacher` (ignored for hard labels) with these targets and seed.
  book::StudentKey key(const Teacher& teacher, const book::Targets& targets, uint64_t seed, Sees sees = Sees::tenth) const {
    return {.config = config(seed, sees),
            .targets = targets,
            .transfer = sees == Sees::all_images ? "split" : lab_.add_stratified(plan_.fraction, seed),
            .teacher = teacher.name};
  }
  // Trains the students of `keys` side by side (those not trained yet).
  void train(const std::vector<book::StudentKey>& keys, const std::string& label) { lab_.run(keys, label, true); }
  // The students of `teacher` with these targets, one per seed, as keys.
  std::vector<book::StudentKey> keys(const Teacher& teacher, const book::Targets& targets,
                                     const std::vector<uint64_t>& seeds, Sees sees = Sees::tenth) const {
    std::vector<book::StudentKey> out;
    for (uint64_t seed : seeds) out.push_back(key(teacher, targets, seed, sees));
    return out;
  }
  // A trained student.
  const book::StudentResult& get(const Teacher& teacher, const book::Targets& targets, uint64_t seed,
                                 Sees sees = Sees::tenth) const {
    return lab_.result(key(teacher, targets, seed, sees));
  }

 private:
  const Plan& plan_;
  book::Lab& lab_;
};

// The students of one setting, per seed: what section 2 compares and plots.
struct Setting {
  book::Targets targets;
  std::vector<double> validation, test, validation_agreement, agreement, validation_kl, kl, copied;
  nlohmann::json to_json() const {
    return {{"targets", targets.describe()},
            {"T", targets.temperature},
            {"alpha", targets.alpha},
            {"validation_accuracy", validation},
            {"test_accuracy", test},
            {"validation_agreement", validation_agreement},
            {"test_agreement", agreement},
            {"validation_kl", validation_kl},
            {"test_kl", kl},
            {"test_errors_copied", copied}};
  }
};

// The setting's numbers from its students, one per seed.
Setting setting_of(const book::Targets& targets, const std::vector<const book::StudentResult*>& students) {
  Setting s{targets, {}, {}, {}, {}, {}, {}, {}};
  for (const book::StudentResult* st : students) {
    s.validation.push_back(st->scores.validation_accuracy);
    s.test.push_back(st->scores.test_accuracy);
    s.validation_agreement.push_back(st->scores.validation_agreement);
    s.agreement.push_back(st->scores.agreement);
    s.validation_kl.push_back(st->scores.validation_kl);
    s.kl.push_back(st->scores.kl_to_teacher);
    s.copied.push_back(st->scores.errors_copied);
  }
  return s;
}

// The students of `teacher` with these targets, one per seed.
Setting measure(const Teacher& teacher, const book::Targets& targets, const std::vector<uint64_t>& seeds, Students& runs,
                Sees sees = Sees::tenth) {
  std::vector<const book::StudentResult*> students;
  for (uint64_t seed : seeds) students.push_back(&runs.get(teacher, targets, seed, sees));
  return setting_of(targets, students);
}

double mean(const std::vector<double>& v) { return book::mean_std(v).mean; }

// Pearson's correlation of two equally long lists.
double correlation(const std::vector<double>& x, const std::vector<double>& y) {
  const double mx = mean(x), my = mean(y);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

// --- 2. fidelity against generalisation --------------------------------------------------
struct Fidelity : book::Finding {
  std::vector<Setting> settings;    // hard first, then the grid
  size_t most_accurate = 0;         // on validation, an index into settings
  size_t best_soft = 1;             // the most accurate soft setting on validation
  std::vector<Setting> all_images;  // the second regime: labels first, then plan.all_images_settings
};

// Soft minus hard in accuracy and in agreement, for a table row and results.json.
struct AgainstHard {
  book::PairedDifference accuracy, agreement, copied;
  AgainstHard(const Setting& hard, const Setting& soft)
      : accuracy(book::paired_difference(hard.test, soft.test)),
        agreement(book::paired_difference(hard.agreement, soft.agreement)),
        copied(book::paired_difference(hard.copied, soft.copied)) {}
  nlohmann::json to_json() const {
    return {{"test_accuracy", accuracy.to_json()},
            {"test_agreement", agreement.to_json()},
            {"test_errors_copied", copied.to_json()}};
  }
};

// Students of every training image, labels against the plan's soft settings (the regime where
// soft targets barely change accuracy: chapter 8).
std::vector<Setting> all_images(const Plan& plan, const Teacher& teacher, const std::vector<uint64_t>& seeds,
                                Students& runs, const book::Options& options, nlohmann::json& json) {
  std::vector<Setting> out = {measure(teacher, book::Targets::hard(), seeds, runs, Sees::all_images)};
  for (const book::Targets& t : plan.all_images_settings)
    out.push_back(measure(teacher, t, seeds, runs, Sees::all_images));
  book::Table table({"students", "test accuracy", "minus hard", "95% CI", "test agreement", "minus hard", "95% CI",
                     "teacher's errors copied"});
  json = nlohmann::json::array();
  for (const Setting& s : out) {
    nlohmann::json j = s.to_json();
    if (!s.targets.uses_teacher()) {
      table.add_row({"hard", book::mean_std(s.test).to_string(), "", "", book::mean_std(s.agreement).to_string(), "",
                     "", fmt::format("{:.3f}", mean(s.copied))});
    } else {
      const AgainstHard d(out.front(), s);
      table.add_row({s.targets.describe(), book::mean_std(s.test).to_string(), d.accuracy.to_string(),
                     d.accuracy.confidence_interval().to_string(), book::mean_std(s.agreement).to_string(),
                     d.agreement.to_string(), d.agreement.confidence_interval().to_string(),
                     fmt::format("{:.3f}", mean(s.copied))});
      j["minus_hard"] = d.to_json();
    }
    json.push_back(j);
  }
  fmt::print("the same student learning from all {} training images for {} epochs, mean over seeds {} .. {}:\n{}",
             runs.transfer(seeds.front(), Sees::all_images).size(), plan.all_images_epochs, seeds.front(), seeds.back(),
             table.to_text());
  book::write_file(options.file("fidelity_all_images.csv"), table.to_csv());
  return out;
}

Fidelity fidelity(const Plan& plan, const Teacher& teacher, const std::vector<uint64_t>& seeds, Students& runs,
                  const book::Options& options) {
  std::vector<book::StudentKey> plan_keys = runs.keys(teacher, book::Targets::hard(), seeds);
  for (const book::Targets& t : book::soft_grid(plan.temperatures, plan.alphas)) {
    for (const book::StudentKey& k : runs.keys(teacher, t, seeds)) plan_keys.push_back(k);
  }
  for (const book::Targets& t : std::vector<book::Targets>{book::Targets::hard()}) {
    for (const book::StudentKey& k : runs.keys(teacher, t, seeds, Sees::all_images)) plan_keys.push_back(k);
  }
  for (const book::Targets& t : plan.all_images_settings) {
    for (const book::StudentKey& k : runs.keys(teacher, t, seeds, Sees::all_images)) plan_keys.push_back(k);
  }
  runs.train(plan_keys, "fidelity");
  Fidelity out;
  out.settings.push_back(measure(teacher, book::Targets::hard(), seeds, runs));
  for (const book::Targets& t : book::soft_grid(plan.temperatures, plan.alphas)) {
    out.settings.push_back(measure(teacher, t, seeds, runs));
  }
  book::Table table({"students", "validation accuracy", "test accuracy", "validation agreement", "test agreement",
                     "test KL to teacher (nats)", "teacher's errors copied"});
  std::vector<double> accuracies, agreements;
  size_t most_faithful = 0, closest = 0;  // by agreement, and by KL, on validation
  for (size_t k = 0; k < out.settings.size(); ++k) {
    const Setting& s = out.settings[k];
    table.add_row({s.targets.describe(), fmt::format("{:.4f}", mean(s.validation)), book::mean_std(s.test).to_string(),
                   fmt::format("{:.4f}", mean(s.validation_agreement)), book::mean_std(s.agreement).to_string(),
                   fmt::format("{:.4f}", mean(s.kl)), fmt::format("{:.3f}", mean(s.copied))});
    accuracies.push_back(mean(s.test));
    agreements.push_back(mean(s.agreement));
    if (book::beats(mean(s.validation), mean(out.settings[out.most_accurate].validation))) out.most_accurate = k;
    if (k > 0 && book::beats(mean(s.validation), mean(out.settings[out.best_soft].validation))) out.best_soft = k;
    if (book::beats(mean(s.validation_agreement), mean(out.settings[most_faithful].validation_agreement))) {
      most_faithful = k;
    }
    if (book::beats(-mean(s.validation_kl), -mean(out.settings[closest].validation_kl))) closest = k;
  }
  fmt::print(
      "every setting, mean over seeds {} .. {} (agreement: top-1 with chapter 2's teacher; errors copied: "
      "share of the teacher's wrong test answers the student gives too):\n{}",
      seeds.front(), seeds.back(), table.to_text());
  book::write_file(options.file("fidelity.csv"), table.to_csv());
  const double r = correlation(agreements, accuracies);
  const Setting& accurate = out.settings[out.most_accurate];
  const Setting& faithful = out.settings[most_faithful];
  fmt::print(
      "most accurate on validation: {}; most faithful on validation: {}; across the {} settings, test "
      "agreement and test accuracy correlate with r = {:+.2f}\n",
      accurate.targets.describe(), faithful.targets.describe(), out.settings.size(), r);
  std::string evidence = fmt::format(
      "most accurate on validation: {} (test {:.4f}, agreement {:.4f}); most faithful "
      "on validation: {} (test {:.4f}, agreement {:.4f}); correlation over the {} "
      "settings r = {:+.2f}",
      accurate.targets.describe(), mean(accurate.test), mean(accurate.agreement), faithful.targets.describe(),
      mean(faithful.test), mean(faithful.agreement), out.settings.size(), r);
  // The most faithful setting is also the most accurate: the opposite of the claim.
  book::Outcome outcome = book::Outcome::opposite;
  nlohmann::json apart = nullptr;
  if (most_faithful != out.most_accurate) {
    const book::PairedDifference accuracy = book::paired_difference(faithful.test, accurate.test);
    const book::PairedDifference agreement = book::paired_difference(accurate.agreement, faithful.agreement);
    fmt::print("{}\n{}\n", accuracy.describe(4, "test accuracy, most accurate - most faithful"),
               agreement.describe(4, "test agreement, most faithful - most accurate"));
    outcome = book::all_of({accuracy.outcome(book::kSmallestAccuracyEffect), agreement.outcome(book::kSmallestAccuracyEffect)});
    evidence += "; " + accuracy.describe(4, "test accuracy, most accurate - most faithful") + "; " +
                agreement.describe(4, "test agreement, most faithful - most accurate");
    apart = {{"accuracy_most_accurate_minus_most_faithful", accuracy.to_json()},
             {"agreement_most_faithful_minus_most_accurate", agreement.to_json()}};
  }
  // Fidelity measured by KL instead of agreement: the students closest to the teacher's probabilities.
  const Setting& nearest = out.settings[closest];
  nlohmann::json by_kl = {{"closest", nearest.targets.describe()}};
  fmt::print(
      "closest to the teacher's probabilities on validation (lowest KL): {} (test KL {:.3f}, test accuracy {:.4f})\n",
      nearest.targets.describe(), mean(nearest.kl), mean(nearest.test));
  if (closest != out.most_accurate) {
    const book::PairedDifference d = book::paired_difference(nearest.test, accurate.test);
    fmt::print("{}\n", d.describe(4, "test accuracy, most accurate - closest by KL"));
    by_kl["accuracy_most_accurate_minus_closest"] = d.to_json();
  }
  nlohmann::json settings = nlohmann::json::array();
  for (const Setting& s : out.settings) settings.push_back(s.to_json());
  nlohmann::json all_images_json;
  out.all_images = all_images(plan, teacher, seeds, runs, options, all_images_json);
  out.json = {{"settings", settings},
              {"all_images", all_images_json},
              {"most_accurate", accurate.targets.describe()},
              {"most_faithful", faithful.targets.describe()},
              {"correlation_agreement_accuracy", r},
              {"by_kl", by_kl},
              {"apart", apart}};
  out.verdict = {
      "Agreeing with the teacher is not the same as generalising (Stanton et al. 2021): the student that agrees "
      "most with the teacher is not the most accurate one",
      fmt::format("among the {} settings (labels, and T in {{{}}} with alpha in {{{}}}), the one whose students agree "
                  "most with the teacher on validation is not the one whose students are most accurate on "
                  "validation (else opposite); on test the most accurate setting's students beat the most faithful "
                  "one's in accuracy, and the most faithful one's beat the most accurate one's in agreement, paired "
                  "over {} seeds: holds when both 95% intervals lie above 0; opposite when one lies below 0, else no "
                  "effect when one lies inside +-{} (0.2 points), else cannot tell",
                  out.settings.size(), fmt::join(plan.temperatures, ", "), fmt::join(plan.alphas, ", "), seeds.size(),
                  book::kSmallestAccuracyEffect),
      outcome, evidence};
  return out;
}

// --- 3. consistent teaching ----------------------------------------------------------------
// What the teacher says about a view, against what it says about the image as it is.
struct OnViews {
  double accuracy_images = 0, accuracy_views = 0;  // of the teacher, on the transfer images
  double changed = 0;                              // share of views whose top-1 differs from the image's
  double kl = 0;                                   // mean KL(teacher on the view || teacher on the image), nats
};

OnViews teacher_on_views(const tensor::Tensor& view_logits, const tensor::Tensor& image_logits,
                         const std::vector<int64_t>& transfer, const nn::Labels& labels) {
  OnViews o;
  const tensor::Tensor images = tensor::index_select(image_logits, 0, transfer);
  const int64_t k = view_logits.shape()[0], n = view_logits.shape()[1];
  o.accuracy_images = nn::accuracy(images, labels);
  for (int64_t v = 0; v < k; ++v) {
    const tensor::Tensor view = tensor::index_select(view_logits.narrow(0, v, 1).reshape({n, book::kClasses}), 0, transfer);
    o.accuracy_views += nn::accuracy(view, labels) / static_cast<double>(k);
    o.changed += (1.0 - nn::agreement(view, images)) / static_cast<double>(k);
    o.kl += nn::mean_kl(view, images) / static_cast<double>(k);
  }
  return o;
}

struct Consistent : book::Finding {
  Setting hard, cached, consistent;
};

Consistent consistent_teaching(const Plan& plan, const book::Targets& targets, const Teacher& teacher,
                               nn::Module& teacher_model, const std::vector<uint64_t>& seeds, Students& runs,
                               const book::Classroom& classroom, const book::Options& options) {
  const book::BookData& d = classroom.data;
  const book::FixedViews described = book::views_of(runs.config(seeds.front(), Sees::tenth_in_views));
  // The teacher on every view of each seed's transfer set: computed once per seed, the cost of consistency.
  const auto start = std::chrono::steady_clock::now();
  std::vector<Teacher> on_view(seeds.size());  // per seed
  std::vector<OnViews> per_seed(seeds.size());
  runs.per_seed(seeds.size(), [&](size_t i) {
    const std::vector<int64_t>& transfer = runs.transfer(seeds[i]);
    tensor::Tensor logits = book::teacher_view_logits(
        teacher_model, book::views_of(runs.config(seeds[i], Sees::tenth_in_views)), d, transfer);
    per_seed[i] = teacher_on_views(logits, teacher.logits, transfer, book::labels_of(d.data.train, transfer));
    on_view[i] = {fmt::format("teacher on views (seed {})", seeds[i]), std::move(logits)};
  });
  // Wall time, over as many cores as students get.
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  OnViews on;
  for (size_t i = 0; i < seeds.size(); ++i) {
    const double share = 1.0 / static_cast<double>(seeds.size());
    on.accuracy_images += share * per_seed[i].accuracy_images;
    on.accuracy_views += share * per_seed[i].accuracy_views;
    on.changed += share * per_seed[i].changed;
    on.kl += share * per_seed[i].kl;
    runs.add_teacher(on_view[i]);
  }
  const int64_t images = static_cast<int64_t>(runs.transfer(seeds.front()).size());
  const double table_mb = static_cast<double>(on_view.front().logits.numel()) * 4.0 / 1e6;
  const double used_mb = static_cast<double>(plan.views * images * 10) * 4.0 / 1e6;
  fmt::print(
      "views: {}, {} per image (epoch e shows view e mod {}); the teacher ran on {} x {} images per seed, "
      "{:.1f} s for the {} seeds side by side; its logits take {:.2f} MB per seed ({:.1f} MB as stored, a row "
      "for every training image)\n",
      described.describe(), plan.views, plan.views, plan.views, images, seconds, seeds.size(), used_mb, table_mb);
  fmt::print(
      "the teacher on the transfer images: accuracy {:.4f} as they are, {:.4f} on their views; on {:.1f}% of "
      "the views its top-1 class differs from the image's, mean KL(view || image) {:.4f} nats\n",
      on.accuracy_images, on.accuracy_views, 100.0 * on.changed, on.kl);

  std::vector<book::StudentKey> plan_keys = runs.keys(teacher, book::Targets::hard(), seeds, Sees::tenth_in_views);
  for (const book::StudentKey& k : runs.keys(teacher, targets, seeds, Sees::tenth_in_views)) plan_keys.push_back(k);
  for (size_t i = 0; i < seeds.size(); ++i) plan_keys.push_back(runs.key(on_view[i], targets, seeds[i], Sees::tenth_in_views));
  runs.train(plan_keys, "consistent teaching");
  Consistent out;
  out.hard = measure(teacher, book::Targets::hard(), seeds, runs, Sees::tenth_in_views);
  out.cached = measure(teacher, targets, seeds, runs, Sees::tenth_in_views);
  std::vector<const book::StudentResult*> consistent;
  for (size_t i = 0; i < seeds.size(); ++i) {
    consistent.push_back(&runs.get(on_view[i], targets, seeds[i], Sees::tenth_in_views));
  }
  out.consistent = setting_of(targets, consistent);
  const Setting plain = measure(teacher, targets, seeds, runs);  // section 2's, without augmentation
  const Setting plain_hard = measure(teacher, book::Targets::hard(), seeds, runs);
  const auto gap_closed = [&](const Setting& s) {
    double g = 0;
    for (size_t i = 0; i < seeds.size(); ++i) {
      g += nn::gap_closed(s.test[i], out.hard.test[i], classroom.teacher_test_accuracy) /
           static_cast<double>(seeds.size());
    }
    return g;
  };
  book::Table table({"students", "test accuracy", "minus augmented hard (paired)", "gap closed", "test agreement",
                     "test KL to teacher"});
  const auto row = [&](const std::string& name, const Setting& s) {
    const book::PairedDifference gain = book::paired_difference(out.hard.test, s.test);
    table.add_row({name, book::mean_std(s.test).to_string(), gain.to_string(),
                   fmt::format("{:.1f}%", 100 * gap_closed(s)), book::mean_std(s.agreement).to_string(),
                   fmt::format("{:.4f}", mean(s.kl))});
  };
  row("labels, as they are", plain_hard);
  row(targets.describe() + ", as they are", plain);
  row("labels, augmented", out.hard);
  row(targets.describe() + ", augmented, cached target", out.cached);
  row(targets.describe() + ", augmented, consistent", out.consistent);
  fmt::print("mean over seeds {} .. {} (gap closed against the augmented hard students, teacher {:.4f}):\n{}",
             seeds.front(), seeds.back(), classroom.teacher_test_accuracy, table.to_text());
  book::write_file(options.file("consistent_teaching.csv"), table.to_csv());
  const book::PairedDifference accuracy = book::paired_difference(out.cached.test, out.consistent.test);
  const book::PairedDifference agreement = book::paired_difference(out.cached.agreement, out.consistent.agreement);
  fmt::print("{}\n{}\n", accuracy.describe(4, "test accuracy, consistent - cached"),
             agreement.describe(4, "test agreement, consistent - cached"));
  out.json = {{"targets", targets.describe()},
              {"views", plan.views},
              {"augmentation", described.describe()},
              {"teacher_seconds", seconds},
              {"view_logits_mb_per_seed", used_mb},
              {"view_logits_mb_as_stored", table_mb},
              {"teacher_on_views",
               {{"accuracy_images", on.accuracy_images},
                {"accuracy_views", on.accuracy_views},
                {"top1_changed", on.changed},
                {"kl_view_to_image", on.kl}}},
              {"not_augmented", {{"hard", plain_hard.to_json()}, {"soft", plain.to_json()}}},
              {"hard", out.hard.to_json()},
              {"cached", out.cached.to_json()},
              {"consistent", out.consistent.to_json()},
              {"gap_closed", {{"cached", gap_closed(out.cached)}, {"consistent", gap_closed(out.consistent)}}},
              {"consistent_minus_cached", {{"test_accuracy", accuracy.to_json()}, {"agreement", agreement.to_json()}}}};
  out.verdict = {
      "A student taught on the view it sees learns more (Beyer et al. 2022, consistent teaching): with augmented "
      "images, the teacher's soft target for the same augmented view beats the un-augmented image's cached one",
      fmt::format("students learning from {} ({} fixed views per image, view e mod {} in epoch e), {} (section 2's "
                  "most accurate soft setting on validation): those whose soft targets are the teacher's on the same "
                  "view beat those given the un-augmented image's cached soft target, in test accuracy; {}",
                  described.describe(), plan.views, plan.views, targets.describe(),
                  book::paired_criterion(fmt::format("consistent - cached difference over {} seeds", seeds.size()),
                                         book::kSmallestAccuracyEffect, "0.2 points of accuracy")),
      accuracy.outcome(book::kSmallestAccuracyEffect),
      fmt::format("gap closed {:.1f}% (consistent) against {:.1f}% (cached); {}; {}; the teacher's top-1 changes "
                  "on {:.1f}% of the views",
                  100 * gap_closed(out.consistent), 100 * gap_closed(out.cached),
                  accuracy.describe(4, "test accuracy, consistent - cached"),
                  agreement.describe(4, "agreement, consistent - cached"), 100.0 * on.changed)};
  return out;
}

// --- 4. born-again networks ------------------------------------------------------------------
struct BornAgain : book::Finding {
  std::vector<Setting> generations;
};

// A generation of every seed as the next one's teacher: its logits for every training image.
std::vector<Teacher> as_teachers(const std::vector<const book::StudentResult*>& generation, const std::vector<uint64_t>& seeds,
                                 int number, const book::BookData& d, Students& runs) {
  std::vector<int64_t> all(static_cast<size_t>(d.data.train.size()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  std::vector<Teacher> out(seeds.size());
  runs.per_seed(seeds.size(), [&](size_t i) {
    // A diverged generation teaches NaN: its student's loss is not finite, and it diverges too.
    out[i] = {fmt::format("generation {} (seed {})", number, seeds[i]),
              generation[i]->diverged
                  ? tensor::Tensor::full({d.data.train.size(), book::kClasses}, std::numeric_limits<float>::quiet_NaN())
                  : book::predict_logits(*generation[i]->model, d.data.train, all, d.norm)};
  });
  for (const Teacher& t : out) runs.add_teacher(t);
  return out;
}

// The students of the given teachers (one per seed) with these targets.
std::vector<const book::StudentResult*> taught_by(const std::vector<Teacher>& teachers, const book::Targets& targets,
                                      const std::vector<uint64_t>& seeds, Students& runs) {
  std::vector<book::StudentKey> keys;
  for (size_t i = 0; i < seeds.size(); ++i) keys.push_back(runs.key(teachers[i], targets, seeds[i]));
  runs.train(keys, fmt::format("students of {}", teachers.front().name.substr(0, teachers.front().name.find(" ("))));
  std::vector<const book::StudentResult*> students;
  for (size_t i = 0; i < seeds.size(); ++i) students.push_back(&runs.get(teachers[i], targets, seeds[i]));
  return students;
}

BornAgain born_again(const Plan& plan, const Teacher& teacher, const std::vector<uint64_t>& seeds, Students& runs,
                     const book::BookData& d, const book::Options& options) {
  BornAgain out;
  std::vector<const book::StudentResult*> current;  // the generation that teaches next, one per seed
  for (uint64_t s : seeds) current.push_back(&runs.get(teacher, book::Targets::hard(), s));
  out.generations.push_back(setting_of(book::Targets::hard(), current));
  // The second generation's T and alpha are chosen on validation; every later one uses them.
  std::vector<Teacher> teachers = as_teachers(current, seeds, 1, d, runs);
  std::vector<book::Candidate> candidates;
  const std::vector<book::Targets> grid = book::soft_grid(plan.born_again_temperatures, plan.born_again_alphas);
  std::vector<book::StudentKey> tried;
  for (const book::Targets& t : grid) {
    for (size_t i = 0; i < seeds.size(); ++i) tried.push_back(runs.key(teachers[i], t, seeds[i]));
  }
  runs.train(tried, "generation 2, every T and alpha");
  for (const book::Targets& t : grid) {
    const Setting s = setting_of(t, taught_by(teachers, t, seeds, runs));
    candidates.push_back({t, mean(s.validation), s.validation});
  }
  const book::Targets chosen = book::best_on_validation(candidates).targets;
  fmt::print("generation 2's T and alpha, chosen on validation: {}\n", chosen.describe());
  std::vector<std::vector<double>> own(1);  // per generation and seed, agreement with its teacher (test set)
  std::vector<book::PairedDifference> steps;
  for (int g = 2; g <= plan.generations; ++g) {
    const std::vector<const book::StudentResult*> next = taught_by(teachers, chosen, seeds, runs);
    out.generations.push_back(setting_of(chosen, next));
    std::vector<double> with_teacher;
    for (size_t i = 0; i < seeds.size(); ++i) {
      with_teacher.push_back(next[i]->diverged || current[i]->diverged
                                 ? std::numeric_limits<double>::quiet_NaN()
                                 : nn::agreement(next[i]->test_logits, current[i]->test_logits));
    }
    own.push_back(with_teacher);
    steps.push_back(book::paired_difference(out.generations[g - 2].test, out.generations[g - 1].test));
    current = next;
    if (g < plan.generations) teachers = as_teachers(current, seeds, g, d, runs);
  }
  book::Table table({"generation", "taught by", "test accuracy", "minus its teacher (paired)", "95% CI",
                     "test agreement with its teacher", "with chapter 2's teacher"});
  nlohmann::json generations = nlohmann::json::array();
  for (size_t g = 0; g < out.generations.size(); ++g) {
    const Setting& s = out.generations[g];
    const bool first = g == 0;
    table.add_row({std::to_string(g + 1), first ? "labels" : fmt::format("generation {}, {}", g, chosen.describe()),
                   book::mean_std(s.test).to_string(), first ? "" : steps[g - 1].to_string(),
                   first ? "" : steps[g - 1].confidence_interval().to_string(),
                   first ? "" : fmt::format("{:.4f}", mean(own[g])), book::mean_std(s.agreement).to_string()});
    nlohmann::json j = s.to_json();
    j["generation"] = g + 1;
    if (!first) {
      j["agreement_with_own_teacher"] = own[g];
      j["minus_own_teacher"] = steps[g - 1].to_json();
    }
    generations.push_back(j);
  }
  fmt::print(
      "{} generations of {} MLPs, each starting from the weights and batches of its seed, mean over seeds "
      "{} .. {}:\n{}",
      plan.generations, fmt::join(plan.widths, "-"), seeds.front(), seeds.back(), table.to_text());
  book::write_file(options.file("born_again.csv"), table.to_csv());
  std::vector<book::Outcome> outcomes;
  std::string evidence;
  for (size_t k = 0; k < steps.size(); ++k) {
    outcomes.push_back(steps[k].outcome(book::kSmallestAccuracyEffect));
    evidence += fmt::format("{}{}", k ? "; " : "",
                            steps[k].describe(4, fmt::format("generation {} - generation {}", k + 2, k + 1)));
  }
  out.json = {{"chosen", chosen.describe()}, {"candidates", book::to_json(candidates)}, {"generations", generations}};
  out.verdict = {
      "A born-again network beats its teacher (Furlanello et al. 2018): a network distilled from an identical one "
      "is more accurate than the network that taught it, generation after generation",
      fmt::format("the {} MLP trained on labels (generation 1) teaches an identical network (generation 2, T and "
                  "alpha chosen on validation among T in {{{}}}, alpha in {{{}}}), which teaches generation 3 the "
                  "same way, paired by seed; every generation beats the one that taught it in test accuracy, paired "
                  "over {} seeds (the same seeds' validation accuracy chose T and alpha: if anything, that favours "
                  "the claim): holds when every 95% interval lies above 0; opposite when one lies below 0, else "
                  "no effect when one lies inside +-{} (0.2 points), else cannot tell",
                  fmt::join(plan.widths, "-"), fmt::join(plan.born_again_temperatures, ", "),
                  fmt::join(plan.born_again_alphas, ", "), seeds.size(), book::kSmallestAccuracyEffect),
      book::all_of(outcomes), evidence};
  return out;
}

// One point per setting: mean agreement (or KL) with the teacher against mean test accuracy.
book::Series points(const std::string& name, const std::vector<const Setting*>& settings, bool kl, bool joined) {
  book::Series s{name, {}, {}, {}, joined};
  for (const Setting* setting : settings) {
    s.x.push_back(kl ? mean(setting->kl) : 100.0 * mean(setting->agreement));
    s.y.push_back(100.0 * mean(setting->test));
  }
  return s;
}

book::LinePlot fidelity_plot(const Plan& plan, const Fidelity& f, const Consistent& c, const BornAgain& b, bool kl,
                             size_t seeds) {
  std::vector<book::Series> series = {points("labels", {&f.settings[0]}, kl, false)};
  for (float alpha : plan.alphas) {
    std::vector<const Setting*> line;
    for (const Setting& s : f.settings) {
      if (s.targets.uses_teacher() && s.targets.alpha == alpha) line.push_back(&s);
    }
    series.push_back(
        points(fmt::format("soft, alpha {}, T {}", tensor::to_string(alpha), fmt::join(plan.temperatures, ", ")), line,
               kl, true));
  }
  series.push_back(points("augmented: labels, cached, consistent", {&c.hard, &c.cached, &c.consistent}, kl, false));
  std::vector<const Setting*> all;
  for (const Setting& s : f.all_images) all.push_back(&s);
  series.push_back(points("all images: labels and soft", all, kl, false));
  std::vector<const Setting*> generations;
  for (const Setting& s : b.generations) generations.push_back(&s);
  series.push_back(points(fmt::format("born-again generations 1 .. {}", b.generations.size()), generations, kl, true));
  const double r = f.json.value("correlation_agreement_accuracy", std::numeric_limits<double>::quiet_NaN());
  return {kl ? fmt::format("Students: KL to chapter 2's teacher against accuracy (test set, mean of {} seeds)", seeds)
             : fmt::format("Agreement with the teacher and accuracy {}: r = {:.3f} over the {} settings "
                           "(test set, mean of {} seeds)",
                           r >= 0.8 ? "move together" : r <= -0.8 ? "move apart" : "are only loosely related", r,
                           f.settings.size(), seeds),
          kl ? "mean KL(teacher || student), nats" : "top-1 agreement with the teacher (%)", "test accuracy (%)",
          series};
}

}  // namespace

int chapter(const book::Options& options) {
  fmt::print("Chapter 10: does the student learn the teacher's function? (seed {}{})\n", options.seed,
             options.quick ? ", --quick" : "");
  const Plan& plan = options.quick ? kQuickPlan : kPlan;
  const std::vector<uint64_t> seeds = book::seed_range(options.seed, plan.seeds);
  const auto start = std::chrono::steady_clock::now();

  // --- 1. data, teacher, student --------------------------------------------------------------
  book::banner(1, "Data, the teacher and the student");
  const book::Classroom classroom = book::open_classroom(options);
  const book::BookData& d = classroom.data;
  const std::shared_ptr<nn::Sequential> teacher_model = book::load_teacher_model(options, classroom.teacher);
  const Teacher teacher{"teacher", classroom.teacher.train_logits};
  fmt::print(
      "the student: {}; on seeds {} .. {} every student learns from the same images, starts from the same weights "
      "and sees the same batches\n",
      book::StudentConfig{.widths = plan.widths, .epochs = plan.epochs}.describe(plan.fraction, d.split.train.size()),
      seeds.front(), seeds.back());
  book::Lab lab(classroom, book::Lab::workers_for(options));
  Students runs(plan, lab, seeds);

  // --- 2. fidelity ------------------------------------------------------------------------------
  book::banner(2, "Fidelity against generalisation");
  const Fidelity faithful = fidelity(plan, teacher, seeds, runs, options);

  // --- 3. consistent teaching -------------------------------------------------------------------
  book::banner(3, "Consistent teaching on augmented views");
  const Consistent consistent = consistent_teaching(plan, faithful.settings[faithful.best_soft].targets, teacher,
                                                    *teacher_model, seeds, runs, classroom, options);

  // --- 4. born-again networks -----------------------------------------------------------------
  book::banner(4, "Born-again networks");
  const BornAgain reborn = born_again(plan, teacher, seeds, runs, d, options);

  // --- 5. report ----------------------------------------------------------------------------------
  book::banner(5, "Report");
  for (bool kl : {false, true}) {
    fmt::print("{}\n", book::save_plot(options.out, kl ? "kl_vs_accuracy" : "agreement_vs_accuracy",
                                       fidelity_plot(plan, faithful, consistent, reborn, kl, seeds.size())));
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("{} students, {:.0f} s of student training; {:.0f} s in all\n", lab.trained(), lab.student_seconds(), total);
  nlohmann::json results;
  results["student_training"] = book::StudentConfig{.widths = plan.widths, .epochs = plan.epochs}.to_json();
  results["student_training"]["transfer_fraction"] = plan.fraction;
  results["student_training"].erase("seed");  // the seeds are listed apart
  results["seeds"] = seeds;
  results["teacher_test_accuracy"] = classroom.teacher_test_accuracy;
  results["fidelity"] = faithful.json;
  results["consistent_teaching"] = consistent.json;
  results["born_again"] = reborn.json;
  results["students_trained"] = lab.trained();
  results["student_training_seconds"] = lab.student_seconds();
  results["total_seconds"] = total;
  book::finish_with_verdicts(
      options, results,
      {{"fidelity", faithful.verdict}, {"consistent_teaching", consistent.verdict}, {"born_again", reborn.verdict}});
  return 0;
}

int main(int argc, char** argv) {
  return book::run_chapter(argc, argv, "ch10_fidelity", "Chapter 10: does the student learn the teacher's function?",
                           chapter);
}
