// Chapter 3: the temperature softmax. What dividing the teacher's logits by T does to its
// probabilities, to their entropy, and to the size of the gradient a student receives.
//
// 1. Data and the cached teacher.
// 2. Three test images seen at T = 0.25 ... 100.
// 3. Mean entropy of the soft targets against T.
// 4. The gradient: its size against T, with and without the T^2 factor, and the high-T limit.
// 5. Why the student is evaluated at T = 1: the same logits scored at T = 1 and at T = 4.
// 6. Report.
#include "autograd/ops.h"
#include "chapters/common/book_data.h"
#include "chapters/common/experiment.h"
#include "chapters/common/explorer.h"
#include "chapters/common/options.h"
#include "chapters/common/plot.h"
#include "chapters/common/report.h"
#include "chapters/common/student.h"
#include "chapters/common/teacher.h"
#include "chapters/common/verdict.h"
#include "nn/losses.h"
#include "nn/metrics.h"
#include "tensor/ops.h"

#include <fmt/core.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace {

using autograd::Var;
using tensor::Tensor;

// --- configuration -------------------------------------------------------------------
const std::vector<float> kShownTemperatures = {0.25f, 0.5f, 1, 2, 4, 8, 20, 100};
constexpr int kEntropyPoints = 16;                 // log-spaced from 0.25 to 100
const std::vector<float> kGradientTemperatures = {1, 2, 4, 8, 16, 32, 64, 100, 1000};
constexpr int64_t kShirt = 6, kTShirt = 0, kSandal = 5, kSneaker = 7;
constexpr float kDistillT = 4.0f;      // section 5: the temperature a student is distilled at
constexpr float kDistillAlpha = 0.9f;
constexpr int kDistillEpochs = 2;
constexpr double kLimitTolerance = 0.01;  // the verdict: |T^2 grad - L2 grad| / |L2 grad| at the largest T
const double kUniformBits = std::log2(10.0);  // the entropy of a uniform softmax over the 10 classes

std::vector<float> softmax_row(const Tensor& logits, int64_t row, float t) {
  return autograd::softmax(Var(logits.narrow(0, row, 1)), t).value().to_vector();
}

// The test image of class `true_class` on which the teacher (at T = 1) hesitates most between
// that class and `other`: the largest product of the two probabilities.
int64_t most_confused(const Tensor& logits, const nn::Labels& labels, int64_t true_class, int64_t other) {
  int64_t best = -1;
  float best_score = -1;
  for (size_t n = 0; n < labels.size(); ++n) {
    if (labels[n] != true_class) continue;
    const std::vector<float> p = softmax_row(logits, static_cast<int64_t>(n), 1.0f);
    const float score = p[static_cast<size_t>(true_class)] * p[static_cast<size_t>(other)];
    if (score > best_score) {
      best_score = score;
      best = static_cast<int64_t>(n);
    }
  }
  if (best < 0) throw std::runtime_error("no test image of class " + std::string(nn::kFashionMnistClasses[true_class]));
  return best;
}

// The correctly classified test image the teacher is surest about.
int64_t most_confident(const Tensor& logits, const nn::Labels& labels) {
  const Tensor top = tensor::max(tensor::log_softmax(logits, 1), 1);
  const nn::Labels predicted = nn::predictions(logits);
  int64_t best = -1;
  for (size_t n = 0; n < labels.size(); ++n) {
    if (predicted[n] == labels[n] && (best < 0 || top.data()[n] > top.data()[best])) best = static_cast<int64_t>(n);
  }
  if (best < 0) throw std::runtime_error("the teacher classifies no test image correctly");
  return best;
}

double norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double(x) * x;
  return std::sqrt(s);
}

// --- 2. three images at many temperatures --------------------------------------------
// The test images section 2 shows: what each is, and its index.
struct Examples {
  std::vector<std::pair<std::string, int64_t>> images;  // the confident one, the shirt, the sandal
  nlohmann::json json;                                  // each image's softmax at every T, for results.json
  int64_t shirt() const { return images[1].second; }    // the shirt torn between shirt and T-shirt
};

