// Metrics: predictions, accuracy, confusion matrix, NLL, calibration, agreement, KL and gap closed.
#include "nn/metrics.h"

#include "tensor/errors.h"
#include "tensor/ops.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

using nn::Labels;
using tensor::Shape;
using tensor::Tensor;

namespace {

// Four rows of three classes, predicted 1, 0 (a tie of 0 and 1), 0 (a tie of 1 and 2 behind it), 0 (a three-way tie).
Tensor four_rows() { return Tensor::from_vector({4, 3}, {1, 3, 2, 5, 5, 1, 0, -1, -1, 2, 2, 2}); }

}  // namespace

TEST_SUITE("nn/metrics") {

TEST_CASE("predictions take the arg max of each row, the first index on ties") {
  CHECK(nn::predictions(four_rows()) == Labels{1, 0, 0, 0});
  CHECK(nn::predictions(Tensor::from_vector({2, 4}, {-3, -2, -1, -1.5f, 0, 0, 0, 7})) == Labels{2, 3});
  CHECK(nn::predictions(Tensor::zeros({0, 3})).empty());
}

TEST_CASE("accuracy and error_count count the rows whose prediction matches the label") {
  // Predictions 1, 0, 0, 0 against labels 1, 2, 0, 1: rows 0 and 2 right, rows 1 and 3 wrong.
  const Labels labels = {1, 2, 0, 1};
  CHECK(nn::accuracy(four_rows(), labels) == doctest::Approx(0.5));
  CHECK(nn::error_count(four_rows(), labels) == 2);
  SUBCASE("all right") {
    CHECK(nn::accuracy(four_rows(), {1, 0, 0, 0}) == 1.0);
    CHECK(nn::error_count(four_rows(), {1, 0, 0, 0}) == 0);
  }
  SUBCASE("all wrong") {
    CHECK(nn::accuracy(four_rows(), {0, 1, 2, 2}) == 0.0);
    CHECK(nn::error_count(four_rows(), {0, 1, 2, 2}) == 4);
  }
  SUBCASE("three of four right") { CHECK(nn::accuracy(four_rows(), {1, 0, 0, 2}) == doctest::Approx(0.75)); }
  SUBCASE("no rows: no errors, and no accuracy") {
    CHECK(nn::error_count(Tensor::zeros({0, 3}), {}) == 0);
    CHECK_THROWS_WITH_AS(nn::accuracy(Tensor::zeros({0, 3}), {}), "accuracy: no examples", tensor::ShapeError);
  }
}

TEST_CASE("confusion_matrix counts each true class against each predicted class") {
  // (true, predicted): (1, 1), (2, 0), (0, 0), (1, 0).
  const std::vector<std::vector<int64_t>> counts = nn::confusion_matrix(four_rows(), {1, 2, 0, 1});
  CHECK(counts == std::vector<std::vector<int64_t>>{{1, 0, 0}, {1, 1, 0}, {1, 0, 0}});
  SUBCASE("a label outside 0..C-1") {
    CHECK_THROWS_WITH_AS(nn::confusion_matrix(four_rows(), {1, 3, 0, 1}), "confusion_matrix: label 3 of example 1 outside 0..2",
                         tensor::ValueError);
    CHECK_THROWS_WITH_AS(nn::confusion_matrix(four_rows(), {1, 0, -1, 1}), "confusion_matrix: label -1 of example 2 outside 0..2",
                         tensor::ValueError);
  }
}

TEST_CASE("mean_nll is the mean negative log-probability of the labels") {
  SUBCASE("uniform logits over C classes give ln C") {
    // softmax of equal logits is 1/4 for each class: -ln(1/4) = ln 4 = 1.3862944.
    CHECK(nn::mean_nll(Tensor::full({3, 4}, 2.5f), {0, 3, 1}) == doctest::Approx(std::log(4.0)).epsilon(1e-6));
  }
  SUBCASE("two classes with probabilities 1/4 and 3/4") {
    // Logits (0, ln 3) give softmax (1/4, 3/4). Label 1, then label 0: (-ln 3/4 - ln 1/4) / 2 = (ln 4/3 + ln 4) / 2
    // = 0.8369882.
    const float ln3 = static_cast<float>(std::log(3.0));
    const Tensor logits = Tensor::from_vector({2, 2}, {0, ln3, 0, ln3});
    CHECK(nn::mean_nll(logits, {1, 0}) == doctest::Approx((std::log(4.0 / 3.0) + std::log(4.0)) / 2).epsilon(1e-6));
    CHECK(nn::mean_nll(logits, {1, 1}) == doctest::Approx(std::log(4.0 / 3.0)).epsilon(1e-6));
  }
  SUBCASE("very confident logits do not overflow") {
    // Logits (1000, 0): log softmax of class 1 is -1000 (to float precision), of class 0 is -e^-1000 = 0.
    const Tensor logits = Tensor::from_vector({2, 2}, {1000, 0, 1000, 0});
    CHECK(nn::mean_nll(logits, {0, 1}) == doctest::Approx(500.0));
  }
}

TEST_CASE("expected_calibration_error is 0 when confidence equals accuracy in every bin") {
  SUBCASE("confidence 1/2, right half the time") {
    // Equal logits over two classes: confidence 1/2, prediction class 0, right for label 0 only.
    CHECK(nn::expected_calibration_error(Tensor::zeros({2, 2}), {0, 1}) == doctest::Approx(0.0).epsilon(1e-6));
  }
  SUBCASE("confidence 3/4, right three times in four") {
    // Logits (ln 3, 0): softmax (3/4, 1/4), prediction class 0.
    const float ln3 = static_cast<float>(std::log(3.0));
    const Tensor logits = Tensor::from_vector({4, 2}, {ln3, 0, ln3, 0, ln3, 0, ln3, 0});
    CHECK(nn::expected_calibration_error(logits, {0, 0, 1, 0}) == doctest::Approx(0.0).epsilon(1e-6));
  }
}

TEST_CASE("expected_calibration_error weighs each bin's gap between accuracy and confidence") {
  SUBCASE("confidence about 1, wrong half the time: about 1/2") {
    const Tensor logits = Tensor::from_vector({4, 2}, {100, 0, 100, 0, 100, 0, 100, 0});
    CHECK(nn::expected_calibration_error(logits, {0, 1, 0, 1}) == doctest::Approx(0.5).epsilon(1e-6));
  }
  SUBCASE("two bins, each off by a different amount") {
    // Rows 0, 1: equal logits over 3 classes, confidence 1/3, bin (0, 1/2]; row 0 right, row 1 wrong.
    // Rows 2, 3: logits (100, 0, 0), confidence 1, bin (1/2, 1]; row 2 right, row 3 wrong.
    // ECE = 2/4 |1/2 - 1/3| + 2/4 |1/2 - 1| = 1/12 + 1/4 = 1/3.
    const Tensor logits = Tensor::from_vector({4, 3}, {0, 0, 0, 0, 0, 0, 100, 0, 0, 100, 0, 0});
    CHECK(nn::expected_calibration_error(logits, {0, 2, 0, 1}, 2) == doctest::Approx(1.0 / 3.0).epsilon(1e-6));
    SUBCASE("one bin mixes them: |2/4 - (2/3 + 2)/4| = 1/6") {
      CHECK(nn::expected_calibration_error(logits, {0, 2, 0, 1}, 1) == doctest::Approx(1.0 / 6.0).epsilon(1e-6));
    }
  }
  SUBCASE("fewer than one bin") {
    CHECK_THROWS_WITH_AS(nn::expected_calibration_error(four_rows(), {1, 2, 0, 1}, 0),
                         "expected_calibration_error: bins must be >= 1, got 0", tensor::ValueError);
    CHECK_THROWS_WITH_AS(nn::expected_calibration_error(four_rows(), {1, 2, 0, 1}, -3),
                         "expected_calibration_error: bins must be >= 1, got -3", tensor::ValueError);
  }
}

TEST_CASE("the reliability diagram gives each bin's mean confidence and accuracy, and the ECE is their weighted gap") {
  // The two-bin example above: rows 0, 1 at confidence 1/3, one right; rows 2, 3 at confidence 1, one right.
  const Tensor logits = Tensor::from_vector({4, 3}, {0, 0, 0, 0, 0, 0, 100, 0, 0, 100, 0, 0});
  const Labels labels = {0, 2, 0, 1};
  const std::vector<nn::ReliabilityBin> bins = nn::reliability_diagram(logits, labels, 2);
  REQUIRE(bins.size() == 2);
  CHECK(bins[0].low == 0.0);
  CHECK(bins[0].high == 0.5);
  CHECK(bins[0].count == 2);
  CHECK(bins[0].confidence == doctest::Approx(1.0 / 3.0));
  CHECK(bins[0].accuracy == 0.5);
  CHECK(bins[1].count == 2);
  CHECK(bins[1].confidence == doctest::Approx(1.0));
  CHECK(bins[1].accuracy == 0.5);
  double ece = 0.0;
  for (const nn::ReliabilityBin& b : bins) ece += static_cast<double>(b.count) / 4.0 * std::fabs(b.accuracy - b.confidence);
  CHECK(ece == doctest::Approx(nn::expected_calibration_error(logits, labels, 2)));
  SUBCASE("an empty bin has no rows and reads 0") {
    const std::vector<nn::ReliabilityBin> four = nn::reliability_diagram(logits, labels, 4);
    CHECK(four[2].count == 0);
    CHECK(four[2].confidence == 0.0);
    CHECK(four[2].accuracy == 0.0);
  }
  CHECK_THROWS_WITH_AS(nn::reliability_diagram(logits, labels, 0), "reliability_diagram: bins must be >= 1, got 0",
                       tensor::ValueError);
}

TEST_CASE("temperature scaling finds the T at which confidence matches the labels' frequency") {
  // Two classes, every row's logits (a, 0), class 0 right three times in four: the NLL of
  // softmax(z / T) is least where sigmoid(a / T) = 3/4, i.e. a / T = ln 3.
  const auto rows = [](double a) {
    const auto v = static_cast<float>(a);
    return Tensor::from_vector({4, 2}, {v, 0, v, 0, v, 0, v, 0});
  };
  const Labels labels = {0, 0, 0, 1};
  SUBCASE("an over-confident model gets T > 1") {
    CHECK(nn::fit_temperature(rows(4 * std::log(3.0)), labels) == doctest::Approx(4.0).epsilon(1e-3));
  }
  SUBCASE("an under-confident one T < 1") {
    CHECK(nn::fit_temperature(rows(std::log(3.0) / 2), labels) == doctest::Approx(0.5).epsilon(1e-3));
  }
  SUBCASE("a calibrated one T = 1, and scaling the logits by k scales T by k") {
    const Tensor z = Tensor::from_vector({3, 3}, {2.0f, 0.5f, -1.0f, 0.0f, 1.0f, 0.2f, -0.3f, 0.1f, 1.5f});
    const Labels y = {0, 2, 2};
    const double t = nn::fit_temperature(z, y);
    CHECK(nn::fit_temperature(tensor::mul(z, 3.0f), y) == doctest::Approx(3.0 * t).epsilon(1e-3));
    CHECK(nn::fit_temperature(rows(std::log(3.0)), labels) == doctest::Approx(1.0).epsilon(1e-3));
  }
  SUBCASE("the fitted T gives a lower NLL than T = 1 and its neighbours") {
    const Tensor z = rows(4 * std::log(3.0));
    const double t = nn::fit_temperature(z, labels);
    const auto nll_at = [&](double temperature) { return nn::mean_nll(tensor::div(z, static_cast<float>(temperature)), labels); };
    CHECK(nll_at(t) < nll_at(1.0));
    CHECK(nll_at(t) <= nll_at(t * 1.05));
    CHECK(nll_at(t) <= nll_at(t / 1.05));
  }
  CHECK_THROWS_WITH_AS(nn::fit_temperature(rows(1.0), labels, 2.0, 1.0),
                       "fit_temperature: the range must have 0 < min_t < max_t, got [2, 1]", tensor::ValueError);
  CHECK_THROWS_AS(nn::fit_temperature(rows(1.0), {0, 1}), tensor::ShapeError);
}

TEST_CASE("the class-similarity matrix is the mean softmax over each true class's rows") {
  // Class 0: softmax (1/2, 1/2) and (3/4, 1/4): mean (5/8, 3/8). Class 1: (1/2, 1/2).
  const float ln3 = static_cast<float>(std::log(3.0));
  const Tensor logits = Tensor::from_vector({3, 2}, {0, 0, ln3, 0, 0, 0});
  const auto s = nn::class_similarity(logits, {0, 0, 1});
  CHECK(s[0][0] == doctest::Approx(0.625));
  CHECK(s[0][1] == doctest::Approx(0.375));
  CHECK(s[1][0] == doctest::Approx(0.5));
  CHECK(s[1][1] == doctest::Approx(0.5));
  SUBCASE("at T = 2 the rows are flatter") {
    CHECK(nn::class_similarity(logits, {0, 0, 1}, 2.0f)[0][0] < s[0][0]);
  }
  CHECK_THROWS_WITH_AS(nn::class_similarity(logits, {0, 0, 0}), "class_similarity: no row of class 1", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::class_similarity(logits, {0, 0, 1}, 0.0f),
                       "class_similarity: temperature must be > 0, got 0", tensor::ValueError);
}

TEST_CASE("the entropy of the wrong-class mass is log2(C - 1) when the wrong classes are equal, and 0 when one takes it all") {
  // Label 0 in both rows. Row 0: wrong classes equal, log2 3 bits, whatever the label's own logit.
  // Row 1: class 1 takes essentially all the wrong-class mass: about 0 bits.
  const Tensor equal = Tensor::from_vector({2, 4}, {5, 1, 1, 1, -5, 1, 1, 1});
  CHECK(nn::wrong_class_entropy_bits(equal, {0, 0}) == doctest::Approx(std::log2(3.0)));
  const Tensor one = Tensor::from_vector({1, 4}, {0, 50, 0, 0});
  CHECK(nn::wrong_class_entropy_bits(one, {0}) == doctest::Approx(0.0).epsilon(1e-9));
  SUBCASE("a hand-computed row: wrong classes at 1/2, 1/4, 1/4 give 1.5 bits") {
    const float ln2 = static_cast<float>(std::log(2.0));
    CHECK(nn::wrong_class_entropy_bits(Tensor::from_vector({1, 4}, {9, ln2, 0, 0}), {0}) == doctest::Approx(1.5));
  }
  SUBCASE("temperature spreads the wrong-class mass") {
    const Tensor z = Tensor::from_vector({1, 4}, {3, 2, 0, -1});
    CHECK(nn::wrong_class_entropy_bits(z, {0}, 4.0f) > nn::wrong_class_entropy_bits(z, {0}, 1.0f));
  }
  CHECK_THROWS_AS(nn::wrong_class_entropy_bits(Tensor::from_vector({1, 1}, {0}), {0}), tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::wrong_class_entropy_bits(one, {0}, -1.0f),
                       "wrong_class_entropy_bits: temperature must be > 0, got -1", tensor::ValueError);
}

TEST_CASE("agreement is the fraction of rows on which two models predict the same class") {
  // four_rows() predicts 1, 0, 0, 0; these predict 1, 2, 0, 1: they agree on rows 0 and 2.
  const Tensor other = Tensor::from_vector({4, 3}, {0, 9, 0, 0, 1, 2, 7, 0, 0, 0, 1, 0});
  CHECK(nn::agreement(four_rows(), other) == doctest::Approx(0.5));
  CHECK(nn::agreement(other, four_rows()) == doctest::Approx(0.5));
  // Agreement compares predictions, not values: scaled logits agree everywhere.
  const Tensor scaled = Tensor::from_vector({4, 3}, {2, 6, 4, 10, 10, 2, 0, -2, -2, 4, 4, 4});
  CHECK(nn::agreement(four_rows(), scaled) == 1.0);
}

TEST_CASE("errors copied: of the rows the reference gets wrong, the share where the other model gives its wrong class") {
  // four_rows() predicts 1, 0, 0, 0; with labels 1, 2, 1, 0 it is wrong on rows 1 and 2 (saying 0).
  // `other` predicts 1, 2, 0, 1: it gives the reference's wrong class on row 2 only.
  const Tensor other = Tensor::from_vector({4, 3}, {0, 9, 0, 0, 1, 2, 7, 0, 0, 0, 1, 0});
  const nn::Labels labels = {1, 2, 1, 0};
  CHECK(nn::errors_copied(other, four_rows(), labels) == doctest::Approx(0.5));
  CHECK(nn::errors_copied(four_rows(), four_rows(), labels) == 1.0);
  // A reference that makes no error leaves nothing to copy.
  CHECK(nn::errors_copied(other, four_rows(), {1, 0, 0, 0}) == 0.0);
  // Which model is the reference matters: with labels 1, 2, 1, 1 four_rows() is wrong on rows 1, 2
  // and 3 and `other` repeats one of them (row 2); `other` is wrong on row 2 only, which
  // four_rows() repeats.
  CHECK(nn::errors_copied(other, four_rows(), {1, 2, 1, 1}) == doctest::Approx(1.0 / 3.0));
  CHECK(nn::errors_copied(four_rows(), other, {1, 2, 1, 1}) == 1.0);
  CHECK_THROWS_AS(nn::errors_copied(other, four_rows(), {1, 2}), tensor::ShapeError);
}

TEST_CASE("the margin is the top-1 minus top-2 probability, ordered by the logit gap where it rounds to 1") {
  // softmax([ln 2, 0, 0]) = [0.5, 0.25, 0.25]; a tie [5, 5, 0] has margin 0.
  const std::vector<nn::Margin> m =
      nn::margins(Tensor::from_vector({4, 3}, {std::log(2.0f), 0, 0, 5, 5, 0, 50, 0, 0, 0, 60, 0}));
  REQUIRE(m.size() == 4);
  CHECK(m[0].probability == doctest::Approx(0.25));
  CHECK(m[0].logit_gap == doctest::Approx(std::log(2.0)));
  CHECK(m[1].probability == 0.0);
  // 1 - 2e^-50 and 1 - 2e^-60 are both 1 in double: the logit gap still orders them.
  CHECK(m[2].probability == 1.0);
  CHECK(m[3].probability == 1.0);
  CHECK(m[2] < m[3]);
  CHECK(m[1] < m[0]);
  CHECK_THROWS_WITH_AS(nn::margins(Tensor::zeros({4, 1})), "margins: logits [4, 1] are not [N, C] with C >= 2",
                       tensor::ShapeError);
}

TEST_CASE("mean_kl is 0 for identical predictions and the hand-computed divergence otherwise") {
  SUBCASE("identical logits") { CHECK(nn::mean_kl(four_rows(), four_rows()) == 0.0); }
  SUBCASE("logits shifted by a constant per row give the same softmax") {
    const Tensor shifted = Tensor::from_vector({4, 3}, {11, 13, 12, 5, 5, 1, -3, -4, -4, 0, 0, 0});
    CHECK(nn::mean_kl(four_rows(), shifted) == doctest::Approx(0.0).epsilon(1e-6));
  }
  SUBCASE("two classes: p = (1/2, 1/2), q = (3/4, 1/4)") {
    const float ln3 = static_cast<float>(std::log(3.0));
    const Tensor p = Tensor::from_vector({1, 2}, {0, 0});
    const Tensor q = Tensor::from_vector({1, 2}, {ln3, 0});
    // KL(p || q) = 1/2 ln(1/2 / 3/4) + 1/2 ln(1/2 / 1/4) = 1/2 ln(4/3) = 0.1438410.
    CHECK(nn::mean_kl(p, q) == doctest::Approx(0.5 * std::log(4.0 / 3.0)).epsilon(1e-5));
    // KL(q || p) = 3/4 ln(3/2) + 1/4 ln(1/2) = 0.1308120: the reference is the first argument.
    CHECK(nn::mean_kl(q, p) == doctest::Approx(0.75 * std::log(1.5) + 0.25 * std::log(0.5)).epsilon(1e-5));
  }
  SUBCASE("the mean over rows: one row as above and one identical row halve it") {
    const float ln3 = static_cast<float>(std::log(3.0));
    const Tensor p = Tensor::from_vector({2, 2}, {0, 0, 1, 2});
    const Tensor q = Tensor::from_vector({2, 2}, {ln3, 0, 1, 2});
    CHECK(nn::mean_kl(p, q) == doctest::Approx(0.25 * std::log(4.0 / 3.0)).epsilon(1e-5));
  }
  SUBCASE("any difference is positive") {
    const Tensor q = Tensor::from_vector({4, 3}, {1, 3, 2.1f, 5, 5, 1, 0, -1, -1, 2, 2, 2});
    CHECK(nn::mean_kl(four_rows(), q) > 0.0);
  }
}

TEST_CASE("gap_closed is the fraction of the teacher's lead over the hard student that the soft student gains") {
  // (soft - hard) / (teacher - hard) with hard 0.90 and teacher 0.95.
  CHECK(nn::gap_closed(0.90, 0.90, 0.95) == doctest::Approx(0.0));
  CHECK(nn::gap_closed(0.95, 0.90, 0.95) == doctest::Approx(1.0));
  CHECK(nn::gap_closed(0.925, 0.90, 0.95) == doctest::Approx(0.5));
  CHECK(nn::gap_closed(0.85, 0.90, 0.95) == doctest::Approx(-1.0));
  CHECK(nn::gap_closed(0.97, 0.90, 0.95) == doctest::Approx(1.4));
  SUBCASE("no gap to close") {
    CHECK_THROWS_WITH_AS(nn::gap_closed(0.9, 0.9, 0.9),
                         "gap_closed: the teacher (0.9) is not better than the hard student (0.9): "
                         "there is no gap to close",
                         tensor::ValueError);
    CHECK_THROWS_WITH_AS(nn::gap_closed(0.9, 0.9, 0.8),
                         "gap_closed: the teacher (0.8) is not better than the hard student (0.9): "
                         "there is no gap to close",
                         tensor::ValueError);
  }
}

TEST_CASE("every metric refuses logits that are not [N, C] or do not match the labels") {
  const Tensor logits = four_rows();
  CHECK_THROWS_WITH_AS(nn::predictions(Tensor::zeros({3})), "predictions: logits [3] are not [N, C]",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::predictions(Tensor::zeros({2, 3, 4})), "predictions: logits [2, 3, 4] are not [N, C]",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::accuracy(logits, {1, 2, 0}), "accuracy: logits [4, 3] for 3 labels", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::error_count(logits, {1, 2, 0, 1, 0}), "error_count: logits [4, 3] for 5 labels",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::confusion_matrix(logits, {}), "confusion_matrix: logits [4, 3] for 0 labels",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::mean_nll(logits, {0, 1}), "mean_nll: logits [4, 3] for 2 labels", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::expected_calibration_error(logits, {0}),
                       "expected_calibration_error: logits [4, 3] for 1 labels", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::accuracy(Tensor::zeros({4}), {0, 0, 0, 0}), "accuracy: logits [4] for 4 labels",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::agreement(logits, Tensor::zeros({4, 2})), "agreement: logits [4, 3] and [4, 2] differ",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::agreement(Tensor::zeros({3}), Tensor::zeros({3})),
                       "agreement: logits [3] and [3] are not [N, C]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::mean_kl(logits, Tensor::zeros({3, 3})), "mean_kl: logits [4, 3] and [3, 3] differ",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::mean_kl(Tensor::zeros({2, 2, 2}), Tensor::zeros({2, 2, 2})),
                       "mean_kl: logits [2, 2, 2] and [2, 2, 2] are not [N, C]", tensor::ShapeError);
}

TEST_CASE("metrics refuse labels outside 0..C-1 and averages over no examples") {
  // Logits [[0, ln 3], [5, 5]] with a label 2 of row 0 must not read row 1's values.
  const Tensor logits = Tensor::from_vector({2, 2}, {0.0f, std::log(3.0f), 5.0f, 5.0f});
  CHECK_THROWS_WITH_AS(nn::mean_nll(logits, {2, 0}), "mean_nll: label 2 of example 0 outside 0..1", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::accuracy(logits, {0, -1}), "accuracy: label -1 of example 1 outside 0..1",
                       tensor::ValueError);
  const Tensor none = Tensor::zeros({0, 3});
  CHECK_THROWS_WITH_AS(nn::mean_nll(none, {}), "mean_nll: no examples", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::mean_kl(none, none), "mean_kl: no examples", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::agreement(none, none), "agreement: no examples", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(nn::expected_calibration_error(none, {}), "expected_calibration_error: no examples",
                       tensor::ShapeError);
}

TEST_CASE("mean entropy in bits is 0 for a sure prediction, log2 C for a uniform one, and rises with T") {
  // Row 0: equal logits, 4 classes: 2 bits. Row 1: one logit 100 above the rest: ~0 bits.
  const Tensor logits = Tensor::from_vector({2, 4}, {1, 1, 1, 1, 100, 0, 0, 0});
  CHECK(nn::mean_entropy_bits(logits.narrow(0, 0, 1)) == doctest::Approx(2.0));
  CHECK(nn::mean_entropy_bits(logits.narrow(0, 1, 1)) == doctest::Approx(0.0).epsilon(1e-6));
  CHECK(nn::mean_entropy_bits(logits) == doctest::Approx(1.0));
  const Tensor z = Tensor::from_vector({1, 3}, {2.0f, 0.5f, -1.0f});
  double previous = 0.0;
  for (float t : {0.25f, 1.0f, 4.0f, 16.0f, 100.0f}) {
    const double h = nn::mean_entropy_bits(z, t);
    CHECK(h > previous);
    previous = h;
  }
  CHECK(previous < std::log2(3.0));
  CHECK_THROWS_WITH_AS(nn::mean_entropy_bits(z, 0.0f), "mean_entropy_bits: temperature must be > 0, got 0",
                       tensor::ValueError);
}

}  // TEST_SUITE
