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

// --- 1. data and teacher -------------------------------------------------------------
// The data and the cached teacher, and which images' soft targets the chapter looks at.
book::Classroom data_and_teacher(const book::Options& options) {
  book::Classroom classroom = book::open_classroom(options);
  fmt::print("soft targets of the {} training images of the split's training part\n",
             classroom.data.split.train.size());
  return classroom;
}

// --- 2. class similarity ---------------------------------------------------------------
// The teacher's average soft target per true class, at T = 1 and at kHighT.
struct Similarity {
  Matrix at_1, at_high;  // [true class][class]
};

// The class similarity at both temperatures: kHighT's as a table (printed, and as a CSV), both as heatmaps.
Similarity class_similarities(const book::Options& options, const book::Classroom& classroom) {
  const book::BookData& data = classroom.data;
  const Tensor& logits = classroom.teacher.train_logits;
  Similarity out{class_similarity(logits, data.data.train, data.split.train, 1.0f),
                 class_similarity(logits, data.data.train, data.split.train, kHighT)};
  std::vector<std::string> headers = {fmt::format("true \\ T={}", tensor::to_string(kHighT))};
  for (size_t c = 0; c < kClasses; ++c) headers.push_back(name(c));
  book::Table similarity(headers);
  for (size_t y = 0; y < kClasses; ++y) {
    std::vector<std::string> row = {name(y)};
    for (double v : out.at_high[y]) row.push_back(fmt::format("{:.3f}", v));
    similarity.add_row(row);
  }
  fmt::print("{}", similarity.to_text());
  book::write_file(options.file("similarity_T4.csv"), similarity.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, "similarity_T1",
                                     heatmap("Teacher's mean soft target per true class, T = 1 (training images)",
                                             out.at_1)));
  fmt::print("{}\n", book::save_plot(options.out, "similarity_T4",
                                     heatmap("Teacher's mean soft target per true class, T = 4 (training images)",
                                             out.at_high)));
  return out;
}

// --- 3. the most plausible wrong class -------------------------------------------------
// Each class's most plausible wrong class by the soft targets, against its most frequent test error.
struct WrongClasses {
  std::vector<size_t> at_1, at_high;  // per true class, by the soft targets at T = 1 and at kHighT
  std::vector<size_t> mistaken_for;   // per true class, the teacher's most frequent test error
  int agreements_1 = 0, agreements_high = 0, classes_with_errors = 0;
  nlohmann::json json;  // per class, for results.json
};

// The most plausible wrong classes against the teacher's confusion matrix on the test set: a table
// (printed, and as a CSV) and how often they agree.
WrongClasses most_plausible_wrong_classes(const book::Options& options, const Similarity& similarity,
                                          const book::Classroom& classroom) {
  const Matrix& at_1 = similarity.at_1;
  const Matrix& at_high = similarity.at_high;
  const std::vector<size_t> wrong_1 = most_plausible_wrong(at_1);
  const std::vector<size_t> wrong_high = most_plausible_wrong(at_high);
  const auto confusion = nn::confusion_matrix(classroom.teacher.test_logits, classroom.data.data.test.labels);
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
  return {wrong_1, wrong_high, mistaken_for, agreements_1, agreements_high, classes_with_errors, wrong_json};
}

// --- 4. information per example --------------------------------------------------------
// The mean entropy of a label and of the soft targets at each of kEntropyTemperatures: a table.
// Returns it, in bits per image, by T ("one_hot" for the label).
nlohmann::json information_per_example(const book::Classroom& classroom) {
  const Tensor train_part = tensor::index_select(classroom.teacher.train_logits, 0, classroom.data.split.train);
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
  return entropy_json;
}