// One image's softmax at every shown T: a table (printed, and as a CSV) and a plot, `e` numbering
// the files. Returns it for results.json.
nlohmann::json soften(const book::Options& options, const Tensor& logits, const nn::Labels& labels, size_t e,
                      const std::string& what, int64_t index) {
  fmt::print("\ntest image {} ({}), true class {}:\n", index, what, nn::kFashionMnistClasses[labels[index]]);
  std::vector<std::string> headers = {"T"};
  for (auto name : nn::kFashionMnistClasses) headers.emplace_back(name);
  headers.emplace_back("entropy (bits)");
  book::Table table(headers);
  book::LinePlot plot{fmt::format("Teacher softmax at several T: test image {} ({})", index, what),
                      "class",
                      "probability", {}, false};
  plot.x_ticks.assign(nn::kFashionMnistClasses.begin(), nn::kFashionMnistClasses.end());
  nlohmann::json rows = nlohmann::json::object();
  for (float t : kShownTemperatures) {
    const std::vector<float> p = softmax_row(logits, index, t);
    std::vector<std::string> row = {tensor::to_string(t)};
    book::Series series{fmt::format("T = {}", tensor::to_string(t)), {}, {}};
    for (size_t c = 0; c < p.size(); ++c) {
      row.push_back(fmt::format("{:.3f}", p[c]));
      series.x.push_back(static_cast<double>(c));
      series.y.push_back(p[c]);
    }
    row.push_back(fmt::format("{:.3f}", nn::mean_entropy_bits(logits.narrow(0, index, 1), t)));
    table.add_row(row);
    plot.series.push_back(series);
    rows[tensor::to_string(t)] = p;
  }
  fmt::print("{}", table.to_text());
  book::write_file(options.file(fmt::format("example_{}.csv", e + 1)), table.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, fmt::format("example_{}", e + 1), plot));
  return {{"test_index", index}, {"what", what}, {"true_class", nn::kFashionMnistClasses[labels[index]]},
          {"softmax", rows}};
}

// A confident test image and two the teacher hesitates on, each at T = 0.25 ... 100.
Examples soften_examples(const book::Options& options, const Tensor& logits, const nn::Labels& labels) {
  Examples out{{{"a confident one", most_confident(logits, labels)},
                {"a shirt torn between shirt and T-shirt", most_confused(logits, labels, kShirt, kTShirt)},
                {"a sandal torn between sandal and sneaker", most_confused(logits, labels, kSandal, kSneaker)}},
               nlohmann::json::array()};
  for (size_t e = 0; e < out.images.size(); ++e) {
    const auto& [what, index] = out.images[e];
    out.json.push_back(soften(options, logits, labels, e, what, index));
  }
  return out;
}

// --- 3. entropy against temperature ----------------------------------------------------
// The mean entropy of the soft targets at log-spaced temperatures.
struct Entropy {
  std::vector<double> temperatures, entropies;  // entropies in bits
  bool monotonic = true;                        // each step up in T raises it
};

