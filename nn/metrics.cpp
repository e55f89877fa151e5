#include "nn/metrics.h"

#include "autograd/ops.h"
#include "tensor/errors.h"
#include "tensor/ops.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace nn {

namespace {

void require_logits(const Tensor& logits, const Labels& labels, const char* op) {
  if (logits.dim() != 2 || logits.shape()[0] != static_cast<int64_t>(labels.size())) {
    throw tensor::ShapeError(std::string(op) + ": logits " + tensor::to_string(logits.shape()) + " for " +
                             std::to_string(labels.size()) + " labels");
  }
  for (size_t n = 0; n < labels.size(); ++n) {
    if (labels[n] < 0 || labels[n] >= logits.shape()[1]) {
      throw tensor::ValueError(std::string(op) + ": label " + std::to_string(labels[n]) + " of example " +
                               std::to_string(n) + " outside 0.." + std::to_string(logits.shape()[1] - 1));
    }
  }
}

// An average over no examples has no value: say so rather than return 0/0.
void require_examples(int64_t n, const char* op) {
  if (n == 0) throw tensor::ShapeError(std::string(op) + ": no examples");
}

void require_same(const Tensor& a, const Tensor& b, const char* op) {
  if (a.dim() != 2 || a.shape() != b.shape()) {
    throw tensor::ShapeError(std::string(op) + ": logits " + tensor::to_string(a.shape()) + " and " +
                             tensor::to_string(b.shape()) + (a.dim() != 2 ? " are not [N, C]" : " differ"));
  }
}

}  // namespace

Labels predictions(const Tensor& logits) {
  if (logits.dim() != 2)
    throw tensor::ShapeError("predictions: logits " + tensor::to_string(logits.shape()) + " are not [N, C]");
  const std::vector<float> best = tensor::argmax(logits, 1).to_vector();
  return Labels(best.begin(), best.end());
}

int64_t error_count(const Tensor& logits, const Labels& labels) {
  require_logits(logits, labels, "error_count");
  const Labels predicted = predictions(logits);
  int64_t errors = 0;
  for (size_t n = 0; n < labels.size(); ++n) errors += predicted[n] != labels[n];
  return errors;
}

double accuracy(const Tensor& logits, const Labels& labels) {
  require_logits(logits, labels, "accuracy");
  require_examples(logits.shape()[0], "accuracy");
  return 1.0 - static_cast<double>(error_count(logits, labels)) / static_cast<double>(labels.size());
}

std::vector<std::vector<int64_t>> confusion_matrix(const Tensor& logits, const Labels& labels) {
  require_logits(logits, labels, "confusion_matrix");
  const auto classes = static_cast<size_t>(logits.shape()[1]);
  std::vector<std::vector<int64_t>> counts(classes, std::vector<int64_t>(classes, 0));
  const Labels predicted = predictions(logits);
  for (size_t n = 0; n < labels.size(); ++n) {
    ++counts[static_cast<size_t>(labels[n])][static_cast<size_t>(predicted[n])];
  }
  return counts;
}

double mean_nll(const Tensor& logits, const Labels& labels) {
  require_logits(logits, labels, "mean_nll");
  require_examples(logits.shape()[0], "mean_nll");
  const Tensor log_p = tensor::log_softmax(logits, 1);
  const int64_t classes = logits.shape()[1];
  double total = 0.0;
  for (size_t n = 0; n < labels.size(); ++n) total -= log_p.data()[static_cast<int64_t>(n) * classes + labels[n]];
  return total / static_cast<double>(labels.size());
}

namespace {

// Each confidence bin's rows, right predictions and summed confidence: what the ECE and the
// reliability diagram are made of. Bin b holds ((b-1)/M, b/M].
struct BinSums {
  std::vector<double> hits, confidence, count;
};

BinSums bin_sums(const Tensor& logits, const Labels& labels, int64_t bins, const char* op) {
  require_logits(logits, labels, op);
  require_examples(logits.shape()[0], op);
  if (bins < 1) throw tensor::ValueError(std::string(op) + ": bins must be >= 1, got " + std::to_string(bins));
  // The top probability is exp of the top log-probability.
  const Tensor confidence = tensor::exp(tensor::max(tensor::log_softmax(logits, 1), 1));
  const Labels predicted = predictions(logits);
  const auto m = static_cast<size_t>(bins);
  BinSums s{std::vector<double>(m, 0.0), std::vector<double>(m, 0.0), std::vector<double>(m, 0.0)};
  for (size_t n = 0; n < labels.size(); ++n) {
    const double c = confidence.data()[n];
    // ceil(c M) - 1, clamped (c = 0 joins the first bin).
    const auto b = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(c * static_cast<double>(bins))) - 1, 0, bins - 1);
    s.hits[static_cast<size_t>(b)] += predicted[n] == labels[n];
    s.confidence[static_cast<size_t>(b)] += c;
    s.count[static_cast<size_t>(b)] += 1;
  }
  return s;
}

}  // namespace

