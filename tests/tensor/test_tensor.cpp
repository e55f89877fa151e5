// Tensor: factories, layout, element access, views and copies (tensor/tensor.h).
#include "tensor/tensor.h"

#include "tensor/errors.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using tensor::Shape;
using tensor::Strides;
using tensor::Tensor;
using Values = std::vector<float>;

namespace {

// [[0, 1, 2], [3, 4, 5]]: every element equals its row-major position, so a view's
// to_vector() spells out which elements it picks.
Tensor counting(const Shape& shape) { return Tensor::arange(tensor::numel(shape)).reshape(shape); }

}  // namespace

TEST_SUITE("tensor/tensor") {

TEST_CASE("a default-constructed tensor is undefined") {
  const Tensor t;
  CHECK_FALSE(t.defined());
  CHECK(Tensor::zeros({1}).defined());
}

TEST_CASE("factories make contiguous tensors of the requested shape and values") {
  SUBCASE("zeros") {
    const Tensor t = Tensor::zeros({2, 3});
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.strides() == Strides{3, 1});
    CHECK(t.offset() == 0);
    CHECK(t.is_contiguous());
    CHECK(t.to_vector() == Values(6, 0.0f));
  }
  SUBCASE("ones") { CHECK(Tensor::ones({4}).to_vector() == Values(4, 1.0f)); }
  SUBCASE("full") {
    const Tensor t = Tensor::full({2, 2}, -2.5f);
    CHECK(t.to_vector() == Values(4, -2.5f));
  }
  SUBCASE("scalar is rank 0 with one element") {
    const Tensor t = Tensor::scalar(3.5f);
    CHECK(t.dim() == 0);
    CHECK(t.shape() == Shape{});
    CHECK(t.numel() == 1);
    CHECK(t.item() == 3.5f);
  }
  SUBCASE("from_vector keeps row-major order") {
    const Tensor t = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
    CHECK(t.at({0, 0}) == 1.0f);
    CHECK(t.at({0, 2}) == 3.0f);
    CHECK(t.at({1, 0}) == 4.0f);
    CHECK(t.at({1, 2}) == 6.0f);
  }
  SUBCASE("arange counts from 0") {
    const Tensor t = Tensor::arange(5);
    CHECK(t.shape() == Shape{5});
    CHECK(t.to_vector() == Values{0, 1, 2, 3, 4});
  }
  SUBCASE("a size of 0 gives an empty tensor") {
    const Tensor t = Tensor::zeros({3, 0});
    CHECK(t.numel() == 0);
    CHECK(t.to_vector().empty());
  }
}

TEST_CASE("factories reject a wrong number of values and negative sizes") {
  CHECK_THROWS_WITH_AS(Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5}), "from_vector: 5 values for shape [2, 3]",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(Tensor::empty({2, -1}), "empty: negative size in shape [2, -1]", tensor::ShapeError);
}

TEST_CASE("fresh tensors start on a 64-byte boundary") {
  // Odd sizes, so that a lucky allocator cannot pass by accident for every one of them.
  for (int64_t n : {1, 3, 17, 1000, 4097}) {
    CAPTURE(n);
    const Tensor t = Tensor::empty({n});
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % tensor::Storage::kAlignment == 0);
  }
  CHECK(tensor::Storage::kAlignment == 64);
  CHECK(reinterpret_cast<std::uintptr_t>(Tensor::scalar(1.0f).data()) % 64 == 0);
}

TEST_CASE("size and dim report the shape, and size accepts a negative axis") {
  const Tensor t = Tensor::zeros({2, 3, 4});
  CHECK(t.dim() == 3);
  CHECK(t.size(0) == 2);
  CHECK(t.size(-1) == 4);
  CHECK(t.numel() == 24);
  CHECK_THROWS_WITH_AS(t.size(3), "size: axis 3 out of range for shape [2, 3, 4]", tensor::IndexError);
}

TEST_CASE("copying a tensor shares its storage and clone does not") {
  Tensor a = Tensor::from_vector({2}, {1, 2});
  Tensor b = a;
  CHECK(b.shares_storage_with(a));
  b.set({0}, 10.0f);
  CHECK(a.at({0}) == 10.0f);

  Tensor c = a.clone();
  CHECK_FALSE(c.shares_storage_with(a));
  CHECK(c.to_vector() == Values{10, 2});
  c.set({1}, 20.0f);
  CHECK(a.at({1}) == 2.0f);
}