// The mean entropy over the test set from T = 0.25 to 100: a table (printed, and as a CSV) and a plot.
Entropy entropy_against_temperature(const book::Options& options, const Tensor& logits) {
  std::vector<double> temperatures, entropies;
  for (int i = 0; i < kEntropyPoints; ++i) {
    temperatures.push_back(0.25 * std::pow(400.0, static_cast<double>(i) / (kEntropyPoints - 1)));
    entropies.push_back(nn::mean_entropy_bits(logits, static_cast<float>(temperatures.back())));
  }
  book::Table entropy_table({"T", "mean entropy (bits)"});
  bool monotonic = true;
  for (size_t i = 0; i < temperatures.size(); ++i) {
    entropy_table.add_row({fmt::format("{:.3g}", temperatures[i]), fmt::format("{:.4f}", entropies[i])});
    if (i > 0 && !(entropies[i] > entropies[i - 1])) monotonic = false;
  }
  fmt::print("{}", entropy_table.to_text());
  book::write_file(options.file("entropy.csv"), entropy_table.to_csv());
  fmt::print("rises monotonically with T: {}; limits: 0 bits as T -> 0, log2(10) = {:.4f} bits as T -> infinity\n",
             monotonic ? "yes" : "NO (see the table)", kUniformBits);
  fmt::print("{}\n",
             book::save_plot(options.out, "entropy",
                             book::LinePlot{fmt::format("Mean entropy of the teacher's soft targets (test set) {}: "
                                                        "{:.2f} bits at T = 0.25, {:.2f} at T = 100",
                                                        monotonic ? "rises at every step of T" : "does NOT rise at every step",
                                                        entropies.front(), entropies.back()),
                                            "temperature T (log scale)",
                                            "entropy (bits per image)",
                                            {{"mean entropy", temperatures, entropies},
                                             {"log2(10): uniform",
                                              {temperatures.front(), temperatures.back()},
                                              {kUniformBits, kUniformBits}},
                                             {"0: one-hot", {temperatures.front(), temperatures.back()}, {0.0, 0.0}}},
                                            true}));
  return {temperatures, entropies, monotonic};
}

// --- 4. the gradient ---------------------------------------------------------------------
// The soft loss's gradient on a student's logits, against T.
struct Gradient {
  std::vector<double> distances;  // T^2 grad's relative distance to the L2 limit, per T
  double shrink = 0.0;            // |grad| at T = 1 over |grad| at the largest T, without T^2
  double distance_at_100 = 0.0;
  nlohmann::json json;  // for results.json
};

// The gradient of the soft loss on the logits of a student (a 784-100-10 MLP after one epoch on
// hard labels) for test image `index`, at each T: its size with and without T^2, against the 1/T^2
// prediction and the high-T limit. Writes the temperature explorer's data too.
Gradient soft_gradient(const book::Options& options, const book::Classroom& classroom, int64_t index) {
  const book::BookData& data = classroom.data;
  // A student to receive it: a 784-100-10 MLP after one epoch on hard labels.
  const auto student = book::train_student({.widths = {784, 100, 10}, .epochs = 1, .seed = options.seed},
                                           book::Targets::hard(), data, data.split.train, {}, true)
                           .model;
  const Tensor s = book::predict_logits(*student, data.data.test, {index}, data.norm);
  const Tensor t = classroom.teacher.test_logits.narrow(0, index, 1).contiguous();
  // The high-T limit: T^2 KL -> (1 / 2C) || (s - mean s) - (t - mean t) ||^2, gradient ((s - s̄) - (t - t̄)) / C.
  const Tensor centered = tensor::sub(tensor::sub(s, tensor::mean(s, 1, true)), tensor::sub(t, tensor::mean(t, 1, true)));
  const std::vector<float> l2_gradient = tensor::div(centered, 10.0f).to_vector();
  const double l2_norm = norm(l2_gradient);
  book::Table gradient_table({"T", "|grad| without T^2", "|grad| with T^2", "1/T^2 prediction", "distance to L2 gradient"});
  nlohmann::json gradient_json = nlohmann::json::array();
  Gradient out;
  double norm_at_1 = 0.0;
  for (float temperature : kGradientTemperatures) {
    Var student_logits(s, true);
    nn::kl_div(autograd::log_softmax(student_logits, temperature), autograd::softmax(Var(t), temperature).value())
        .backward();
    const std::vector<float> g = student_logits.grad().to_vector();
    const double without = norm(g);
    const double with = without * temperature * temperature;
    std::vector<float> scaled(g.size());
    for (size_t c = 0; c < g.size(); ++c) scaled[c] = g[c] * temperature * temperature - l2_gradient[c];
    const double distance = norm(scaled) / l2_norm;
    const double prediction = l2_norm / (temperature * temperature);
    if (temperature == kGradientTemperatures.front()) norm_at_1 = without;
    out.shrink = norm_at_1 / without;
    out.distances.push_back(distance);
    if (temperature == 100.0f) out.distance_at_100 = distance;
    gradient_table.add_row({tensor::to_string(temperature), fmt::format("{:.3e}", without), fmt::format("{:.4f}", with),
                            fmt::format("{:.3e}", prediction), fmt::format("{:.1f}%", 100.0 * distance)});
    gradient_json.push_back({{"T", temperature}, {"norm_without_T2", without}, {"norm_with_T2", with},
                             {"one_over_T2_prediction", prediction}, {"relative_distance_to_l2", distance}});
  }
  fmt::print("test image {}; |L2 gradient| = {:.4f}\n{}", index, l2_norm, gradient_table.to_text());
  book::write_file(options.file("gradient.csv"), gradient_table.to_csv());
  out.json = {{"test_index", index}, {"l2_gradient_norm", l2_norm}, {"rows", gradient_json}};
  // The docs' temperature explorer: its images, and this student's logits for its gradient panel.
  book::write_explorer_teacher(options, classroom, *student, "a 784-100-10 MLP after one epoch on hard labels");
  fmt::print("the temperature explorer's data: {}\n", options.file(book::kExplorerTeacherFile));
  return out;
}