double expected_calibration_error(const Tensor& logits, const Labels& labels, int64_t bins) {
  const BinSums s = bin_sums(logits, labels, bins, "expected_calibration_error");
  double ece = 0.0;
  for (size_t b = 0; b < s.count.size(); ++b) {
    if (s.count[b] > 0) ece += std::fabs(s.hits[b] - s.confidence[b]) / static_cast<double>(labels.size());
  }
  return ece;
}

std::vector<ReliabilityBin> reliability_diagram(const Tensor& logits, const Labels& labels, int64_t bins) {
  const BinSums s = bin_sums(logits, labels, bins, "reliability_diagram");
  std::vector<ReliabilityBin> out;
  for (size_t b = 0; b < s.count.size(); ++b) {
    const double n = s.count[b];
    out.push_back({static_cast<double>(b) / static_cast<double>(bins), static_cast<double>(b + 1) / static_cast<double>(bins),
                   static_cast<int64_t>(n), n > 0 ? s.confidence[b] / n : 0.0, n > 0 ? s.hits[b] / n : 0.0});
  }
  return out;
}

double fit_temperature(const Tensor& logits, const Labels& labels, double min_t, double max_t) {
  require_logits(logits, labels, "fit_temperature");
  require_examples(logits.shape()[0], "fit_temperature");
  if (!(min_t > 0.0) || !(max_t > min_t)) {
    throw tensor::ValueError("fit_temperature: the range must have 0 < min_t < max_t, got [" +
                             tensor::to_string(min_t) + ", " + tensor::to_string(max_t) + "]");
  }
  const std::vector<float> z = logits.to_vector();
  const auto classes = static_cast<size_t>(logits.shape()[1]);
  // The mean NLL of softmax(beta z), in double: log-sum-exp minus the label's scaled logit.
  const auto nll = [&](double beta) {
    double total = 0.0;
    for (size_t n = 0; n < labels.size(); ++n) {
      const float* row = z.data() + n * classes;
      double top = -INFINITY;
      for (size_t c = 0; c < classes; ++c) top = std::max(top, beta * row[c]);
      double sum = 0.0;
      for (size_t c = 0; c < classes; ++c) sum += std::exp(beta * row[c] - top);
      total += top + std::log(sum) - beta * row[static_cast<size_t>(labels[n])];
    }
    return total / static_cast<double>(labels.size());
  };
  // Golden-section search for the minimum of a convex function of beta = 1/T.
  const double ratio = (std::sqrt(5.0) - 1.0) / 2.0;
  double a = 1.0 / max_t, b = 1.0 / min_t;
  double c = b - ratio * (b - a), d = a + ratio * (b - a);
  double fc = nll(c), fd = nll(d);
  while (b - a > 1e-5 * (a + b)) {
    if (fc <= fd) {
      b = d, d = c, fd = fc;
      c = b - ratio * (b - a), fc = nll(c);
    } else {
      a = c, c = d, fc = fd;
      d = a + ratio * (b - a), fd = nll(d);
    }
  }
  return 2.0 / (a + b);
}

std::vector<std::vector<double>> class_similarity(const Tensor& logits, const Labels& labels, float temperature) {
  require_logits(logits, labels, "class_similarity");
  if (!(temperature > 0.0f)) {
    throw tensor::ValueError("class_similarity: temperature must be > 0, got " + tensor::to_string(temperature));
  }
  const auto classes = static_cast<size_t>(logits.shape()[1]);
  const Tensor p = autograd::softmax(autograd::Var(logits), temperature).value();
  std::vector<std::vector<double>> sum(classes, std::vector<double>(classes, 0.0));
  std::vector<double> count(classes, 0.0);
  for (size_t n = 0; n < labels.size(); ++n) {
    const auto y = static_cast<size_t>(labels[n]);
    for (size_t c = 0; c < classes; ++c) sum[y][c] += p.data()[n * classes + c];
    count[y] += 1;
  }
  for (size_t y = 0; y < classes; ++y) {
    if (count[y] == 0) throw tensor::ValueError("class_similarity: no row of class " + std::to_string(y));
    for (double& v : sum[y]) v /= count[y];
  }
  return sum;
}

