#include "chapters/common/explorer.h"

#include "chapters/common/book_data.h"
#include "chapters/common/report.h"
#include "tensor/errors.h"
#include "tensor/shape.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace book {

namespace {

constexpr int64_t kTShirt = 0, kSandal = 5, kShirt = 6, kSneaker = 7;

// One row of the logits, in double.
std::vector<double> row_of(const tensor::Tensor& logits, int64_t n) {
  const float* z = logits.data() + n * kClasses;
  return {z, z + kClasses};
}

// log p_c = z_c - log sum_k e^{z_k}, in double, from the largest logit down (no overflow).
std::vector<double> log_softmax_row(const std::vector<double>& z) {
  const double top = *std::max_element(z.begin(), z.end());
  double sum = 0;
  for (double v : z) sum += std::exp(v - top);
  std::vector<double> out;
  for (double v : z) out.push_back(v - top - std::log(sum));
  return out;
}

// The predicted class (first of equals) and the margin top-1 minus top-2 logit.
std::pair<int64_t, double> prediction_and_margin(const std::vector<double>& z) {
  const auto top = static_cast<int64_t>(std::max_element(z.begin(), z.end()) - z.begin());
  double second = -std::numeric_limits<double>::infinity();
  for (int64_t c = 0; c < kClasses; ++c) {
    if (c != top) second = std::max(second, z[static_cast<size_t>(c)]);
  }
  return {top, z[static_cast<size_t>(top)] - second};
}

std::string class_name(int64_t c) { return std::string(nn::kFashionMnistClasses[static_cast<size_t>(c)]); }

// The logits of `model` for the chosen images, [images.size(), 10].
tensor::Tensor logits_of(nn::Module& model, const Classroom& classroom, const std::vector<ExplorerImage>& images) {
  std::vector<int64_t> indices;
  for (const ExplorerImage& image : images) indices.push_back(image.test_index);
  return predict_logits(model, classroom.data.data.test, indices, classroom.data.norm);
}

std::vector<float> row_vector(const tensor::Tensor& logits, int64_t row) {
  const float* z = logits.data() + row * logits.shape()[1];
  return {z, z + logits.shape()[1]};
}

}  // namespace

std::vector<ExplorerImage> select_explorer_images(const tensor::Tensor& test_logits, const nn::Labels& labels) {
  const auto n_images = static_cast<int64_t>(labels.size());
  if (test_logits.shape() != tensor::Shape{n_images, kClasses}) {
    throw tensor::ShapeError("select_explorer_images: logits " + tensor::to_string(test_logits.shape()) + " for " +
                             std::to_string(n_images) + " labels of " + std::to_string(kClasses) + " classes");
  }
  const tensor::Tensor logits = test_logits.contiguous();
  std::vector<ExplorerImage> chosen;
  const auto taken = [&](int64_t n) {
    return std::any_of(chosen.begin(), chosen.end(), [n](const ExplorerImage& e) { return e.test_index == n; });
  };
  // The image not yet taken with the largest score among those `eligible` (the lower index of equals).
  const auto take = [&](const std::function<bool(int64_t)>& eligible, const std::function<double(int64_t)>& score,
                        const std::string& kind, const std::string& why) {
    int64_t best = -1;
    double best_score = 0;
    for (int64_t n = 0; n < n_images; ++n) {
      if (taken(n) || !eligible(n)) continue;
      const double s = score(n);
      if (best < 0 || s > best_score) {
        best = n;
        best_score = s;
      }
    }
    if (best >= 0) chosen.push_back({best, kind, why});
  };
  const auto label = [&](int64_t n) { return labels[static_cast<size_t>(n)]; };
  const auto predicted = [&](int64_t n) { return prediction_and_margin(row_of(logits, n)).first; };
  const auto margin = [&](int64_t n) { return prediction_and_margin(row_of(logits, n)).second; };
  // p_a p_b in logs: log p_a + log p_b, the same order.
  const auto torn = [&](int64_t a, int64_t b) {
    return [&, a, b](int64_t n) {
      const std::vector<double> lp = log_softmax_row(row_of(logits, n));
      return lp[static_cast<size_t>(a)] + lp[static_cast<size_t>(b)];
    };
  };

  for (int64_t c = 0; c < kClasses; ++c) {
    take([&](int64_t n) { return label(n) == c && predicted(n) == c; }, margin, "confident",
         "the teacher's surest " + class_name(c));
  }
  take([&](int64_t n) { return label(n) == kShirt; }, torn(kShirt, kTShirt), "torn",
       "a shirt torn between Shirt and T-shirt/top");
  take([&](int64_t n) { return label(n) == kSandal; }, torn(kSandal, kSneaker), "torn",
       "a sandal torn between Sandal and Sneaker");
  take([&](int64_t n) { return predicted(n) != label(n); }, margin, "mistake", "the teacher's most confident mistake");
  return chosen;
}