// --- 5. evaluated at T = 1 --------------------------------------------------------------
// A student distilled at kDistillT, and the teacher, scored on the test set from the same logits
// at T = 1 and at kDistillT. Dividing logits by T > 0 keeps their order, so the top class, and
// with it the accuracy, cannot move; the probabilities, and so the NLL and the calibration, do.
// A table (printed, and as a CSV); returns its rows for results.json.
nlohmann::json evaluated_at_t1(const book::Options& options, const book::Classroom& classroom) {
  const book::BookData& data = classroom.data;
  const auto student =
      book::train_student({.widths = {784, 100, 10}, .epochs = options.quick ? 1 : kDistillEpochs, .seed = options.seed},
                          book::Targets::soft(kDistillT, kDistillAlpha), data, data.split.train,
                          classroom.teacher.train_logits, true)
          .model;
  const nn::Labels& labels = data.data.test.labels;
  const Tensor student_logits = book::predict_logits(*student, data.data.test, data.test_indices, data.norm);
  book::Table table({"network", "scored at", "test accuracy", "NLL (nats)", "ECE", "top class moved"});
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& [network, logits] : {std::pair<std::string, const Tensor*>{"teacher", &classroom.teacher.test_logits},
                                        {fmt::format("student distilled at T = {:g}", kDistillT), &student_logits}}) {
    const nn::Labels at_1 = nn::predictions(*logits);
    for (float t : {1.0f, kDistillT}) {
      const Tensor scaled = tensor::div(*logits, t);
      const nn::Labels at_t = nn::predictions(scaled);
      int64_t moved = 0;
      for (size_t n = 0; n < at_t.size(); ++n) moved += at_t[n] != at_1[n];
      const double accuracy = nn::accuracy(scaled, labels), nll = nn::mean_nll(scaled, labels),
                   ece = nn::expected_calibration_error(scaled, labels);
      table.add_row({network, fmt::format("T = {:g}", t), fmt::format("{:.4f}", accuracy), fmt::format("{:.3f}", nll),
                     fmt::format("{:.3f}", ece), std::to_string(moved)});
      rows.push_back({{"network", network}, {"T", t}, {"test_accuracy", accuracy}, {"nll", nll}, {"ece", ece},
                      {"top_class_moved", moved}});
    }
  }
  fmt::print("{}", table.to_text());
  book::write_file(options.file("evaluated_at_t1.csv"), table.to_csv());
  fmt::print("the same logits at T = 1 and T = {:g}: the same top class on every image, so the same accuracy; "
             "only the probabilities change\n",
             kDistillT);
  return rows;
}

