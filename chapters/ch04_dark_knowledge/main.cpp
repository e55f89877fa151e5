// Chapter 4: dark knowledge. What a teacher's probabilities say that a label does not, and
// what that changes in the gradient a student receives.
//
// 1. Data and the cached teacher.
// 2. Class similarity: the teacher's average soft target for each true class.
// 3. The most plausible wrong class of each class, against the teacher's confusion matrix.
// 4. Information per example: entropy of labels and of soft targets.
// 5. The gradient on a student's logits for one training image: hard label against soft target.
// 6. Report.
#include "autograd/ops.h"
#include "chapters/common/book_data.h"
#include "chapters/common/experiment.h"
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

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>

namespace {

using autograd::Var;
using tensor::Tensor;

// --- configuration -------------------------------------------------------------------
constexpr float kHighT = 4.0f;                          // a training-like temperature (chapter 5 chooses its own)
const std::vector<float> kEntropyTemperatures = {1, 2, 4, 8};
constexpr int64_t kShirt = 6, kTShirt = 0;              // the gradient example: a shirt the teacher doubts
constexpr size_t kClasses = 10;

using Matrix = std::vector<std::vector<double>>;

std::string name(size_t c) { return std::string(nn::kFashionMnistClasses[c]); }

// The teacher's average soft target at temperature t over the training images of each true class.
Matrix class_similarity(const Tensor& logits, const nn::Dataset& images, const std::vector<int64_t>& indices, float t) {
  return nn::class_similarity(tensor::index_select(logits, 0, indices), book::labels_of(images, indices), t);
}

// The largest off-diagonal entry of each row.
std::vector<size_t> most_plausible_wrong(const Matrix& m) {
  std::vector<size_t> out;
  for (size_t y = 0; y < m.size(); ++y) {
    size_t best = y == 0 ? 1 : 0;
    for (size_t c = 0; c < m[y].size(); ++c) {
      if (c != y && m[y][c] > m[y][best]) best = c;
    }
    out.push_back(best);
  }
  return out;
}



book::Heatmap heatmap(const std::string& title, const Matrix& m) {
  book::Heatmap h{title, "class the teacher gives probability to", "true class", {}, {}, m, "mean probability"};
  for (size_t c = 0; c < kClasses; ++c) {
    h.rows.push_back(name(c));
    h.columns.push_back(name(c));
  }
  return h;
}

}  // namespace

