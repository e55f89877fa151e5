// Chapter 7's rank correlation: ranks with ties, and Spearman's rho against values worked by hand.
#include "chapters/ch07_unseen_class/rank_correlation.h"

#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

TEST_CASE("ranks count from 1 for the smallest, and tied values share the mean of their ranks") {
  CHECK(book::ranks({0.3, 0.1, 0.2}) == std::vector<double>{3, 1, 2});
  CHECK(book::ranks({5, 7, 5, 1}) == std::vector<double>{2.5, 4, 2.5, 1});
  CHECK(book::ranks({2, 2, 2}) == std::vector<double>{2, 2, 2});
}

TEST_CASE("Spearman's rho is +1 for any rising relation and -1 for any falling one, whatever the scale") {
  CHECK(book::spearman({1, 2, 3, 4}, {10, 100, 1000, 10000}) == doctest::Approx(1.0));
  CHECK(book::spearman({0.01, 0.2, 0.03}, {3, 1, 2}) == doctest::Approx(-1.0));
}

TEST_CASE("Spearman's rho matches 1 - 6 sum d^2 / (n (n^2 - 1)) when there are no ties") {
  // Ranks of y: 2 1 4 3 5 against 1 2 3 4 5: d^2 sums to 4, so rho = 1 - 24 / 120 = 0.8.
  CHECK(book::spearman({1, 2, 3, 4, 5}, {0.2, 0.1, 0.4, 0.3, 0.5}) == doctest::Approx(0.8));
}

TEST_CASE("Spearman's rho with ties is the Pearson correlation of the averaged ranks") {
  // Ranks x: 1 2 3 4; y: 1.5 1.5 3 4. Centred: (-1.5 -0.5 0.5 1.5) and (-1 -1 0.5 1.5):
  // sum of products 1.5 + 0.5 + 0.25 + 2.25 = 4.5; sums of squares 5 and 4.5.
  CHECK(book::spearman({1, 2, 3, 4}, {7, 7, 8, 9}) == doctest::Approx(4.5 / std::sqrt(5.0 * 4.5)));
}

TEST_CASE("Spearman's rho is undefined without spread or with a NaN, and refuses lists it cannot pair") {
  CHECK(std::isnan(book::spearman({1, 2, 3}, {4, 4, 4})));
  CHECK(std::isnan(book::spearman({1, 2, std::nan("")}, {1, 2, 3})));
  CHECK_THROWS_AS(book::spearman({1, 2}, {1, 2, 3}), std::invalid_argument);
  CHECK_THROWS_AS(book::spearman({1}, {1}), std::invalid_argument);
}
