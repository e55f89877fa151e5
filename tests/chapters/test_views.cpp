// Fixed augmented views of the training images, the teacher's logits on them, and students that
// learn from them (chapter 10's consistent teaching).
#include "chapters/common/student.h"
#include "chapters/common/views.h"

#include "tensor/ops.h"
#include "tensor/random.h"

#include "tests/chapters/helpers.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

using testing::flat_parameters;
using testing::quick_options;

// Image `row` of a batch, as a vector of pixels.
std::vector<float> image(const tensor::Tensor& images, int64_t row) {
  return images.narrow(0, row, 1).contiguous().to_vector();
}

// View `view` of each of `indices`, as a batch.
tensor::Tensor viewed(const book::FixedViews& views, const book::BookData& d, const std::vector<int64_t>& indices,
                      int64_t view) {
  nn::Batch b = nn::make_batch(d.data.train, indices, d.norm);
  views.apply(b.images, indices, view);
  return b.images;
}

const nn::Augmentation::Config kFlipsAndShifts = {.horizontal_flip = true, .max_shift = 2, .fill = -0.5f};

}  // namespace

TEST_SUITE("chapters/views") {
TEST_CASE("a view of an image is the same in any batch, and its views differ from each other") {
  const book::BookData d = book::load_book_data(quick_options());
  const book::FixedViews views(kFlipsAndShifts, 4, 7);
  const tensor::Tensor a = viewed(views, d, {5, 9, 13}, 1);
  const tensor::Tensor b = viewed(views, d, {13, 5}, 1);
  CHECK(image(a, 2) == image(b, 0));  // image 13
  CHECK(image(a, 0) == image(b, 1));  // image 5
  // Four views of eight images: with flips and shifts of up to 2 pixels (50 ways), nearly all differ.
  const std::vector<int64_t> eight = {0, 1, 2, 3, 4, 5, 6, 7};
  int differing = 0;
  for (int64_t v = 1; v < 4; ++v) {
    const tensor::Tensor first = viewed(views, d, eight, 0), other = viewed(views, d, eight, v);
    for (int64_t i = 0; i < 8; ++i) differing += image(first, i) != image(other, i);
  }
  CHECK(differing >= 20);
  // Another seed gives other views.
  CHECK(image(viewed(book::FixedViews(kFlipsAndShifts, 4, 8), d, {5}, 1), 0) != image(b, 1));
}

TEST_CASE("a view made of flips alone is the image or its mirror") {
  const book::BookData d = book::load_book_data(quick_options());
  const book::FixedViews views({.horizontal_flip = true}, 2, 3);
  const std::vector<int64_t> some = {0, 1, 2, 3, 4, 5};
  const tensor::Tensor as_is = nn::make_batch(d.data.train, some, d.norm).images;
  const tensor::Tensor view = viewed(views, d, some, 1);
  int flipped = 0;
  for (int64_t i = 0; i < 6; ++i) {
    const std::vector<float> original = image(as_is, i), seen = image(view, i);
    std::vector<float> mirror = original;
    for (int64_t r = 0; r < 28; ++r) std::reverse(mirror.begin() + r * 28, mirror.begin() + (r + 1) * 28);
    CHECK((seen == original || seen == mirror));
    flipped += seen == mirror && seen != original;
  }
  CHECK(flipped > 0);
}

TEST_CASE("a view outside [0, K), a batch of another size and K < 1 are refused, naming them") {
  const book::BookData d = book::load_book_data(quick_options());
  const book::FixedViews views(kFlipsAndShifts, 2, 1);
  nn::Batch b = nn::make_batch(d.data.train, {1, 2}, d.norm);
  CHECK_THROWS_WITH_AS(views.apply(b.images, {1, 2}, 2), "FixedViews::apply: view 2 outside [0, 2)",
                       tensor::IndexError);
  CHECK_THROWS_WITH_AS(views.apply(b.images, {1}, 0),
                       doctest::Contains("expects a contiguous [1, C, H, W] batch, got [2, 1, 28, 28]"),
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(book::FixedViews(kFlipsAndShifts, 0, 1), "FixedViews: count must be >= 1, got 0",
                       tensor::ValueError);
}

TEST_CASE("the teacher's logits on the views are its logits on the view images, and NaN for images not asked for") {
  const book::BookData d = book::load_book_data(quick_options());
  tensor::Generator gen(2);
  const auto teacher = book::make_mlp({784, 12, 10}, gen);
  const book::FixedViews views(kFlipsAndShifts, 3, 5);
  const std::vector<int64_t> asked = {3, 7, 40};
  REQUIRE(teacher->is_training());
  const tensor::Tensor logits = book::teacher_view_logits(*teacher, views, d, asked);
  CHECK(teacher->is_training());  // the caller's mode is given back
  REQUIRE(logits.shape() == tensor::Shape{3, d.data.train.size(), 10});
  for (int64_t v = 0; v < 3; ++v) {
    const tensor::Tensor expected = (*teacher)(autograd::Var(viewed(views, d, asked, v))).value();
    const tensor::Tensor rows =
        tensor::index_select(logits.narrow(0, v, 1).reshape({d.data.train.size(), 10}), 0, asked);
    CHECK(tensor::allclose(rows, expected, 1e-6f, 1e-6f));
  }
  CHECK(std::isnan(logits.narrow(0, 1, 1).reshape({d.data.train.size(), 10}).narrow(0, 4, 1).to_vector()[0]));
  // A teacher that does not give 10 logits per image is refused.
  const auto wrong = book::make_mlp({784, 12, 7}, gen);
  CHECK_THROWS_WITH_AS(book::teacher_view_logits(*wrong, views, d, asked),
                       "teacher_view_logits: the teacher gave [3, 7] for a batch of 3 images, not [3, 10]",
                       tensor::ShapeError);
}

TEST_CASE("a student with views learns from them: the same seed gives the same weights, and views change them") {
  const book::BookData d = book::load_book_data(quick_options());
  tensor::Generator gen(3);
  const tensor::Tensor teacher = tensor::normal({d.data.train.size(), 10}, 0.0f, 3.0f, gen);
  const std::vector<int64_t> transfer(d.split.train.begin(), d.split.train.begin() + 300);
  const book::StudentConfig plain{.widths = {784, 16, 10}, .epochs = 2, .seed = 5};
  book::StudentConfig augmented = plain;
  augmented.views = 3;
  augmented.augmentation = kFlipsAndShifts;
  const auto a = book::train_student(augmented, book::Targets::hard(), d, transfer, teacher);
  const auto b = book::train_student(augmented, book::Targets::hard(), d, transfer, teacher);
  const auto as_is = book::train_student(plain, book::Targets::hard(), d, transfer, teacher);
  CHECK(flat_parameters(*a.model) == flat_parameters(*b.model));
  CHECK(flat_parameters(*a.model) != flat_parameters(*as_is.model));
  CHECK(augmented.to_json()["views"] == 3);
  CHECK(augmented.to_json()["augmentation"] == "random horizontal flips and shifts of up to 2 pixels");
  CHECK_FALSE(plain.to_json().contains("views"));

  SUBCASE("a teacher that says the same on every view teaches exactly what its cached logits teach") {
    tensor::Tensor same = tensor::Tensor::empty({3, d.data.train.size(), 10});
    for (int64_t v = 0; v < 3; ++v) same.narrow(0, v, 1).copy_(teacher.reshape({1, d.data.train.size(), 10}));
    const book::Targets soft = book::Targets::soft(4, 0.9f);
    const auto cached = book::train_student(augmented, soft, d, transfer, teacher);
    const auto consistent = book::train_student(augmented, soft, d, transfer, same);
    CHECK(flat_parameters(*cached.model) == flat_parameters(*consistent.model));
    // A teacher that says something else on one view teaches something else.
    tensor::Tensor other = same.clone();
    other.narrow(0, 1, 1).copy_(tensor::mul(teacher, -1.0f).reshape({1, d.data.train.size(), 10}));
    const auto taught_otherwise = book::train_student(augmented, soft, d, transfer, other);
    CHECK(flat_parameters(*taught_otherwise.model) != flat_parameters(*cached.model));
  }
  SUBCASE("epoch e reads the teacher's logits on view e mod K, and no other") {
    // Two epochs of three views: views 0 and 1 are read, view 2 never. A NaN in view 2 is harmless;
    // in view 1 it stops training at the first step of epoch 2.
    const book::Targets soft = book::Targets::soft(4, 0.9f);
    tensor::Tensor logits = tensor::Tensor::empty({3, d.data.train.size(), 10});
    for (int64_t v = 0; v < 3; ++v) logits.narrow(0, v, 1).copy_(teacher.reshape({1, d.data.train.size(), 10}));
    logits.narrow(0, 2, 1).fill_(std::nanf(""));
    CHECK_NOTHROW(book::train_student(augmented, soft, d, transfer, logits));
    logits.narrow(0, 2, 1).copy_(teacher.reshape({1, d.data.train.size(), 10}));
    logits.narrow(0, 1, 1).fill_(std::nanf(""));
    CHECK_THROWS_WITH_AS(book::train_student(augmented, soft, d, transfer, logits),
                         doctest::Contains("loss is nan at epoch 2, step 4 "), std::runtime_error);
  }
  SUBCASE("teacher logits for another number of views are refused") {
    const tensor::Tensor two = tensor::Tensor::zeros({2, d.data.train.size(), 10});
    const std::string message =
        "do not cover the " + std::to_string(d.data.train.size()) + " training images (or their 3 views)";
    CHECK_THROWS_WITH_AS(book::train_student(augmented, book::Targets::soft(4, 0.5f), d, transfer, two),
                         doctest::Contains(message.c_str()), tensor::ShapeError);
  }
}
}
