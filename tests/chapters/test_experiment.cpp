// What the student chapters compute around their runs: spreads over seeds, paired
// differences, the choice on validation, and the training loop they share.
#include "chapters/common/experiment.h"
#include "chapters/common/fit.h"

#include "autograd/ops.h"
#include "nn/losses.h"
#include "nn/metrics.h"
#include "tensor/ops.h"

#include "tests/chapters/helpers.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>

namespace {

using testing::flat_parameters;
using testing::quick_options;

}  // namespace

TEST_SUITE("chapters/experiment") {
TEST_CASE("mean_std gives the mean and the sample standard deviation") {
  const book::MeanStd m = book::mean_std({1.0, 2.0, 3.0, 4.0});
  CHECK(m.mean == doctest::Approx(2.5));
  CHECK(m.std == doctest::Approx(std::sqrt(5.0 / 3.0)));
  CHECK(book::mean_std({7.0}).std == 0.0);
  CHECK_THROWS_WITH_AS(book::mean_std({}), "mean_std: no values to average", std::invalid_argument);
  CHECK(book::MeanStd{0.88444, 0.00123}.to_string() == "0.8844 +- 0.0012");
}

TEST_CASE("the paired difference is soft minus hard seed by seed, beyond 2 std only when it stands out") {
  const book::PairedDifference steady = book::paired_difference({0.80, 0.85, 0.90}, {0.81, 0.86, 0.92});
  REQUIRE(steady.per_seed.size() == 3);
  CHECK(steady.per_seed[2] == doctest::Approx(0.02));
  CHECK(steady.difference.mean == doctest::Approx(0.04 / 3));
  CHECK(steady.beyond_two_std());  // a large spread between seeds, a small steady gain: the pairing sees it
  const book::PairedDifference noisy = book::paired_difference({0.80, 0.85, 0.90}, {0.82, 0.84, 0.91});
  CHECK_FALSE(noisy.beyond_two_std());
  CHECK(noisy.describe() ==
        "soft - hard = +0.0067 +- 0.0153 over 3 seeds, 95% CI [-0.0313, +0.0446], effect size 0.4 (within 2 std)");
  CHECK(steady.to_string() == "+0.0133 +- 0.0058");
  CHECK_FALSE(book::paired_difference({0.8}, {0.9}).beyond_two_std());  // one seed has no spread
  CHECK_THROWS_WITH_AS(book::paired_difference({0.8, 0.9}, {0.8}), "paired_difference: 2 hard and 1 soft values",
                       std::invalid_argument);
}

TEST_CASE("the best candidate on validation is the first of the highest") {
  const std::vector<book::Candidate> c = {{book::Targets::soft(1, 0.5f), 0.80},
                                          {book::Targets::soft(2, 0.5f), 0.90},
                                          {book::Targets::soft(4, 0.5f), 0.90}};
  CHECK(book::best_on_validation(c).targets.temperature == 2.0f);
  CHECK_THROWS_WITH_AS(book::best_on_validation({}), "best_on_validation: no candidates", std::invalid_argument);
}

TEST_CASE("Student's t quantiles match the printed tables") {
  // Two-sided 95%: t_{0.975, dof} as tables give it to six significant digits.
  CHECK(book::student_t_quantile(0.95, 1) == doctest::Approx(12.7062).epsilon(1e-5));
  CHECK(book::student_t_quantile(0.95, 2) == doctest::Approx(4.30265).epsilon(1e-5));
  CHECK(book::student_t_quantile(0.95, 3) == doctest::Approx(3.18245).epsilon(1e-5));
  CHECK(book::student_t_quantile(0.95, 4) == doctest::Approx(2.77645).epsilon(1e-5));
  CHECK(book::student_t_quantile(0.95, 7) == doctest::Approx(2.36462).epsilon(1e-5));
  CHECK(book::student_t_quantile(0.95, 30) == doctest::Approx(2.04227).epsilon(1e-5));
  CHECK(book::student_t_quantile(0.99, 10) == doctest::Approx(3.16927).epsilon(1e-5));
  // Many degrees of freedom: the normal distribution's 1.960.
  CHECK(book::student_t_quantile(0.95, 100000) == doctest::Approx(1.960).epsilon(1e-3));
  CHECK_THROWS_WITH_AS(book::student_t_quantile(0.95, 0), "student_t_quantile: 0 degrees of freedom (need at least 1)",
                       std::invalid_argument);
  CHECK_THROWS_AS(book::student_t_quantile(1.0, 3), std::invalid_argument);
}

TEST_CASE("a paired difference's verdict needs its 95% interval above 0, not only a positive mean") {
  // Differences 0.001, 0.003, 0.005: mean 0.003, std 0.002, interval 0.003 +- 4.303 * 0.002 / sqrt(3),
  // which reaches below 0: three seeds are too few for an effect of 1.5 std.
  const book::PairedDifference three = book::paired_difference({0.80, 0.80, 0.80}, {0.801, 0.803, 0.805});
  const book::Interval ci = three.confidence_interval();
  CHECK(ci.low == doctest::Approx(0.003 - 4.3027 * 0.002 / std::sqrt(3.0)).epsilon(1e-3));
  CHECK(ci.high == doctest::Approx(0.003 + 4.3027 * 0.002 / std::sqrt(3.0)).epsilon(1e-3));
  CHECK(three.effect_size() == doctest::Approx(1.5));
  CHECK_FALSE(three.beyond_two_std());
  CHECK_FALSE(three.soft_wins());
  CHECK(book::soft_beats_hard("soft helps", "test accuracy", three).outcome == book::Outcome::cannot_tell);
  // The same differences twice over, eight seeds: mean 0.003, std 0.00185, and now the interval is above 0.
  const std::vector<double> hard(8, 0.80);
  const book::PairedDifference eight =
      book::paired_difference(hard, {0.801, 0.803, 0.805, 0.801, 0.803, 0.805, 0.801, 0.805});
  CHECK(eight.confidence_interval().low > 0);
  CHECK(eight.soft_wins());
  const book::Verdict v = book::soft_beats_hard("soft helps", "test accuracy", eight);
  CHECK(v.holds());
  CHECK(v.evidence.find("over 8 seeds, 95% CI [+0.00") != std::string::npos);
  CHECK(v.to_json()["holds"] == true);
  CHECK(v.to_json()["outcome"] == "holds");
  // A clear loss is not a win, however narrow its interval: it is the opposite.
  const book::PairedDifference loss = book::paired_difference({0.80, 0.80, 0.80}, {0.79, 0.791, 0.792});
  CHECK_FALSE(loss.soft_wins());
  CHECK(book::soft_beats_hard("soft helps", "test accuracy", loss).outcome == book::Outcome::opposite);
  CHECK_THROWS_WITH_AS(book::paired_difference({0.8}, {0.81}).confidence_interval(),
                       "confidence_interval: 1 seed, need at least 2", std::invalid_argument);
}

TEST_CASE("a verdict tells an effect the other way, an effect too small to matter and an experiment that cannot tell apart") {
  const double delta = 0.002;
  CHECK(book::outcome_of({0.001, 0.004}, delta) == book::Outcome::holds);      // above 0, however small
  CHECK(book::outcome_of({-0.004, -0.0001}, delta) == book::Outcome::opposite);
  CHECK(book::outcome_of({-0.0015, 0.0019}, delta) == book::Outcome::no_effect);  // inside [-delta, +delta]
  CHECK(book::outcome_of({-0.0005, 0.0028}, delta) == book::Outcome::cannot_tell);  // reaches past +delta
  CHECK(book::outcome_of({-0.003, 0.001}, delta) == book::Outcome::cannot_tell);
  CHECK(book::outcome_of({std::nan(""), std::nan("")}, delta) == book::Outcome::cannot_tell);
  CHECK_THROWS_WITH_AS(book::outcome_of({0, 1}, 0), "outcome_of: the smallest effect of interest must be > 0, got 0",
                       std::invalid_argument);
  CHECK(book::to_string(book::Outcome::no_effect) == "no effect");
  CHECK(book::to_string(book::Outcome::cannot_tell) == "cannot tell");

  SUBCASE("a claim of several parts holds only when every part does") {
    using O = book::Outcome;
    CHECK(book::all_of({O::holds, O::holds}) == O::holds);
    CHECK(book::all_of({O::holds, O::opposite, O::no_effect}) == O::opposite);
    CHECK(book::all_of({O::holds, O::no_effect, O::cannot_tell}) == O::no_effect);
    CHECK(book::all_of({O::holds, O::cannot_tell}) == O::cannot_tell);
    CHECK(book::met(false) == O::opposite);
  }
  SUBCASE("cannot tell says how many seeds would decide, at the spread measured") {
    // Differences with std 0.004 over 4 seeds: the interval +- 3.18 * 0.004 / 2 = +-0.0064 cannot tell.
    const book::PairedDifference d = book::paired_difference({0.8, 0.8, 0.8, 0.8}, {0.798, 0.806, 0.802, 0.798});
    REQUIRE(d.outcome(delta) == book::Outcome::cannot_tell);
    const int64_t n = d.seeds_to_decide(delta);
    // The smallest n with 2 t(n-1) s / sqrt(n) <= delta: n - 1 seeds are not enough, n are.
    const double s = d.difference.std;
    CHECK(2 * book::student_t_quantile(0.95, n - 1) * s / std::sqrt(double(n)) <= delta);
    CHECK(2 * book::student_t_quantile(0.95, n - 2) * s / std::sqrt(double(n - 1)) > delta);
    CHECK(n > 4);
    CHECK(book::soft_beats_hard("c", "test accuracy", d).evidence.find(fmt::format("about {} seeds would narrow", n)) !=
          std::string::npos);
    // A wider spread needs about (2 * 1.96 * s / delta)^2 seeds: a thousand here, found exactly.
    const book::PairedDifference wide = book::paired_difference({0.8, 0.8, 0.8, 0.8}, {0.8, 0.82, 0.78, 0.81});
    const int64_t m = wide.seeds_to_decide(delta);
    const double sw = wide.difference.std;
    CHECK(m > 1000);
    CHECK(2 * book::student_t_quantile(0.95, m - 1) * sw / std::sqrt(double(m)) <= delta);
    CHECK(2 * book::student_t_quantile(0.95, m - 2) * sw / std::sqrt(double(m - 1)) > delta);
    // A spread no number of seeds within kMaxSeedsToDecide would tame.
    const book::PairedDifference wild = book::paired_difference({0.5, 0.5, 0.5}, {0.1, 0.9, 0.5});
    CHECK(wild.seeds_to_decide(delta) == -1);
    CHECK(book::soft_beats_hard("c", "test accuracy", wild).evidence.find("not even 100000 seeds") != std::string::npos);
  }
  SUBCASE("a pair with a diverged student cannot tell, and says so") {
    const book::PairedDifference d = book::paired_difference({0.8, 0.8, 0.8}, {0.81, std::nan(""), 0.82});
    CHECK(d.diverged() == 1);
    CHECK(d.outcome(delta) == book::Outcome::cannot_tell);
    CHECK(book::soft_beats_hard("c", "test accuracy", d).evidence.find("1 of 3 pairs have a diverged student") !=
          std::string::npos);
  }
}

TEST_CASE("Targets say what a student learns from") {
  CHECK_FALSE(book::Targets::hard().uses_teacher());
  CHECK(book::Targets::hard().describe() == "hard");
  CHECK(book::Targets::soft(4, 0.5f).uses_teacher());
  CHECK(book::Targets::soft(4, 0.5f).describe() == "soft T=4 alpha=0.5");
}
}

