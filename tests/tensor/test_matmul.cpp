// Matrix products through BLAS (tensor/matmul.h), checked against a naive triple loop.
#include "tensor/matmul.h"

#include "tensor/errors.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

using tensor::Shape;
using tensor::Tensor;
using Values = std::vector<float>;

namespace {

// Deterministic values in (-1, 1) that differ from element to element and from seed to seed,
// without depending on the library's own random generator.
Tensor filled(const Shape& shape, int seed) {
  Values v(static_cast<size_t>(tensor::numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) {
    const double x = static_cast<double>(i);
    v[i] = static_cast<float>(std::sin(0.7 * x + 1.3 * seed) * std::cos(0.11 * x));
  }
  return Tensor::from_vector(shape, v);
}

// Checks y = a @ b, one matrix or a batch, against a triple loop in double over the
// operands' values (read through to_vector, so any view works). The float result may
// differ from the exact product by rounding: at most about K * 2^-24 * sum_k |a_ik b_kj|,
// below 1e-5 * sum_k |a_ik b_kj| for every K used here.
void check_product(const Tensor& y, const Tensor& a, const Tensor& b) {
  const bool batched = a.dim() == 3;
  const int64_t batch = batched ? a.size(0) : 1;
  const int64_t m = a.size(-2);
  const int64_t k = a.size(-1);
  const int64_t n = b.size(-1);
  REQUIRE(y.shape() == (batched ? Shape{batch, m, n} : Shape{m, n}));
  CHECK(y.is_contiguous());
  const Values av = a.to_vector();
  const Values bv = b.to_vector();
  const Values yv = y.to_vector();
  int wrong = 0;
  for (int64_t p = 0; p < batch; ++p) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double exact = 0.0;
        double magnitude = 0.0;
        for (int64_t r = 0; r < k; ++r) {
          const double term = static_cast<double>(av[static_cast<size_t>((p * m + i) * k + r)]) *
                              static_cast<double>(bv[static_cast<size_t>((p * k + r) * n + j)]);
          exact += term;
          magnitude += std::fabs(term);
        }
        const double got = yv[static_cast<size_t>((p * m + i) * n + j)];
        if (!(std::fabs(got - exact) <= 1e-5 * magnitude + 1e-30)) {
          if (wrong++ < 5) {
            MESSAGE("y[" << p << "][" << i << "][" << j << "] = " << got << ", expected " << exact);
          }
        }
      }
    }
  }
  CHECK(wrong == 0);
}

}  // namespace

