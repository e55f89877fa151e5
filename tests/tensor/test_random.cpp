// The seeded generator and the random tensors built on it (tensor/random.h).
#include "tensor/random.h"

#include "tensor/errors.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <vector>

using tensor::Generator;
using tensor::Shape;
using tensor::Tensor;

namespace {

constexpr int kDraws = 100000;

struct Moments {
  double mean = 0.0;
  double std = 0.0;
};

// Sample mean and (population) standard deviation, in double.
Moments moments(const std::vector<float>& xs) {
  double sum = 0.0;
  for (float x : xs) sum += x;
  const double mean = sum / static_cast<double>(xs.size());
  double squares = 0.0;
  for (float x : xs) squares += (x - mean) * (x - mean);
  return {mean, std::sqrt(squares / static_cast<double>(xs.size()))};
}

}  // namespace

TEST_SUITE("tensor/random") {

TEST_CASE("Generator(42) produces the pinned sequence, so every seeded run stays reproducible") {
  // Pinned from this implementation. The same four words come out of an independent
  // Python transcription of xoshiro256** (Blackman and Vigna) seeded by splitmix64.
  // A change here changes every "random" number in every chapter of the book.
  SUBCASE("next_u64") {
    Generator g(42);
    CHECK(g.next_u64() == 0x15780b2e0c2ec716ULL);
    CHECK(g.next_u64() == 0x6104d9866d113a7eULL);
    CHECK(g.next_u64() == 0xae17533239e499a1ULL);
    CHECK(g.next_u64() == 0xecb8ad4703b360a1ULL);
  }
  SUBCASE("uniform is the top 24 bits of those words over 2^24") {
    Generator g(42);
    CHECK(g.uniform() == 1406987.0f / 16777216.0f);   // 0x15780b
    CHECK(g.uniform() == 6358233.0f / 16777216.0f);   // 0x6104d9
    CHECK(g.uniform() == 11409235.0f / 16777216.0f);  // 0xae1753
    CHECK(g.uniform() == 15513773.0f / 16777216.0f);  // 0xecb8ad
  }
  SUBCASE("normal is Box-Muller on pairs of those words") {
    // Pinned from this implementation and recomputed in Python (double Box-Muller on the
    // same words); compared to 1e-6 so a last-bit libm difference is not a failure.
    Generator g(42);
    CHECK(g.normal() == doctest::Approx(-1.6132237513849157).epsilon(1e-6));
    CHECK(g.normal() == doctest::Approx(1.5344873235334193).epsilon(1e-6));
    CHECK(g.normal() == doctest::Approx(0.7816920450573488).epsilon(1e-6));
    CHECK(g.normal() == doctest::Approx(-0.4001934943234848).epsilon(1e-6));
  }
}

TEST_CASE("the same seed gives identical sequences") {
  Generator a(7);
  Generator b(7);
  SUBCASE("next_u64 and uniform") {
    for (int i = 0; i < 1000; ++i) CHECK(a.next_u64() == b.next_u64());
    for (int i = 0; i < 1000; ++i) CHECK(a.uniform() == b.uniform());
  }
  SUBCASE("normal, including an odd count that leaves a spare") {
    for (int i = 0; i < 1001; ++i) CHECK(a.normal() == b.normal());
    CHECK(a.uniform() == b.uniform());
  }
  SUBCASE("below and permutation") {
    for (int i = 0; i < 1000; ++i) CHECK(a.below(10) == b.below(10));
    CHECK(tensor::permutation(50, a) == tensor::permutation(50, b));
  }
  SUBCASE("random tensors") {
    CHECK(tensor::uniform({3, 4}, -1.0f, 1.0f, a).to_vector() == tensor::uniform({3, 4}, -1.0f, 1.0f, b).to_vector());
    CHECK(tensor::normal({5}, 0.0f, 2.0f, a).to_vector() == tensor::normal({5}, 0.0f, 2.0f, b).to_vector());
    CHECK(tensor::bernoulli({7}, 0.5f, a).to_vector() == tensor::bernoulli({7}, 0.5f, b).to_vector());
  }
}

TEST_CASE("different seeds give different sequences") {
  for (uint64_t seed : {0ULL, 1ULL, 2ULL, 42ULL}) {
    CAPTURE(seed);
    Generator g(seed);
    Generator h(seed + 1);
    int same = 0;
    for (int i = 0; i < 100; ++i) same += g.next_u64() == h.next_u64() ? 1 : 0;
    CHECK(same == 0);
  }
  // Seed 0 is not a degenerate all-zero state (xoshiro would then emit zeros forever).
  Generator zero(0);
  uint64_t any = 0;
  for (int i = 0; i < 4; ++i) any |= zero.next_u64();
  CHECK(any != 0);
}

TEST_CASE("uniform draws lie in [0, 1) with the moments of U(0, 1)") {
  Generator g(1);
  std::vector<float> xs(kDraws);
  for (float& x : xs) x = g.uniform();
  CHECK(*std::min_element(xs.begin(), xs.end()) >= 0.0f);
  CHECK(*std::max_element(xs.begin(), xs.end()) < 1.0f);
  const Moments m = moments(xs);
  // U(0, 1) has mean 1/2 and std 1/sqrt(12) = 0.2887. Over n = 1e5 draws the standard error
  // of the mean is 0.2887 / sqrt(n) = 0.00091; the tolerance is 5 standard errors.
  CHECK(std::fabs(m.mean - 0.5) < 5 * 0.00091);
  // The sample std of U(0, 1) has standard error about 0.2887 * sqrt(0.8 / (4 n)) = 0.00041
  // (kurtosis 9/5); again 5 standard errors.
  CHECK(std::fabs(m.std - 1.0 / std::sqrt(12.0)) < 5 * 0.00041);
}

TEST_CASE("normal draws have mean 0 and standard deviation 1") {
  Generator g(2);
  std::vector<float> xs(kDraws);
  for (float& x : xs) x = g.normal();
  const Moments m = moments(xs);
  // Standard errors over n = 1e5 draws: of the mean 1 / sqrt(n) = 0.00316, of the std
  // 1 / sqrt(2 n) = 0.00224. Tolerances are 5 standard errors.
  CHECK(std::fabs(m.mean) < 5 * 0.00316);
  CHECK(std::fabs(m.std - 1.0) < 5 * 0.00224);
  // The shape, not just two moments: P(|x| < 1) = 0.6827 for N(0, 1), with standard
  // error sqrt(0.6827 * 0.3173 / n) = 0.00147.
  const auto inside = std::count_if(xs.begin(), xs.end(), [](float x) { return std::fabs(x) < 1.0f; });
  CHECK(std::fabs(static_cast<double>(inside) / kDraws - 0.6827) < 5 * 0.00147);
}

TEST_CASE("bernoulli draws are 0 or 1 and 1 at the requested rate") {
  Generator g(3);
  const Tensor t = tensor::bernoulli({kDraws}, 0.3f, g);
  const std::vector<float> v = t.to_vector();
  CHECK(std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f || x == 1.0f; }));
  // Rate 0.3 over n = 1e5: standard error sqrt(0.3 * 0.7 / n) = 0.00145; 5 standard errors.
  const double rate = std::accumulate(v.begin(), v.end(), 0.0) / kDraws;
  CHECK(std::fabs(rate - 0.3) < 5 * 0.00145);
  SUBCASE("p = 0 never and p = 1 always") {
    const std::vector<float> never = tensor::bernoulli({1000}, 0.0f, g).to_vector();
    const std::vector<float> always = tensor::bernoulli({1000}, 1.0f, g).to_vector();
    CHECK(std::all_of(never.begin(), never.end(), [](float x) { return x == 0.0f; }));
    CHECK(std::all_of(always.begin(), always.end(), [](float x) { return x == 1.0f; }));
  }
}