TEST_CASE("reshape of a contiguous tensor is a view and of a transposed one is a copy") {
  SUBCASE("contiguous: a view, writes show through") {
    Tensor a = counting({2, 3});
    Tensor r = a.reshape({3, 2});
    CHECK(r.shape() == Shape{3, 2});
    CHECK(r.strides() == Strides{2, 1});
    CHECK(r.shares_storage_with(a));
    CHECK(r.to_vector() == Values{0, 1, 2, 3, 4, 5});
    r.set({2, 1}, 50.0f);
    CHECK(a.at({1, 2}) == 50.0f);
  }
  SUBCASE("a narrowed block of rows is contiguous, so it reshapes to a view at its offset") {
    const Tensor a = counting({4, 3});
    const Tensor rows = a.narrow(0, 1, 2);  // rows 1 and 2: 3..8
    const Tensor r = rows.reshape({6});
    CHECK(r.shares_storage_with(a));
    CHECK(r.to_vector() == Values{3, 4, 5, 6, 7, 8});
  }
  SUBCASE("transposed: a copy in the transposed order") {
    const Tensor a = counting({2, 3});
    const Tensor r = a.t().reshape({6});
    CHECK_FALSE(r.shares_storage_with(a));
    CHECK(r.is_contiguous());
    // a.t() is [[0, 3], [1, 4], [2, 5]].
    CHECK(r.to_vector() == Values{0, 3, 1, 4, 2, 5});
  }
}

TEST_CASE("reshape infers one dimension given as -1") {
  const Tensor a = counting({2, 3, 4});
  CHECK(a.reshape({-1}).shape() == Shape{24});
  CHECK(a.reshape({4, -1}).shape() == Shape{4, 6});  // 24 / 4
  CHECK(a.reshape({-1, 2, 3}).shape() == Shape{4, 2, 3});
  CHECK(Tensor::scalar(1.0f).reshape({-1}).shape() == Shape{1});
  CHECK(Tensor::zeros({1}).reshape({}).shape() == Shape{});
}