int chapter(const book::Options& options) {
  fmt::print("Chapter 4: dark knowledge (seed {}{})\n", options.seed, options.quick ? ", --quick" : "");
  nlohmann::json results;

  // --- 1. data and teacher -------------------------------------------------------------
  book::banner(1, "Data and the cached teacher");
  const book::Classroom classroom = book::open_classroom(options);
  const book::BookData& data = classroom.data;
  const book::TeacherCache& teacher = classroom.teacher;
  const nn::Labels& train_labels = data.data.train.labels;
  fmt::print("soft targets of the {} training images of the split's training part\n", data.split.train.size());

  // --- 2. class similarity ---------------------------------------------------------------
  book::banner(2, "Class similarity: the teacher's average soft target per true class");
  const Matrix at_1 = class_similarity(teacher.train_logits, data.data.train, data.split.train, 1.0f);
  const Matrix at_high = class_similarity(teacher.train_logits, data.data.train, data.split.train, kHighT);
  std::vector<std::string> headers = {fmt::format("true \\ T={}", tensor::to_string(kHighT))};
  for (size_t c = 0; c < kClasses; ++c) headers.push_back(name(c));
  book::Table similarity(headers);
  for (size_t y = 0; y < kClasses; ++y) {
    std::vector<std::string> row = {name(y)};
    for (double v : at_high[y]) row.push_back(fmt::format("{:.3f}", v));
    similarity.add_row(row);
  }
  fmt::print("{}", similarity.to_text());
  book::write_file(options.file("similarity_T4.csv"), similarity.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, "similarity_T1",
                                     heatmap("Teacher's mean soft target per true class, T = 1 (training images)", at_1)));
  fmt::print("{}\n", book::save_plot(options.out, "similarity_T4",
                                     heatmap("Teacher's mean soft target per true class, T = 4 (training images)", at_high)));
  results["similarity"] = {{"T1", at_1}, {"T4", at_high}};

  // --- 3. the most plausible wrong class -------------------------------------------------
  book::banner(3, "The most plausible wrong class, and the teacher's actual mistakes");
  const std::vector<size_t> wrong_1 = most_plausible_wrong(at_1);
  const std::vector<size_t> wrong_high = most_plausible_wrong(at_high);
  const auto confusion = nn::confusion_matrix(teacher.test_logits, data.data.test.labels);
  Matrix confusion_matrix(kClasses, std::vector<double>(kClasses, 0.0));
  for (size_t y = 0; y < kClasses; ++y) {
    for (size_t c = 0; c < kClasses; ++c) confusion_matrix[y][c] = static_cast<double>(confusion[y][c]);
  }
  const std::vector<size_t> mistaken_for = most_plausible_wrong(confusion_matrix);
  // A soft-target choice agrees when it is a most frequent error (ties count); a class with
  // no test error has nothing to agree with and is left out.
  const auto agrees = [&](size_t y, size_t choice) {
    return confusion[y][mistaken_for[y]] > 0 && confusion[y][choice] == confusion[y][mistaken_for[y]];
  };
  book::Table wrong({"true class", "soft target T=1", "mass", "soft target T=4", "mass", "most frequent test error",
                     "count", "agree T=1", "agree T=4"});
  int agreements_1 = 0, agreements_high = 0, classes_with_errors = 0;
  nlohmann::json wrong_json = nlohmann::json::object();
  for (size_t y = 0; y < kClasses; ++y) {
    const bool any_error = confusion[y][mistaken_for[y]] > 0;
    classes_with_errors += any_error;
    agreements_1 += agrees(y, wrong_1[y]);
    agreements_high += agrees(y, wrong_high[y]);
    const auto verdict = [&](size_t choice) { return any_error ? (agrees(y, choice) ? "yes" : "no") : "-"; };
    wrong.add_row({name(y), name(wrong_1[y]), fmt::format("{:.4f}", at_1[y][wrong_1[y]]), name(wrong_high[y]),
                   fmt::format("{:.3f}", at_high[y][wrong_high[y]]), any_error ? name(mistaken_for[y]) : "none",
                   std::to_string(confusion[y][mistaken_for[y]]), verdict(wrong_1[y]), verdict(wrong_high[y])});
    wrong_json[name(y)] = {{"T1", name(wrong_1[y])},
                           {"T4", name(wrong_high[y])},
                           {"test_error", any_error ? name(mistaken_for[y]) : "none"},
                           {"test_error_count", confusion[y][mistaken_for[y]]}};
  }
  fmt::print("{}", wrong.to_text());
  book::write_file(options.file("most_plausible_wrong_class.csv"), wrong.to_csv());
  fmt::print("the soft targets' most plausible wrong class is a most frequent test mistake for {} (T = 1) and {} "
             "(T = 4) of the {} classes with mistakes\n",
             agreements_1, agreements_high, classes_with_errors);
  results["most_plausible_wrong_class"] = wrong_json;
  results["agreement_with_confusion_matrix"] = {{"T1", agreements_1}, {"T4", agreements_high},
                                                 {"classes_with_errors", classes_with_errors}};

  // --- 4. information per example --------------------------------------------------------
  book::banner(4, "Information per example");
  const Tensor train_part = tensor::index_select(teacher.train_logits, 0, data.split.train);
  book::Table info({"target", "mean entropy (bits per image)"});
  info.add_row({"one-hot label", "0.000"});
  nlohmann::json entropy_json = nlohmann::json::object();
  entropy_json["one_hot"] = 0.0;
  for (float t : kEntropyTemperatures) {
    const double h = nn::mean_entropy_bits(train_part, t);
    info.add_row({fmt::format("soft target, T = {}", tensor::to_string(t)), fmt::format("{:.3f}", h)});
    entropy_json[tensor::to_string(t)] = h;
  }
  fmt::print("{}", info.to_text());
  results["mean_entropy_bits"] = entropy_json;

  // --- 5. the gradient on a student's logits ----------------------------------------------
  book::banner(5, "The gradient on a student's logits: hard label against soft target");
  const auto student = book::train_student({.widths = {784, 100, 10}, .epochs = 1, .seed = options.seed},
                                           book::Targets::hard(), data, data.split.train, {}, true)
                           .model;
  // A training shirt that student and teacher both call a shirt, but that the teacher thinks
  // could be a T-shirt: the largest p_student(shirt) q_teacher(T-shirt) among those.
  std::vector<int64_t> shirts;
  for (int64_t i : data.split.train) {
    if (train_labels[static_cast<size_t>(i)] == kShirt) shirts.push_back(i);
  }
  if (shirts.empty()) throw std::runtime_error("no shirt in the training part of the data: nothing to show");
  const Tensor student_p = autograd::softmax(Var(book::predict_logits(*student, data.data.train, shirts, data.norm))).value();
  const Tensor teacher_q = autograd::softmax(Var(tensor::index_select(teacher.train_logits, 0, shirts))).value();
  int64_t example = -1;
  float best = -1.0f;
  for (size_t k = 0; k < shirts.size(); ++k) {
    const auto row = static_cast<int64_t>(k);
    const float score = student_p.at({row, kShirt}) * teacher_q.at({row, kTShirt});
    const bool teacher_right = nn::predictions(teacher.train_logits.narrow(0, shirts[k], 1))[0] == kShirt;
    const bool student_right = student_p.at({row, kShirt}) >= tensor::max(student_p.narrow(0, row, 1)).item();
    if (teacher_right && student_right && score > best) {
      best = score;
      example = shirts[k];
    }
  }
  if (example < 0) throw std::runtime_error("no training shirt that both the teacher and the student call a shirt");
  const Tensor s = book::predict_logits(*student, data.data.train, {example}, data.norm);
  const Tensor t = teacher.train_logits.narrow(0, example, 1).contiguous();
  const auto gradient = [&](const std::function<Var(const Var&)>& loss) {
    Var logits(s, true);
    loss(logits).backward();
    return logits.grad().to_vector();
  };
  const std::vector<float> hard = gradient([&](const Var& z) { return nn::cross_entropy(z, {kShirt}); });
  const std::vector<float> soft_1 = gradient([&](const Var& z) { return nn::distillation_loss(z, t, {}, 1.0f, 1.0f); });
  const std::vector<float> soft_high =
      gradient([&](const Var& z) { return nn::distillation_loss(z, t, {}, kHighT, 1.0f); });
  const std::vector<float> p = autograd::softmax(Var(s)).value().to_vector();
  const std::vector<float> q = autograd::softmax(Var(t)).value().to_vector();
  const std::vector<float> q_high = autograd::softmax(Var(t), kHighT).value().to_vector();
  book::Table grads({"class", "student p", "teacher q (T=1)", "teacher q (T=4)", "hard: p - y", "soft T=1: p - q",
                     "soft T=4 (x T^2)"});
  book::LinePlot plot{fmt::format("Gradient on the student's logits, training image {} (a shirt)", example),
                      "class",
                      "dL/dz (negative: pushed up)",
                      {{"hard label", {}, {}}, {"soft target, T = 1", {}, {}}, {"soft target, T = 4, times T^2", {}, {}}},
                      false};
  plot.x_ticks.assign(nn::kFashionMnistClasses.begin(), nn::kFashionMnistClasses.end());
  for (size_t c = 0; c < kClasses; ++c) {
    grads.add_row({name(c), fmt::format("{:.4f}", p[c]), fmt::format("{:.4f}", q[c]), fmt::format("{:.4f}", q_high[c]),
                   fmt::format("{:+.4f}", hard[c]), fmt::format("{:+.4f}", soft_1[c]), fmt::format("{:+.4f}", soft_high[c])});
    for (auto [series, g] : {std::pair{0, &hard}, std::pair{1, &soft_1}, std::pair{2, &soft_high}}) {
      plot.series[static_cast<size_t>(series)].x.push_back(static_cast<double>(c));
      plot.series[static_cast<size_t>(series)].y.push_back((*g)[c]);
    }
  }
  fmt::print("training image {} (true class Shirt)\n{}", example, grads.to_text());
  book::write_file(options.file("gradient.csv"), grads.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, "gradient", plot));
  int pushed_up = 0;
  for (size_t c = 0; c < kClasses; ++c) pushed_up += c != static_cast<size_t>(kShirt) && soft_high[c] < 0;
  fmt::print("wrong classes pushed up by the soft target at T = 4: {}; by the hard label: 0 (p - 0 >= 0)\n", pushed_up);
  results["gradient"] = {{"train_index", example}, {"student_p", p}, {"teacher_q_T1", q}, {"teacher_q_T4", q_high},
                         {"hard", hard}, {"soft_T1", soft_1}, {"soft_T4_times_T2", soft_high},
                         {"wrong_classes_pushed_up_T4", pushed_up}};

  // --- 6. report ---------------------------------------------------------------------------
  book::banner(6, "Report");
  for (size_t c : {static_cast<size_t>(kShirt), size_t{7}, size_t{9}}) {
    fmt::print("most plausible wrong class of {}: {} (T = 1), {} (T = 4); most frequent test error: {}\n", name(c),
               name(wrong_1[c]), name(wrong_high[c]), name(mistaken_for[c]));
  }
  results["teacher_config"] = teacher.config;
  results["seed"] = options.seed;
  // Claim 1: the ranking of the wrong classes is knowledge about the data, not noise: its top
  // entry names the teacher's actual most frequent mistake far more often than the 1 in 9 of chance.
  const book::Verdict dark_knowledge{
      "The teacher's soft targets carry more than the label: they rank the wrong classes, and the wrong class they "
      "find most plausible is the one the teacher actually mistakes a class for",
      "the soft targets' most plausible wrong class (T = 1) is a most frequent test mistake for more than half of the "
      "classes with mistakes (chance: 1 in 9), and the soft targets' mean entropy is above 0 bits",
      book::met(2 * agreements_1 > classes_with_errors && entropy_json["1"].get<double>() > 0),
      fmt::format("{} of {} classes agree at T = 1 ({} at T = 4); mean entropy {:.3f} bits per image at T = 1, "
                  "{:.3f} at T = 4, 0 for a label",
                  agreements_1, classes_with_errors, agreements_high, entropy_json["1"].get<double>(),
                  entropy_json["4"].get<double>())};
  // Claim 3: p - y with a one-hot y pushes every wrong class down by the student's own belief.
  double hard_off = 0;  // the largest |hard_j - p_j| over the wrong classes: 0 up to rounding
  bool hard_pushes_down = true;
  size_t most_up = kShirt == 0 ? 1 : 0;  // the wrong class the soft target pushes up most
  for (size_t c = 0; c < kClasses; ++c) {
    if (c == static_cast<size_t>(kShirt)) continue;
    hard_off = std::max(hard_off, static_cast<double>(std::abs(hard[c] - p[c])));
    hard_pushes_down = hard_pushes_down && hard[c] >= 0;
    if (soft_high[c] < soft_high[most_up]) most_up = c;
  }
  const book::Verdict gradient_verdict{
      "With a one-hot label every wrong class is pushed down in proportion to the student's own belief; with a soft "
      "target the push on a wrong class follows the teacher's belief and can be upward",
      fmt::format("on the example shirt, the hard label's gradient on every wrong class equals the student's p_j "
                  "(within 1e-6, so it is never negative), and the soft target at T = {} pushes at least one wrong "
                  "class up (negative gradient)",
                  tensor::to_string(kHighT)),
      book::met(hard_pushes_down && hard_off < 1e-6 && pushed_up > 0),
      fmt::format("training image {}: hard gradient - p_j at most {:.1e} over the wrong classes; {} wrong class{} pushed "
                  "up by the soft target at T = {}, the most {} ({:+.4f})",
                  example, hard_off, pushed_up, pushed_up == 1 ? "" : "es", tensor::to_string(kHighT),
                  name(most_up), soft_high[most_up])};
  book::finish_with_verdicts(options, results, {{"dark_knowledge", dark_knowledge}, {"gradient", gradient_verdict}});
  return 0;
}

int main(int argc, char** argv) {
  return book::run_chapter(argc, argv, "ch04_dark_knowledge", "Chapter 4: dark knowledge", chapter);
}