// --- 5. the gradient on a student's logits ----------------------------------------------
// A training shirt that student and teacher both call a shirt, but that the teacher thinks
// could be a T-shirt: the largest p_student(shirt) q_teacher(T-shirt) among those.
int64_t doubted_shirt(nn::Module& student, const book::Classroom& classroom) {
  const book::BookData& data = classroom.data;
  const Tensor& logits = classroom.teacher.train_logits;
  std::vector<int64_t> shirts;
  for (int64_t i : data.split.train) {
    if (data.data.train.labels[static_cast<size_t>(i)] == kShirt) shirts.push_back(i);
  }
  if (shirts.empty()) throw std::runtime_error("no shirt in the training part of the data: nothing to show");
  const Tensor student_p =
      autograd::softmax(Var(book::predict_logits(student, data.data.train, shirts, data.norm))).value();
  const Tensor teacher_q = autograd::softmax(Var(tensor::index_select(logits, 0, shirts))).value();
  int64_t example = -1;
  float best = -1.0f;
  for (size_t k = 0; k < shirts.size(); ++k) {
    const auto row = static_cast<int64_t>(k);
    const float score = student_p.at({row, kShirt}) * teacher_q.at({row, kTShirt});
    const bool teacher_right = nn::predictions(logits.narrow(0, shirts[k], 1))[0] == kShirt;
    const bool student_right = student_p.at({row, kShirt}) >= tensor::max(student_p.narrow(0, row, 1)).item();
    if (teacher_right && student_right && score > best) {
      best = score;
      example = shirts[k];
    }
  }
  if (example < 0) throw std::runtime_error("no training shirt that both the teacher and the student call a shirt");
  return example;
}

// The gradient on the student's logits for one training image, per class.
struct Gradient {
  int64_t example = -1;                        // the training image
  std::vector<float> hard, soft_1, soft_high;  // of the label's loss, the soft loss at T = 1 and at kHighT (x T^2)
  std::vector<float> p, p_high, q, q_high;     // the student's softmax at T = 1 and kHighT, the teacher's
  int pushed_up = 0;                           // wrong classes the soft target at kHighT pushes up
  nlohmann::json to_json() const {
    return {{"train_index", example}, {"student_p", p}, {"student_p_T4", p_high}, {"teacher_q_T1", q},
            {"teacher_q_T4", q_high}, {"hard", hard}, {"soft_T1", soft_1}, {"soft_T4_times_T2", soft_high},
            {"wrong_classes_pushed_up_T4", pushed_up}};
  }
};

// The gradients side by side: a table (printed, and as a CSV) and a plot.
void print_gradient(const book::Options& options, const Gradient& g) {
  book::Table grads({"class", "student p (T=1)", "student p (T=4)", "teacher q (T=1)", "teacher q (T=4)",
                     "hard: p - y", "soft T=1: p - q", "soft T=4 (x T^2): 4 (p - q)"});
  book::LinePlot plot{fmt::format("Gradient on the student's logits, training image {} (a shirt)", g.example),
                      "class",
                      "dL/dz (negative: pushed up)",
                      {{"hard label", {}, {}}, {"soft target, T = 1", {}, {}}, {"soft target, T = 4, times T^2", {}, {}}},
                      false};
  plot.x_ticks.assign(nn::kFashionMnistClasses.begin(), nn::kFashionMnistClasses.end());
  for (size_t c = 0; c < kClasses; ++c) {
    grads.add_row({name(c), fmt::format("{:.4f}", g.p[c]), fmt::format("{:.4f}", g.p_high[c]), fmt::format("{:.4f}", g.q[c]),
                   fmt::format("{:.4f}", g.q_high[c]), fmt::format("{:+.4f}", g.hard[c]),
                   fmt::format("{:+.4f}", g.soft_1[c]), fmt::format("{:+.4f}", g.soft_high[c])});
    for (auto [series, v] : {std::pair{0, &g.hard}, std::pair{1, &g.soft_1}, std::pair{2, &g.soft_high}}) {
      plot.series[static_cast<size_t>(series)].x.push_back(static_cast<double>(c));
      plot.series[static_cast<size_t>(series)].y.push_back((*v)[c]);
    }
  }
  fmt::print("training image {} (true class Shirt)\n{}", g.example, grads.to_text());
  book::write_file(options.file("gradient.csv"), grads.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, "gradient", plot));
}

