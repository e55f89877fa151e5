#include "chapters/lab/lab.h"

#include "chapters/common/progress.h"
#include "tensor/parallel.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace book {

namespace {

// Roughly proportional to a student's training time: multiply-adds per image, images, epochs.
double cost(const StudentKey& key, const Lab& lab) {
  double per_image = 0;
  const std::vector<int64_t>& w = key.config.widths;
  for (size_t i = 0; i + 1 < w.size(); ++i) per_image += static_cast<double>(w[i] * w[i + 1]);
  return per_image * static_cast<double>(lab.transfer_set(key.transfer).size()) * static_cast<double>(key.config.epochs);
}

StudentScores not_a_number() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  StudentScores s;
  for (double* score : {&s.validation_accuracy, &s.test_accuracy, &s.test_nll, &s.test_ece, &s.agreement,
                        &s.kl_to_teacher, &s.validation_agreement, &s.validation_kl, &s.errors_copied}) {
    *score = nan;
  }
  s.test_errors = -1;
  return s;
}

template <typename Value>
const Value& named(const std::map<std::string, Value>& items, const std::string& name, const char* what) {
  const auto it = items.find(name);
  if (it == items.end()) throw std::invalid_argument(fmt::format("lab: no {} named '{}'", what, name));
  return it->second;
}

}  // namespace

std::string StudentKey::describe() const {
  std::string s = fmt::format("{} seed {} {} on {}", fmt::join(config.widths, "-"), config.seed, targets.describe(), transfer);
  if (targets.uses_teacher()) s += " from " + teacher;
  if (config.views > 0) s += fmt::format(" ({} views)", config.views);
  return s;
}

Lab::Lab(const Classroom& classroom, int workers, bool show_progress, StudentTrainer trainer)
    : classroom_(classroom),
      workers_(workers),
      show_progress_(show_progress),
      trainer_(trainer ? std::move(trainer) : StudentTrainer(&Lab::train_and_score)) {
  if (workers < 1) throw tensor::ValueError("Lab: need at least 1 worker, got " + std::to_string(workers));
  transfer_sets_.emplace("split", classroom.data.split.train);
  teachers_.emplace("teacher", classroom.teacher.train_logits);
}

int Lab::workers_for(const Options& options) { return options.threads > 0 ? options.threads : tensor::num_threads(); }

void Lab::add_transfer_set(const std::string& name, std::vector<int64_t> images) {
  if (images.empty()) throw std::invalid_argument("lab: transfer set '" + name + "' is empty");
  const auto [it, added] = transfer_sets_.try_emplace(name, images);
  if (!added && it->second != images) {
    throw std::invalid_argument("lab: transfer set '" + name + "' already names other images");
  }
}

std::string Lab::add_stratified(double fraction, uint64_t seed) {
  const std::string name = fmt::format("{:g}% seed {}", 100.0 * fraction, seed);
  if (!transfer_sets_.count(name)) add_transfer_set(name, book::transfer_set(classroom_.data, fraction, seed));
  return name;
}

void Lab::add_teacher(const std::string& name, tensor::Tensor train_logits) {
  const auto [it, added] = teachers_.try_emplace(name, train_logits);
  // Compared as bytes: a teacher on views has NaN rows, and NaN is never equal to itself.
  const auto bytes = [](const tensor::Tensor& t) {
    const tensor::Tensor c = t.contiguous();
    return std::string(reinterpret_cast<const char*>(c.data()), static_cast<size_t>(c.numel()) * sizeof(float));
  };
  if (!added && (it->second.shape() != train_logits.shape() || bytes(it->second) != bytes(train_logits))) {
    throw std::invalid_argument("lab: teacher '" + name + "' already names other logits");
  }
}

void Lab::add_probe(const std::string& name, EpochProbe probe) {
  if (!probes_.try_emplace(name, std::move(probe)).second) {
    throw std::invalid_argument("lab: probe '" + name + "' already exists");
  }
}

const std::vector<int64_t>& Lab::transfer_set(const std::string& name) const {
  return named(transfer_sets_, name, "transfer set");
}
const tensor::Tensor& Lab::teacher(const std::string& name) const { return named(teachers_, name, "teacher"); }
const EpochProbe& Lab::probe(const std::string& name) const { return named(probes_, name, "probe"); }

StudentKey Lab::normalised(StudentKey key) const {
  if (!key.targets.uses_teacher()) {
    key.targets = Targets::hard();
    key.teacher.clear();
  }
  try {
    transfer_set(key.transfer);
    if (!key.teacher.empty()) teacher(key.teacher);
    if (!key.probe.empty()) probe(key.probe);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("{} (student {})", e.what(), key.describe()));
  }
  return key;
}