TEST_CASE("below(n) stays in 0..n-1 and hits every value about equally often") {
  Generator g(4);
  constexpr int kN = 7;
  constexpr int kTrials = 70000;
  std::vector<int> counts(kN, 0);
  bool in_range = true;
  for (int i = 0; i < kTrials; ++i) {
    const int64_t x = g.below(kN);
    if (x < 0 || x >= kN) {
      in_range = false;
      continue;
    }
    ++counts[static_cast<size_t>(x)];
  }
  CHECK(in_range);
  // Each count is binomial(70000, 1/7): mean 10000, standard error sqrt(70000 * 1/7 * 6/7) = 92.6.
  for (int c : counts) {
    CAPTURE(c);
    CHECK(std::abs(c - 10000) < 5 * 93);
  }
  SUBCASE("n = 1 always gives 0, and a huge n stays in range") {
    for (int i = 0; i < 100; ++i) CHECK(g.below(1) == 0);
    const int64_t huge = (int64_t{1} << 62) + 12345;
    for (int i = 0; i < 100; ++i) {
      const int64_t x = g.below(huge);
      CHECK((x >= 0 && x < huge));
    }
  }
}

TEST_CASE("below(n) has no modulo bias even when n is a large fraction of 2^64") {
  // n = 3 * 2^61: 2^64 holds 2 whole copies of 0..n-1 plus a quarter more. Taking the 64-bit
  // word modulo n without rejecting that last quarter would land below 2^62 with probability
  // 3/4; drawn uniformly from 0..n-1 the probability is 2^62 / n = 2/3. Over 20000 draws the
  // standard error is sqrt(2/3 * 1/3 / 20000) = 0.0033; the tolerance is 5 of them.
  Generator g(11);
  const int64_t n = int64_t{3} << 61;
  constexpr int kTrials = 20000;
  int low = 0;
  int out_of_range = 0;
  for (int i = 0; i < kTrials; ++i) {
    const int64_t x = g.below(n);
    out_of_range += (x < 0 || x >= n) ? 1 : 0;
    low += x < (int64_t{1} << 62) ? 1 : 0;
  }
  CHECK(out_of_range == 0);
  CHECK(std::fabs(static_cast<double>(low) / kTrials - 2.0 / 3.0) < 5 * 0.0033);
}