// A student (a 784-100-10 MLP after one epoch on hard labels) and a shirt the teacher doubts: the
// gradient on the student's logits of the hard label's loss and of the soft loss, and how many
// wrong classes the soft target pushes up.
Gradient hard_against_soft_gradient(const book::Options& options, const book::Classroom& classroom) {
  const book::BookData& data = classroom.data;
  const auto student = book::train_student({.widths = {784, 100, 10}, .epochs = 1, .seed = options.seed},
                                           book::Targets::hard(), data, data.split.train, {}, true)
                           .model;
  const int64_t example = doubted_shirt(*student, classroom);
  const Tensor s = book::predict_logits(*student, data.data.train, {example}, data.norm);
  const Tensor t = classroom.teacher.train_logits.narrow(0, example, 1).contiguous();
  const auto gradient = [&](const std::function<Var(const Var&)>& loss) {
    Var logits(s, true);
    loss(logits).backward();
    return logits.grad().to_vector();
  };
  Gradient out{.example = example,
               .hard = gradient([&](const Var& z) { return nn::cross_entropy(z, {kShirt}); }),
               .soft_1 = gradient([&](const Var& z) { return nn::distillation_loss(z, t, {}, 1.0f, 1.0f); }),
               .soft_high = gradient([&](const Var& z) { return nn::distillation_loss(z, t, {}, kHighT, 1.0f); }),
               .p = autograd::softmax(Var(s)).value().to_vector(),
               .p_high = autograd::softmax(Var(s), kHighT).value().to_vector(),
               .q = autograd::softmax(Var(t)).value().to_vector(),
               .q_high = autograd::softmax(Var(t), kHighT).value().to_vector()};
  print_gradient(options, out);
  for (size_t c = 0; c < kClasses; ++c) out.pushed_up += c != static_cast<size_t>(kShirt) && out.soft_high[c] < 0;
  fmt::print("wrong classes pushed up by the soft target at T = 4: {}; by the hard label: 0 (p - 0 >= 0)\n",
             out.pushed_up);
  return out;
}

// --- 6. report ---------------------------------------------------------------------------
// Claim 1: the ranking of the wrong classes is knowledge about the data, not noise: its top
// entry names the teacher's actual most frequent mistake far more often than the 1 in 9 of chance.
book::Verdict dark_knowledge_verdict(const WrongClasses& wrong, const nlohmann::json& entropy) {
  return {
      "The teacher's soft targets carry more than the label: they rank the wrong classes, and the wrong class they "
      "find most plausible is the one the teacher actually mistakes a class for",
      "the soft targets' most plausible wrong class (T = 1) is a most frequent test mistake for more than half of the "
      "classes with mistakes (chance: 1 in 9), and the soft targets' mean entropy is above 0 bits",
      book::met(2 * wrong.agreements_1 > wrong.classes_with_errors && entropy.at("1").get<double>() > 0),
      fmt::format("{} of {} classes agree at T = 1 ({} at T = 4); mean entropy {:.3f} bits per image at T = 1, "
                  "{:.3f} at T = 4, 0 for a label",
                  wrong.agreements_1, wrong.classes_with_errors, wrong.agreements_high, entropy.at("1").get<double>(),
                  entropy.at("4").get<double>())};
}