TEST_CASE("reshape rejects a different element count, an uninferable -1 and negative sizes") {
  const Tensor a = Tensor::zeros({2, 3});
  CHECK_THROWS_WITH_AS(a.reshape({4, 2}), "reshape: cannot reshape [2, 3] (6 elements) to [4, 2]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(a.reshape({-1, 4}), "reshape: cannot infer -1 reshaping [2, 3] to [-1, 4]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(a.reshape({-1, 0}), "reshape: cannot infer -1 reshaping [2, 3] to [-1, 0]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(a.reshape({-1, -1}), "reshape: invalid target shape [-1, -1] for [2, 3]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(a.reshape({-2, -3}), "reshape: invalid target shape [-2, -3] for [2, 3]", tensor::ShapeError);
}

TEST_CASE("transpose, t and permute are views that swap shape and strides") {
  Tensor a = counting({2, 3});

  SUBCASE("t of a matrix") {
    Tensor t = a.t();
    CHECK(t.shape() == Shape{3, 2});
    CHECK(t.strides() == Strides{1, 3});
    CHECK(t.shares_storage_with(a));
    CHECK_FALSE(t.is_contiguous());
    CHECK(t.at({2, 1}) == 5.0f);  // a[1][2]
    CHECK(t.to_vector() == Values{0, 3, 1, 4, 2, 5});
    t.set({0, 1}, 30.0f);  // a[1][0]
    CHECK(a.at({1, 0}) == 30.0f);
  }
  SUBCASE("transpose with negative axes") {
    const Tensor b = counting({2, 3, 4});
    const Tensor t = b.transpose(-1, 0);
    CHECK(t.shape() == Shape{4, 3, 2});
    CHECK(t.strides() == Strides{1, 4, 12});
    CHECK(t.at({3, 1, 1}) == b.at({1, 1, 3}));
    CHECK(t.at({3, 1, 1}) == 19.0f);  // 1*12 + 1*4 + 3
  }
  SUBCASE("permute of a rank 3 tensor") {
    const Tensor b = counting({2, 3, 4});  // strides [12, 4, 1]
    const Tensor p = b.permute({2, 0, 1});
    CHECK(p.shape() == Shape{4, 2, 3});
    CHECK(p.strides() == Strides{1, 12, 4});
    CHECK(p.shares_storage_with(b));
    // p[k][i][j] = b[i][j][k] = 12 i + 4 j + k, checked everywhere.
    for (int64_t k = 0; k < 4; ++k) {
      for (int64_t i = 0; i < 2; ++i) {
        for (int64_t j = 0; j < 3; ++j) CHECK(p.at({k, i, j}) == static_cast<float>(12 * i + 4 * j + k));
      }
    }
    const Values v = p.to_vector();
    CHECK(v[0] == 0.0f);
    CHECK(v[1] == 4.0f);   // p[0][0][1] = b[0][1][0]
    CHECK(v[3] == 12.0f);  // p[0][1][0] = b[1][0][0]
    CHECK(v[6] == 1.0f);   // p[1][0][0] = b[0][0][1]
  }
}

TEST_CASE("t, transpose and permute reject bad axes") {
  const Tensor a = Tensor::zeros({2, 3});
  CHECK_THROWS_WITH_AS(Tensor::zeros({2, 3, 4}).t(), "t: expects a matrix, got shape [2, 3, 4]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(a.transpose(0, 2), "transpose: axis 2 out of range for shape [2, 3]", tensor::IndexError);
  CHECK_THROWS_WITH_AS(a.permute({0, 0}), "permute: order [0, 0] is not a permutation of the axes of [2, 3]",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(a.permute({1, 0, 2}), "permute: order [1, 0, 2] is not a permutation of the axes of [2, 3]",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(a.permute({0}), "permute: order [0] is not a permutation of the axes of [2, 3]",
                       tensor::ShapeError);
}

TEST_CASE("narrow is a view of a range along one axis") {
  Tensor a = counting({3, 4});  // [[0..3], [4..7], [8..11]]

  SUBCASE("rows") {
    const Tensor r = a.narrow(0, 1, 2);
    CHECK(r.shape() == Shape{2, 4});
    CHECK(r.offset() == 4);
    CHECK(r.is_contiguous());
    CHECK(r.to_vector() == Values{4, 5, 6, 7, 8, 9, 10, 11});
  }
  SUBCASE("columns, with a negative axis") {
    Tensor c = a.narrow(-1, 1, 2);
    CHECK(c.shape() == Shape{3, 2});
    CHECK(c.strides() == Strides{4, 1});
    CHECK_FALSE(c.is_contiguous());
    CHECK(c.shares_storage_with(a));
    CHECK(c.to_vector() == Values{1, 2, 5, 6, 9, 10});
    c.set({2, 0}, 90.0f);
    CHECK(a.at({2, 1}) == 90.0f);
  }
  SUBCASE("an empty range") { CHECK(a.narrow(0, 3, 0).numel() == 0); }
}

TEST_CASE("narrow rejects a range outside the dimension and a bad axis") {
  const Tensor a = Tensor::zeros({2, 3});
  CHECK_THROWS_WITH_AS(a.narrow(1, 1, 3), "narrow: range [1, 4) outside dimension 1 of shape [2, 3]",
                       tensor::IndexError);
  CHECK_THROWS_WITH_AS(a.narrow(0, -1, 1), "narrow: range [-1, 0) outside dimension 0 of shape [2, 3]",
                       tensor::IndexError);
  CHECK_THROWS_WITH_AS(a.narrow(-1, 0, -1), "narrow: range [0, -1) outside dimension 1 of shape [2, 3]",
                       tensor::IndexError);
  CHECK_THROWS_WITH_AS(a.narrow(2, 0, 1), "narrow: axis 2 out of range for shape [2, 3]", tensor::IndexError);
}

TEST_CASE("contiguous returns the same storage when already row-major and a copy otherwise") {
  const Tensor a = counting({2, 3});
  SUBCASE("already contiguous") {
    const Tensor c = a.contiguous();
    CHECK(c.shares_storage_with(a));
    CHECK(c.data() == a.data());
  }
  SUBCASE("transposed") {
    const Tensor c = a.t().contiguous();
    CHECK_FALSE(c.shares_storage_with(a));
    CHECK(c.is_contiguous());
    CHECK(c.strides() == Strides{2, 1});
    CHECK(c.to_vector() == Values{0, 3, 1, 4, 2, 5});
  }
  SUBCASE("narrowed columns") {
    const Tensor c = a.narrow(1, 1, 1).contiguous();
    CHECK_FALSE(c.shares_storage_with(a));
    CHECK(c.to_vector() == Values{1, 4});
  }
  SUBCASE("a size-1 dimension's stride does not matter") {
    // [3, 1] from a row [1, 3]: strides [1, 3], yet row-major with no gaps.
    const Tensor col = a.narrow(0, 0, 1).t();
    CHECK(col.is_contiguous());
    CHECK(col.contiguous().shares_storage_with(a));
  }
}

TEST_CASE("copy_ writes through a strided view and broadcasts its source") {
  SUBCASE("into a transposed view") {
    Tensor a = Tensor::zeros({2, 3});
    a.t().copy_(Tensor::from_vector({3, 2}, {1, 2, 3, 4, 5, 6}));
    // a.t()[i][j] = a[j][i], so a = [[1, 3, 5], [2, 4, 6]].
    CHECK(a.to_vector() == Values{1, 3, 5, 2, 4, 6});
  }
  SUBCASE("into a narrowed column block, leaving the rest alone") {
    Tensor a = Tensor::zeros({2, 4});
    a.narrow(1, 1, 2).copy_(Tensor::from_vector({2, 2}, {1, 2, 3, 4}));
    CHECK(a.to_vector() == Values{0, 1, 2, 0, 0, 3, 4, 0});
  }
  SUBCASE("a row broadcast over every row") {
    Tensor a = Tensor::zeros({2, 3});
    a.copy_(Tensor::from_vector({3}, {7, 8, 9}));
    CHECK(a.to_vector() == Values{7, 8, 9, 7, 8, 9});
  }
  SUBCASE("a column broadcast over every column") {
    Tensor a = Tensor::zeros({2, 3});
    a.copy_(Tensor::from_vector({2, 1}, {1, 2}));
    CHECK(a.to_vector() == Values{1, 1, 1, 2, 2, 2});
  }
  SUBCASE("a scalar fills a view") {
    Tensor a = Tensor::zeros({2, 3});
    a.t().copy_(Tensor::scalar(4.0f));
    CHECK(a.to_vector() == Values(6, 4.0f));
  }
  SUBCASE("from a transposed source into a contiguous target") {
    Tensor a = Tensor::zeros({3, 2});
    a.copy_(counting({2, 3}).t());
    CHECK(a.to_vector() == Values{0, 3, 1, 4, 2, 5});
  }
  SUBCASE("the returned reference is the target") {
    Tensor a = Tensor::zeros({2});
    CHECK(&a.copy_(Tensor::ones({2})) == &a);
  }
}

TEST_CASE("copy_ rejects a source that does not broadcast to the target's shape") {
  Tensor a = Tensor::zeros({2, 2});
  CHECK_THROWS_WITH_AS(a.copy_(Tensor::zeros({3})), "copy_: cannot broadcast [3] to [2, 2]", tensor::ShapeError);
  // Broadcasting the other way (the target would have to grow) is refused too.
  Tensor row = Tensor::zeros({1, 2});
  CHECK_THROWS_WITH_AS(row.copy_(Tensor::zeros({2, 2})), "copy_: cannot broadcast [2, 2] to [1, 2]",
                       tensor::ShapeError);
}

TEST_CASE("fill_ sets every element of a view and nothing outside it") {
  Tensor a = Tensor::zeros({3, 3});
  a.narrow(0, 1, 2).narrow(1, 0, 2).fill_(5.0f);
  CHECK(a.to_vector() == Values{0, 0, 0, 5, 5, 0, 5, 5, 0});
  a.t().fill_(-1.0f);
  CHECK(a.to_vector() == Values(9, -1.0f));
}

TEST_CASE("item reads the one element of a one-element tensor and refuses any other") {
  CHECK(Tensor::scalar(2.0f).item() == 2.0f);
  CHECK(Tensor::full({1, 1}, 3.0f).item() == 3.0f);
  CHECK(counting({2, 3}).narrow(1, 2, 1).narrow(0, 1, 1).item() == 5.0f);
  CHECK_THROWS_WITH_AS(Tensor::zeros({2, 3}).item(), "item: tensor of shape [2, 3] has 6 elements, not 1",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(Tensor::zeros({0}).item(), "item: tensor of shape [0] has 0 elements, not 1",
                       tensor::ShapeError);
}

TEST_CASE("at and set address one element and check the index") {
  Tensor a = counting({2, 3});
  CHECK(a.at({1, 1}) == 4.0f);
  a.set({0, 2}, -7.0f);
  CHECK(a.to_vector() == Values{0, 1, -7, 3, 4, 5});
  CHECK(Tensor::scalar(8.0f).at({}) == 8.0f);

  CHECK_THROWS_WITH_AS(a.at({1}), "at: index of length 1 for a tensor of shape [2, 3]", tensor::IndexError);
  CHECK_THROWS_WITH_AS(a.at({0, 3}), "at: index 3 out of range for dimension 1 of shape [2, 3]", tensor::IndexError);
  CHECK_THROWS_WITH_AS(a.at({-1, 0}), "at: index -1 out of range for dimension 0 of shape [2, 3]",
                       tensor::IndexError);
  CHECK_THROWS_WITH_AS(a.set({0, 0, 0}, 1.0f), "set: index of length 3 for a tensor of shape [2, 3]",
                       tensor::IndexError);
  CHECK_THROWS_WITH_AS(a.set({2, 0}, 1.0f), "set: index 2 out of range for dimension 0 of shape [2, 3]",
                       tensor::IndexError);
}

TEST_CASE("to_vector of a non-contiguous view lists its elements in row-major order") {
  const Tensor a = counting({2, 3, 4});
  // Reversed axes, then k in {1, 2} and j in {1, 2}: strides [1, 4, 12], no unit stride
  // along the last dimension, and an offset of 5.
  const Tensor v = a.permute({2, 1, 0}).narrow(0, 1, 2).narrow(1, 1, 2);  // [2, 2, 2]
  CHECK(v.shape() == Shape{2, 2, 2});
  CHECK(v.strides() == Strides{1, 4, 12});
  // v[k][j][i] = a[i][j + 1][k + 1] = 12 i + 4 (j + 1) + (k + 1).
  CHECK(v.to_vector() == Values{5, 17, 9, 21, 6, 18, 10, 22});
}

TEST_CASE("copy_ from a view of the same storage reads every value before overwriting it") {
  // b = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]; b.copy_(b.t()) must give the transpose.
  Tensor b = Tensor::arange(9).reshape({3, 3});
  b.copy_(b.t());
  CHECK(b.to_vector() == Values{0, 3, 6, 1, 4, 7, 2, 5, 8});
  // Shifting rows down by one within one tensor.
  Tensor a = Tensor::arange(4).reshape({4, 1});
  a.narrow(0, 1, 3).copy_(a.narrow(0, 0, 3));
  CHECK(a.to_vector() == Values{0, 0, 1, 2});
}

TEST_CASE("a shape with more elements than can be addressed is refused before allocating") {
  CHECK_THROWS_WITH_AS(Tensor::empty({int64_t{1} << 32, int64_t{1} << 32}),
                       "empty: shape [4294967296, 4294967296] has too many elements", tensor::ShapeError);
}

TEST_CASE("freed large storage is reused for the next tensor of the same size, within a budget") {
  tensor::release_cached_storage();
  const float* first = nullptr;
  {
    const Tensor big = Tensor::zeros({1000, 100});  // 400,000 bytes: above the 64 KiB threshold
    first = big.data();
  }
  CHECK(tensor::cached_storage_bytes() >= 400000);
  const Tensor again = Tensor::empty({100, 1000});  // the same number of bytes
  CHECK(again.data() == first);
  CHECK(tensor::cached_storage_bytes() == 0);
  {
    // Blocks beyond the budget are freed, not kept.
    std::vector<Tensor> many;
    for (int i = 0; i < 5; ++i) many.push_back(Tensor::empty({int64_t{32} << 20}));  // 5 x 128 MiB
  }
  CHECK(tensor::cached_storage_bytes() <= tensor::kStorageCacheBytes);
  tensor::release_cached_storage();
  CHECK(tensor::cached_storage_bytes() == 0);
}

}  // TEST_SUITE