nlohmann::json explorer_teacher_json(const Classroom& classroom, nn::Module& student,
                                     const std::string& student_description) {
  const nn::Dataset& test = classroom.data.data.test;
  const tensor::Tensor teacher = classroom.teacher.test_logits.contiguous();
  const std::vector<ExplorerImage> images = select_explorer_images(teacher, test.labels);
  const tensor::Tensor student_logits = logits_of(student, classroom, images);
  const size_t pixels = static_cast<size_t>(test.height * test.width);
  nlohmann::json out;
  out["classes"] = nn::kFashionMnistClasses;
  out["teacher_config"] = classroom.teacher.config;
  out["teacher_test_accuracy"] = classroom.teacher_test_accuracy;
  out["student"] = student_description;
  out["height"] = test.height;
  out["width"] = test.width;
  out["images"] = nlohmann::json::array();
  for (size_t k = 0; k < images.size(); ++k) {
    const ExplorerImage& image = images[k];
    const auto first = test.images.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(image.test_index) * pixels);
    out["images"].push_back({{"test_index", image.test_index},
                             {"label", test.labels[static_cast<size_t>(image.test_index)]},
                             {"kind", image.kind},
                             {"why", image.why},
                             {"pixels", std::vector<int>(first, first + static_cast<std::ptrdiff_t>(pixels))},
                             {"teacher_logits", row_vector(teacher, image.test_index)},
                             {"student_logits", row_vector(student_logits, static_cast<int64_t>(k))}});
  }
  return out;
}

void write_explorer_teacher(const Options& options, const Classroom& classroom, nn::Module& student,
                            const std::string& student_description) {
  nlohmann::json out = explorer_teacher_json(classroom, student, student_description);
  out["quick"] = options.quick;
  out["seed"] = options.seed;
  write_file(options.file(kExplorerTeacherFile), out.dump() + "\n");
}

nlohmann::json explorer_students_json(const Classroom& classroom, nn::Module& hard, nn::Module& soft,
                                      const Targets& soft_targets, uint64_t seed) {
  const std::vector<ExplorerImage> images =
      select_explorer_images(classroom.teacher.test_logits, classroom.data.data.test.labels);
  const tensor::Tensor hard_logits = logits_of(hard, classroom, images);
  const tensor::Tensor soft_logits = logits_of(soft, classroom, images);
  nlohmann::json out;
  out["teacher_config"] = classroom.teacher.config;
  out["seed"] = seed;
  out["soft_targets"] = {{"T", soft_targets.temperature}, {"alpha", soft_targets.alpha}};
  out["images"] = nlohmann::json::array();
  for (size_t k = 0; k < images.size(); ++k) {
    const auto row = static_cast<int64_t>(k);
    out["images"].push_back({{"test_index", images[k].test_index},
                             {"hard_logits", row_vector(hard_logits, row)},
                             {"soft_logits", row_vector(soft_logits, row)}});
  }
  return out;
}

void write_explorer_students(const Options& options, const Classroom& classroom, nn::Module& hard, nn::Module& soft,
                             const Targets& soft_targets, uint64_t seed) {
  nlohmann::json out = explorer_students_json(classroom, hard, soft, soft_targets, seed);
  out["quick"] = options.quick;
  write_file(options.file(kExplorerStudentsFile), out.dump() + "\n");
}

}  // namespace book