TEST_SUITE("chapters/student") {
TEST_CASE("students: the same seed gives the same weights, and soft targets change them") {
  const book::BookData data = book::load_book_data(quick_options());
  tensor::Generator gen(3);
  const tensor::Tensor teacher = tensor::normal({data.data.train.size(), 10}, 0.0f, 3.0f, gen);
  const std::vector<int64_t> transfer(data.split.train.begin(), data.split.train.begin() + 300);
  const book::StudentConfig config{.widths = {784, 16, 10}, .epochs = 2, .seed = 5};
  const auto a = book::train_student(config, book::Targets::hard(), data, transfer, teacher);
  const auto b = book::train_student(config, book::Targets::hard(), data, transfer, teacher);
  const auto soft = book::train_student(config, book::Targets::soft(4, 0.9f), data, transfer, teacher);
  CHECK(flat_parameters(*a.model) == flat_parameters(*b.model));
  CHECK(flat_parameters(*a.model) != flat_parameters(*soft.model));
  CHECK(a.curve.size() == 2);
  CHECK(a.curve.back().validation_accuracy > 0.3);  // 300 images, 2 epochs: well above chance (0.1)

  SUBCASE("teacher logits that do not cover the training set are refused") {
    const tensor::Tensor short_teacher = tensor::Tensor::zeros({10, 10});
    CHECK_THROWS_WITH_AS(book::train_student(config, book::Targets::soft(4, 0.5f), data, transfer, short_teacher),
                         doctest::Contains("train_student: teacher logits [10, 10] do not cover the"), tensor::ShapeError);
  }
  SUBCASE("validate_every measures every k-th epoch and the last") {
    tensor::Generator g(1);
    auto model = book::make_mlp({784, 8, 10}, g);
    nn::SGD opt(model->parameters(), 0.01f);
    nn::DataLoader loader(data.data.train, transfer, 100, true, 1, data.norm);
    const auto curve = book::fit(*model, opt, loader, data, {.label = "t", .epochs = 5, .progress = false, .validate_every = 2},
                                 [](const autograd::Var& logits, const nn::Batch& b, int64_t) { return nn::cross_entropy(logits, b.labels); });
    REQUIRE(curve.size() == 3);
    CHECK(curve[0].epoch == 2);
    CHECK(curve[1].epoch == 4);
    CHECK(curve[2].epoch == 5);
  }
  SUBCASE("the best validation epoch's weights are kept, and they score what the curve says") {
    // A rate so high that validation accuracy falls after its peak on most seeds; whichever
    // epoch wins, best_model must hold that epoch's weights.
    const book::StudentConfig hot{.widths = {784, 16, 10}, .epochs = 6, .lr = 0.5f, .seed = 2};
    const auto s = book::train_student(hot, book::Targets::hard(), data, transfer, teacher);
    double best = 0;
    int64_t best_epoch = 0;
    for (const book::EpochRecord& r : s.curve) {
      if (r.validation_accuracy > best) best = r.validation_accuracy, best_epoch = r.epoch;
    }
    CHECK(s.best_epoch == best_epoch);
    const nn::Labels labels = book::labels_of(data.data.train, data.split.validation);
    CHECK(nn::accuracy(book::predict_logits(*s.best_model, data.data.train, data.split.validation, data.norm), labels) ==
          doctest::Approx(best));
    CHECK((s.best_model == s.model) == (best_epoch == s.curve.back().epoch));
  }
}

TEST_CASE("a loss that is not finite stops training before it reaches the weights") {
  const book::BookData data = book::load_book_data(quick_options());
  tensor::Generator gen(1);
  auto model = book::make_mlp({784, 8, 10}, gen);
  nn::SGD opt(model->parameters(), 0.05f);
  nn::DataLoader loader(data.data.train, data.split.train, 64, true, 1, data.norm);
  int calls = 0;
  const book::BatchLoss loss = [&](const autograd::Var& logits, const nn::Batch& b, int64_t) {
    const autograd::Var l = nn::cross_entropy(logits, b.labels);
    return ++calls == 3 ? autograd::mul(l, std::nanf("")) : l;
  };
  std::string message;
  try {
    book::fit(*model, opt, loader, data, {.label = "student", .epochs = 2, .lr = 0.05f, .progress = false}, loss);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  CHECK(message.find("student: loss is nan at epoch 1, step 3 (learning rate") != std::string::npos);
  for (float w : flat_parameters(*model)) REQUIRE(std::isfinite(w));
}
}