TEST_CASE("below rejects n <= 0") {
  Generator g(5);
  CHECK_THROWS_WITH_AS(g.below(0), "below: need n > 0, got 0", tensor::ValueError);
  CHECK_THROWS_WITH_AS(g.below(-3), "below: need n > 0, got -3", tensor::ValueError);
}

TEST_CASE("permutation returns every index exactly once, in a uniformly random order") {
  Generator g(6);
  SUBCASE("a permutation of 0..n-1") {
    std::vector<int64_t> p = tensor::permutation(100, g);
    std::vector<int64_t> identity(100);
    std::iota(identity.begin(), identity.end(), 0);
    CHECK(p != identity);  // 1 chance in 100! of failing for an arbitrary seed; this one is fixed
    std::sort(p.begin(), p.end());
    CHECK(p == identity);
  }
  SUBCASE("the edge sizes") {
    CHECK(tensor::permutation(0, g).empty());
    CHECK(tensor::permutation(1, g) == std::vector<int64_t>{0});
  }
  SUBCASE("each of the 6 orders of 3 items is equally likely") {
    std::map<std::vector<int64_t>, int> seen;
    constexpr int kTrials = 60000;
    for (int i = 0; i < kTrials; ++i) ++seen[tensor::permutation(3, g)];
    CHECK(seen.size() == 6);
    // Each count is binomial(60000, 1/6): mean 10000, standard error sqrt(60000 * 1/6 * 5/6) = 91.3.
    for (const auto& [order, count] : seen) {
      CAPTURE(count);
      CHECK(std::abs(count - 10000) < 5 * 92);
    }
  }
}

TEST_CASE("permutation rejects a negative size") {
  Generator g(7);
  CHECK_THROWS_WITH_AS(tensor::permutation(-1, g), "permutation: need n >= 0, got -1", tensor::ValueError);
}