// Claim 3: p - y with a one-hot y pushes every wrong class down by the student's own belief.
book::Verdict gradient_verdict(const Gradient& g) {
  double hard_off = 0;  // the largest |hard_j - p_j| over the wrong classes: 0 up to rounding
  bool hard_pushes_down = true;
  size_t most_up = kShirt == 0 ? 1 : 0;  // the wrong class the soft target pushes up most
  for (size_t c = 0; c < kClasses; ++c) {
    if (c == static_cast<size_t>(kShirt)) continue;
    hard_off = std::max(hard_off, static_cast<double>(std::abs(g.hard[c] - g.p[c])));
    hard_pushes_down = hard_pushes_down && g.hard[c] >= 0;
    if (g.soft_high[c] < g.soft_high[most_up]) most_up = c;
  }
  return {
      "With a one-hot label every wrong class is pushed down in proportion to the student's own belief; with a soft "
      "target the push on a wrong class follows the teacher's belief and can be upward",
      fmt::format("on the example shirt, the hard label's gradient on every wrong class equals the student's p_j "
                  "(within 1e-6, so it is never negative), and the soft target at T = {} pushes at least one wrong "
                  "class up (negative gradient)",
                  tensor::to_string(kHighT)),
      book::met(hard_pushes_down && hard_off < 1e-6 && g.pushed_up > 0),
      fmt::format("training image {}: hard gradient - p_j at most {:.1e} over the wrong classes; {} wrong class{} pushed "
                  "up by the soft target at T = {}, the most {} ({:+.4f})",
                  g.example, hard_off, g.pushed_up, g.pushed_up == 1 ? "" : "es", tensor::to_string(kHighT),
                  name(most_up), g.soft_high[most_up])};
}

// Three classes' most plausible wrong class, the verdicts, and results.json.
void report(const book::Options& options, const book::TeacherCache& teacher, const Similarity& similarity,
            const WrongClasses& wrong, const nlohmann::json& entropy, const Gradient& gradient) {
  for (size_t c : {static_cast<size_t>(kShirt), size_t{7}, size_t{9}}) {
    fmt::print("most plausible wrong class of {}: {} (T = 1), {} (T = 4); most frequent test error: {}\n", name(c),
               name(wrong.at_1[c]), name(wrong.at_high[c]), name(wrong.mistaken_for[c]));
  }
  nlohmann::json results;
  results["similarity"] = {{"T1", similarity.at_1}, {"T4", similarity.at_high}};
  results["most_plausible_wrong_class"] = wrong.json;
  results["agreement_with_confusion_matrix"] = {{"T1", wrong.agreements_1}, {"T4", wrong.agreements_high},
                                                 {"classes_with_errors", wrong.classes_with_errors}};
  results["mean_entropy_bits"] = entropy;
  results["gradient"] = gradient.to_json();
  results["teacher_config"] = teacher.config;
  results["seed"] = options.seed;
  book::finish_with_verdicts(options, results,
                             {{"dark_knowledge", dark_knowledge_verdict(wrong, entropy)},
                              {"gradient", gradient_verdict(gradient)}});
}

}  // namespace

int chapter(const book::Options& options) {
  fmt::print("Chapter 4: dark knowledge (seed {}{})\n", options.seed, options.quick ? ", --quick" : "");

  book::banner(1, "Data and the cached teacher");
  const book::Classroom classroom = data_and_teacher(options);

  book::banner(2, "Class similarity: the teacher's average soft target per true class");
  const Similarity similarity = class_similarities(options, classroom);

  book::banner(3, "The most plausible wrong class, and the teacher's actual mistakes");
  const WrongClasses wrong = most_plausible_wrong_classes(options, similarity, classroom);

  book::banner(4, "Information per example");
  const nlohmann::json entropy = information_per_example(classroom);

  book::banner(5, "The gradient on a student's logits: hard label against soft target");
  const Gradient gradient = hard_against_soft_gradient(options, classroom);

  book::banner(6, "Report");
  report(options, classroom.teacher, similarity, wrong, entropy, gradient);
  return 0;
}

int main(int argc, char** argv) {
  return book::run_chapter(argc, argv, "ch04_dark_knowledge", "Chapter 4: dark knowledge", chapter);
}