// --- 6. report -------------------------------------------------------------------------
// The entropy at T = 1 and 4, the verdict, and results.json.
void report(const book::Options& options, const book::TeacherCache& teacher, const Examples& examples,
            const Entropy& entropy, const Gradient& gradient, const nlohmann::json& evaluated) {
  const Tensor& logits = teacher.test_logits;
  fmt::print("mean entropy: {:.3f} bits at T = 1, {:.3f} bits at T = 4 (log2(10) = {:.3f})\n",
             nn::mean_entropy_bits(logits, 1.0f), nn::mean_entropy_bits(logits, 4.0f), kUniformBits);
  nlohmann::json results;
  results["examples"] = examples.json;
  results["temperatures"] = entropy.temperatures;
  results["mean_entropy_bits"] = entropy.entropies;
  results["entropy_rises_monotonically"] = entropy.monotonic;
  results["gradient"] = gradient.json;
  results["evaluated_at_t1"] = evaluated;
  results["mean_entropy_bits_at"] = {{"1", nn::mean_entropy_bits(logits, 1.0f)}, {"4", nn::mean_entropy_bits(logits, 4.0f)}};
  results["teacher_config"] = teacher.config;
  results["seed"] = options.seed;
  // The claim is arithmetic, so the criterion is exact: every step up in T raises the entropy;
  // without T^2 the gradient vanishes like 1/T^2, with it it tends to the L2 limit. Only the
  // limit is asked for: the distance to it falls like 1/T times the spread of the logits, and at
  // small T it need not fall at all (this image's rises from T = 1 to 2 in some runs).
  const bool approaches = gradient.distances.back() < kLimitTolerance;
  const double largest_t = kGradientTemperatures.back();
  const book::Verdict verdict{
      "Raising T flattens the teacher's soft targets and never sharpens them; the soft gradient shrinks like 1/T^2, "
      "and the T^2 factor keeps its size, tending to the logit-matching gradient",
      fmt::format("the mean entropy of the test set's soft targets rises at each of the {} temperatures from 0.25 to "
                  "100, and at T = {:g} the T^2-scaled gradient is within {:.0f}% of the logit-matching (L2) gradient",
                  kEntropyPoints, largest_t, 100.0 * kLimitTolerance),
      book::met(entropy.monotonic && approaches),
      fmt::format("entropy {} from {:.4f} bits at T = 0.25 to {:.4f} bits at T = 100 (uniform: {:.4f}); without T^2 "
                  "the gradient is {:.3g} times smaller at T = {:g} than at T = 1, with it {:.2f}% from the L2 gradient "
                  "(T = 100: {:.1f}%)",
                  entropy.monotonic ? "rises at every step" : "does NOT rise at every step", entropy.entropies.front(),
                  entropy.entropies.back(), kUniformBits, gradient.shrink, largest_t,
                  100.0 * gradient.distances.back(), 100.0 * gradient.distance_at_100)};
  book::finish_with_verdicts(options, results, {{"temperature", verdict}});
}

}  // namespace

int chapter(const book::Options& options) {
  fmt::print("Chapter 3: the temperature softmax (seed {}{})\n", options.seed, options.quick ? ", --quick" : "");

  book::banner(1, "Data and the cached teacher");
  const book::Classroom classroom = book::open_classroom(options);
  const Tensor& logits = classroom.teacher.test_logits;
  const nn::Labels& labels = classroom.data.data.test.labels;

  book::banner(2, "Three test images, softened");
  const Examples examples = soften_examples(options, logits, labels);

  book::banner(3, "Mean entropy of the soft targets over the test set");
  const Entropy entropy = entropy_against_temperature(options, logits);

  book::banner(4, "The soft-loss gradient on a student's logits, against T");
  const Gradient gradient = soft_gradient(options, classroom, examples.shirt());

  book::banner(5, "Why the student is evaluated at T = 1");
  const nlohmann::json evaluated = evaluated_at_t1(options, classroom);

  book::banner(6, "Report");
  report(options, classroom.teacher, examples, entropy, gradient, evaluated);
  return 0;
}

int main(int argc, char** argv) {
  return book::run_chapter(argc, argv, "ch03_temperature", "Chapter 3: the temperature softmax", chapter);
}