std::vector<const StudentResult*> Lab::run(const std::vector<StudentKey>& keys, const std::string& label,
                                           bool keep_models) {
  std::vector<StudentKey> wanted, todo;
  for (const StudentKey& k : keys) {
    wanted.push_back(normalised(k));
    const auto it = results_.find(wanted.back());
    const bool ready = it != results_.end() && (!keep_models || it->second.model || it->second.diverged);
    if (!ready && std::find(todo.begin(), todo.end(), wanted.back()) == todo.end()) todo.push_back(wanted.back());
  }
  // The longest first, so that no long student starts last while the other cores idle.
  std::stable_sort(todo.begin(), todo.end(),
                   [&](const StudentKey& a, const StudentKey& b) { return cost(a, *this) > cost(b, *this); });
  std::vector<StudentResult> trained(todo.size());
  std::vector<char> finished(todo.size(), 0);  // written by one worker each
  TaskProgress progress(fmt::format("{} ({} students, {} at once)", label, todo.size(), std::min<size_t>(workers_, todo.size())),
                        static_cast<int64_t>(todo.size()), show_progress_);
  // The students that finished are kept even when another one failed (and its error is rethrown).
  const auto keep_finished = [&] {
    for (size_t i = 0; i < todo.size(); ++i) {
      if (finished[i]) results_.insert_or_assign(todo[i], std::move(trained[i]));
    }
  };
  try {
    tensor::run_side_by_side(static_cast<int64_t>(todo.size()), workers_, [&](int64_t i) {
      const auto k = static_cast<size_t>(i);
      trained[k] = trainer_(*this, todo[k], keep_models);
      finished[k] = 1;
      progress.done();
    });
  } catch (...) {
    keep_finished();
    throw;
  }
  keep_finished();
  std::vector<const StudentResult*> out;
  for (const StudentKey& k : wanted) out.push_back(&results_.at(k));
  return out;
}

const StudentResult& Lab::result(const StudentKey& key) const {
  const StudentKey k = normalised(key);
  const auto it = results_.find(k);
  if (it == results_.end()) throw std::out_of_range("lab: student not trained yet: " + k.describe());
  return it->second;
}

double Lab::student_seconds() const {
  double s = 0;
  for (const auto& [key, r] : results_) s += r.seconds;
  return s;
}