TEST_SUITE("tensor/matmul") {

TEST_CASE("a 2x2 product matches the hand-computed one") {
  const Tensor a = Tensor::from_vector({2, 2}, {1, 2, 3, 4});
  const Tensor b = Tensor::from_vector({2, 2}, {5, 6, 7, 8});
  // [[1*5 + 2*7, 1*6 + 2*8], [3*5 + 4*7, 3*6 + 4*8]]
  CHECK(tensor::matmul(a, b).to_vector() == Values{19, 22, 43, 50});
}

TEST_CASE("matrix products of many shapes match a naive triple loop in double") {
  const Shape shapes[] = {{1, 1, 1}, {1, 7, 5}, {5, 7, 1}, {3, 1, 4}, {1, 9, 1}, {17, 33, 9}, {64, 129, 31}, {2, 3, 2}};
  int seed = 0;
  for (const Shape& mkn : shapes) {
    const int64_t m = mkn[0];
    const int64_t k = mkn[1];
    const int64_t n = mkn[2];
    CAPTURE(m);
    CAPTURE(k);
    CAPTURE(n);
    const Tensor a = filled({m, k}, ++seed);
    const Tensor b = filled({k, n}, ++seed);
    check_product(tensor::matmul(a, b), a, b);
  }
}

TEST_CASE("transposed views are multiplied as the matrices they show") {
  const int64_t m = 13;
  const int64_t k = 21;
  const int64_t n = 6;
  const Tensor a_stored = filled({k, m}, 1);  // a = a_stored.t() is [m, k]
  const Tensor b_stored = filled({n, k}, 2);  // b = b_stored.t() is [k, n]
  const Tensor a = filled({m, k}, 3);
  const Tensor b = filled({k, n}, 4);

  SUBCASE("a.t() @ b") { check_product(tensor::matmul(a_stored.t(), b), a_stored.t(), b); }
  SUBCASE("a @ b.t()") { check_product(tensor::matmul(a, b_stored.t()), a, b_stored.t()); }
  SUBCASE("a.t() @ b.t()") { check_product(tensor::matmul(a_stored.t(), b_stored.t()), a_stored.t(), b_stored.t()); }
  SUBCASE("equals the product of contiguous copies") {
    const Tensor views = tensor::matmul(a_stored.t(), b_stored.t());
    const Tensor copies = tensor::matmul(a_stored.t().contiguous(), b_stored.t().contiguous());
    const Values v = views.to_vector();
    const Values c = copies.to_vector();
    REQUIRE(v.size() == c.size());
    for (size_t i = 0; i < v.size(); ++i) CHECK(v[i] == doctest::Approx(c[i]).epsilon(1e-5));
  }
  SUBCASE("the operands are left untouched") {
    const Values before = b_stored.to_vector();
    (void)tensor::matmul(a, b_stored.t());
    CHECK(b_stored.to_vector() == before);
  }
  SUBCASE("a row vector and a column vector made by transposing") {
    const Tensor row = filled({k, 1}, 5).t();  // [1, k], strides [1, 1]
    const Tensor col = filled({1, k}, 6).t();  // [k, 1], strides [1, k]
    check_product(tensor::matmul(row, col), row, col);
    check_product(tensor::matmul(col, row), col, row);
  }
}

TEST_CASE("batched products multiply each matrix of the batch by its partner") {
  const int64_t batch = 4;
  const int64_t m = 5;
  const int64_t k = 11;
  const int64_t n = 3;
  SUBCASE("contiguous batches") {
    const Tensor a = filled({batch, m, k}, 7);
    const Tensor b = filled({batch, k, n}, 8);
    check_product(tensor::matmul(a, b), a, b);
  }
  SUBCASE("batches of transposed matrices") {
    const Tensor a = filled({batch, k, m}, 9).transpose(1, 2);
    const Tensor b = filled({batch, n, k}, 10).transpose(1, 2);
    check_product(tensor::matmul(a, b), a, b);
    check_product(tensor::matmul(a, filled({batch, k, n}, 11)), a, filled({batch, k, n}, 11));
  }
  SUBCASE("a batch of one") {
    const Tensor a = filled({1, m, k}, 12);
    const Tensor b = filled({1, k, n}, 13);
    check_product(tensor::matmul(a, b), a, b);
  }
}

TEST_CASE("views with gaps between rows or without any unit stride still multiply correctly") {
  const int64_t m = 6;
  const int64_t k = 9;
  const int64_t n = 4;
  SUBCASE("a block of columns: rows farther apart than their length") {
    const Tensor a = filled({m, k + 3}, 14).narrow(1, 2, k);  // strides [k + 3, 1], offset 2
    const Tensor b = filled({k, n + 5}, 15).narrow(1, 5, n);
    check_product(tensor::matmul(a, b), a, b);
  }
  SUBCASE("a block of rows of a transposed matrix") {
    const Tensor a = filled({k, m + 4}, 16).t().narrow(0, 3, m);  // strides [1, m + 4]
    const Tensor b = filled({k, n}, 17);
    check_product(tensor::matmul(a, b), a, b);
  }
  SUBCASE("one row of a transposed matrix, and one column of a wide one") {
    const Tensor row = filled({k, 3}, 18).t().narrow(0, 1, 1);   // [1, k], strides [1, 3]
    const Tensor col = filled({k, 4}, 19).narrow(1, 2, 1);       // [k, 1], strides [4, 1]
    check_product(tensor::matmul(row, col), row, col);
    check_product(tensor::matmul(col, row), col, row);
  }
  SUBCASE("every other column: a batch of one with strides [1, 2k, 2]") {
    const Tensor a = filled({m, k, 2}, 20).narrow(2, 1, 1).permute({2, 0, 1});  // [1, m, k]
    const Tensor b = filled({k, n, 2}, 21).narrow(2, 0, 1).permute({2, 0, 1});  // [1, k, n]
    CHECK(a.strides() == tensor::Strides{1, 2 * k, 2});
    check_product(tensor::matmul(a, b), a, b);
  }
  SUBCASE("a permuted rank-3 tensor whose batch dimension has the unit stride") {
    const int64_t batch = 3;
    const Tensor a = filled({m, k, batch}, 22).permute({2, 0, 1});  // [batch, m, k], strides [1, k*batch, batch]
    const Tensor b = filled({k, n, batch}, 23).permute({2, 0, 1});
    check_product(tensor::matmul(a, b), a, b);
  }
  SUBCASE("a permuted rank-3 tensor whose batches interleave in memory") {
    const int64_t batch = 3;
    const Tensor a = filled({m, batch, k}, 24).permute({1, 0, 2});  // [batch, m, k], strides [k, batch*k, 1]
    const Tensor b = filled({k, batch, n}, 25).permute({1, 0, 2});
    check_product(tensor::matmul(a, b), a, b);
  }
}

TEST_CASE("an empty inner dimension gives zeros and an empty outer one an empty result") {
  SUBCASE("K = 0") {
    const Tensor y = tensor::matmul(Tensor::zeros({3, 0}), Tensor::zeros({0, 4}));
    CHECK(y.shape() == Shape{3, 4});
    CHECK(y.to_vector() == Values(12, 0.0f));
  }
  SUBCASE("K = 0, batched") {
    const Tensor y = tensor::matmul(Tensor::zeros({2, 3, 0}), Tensor::zeros({2, 0, 2}));
    CHECK(y.shape() == Shape{2, 3, 2});
    CHECK(y.to_vector() == Values(12, 0.0f));
  }
  SUBCASE("M = 0") { CHECK(tensor::matmul(Tensor::zeros({0, 3}), Tensor::zeros({3, 4})).shape() == Shape{0, 4}); }
}

TEST_CASE("matmul names the mismatch and both shapes") {
  CHECK_THROWS_WITH_AS(tensor::matmul(Tensor::zeros({32, 784}), Tensor::zeros({100, 10})),
                       "matmul: inner dimensions differ: [32, 784] @ [100, 10]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({2, 5, 6})),
                       "matmul: inner dimensions differ: [2, 3, 4] @ [2, 5, 6]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::matmul(Tensor::zeros({2, 3}), Tensor::zeros({2, 3, 4})),
                       "matmul: expects two matrices or two batches of them: [2, 3] @ [2, 3, 4]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::matmul(Tensor::zeros({3}), Tensor::zeros({3})),
                       "matmul: expects two matrices or two batches of them: [3] @ [3]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::matmul(Tensor::zeros({1, 2, 3, 4}), Tensor::zeros({1, 2, 4, 3})),
                       "matmul: expects two matrices or two batches of them: [1, 2, 3, 4] @ [1, 2, 4, 3]",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4, 5})),
                       "matmul: batch sizes differ: [2, 3, 4] @ [3, 4, 5]", tensor::ShapeError);
}

TEST_CASE("OpenBLAS is the OpenMP build, sharing the kernels' threads instead of competing for the cores") {
  CHECK(tensor::blas_uses_openmp());
}

}  // TEST_SUITE