double wrong_class_entropy_bits(const Tensor& logits, const Labels& labels, float temperature) {
  require_logits(logits, labels, "wrong_class_entropy_bits");
  require_examples(logits.shape()[0], "wrong_class_entropy_bits");
  const auto classes = static_cast<size_t>(logits.shape()[1]);
  if (classes < 2)
    throw tensor::ShapeError("wrong_class_entropy_bits: logits " + tensor::to_string(logits.shape()) +
                             " have no wrong class");
  if (!(temperature > 0.0f)) {
    throw tensor::ValueError("wrong_class_entropy_bits: temperature must be > 0, got " +
                             tensor::to_string(temperature));
  }
  const std::vector<float> z = logits.to_vector();
  double total = 0.0;
  for (size_t n = 0; n < labels.size(); ++n) {
    const float* row = z.data() + n * classes;
    const auto y = static_cast<size_t>(labels[n]);
    // log q_c = z_c / T - log sum_{k != y} exp(z_k / T), in double.
    double top = -INFINITY;
    for (size_t c = 0; c < classes; ++c) {
      if (c != y) top = std::max(top, static_cast<double>(row[c]) / temperature);
    }
    double sum = 0.0;
    for (size_t c = 0; c < classes; ++c) {
      if (c != y) sum += std::exp(static_cast<double>(row[c]) / temperature - top);
    }
    const double log_sum = top + std::log(sum);
    for (size_t c = 0; c < classes; ++c) {
      if (c == y) continue;
      const double log_q = static_cast<double>(row[c]) / temperature - log_sum;
      total -= std::exp(log_q) * log_q;
    }
  }
  return total / std::log(2.0) / static_cast<double>(labels.size());
}

double agreement(const Tensor& logits_a, const Tensor& logits_b) {
  require_same(logits_a, logits_b, "agreement");
  require_examples(logits_a.shape()[0], "agreement");
  const Labels a = predictions(logits_a);
  const Labels b = predictions(logits_b);
  int64_t same = 0;
  for (size_t n = 0; n < a.size(); ++n) same += a[n] == b[n];
  return static_cast<double>(same) / static_cast<double>(a.size());
}

double errors_copied(const Tensor& logits_a, const Tensor& logits_b, const Labels& labels) {
  require_same(logits_a, logits_b, "errors_copied");
  require_logits(logits_b, labels, "errors_copied");
  const Labels a = predictions(logits_a);
  const Labels b = predictions(logits_b);
  int64_t wrong = 0, copied = 0;
  for (size_t n = 0; n < b.size(); ++n) {
    if (b[n] == labels[n]) continue;
    ++wrong;
    copied += a[n] == b[n];
  }
  return wrong > 0 ? static_cast<double>(copied) / static_cast<double>(wrong) : 0.0;
}

std::vector<Margin> margins(const Tensor& logits) {
  if (logits.dim() != 2 || logits.shape()[1] < 2) {
    throw tensor::ShapeError("margins: logits " + tensor::to_string(logits.shape()) + " are not [N, C] with C >= 2");
  }
  const std::vector<float> z = logits.to_vector();
  const auto classes = static_cast<size_t>(logits.shape()[1]);
  std::vector<Margin> out(static_cast<size_t>(logits.shape()[0]));
  for (size_t n = 0; n < out.size(); ++n) {
    const float* row = z.data() + n * classes;
    double first = row[0], second = -INFINITY;
    for (size_t c = 1; c < classes; ++c) {
      if (row[c] > first) {
        second = first;
        first = row[c];
      } else if (row[c] > second) {
        second = row[c];
      }
    }
    double sum = 0.0;
    for (size_t c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(row[c]) - first);
    out[n] = {-std::expm1(second - first) / sum, first - second};
  }
  return out;
}

double mean_kl(const Tensor& logits_p, const Tensor& logits_q) {
  require_same(logits_p, logits_q, "mean_kl");
  require_examples(logits_p.shape()[0], "mean_kl");
  const std::vector<float> log_p = tensor::log_softmax(logits_p, 1).to_vector();
  const std::vector<float> log_q = tensor::log_softmax(logits_q, 1).to_vector();
  double total = 0.0;
  for (size_t i = 0; i < log_p.size(); ++i) {
    const double p = std::exp(static_cast<double>(log_p[i]));
    if (p > 0.0) total += p * (static_cast<double>(log_p[i]) - log_q[i]);
  }
  return total / static_cast<double>(logits_p.shape()[0]);
}

double mean_entropy_bits(const Tensor& logits, float temperature) {
  if (logits.dim() != 2)
    throw tensor::ShapeError("mean_entropy_bits: logits " + tensor::to_string(logits.shape()) + " are not [N, C]");
  require_examples(logits.shape()[0], "mean_entropy_bits");
  if (!(temperature > 0.0f)) {
    throw tensor::ValueError("mean_entropy_bits: temperature must be > 0, got " + tensor::to_string(temperature));
  }
  const std::vector<float> log_p = tensor::log_softmax(tensor::div(logits, temperature), 1).to_vector();
  double total = 0.0;
  for (float lp : log_p) {
    const double p = std::exp(static_cast<double>(lp));
    if (p > 0.0) total -= p * static_cast<double>(lp);
  }
  return total / std::log(2.0) / static_cast<double>(logits.shape()[0]);
}

double gap_closed(double soft, double hard, double teacher) {
  if (!(teacher > hard)) {
    throw tensor::ValueError("gap_closed: the teacher (" + tensor::to_string(teacher) +
                             ") is not better than the hard student (" + tensor::to_string(hard) +
                             "): there is no gap to close");
  }
  return (soft - hard) / (teacher - hard);
}

}  // namespace nn