StudentResult Lab::train_and_score(const Lab& lab, const StudentKey& key, bool keep_model) {
  const auto start = std::chrono::steady_clock::now();
  StudentResult r;
  const EpochProbe* probe = key.probe.empty() ? nullptr : &lab.probe(key.probe);
  EpochObserver observe = nullptr;
  if (probe != nullptr) {
    observe = [&](const EpochRecord& record, nn::Module& model) { r.probe.push_back((*probe)(key, record, model)); };
  }
  const tensor::Tensor no_teacher;
  try {
    TrainedStudent s = train_student(key.config, key.targets, lab.classroom().data, lab.transfer_set(key.transfer),
                                     key.teacher.empty() ? no_teacher : lab.teacher(key.teacher), false, observe);
    r.scores = score_student(*s.model, lab.classroom(), &r.test_logits, &r.validation_logits);
    r.best_epoch = s.best_epoch;
    r.best_test_accuracy = s.best_model == s.model ? r.scores.test_accuracy
                                                   : score_student(*s.best_model, lab.classroom()).test_accuracy;
    r.curve = std::move(s.curve);
    if (keep_model) r.model = s.model;
  } catch (const Diverged& e) {
    // No network to score: every score NaN, the logits NaN of their usual shapes.
    const BookData& d = lab.classroom().data;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    r.test_logits = tensor::Tensor::full({static_cast<int64_t>(d.test_indices.size()), kClasses}, nan);
    r.validation_logits = tensor::Tensor::full({static_cast<int64_t>(d.split.validation.size()), kClasses}, nan);
    r.curve.clear();
    r.probe.clear();
    r.scores = not_a_number();
    r.best_test_accuracy = r.scores.test_accuracy;
    r.diverged = true;
    r.diverged_epoch = e.epoch;
    r.divergence = e.what();
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

const std::vector<Metric>& student_metrics() {
  static const std::vector<Metric> metrics = {
      {"test accuracy", "test_accuracy", 4, [](const StudentResult& r) { return r.scores.test_accuracy; }},
      {"test errors", "test_errors", 1, [](const StudentResult& r) { return static_cast<double>(r.scores.test_errors); }},
      {"test NLL (nats)", "test_nll", 4, [](const StudentResult& r) { return r.scores.test_nll; }},
      {"test ECE", "test_ece", 4, [](const StudentResult& r) { return r.scores.test_ece; }},
      {"agreement with teacher", "agreement", 4, [](const StudentResult& r) { return r.scores.agreement; }},
      {"KL(teacher || student) (nats)", "kl_to_teacher", 4, [](const StudentResult& r) { return r.scores.kl_to_teacher; }},
      {"teacher's errors copied", "errors_copied", 4, [](const StudentResult& r) { return r.scores.errors_copied; }},
      {"validation accuracy", "validation_accuracy", 4, [](const StudentResult& r) { return r.scores.validation_accuracy; }},
      {"validation agreement with teacher", "validation_agreement", 4,
       [](const StudentResult& r) { return r.scores.validation_agreement; }},
      {"validation KL(teacher || student) (nats)", "validation_kl", 4,
       [](const StudentResult& r) { return r.scores.validation_kl; }},
      {"test accuracy at the best validation epoch", "best_epoch_test_accuracy", 4,
       [](const StudentResult& r) { return r.best_test_accuracy; }},
  };
  return metrics;
}

const Metric& student_metric(const std::string& key) {
  for (const Metric& m : student_metrics()) {
    if (m.key == key) return m;
  }
  throw std::invalid_argument("student_metric: no metric '" + key + "'");
}

MetricComparison compare_on(const std::vector<Metric>& metrics, const std::vector<const StudentResult*>& a,
                            const std::vector<const StudentResult*>& b, const std::string& a_name,
                            const std::string& b_name) {
  if (a.size() != b.size() || a.empty()) {
    throw std::invalid_argument(fmt::format("compare_on: {} {} and {} {} students", a.size(), a_name, b.size(), b_name));
  }
  MetricComparison out{Table({"metric", a_name, b_name, b_name + " - " + a_name + " (paired)", "95% CI", "beyond 2 std"}),
                       nlohmann::json::object(), nlohmann::json::object(), nlohmann::json::object(),
                       nlohmann::json::object(), nlohmann::json::object()};
  for (const Metric& m : metrics) {
    const std::vector<double> x = column(a, m.get), y = column(b, m.get);
    const PairedDifference d = paired_difference(x, y);
    const MeanStd mx = mean_std(x), my = mean_std(y);
    out.table.add_row({m.name, mx.to_string(m.digits), my.to_string(m.digits), d.to_string(m.digits),
                       x.size() >= 2 ? d.confidence_interval().to_string(m.digits) : "-",
                       d.beyond_two_std() ? "yes" : "no"});
    out.a[m.key] = x;
    out.b[m.key] = y;
    out.difference[m.key] = d.to_json();
    out.a_mean[m.key] = {{"mean", mx.mean}, {"std", mx.std}};
    out.b_mean[m.key] = {{"mean", my.mean}, {"std", my.std}};
  }
  return out;
}

int64_t diverged_count(const std::vector<const StudentResult*>& results) {
  return std::count_if(results.begin(), results.end(), [](const StudentResult* r) { return r->diverged; });
}

std::vector<double> column(const std::vector<const StudentResult*>& results,
                           const std::function<double(const StudentResult&)>& get) {
  std::vector<double> out;
  for (const StudentResult* r : results) out.push_back(get(*r));
  return out;
}

HardSoftComparison compare_hard_soft(Lab& lab, const std::function<StudentKey(const Targets&, uint64_t)>& student,
                                     const std::vector<Targets>& grid, const std::vector<uint64_t>& tuning_seeds,
                                     const std::vector<uint64_t>& seeds, const std::string& label,
                                     const std::function<double(const StudentResult&)>& validation) {
  if (grid.empty()) throw std::invalid_argument("compare_hard_soft: no soft settings to try");
  if (tuning_seeds.empty()) throw std::invalid_argument("compare_hard_soft: no tuning seeds");
  for (uint64_t t : tuning_seeds) {
    if (std::find(seeds.begin(), seeds.end(), t) != seeds.end()) {
      throw std::invalid_argument(fmt::format("compare_hard_soft: seed {} is both a tuning and a comparison seed", t));
    }
  }
  const auto keys = [&](const Targets& targets, const std::vector<uint64_t>& of) {
    std::vector<StudentKey> out;
    for (uint64_t seed : of) out.push_back(student(targets, seed));
    return out;
  };
  // Plan 1: everything that does not wait for the choice.
  std::vector<StudentKey> first = keys(Targets::hard(), tuning_seeds);
  for (const Targets& t : grid) {
    const std::vector<StudentKey> k = keys(t, tuning_seeds);
    first.insert(first.end(), k.begin(), k.end());
  }
  const std::vector<StudentKey> hard = keys(Targets::hard(), seeds);
  first.insert(first.end(), hard.begin(), hard.end());
  lab.run(first, label + ": tuning");

  HardSoftComparison c{tuning_seeds, lab.run(keys(Targets::hard(), tuning_seeds), label), {}, {}, {}, seeds, {}, {}};
  for (const Targets& t : grid) {
    c.tuning_soft.push_back(lab.run(keys(t, tuning_seeds), label));
    const std::vector<double> per_seed =
        column(c.tuning_soft.back(), validation ? validation : [](const StudentResult& r) { return r.scores.validation_accuracy; });
    c.candidates.push_back({t, mean_std(per_seed).mean, per_seed});
  }
  c.chosen = best_on_validation(c.candidates).targets;
  // Plan 2: the chosen setting's students.
  c.soft = lab.run(keys(c.chosen, seeds), label + ": " + c.chosen.describe());
  c.hard = lab.run(hard, label);
  return c;
}

}  // namespace book