TEST_CASE("random tensors have the requested shape and distribution") {
  Generator g(8);
  SUBCASE("uniform in [low, high)") {
    const Tensor t = tensor::uniform({3, 4}, -2.0f, 3.0f, g);
    CHECK(t.shape() == Shape{3, 4});
    CHECK(t.is_contiguous());
    for (float x : t.to_vector()) CHECK((x >= -2.0f && x < 3.0f));
    const Moments m = moments(tensor::uniform({kDraws}, -2.0f, 3.0f, g).to_vector());
    // U(-2, 3): mean 0.5, std 5 / sqrt(12) = 1.443, standard error of the mean 1.443 / sqrt(n) = 0.00456.
    CHECK(std::fabs(m.mean - 0.5) < 5 * 0.00456);
  }
  SUBCASE("uniform on [0, 1) draws exactly the generator's uniform values, in order") {
    Generator twin(8);
    const std::vector<float> v = tensor::uniform({4}, 0.0f, 1.0f, g).to_vector();
    for (float x : v) CHECK(x == twin.uniform());
  }
  SUBCASE("uniform with low == high is constant") {
    CHECK(tensor::uniform({3}, 1.5f, 1.5f, g).to_vector() == std::vector<float>(3, 1.5f));
  }
  SUBCASE("normal with a mean and a std") {
    const Tensor t = tensor::normal({2, 3, 4}, 3.0f, 2.0f, g);
    CHECK(t.shape() == Shape{2, 3, 4});
    const Moments m = moments(tensor::normal({kDraws}, 3.0f, 2.0f, g).to_vector());
    // Standard errors over n = 1e5: of the mean 2 / sqrt(n) = 0.00632, of the std 2 / sqrt(2 n) = 0.00447.
    CHECK(std::fabs(m.mean - 3.0) < 5 * 0.00632);
    CHECK(std::fabs(m.std - 2.0) < 5 * 0.00447);
  }
  SUBCASE("normal with std 0 is the mean") {
    CHECK(tensor::normal({4}, -1.0f, 0.0f, g).to_vector() == std::vector<float>(4, -1.0f));
  }
  SUBCASE("bernoulli") {
    const Tensor t = tensor::bernoulli({2, 5}, 0.5f, g);
    CHECK(t.shape() == Shape{2, 5});
  }
  SUBCASE("a scalar and an empty shape") {
    CHECK(tensor::uniform({}, 0.0f, 1.0f, g).shape() == Shape{});
    CHECK(tensor::normal({0, 3}, 0.0f, 1.0f, g).numel() == 0);
  }
}

TEST_CASE("random tensors reject arguments outside their domain") {
  Generator g(9);
  CHECK_THROWS_WITH_AS(tensor::uniform({2}, 1.0f, 0.0f, g), "uniform: need low <= high, got [1, 0)",
                       tensor::ValueError);
  CHECK_THROWS_WITH_AS(tensor::normal({2}, 0.0f, -1.0f, g), "normal: need std >= 0, got -1",
                       tensor::ValueError);
  CHECK_THROWS_WITH_AS(tensor::bernoulli({2}, 1.5f, g), "bernoulli: need p in [0, 1], got 1.5",
                       tensor::ValueError);
  CHECK_THROWS_WITH_AS(tensor::bernoulli({2}, -0.25f, g), "bernoulli: need p in [0, 1], got -0.25",
                       tensor::ValueError);
}

TEST_CASE("uniform never returns its upper bound, even where rounding would reach it") {
  // Between 1 and the next float up, low + (high - low) u rounds to one of the two ends;
  // a half-open interval leaves only 1.
  tensor::Generator gen(5);
  const float high = std::nextafter(1.0f, 2.0f);
  const std::vector<float> v = tensor::uniform({10000}, 1.0f, high, gen).to_vector();
  CHECK(std::all_of(v.begin(), v.end(), [](float x) { return x == 1.0f; }));
}

}  // TEST_SUITE
