// The temperature explorer's data: the rule that chooses its test images, and the files that
// carry them (pixels, the teacher's and the students' logits) to the docs page.
#include "chapters/common/explorer.h"

#include "chapters/common/book_data.h"
#include "chapters/common/student.h"
#include "tensor/errors.h"
#include "tests/temp_dir.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr int64_t kTShirt = 0, kTrouser = 1, kSandal = 5, kShirt = 6, kSneaker = 7, kBoot = 9;

// Test images given by their label and logits; a row's logits are zero but where set.
struct Images {
  std::vector<float> logits;
  nn::Labels labels;
  int64_t add(int64_t label, std::vector<std::pair<int64_t, float>> set) {
    std::vector<float> row(10, 0.0f);
    for (auto [c, v] : set) row[static_cast<size_t>(c)] = v;
    logits.insert(logits.end(), row.begin(), row.end());
    labels.push_back(label);
    return static_cast<int64_t>(labels.size()) - 1;
  }
  tensor::Tensor tensor() const {
    return tensor::Tensor::from_vector({static_cast<int64_t>(labels.size()), 10}, logits);
  }
};

std::vector<int64_t> indices_of(const std::vector<book::ExplorerImage>& images) {
  std::vector<int64_t> out;
  for (const auto& image : images) out.push_back(image.test_index);
  return out;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A classroom of 40 random test images (4 per class, pixels 0-255) and teacher logits that make
// every class's first image confident and right, and give a shirt and a sandal their doubts.
book::Classroom small_classroom() {
  book::Classroom classroom;
  nn::Dataset& test = classroom.data.data.test;
  test.height = 28;
  test.width = 28;
  test.classes = 10;
  tensor::Generator gen(7);
  Images teacher;
  for (int64_t n = 0; n < 40; ++n) {
    const int64_t label = n % 10;
    for (int p = 0; p < 28 * 28; ++p) test.images.push_back(static_cast<uint8_t>(gen.next_u64() % 256));
    test.labels.push_back(label);
    if (label == kShirt && n >= 10) {
      teacher.add(label, {{kShirt, 2.0f + static_cast<float>(n) / 40}, {kTShirt, 2.0f}});
    } else if (label == kSandal && n >= 10) {
      teacher.add(label, {{kSandal, 2.0f + static_cast<float>(n) / 40}, {kSneaker, 2.0f}});
    } else {
      teacher.add(label, {{label, n < 10 ? 9.0f : 3.0f}, {(label + 1) % 10, n >= 30 ? 4.0f : 0.0f}});
    }
  }
  classroom.teacher.test_logits = teacher.tensor();
  classroom.teacher.config = {{"what", "a test teacher"}};
  classroom.teacher_test_accuracy = 0.75;
  classroom.data.test_indices.resize(40);
  for (int64_t n = 0; n < 40; ++n) classroom.data.test_indices[static_cast<size_t>(n)] = n;
  return classroom;
}

}  // namespace

TEST_SUITE("chapters/explorer") {
TEST_CASE("the explorer shows each class at its clearest, a torn shirt and sandal, and the surest mistake") {
  Images images;
  // For every class: a right answer with margin 2, then one with margin 5 (the one to show).
  std::vector<int64_t> surest(10);
  for (int64_t c = 0; c < 10; ++c) {
    images.add(c, {{c, 2.0f}});
    surest[static_cast<size_t>(c)] = images.add(c, {{c, 5.0f}});
  }
  // A shirt nearly tied with T-shirt, a shirt a little less torn, a sandal tied with sneaker.
  const int64_t torn_shirt = images.add(kShirt, {{kShirt, 3.0f}, {kTShirt, 3.0f}});
  images.add(kShirt, {{kShirt, 3.0f}, {kTShirt, 2.0f}});
  const int64_t torn_sandal = images.add(kSandal, {{kSandal, 1.0f}, {kSneaker, 1.0f}});
  // Mistakes: a trouser called a boot by a margin of 4, a boot called a trouser by 7.
  images.add(kTrouser, {{kBoot, 4.0f}});
  const int64_t surest_mistake = images.add(kBoot, {{kTrouser, 7.0f}});
  // A right answer surer than any of the class's others comes later: it replaces margin 5.
  surest[kBoot] = images.add(kBoot, {{kBoot, 6.0f}});

  const std::vector<book::ExplorerImage> chosen = book::select_explorer_images(images.tensor(), images.labels);
  std::vector<int64_t> expected = surest;
  expected.insert(expected.end(), {torn_shirt, torn_sandal, surest_mistake});
  CHECK(indices_of(chosen) == expected);
  REQUIRE(chosen.size() == 13);
  CHECK(chosen[1].kind == "confident");
  CHECK(chosen[1].why == "the teacher's surest Trouser");
  CHECK(chosen[10].kind == "torn");
  CHECK(chosen[10].why == "a shirt torn between Shirt and T-shirt/top");
  CHECK(chosen[11].why == "a sandal torn between Sandal and Sneaker");
  CHECK(chosen[12].kind == "mistake");
}

TEST_CASE("a class the teacher never gets right, a teacher without mistakes and an image taken twice are skipped") {
  Images images;
  for (int64_t c = 0; c < 10; ++c) {
    if (c != kTrouser) images.add(c, {{c, 5.0f}});
  }
  images.add(kTrouser, {{kBoot, 1.0f}});  // the only trouser, called a boot
  // The one shirt and the one sandal are right: already taken as their class's surest, not taken again.
  const std::vector<book::ExplorerImage> chosen = book::select_explorer_images(images.tensor(), images.labels);
  CHECK(chosen.size() == 10);  // 9 classes, no torn shirt or sandal left, the trouser as the mistake
  CHECK(chosen.back().kind == "mistake");
  CHECK(chosen.back().test_index == 9);

  Images perfect;
  for (int64_t c = 0; c < 10; ++c) perfect.add(c, {{c, 5.0f}});
  for (const auto& image : book::select_explorer_images(perfect.tensor(), perfect.labels)) {
    CHECK(image.kind == "confident");
  }
}

TEST_CASE("ties go to the lower index, so the choice depends on the logits alone") {
  Images images;
  for (int64_t c = 0; c < 10; ++c) images.add(c, {{c, 5.0f}});
  images.add(kTShirt, {{kTShirt, 5.0f}});  // as sure as the first T-shirt, at index 10
  CHECK(book::select_explorer_images(images.tensor(), images.labels)[0].test_index == 0);
}

TEST_CASE("logits that do not match the labels are refused") {
  const nn::Labels labels = {0, 1, 2};
  CHECK_THROWS_WITH_AS(book::select_explorer_images(tensor::Tensor::zeros({2, 10}), labels),
                       "select_explorer_images: logits [2, 10] for 3 labels of 10 classes", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(book::select_explorer_images(tensor::Tensor::zeros({3, 4}), labels),
                       "select_explorer_images: logits [3, 4] for 3 labels of 10 classes", tensor::ShapeError);
}

TEST_CASE("the teacher file carries each chosen image's pixels and both networks' logits") {
  const book::Classroom classroom = small_classroom();
  tensor::Generator gen(3);
  const auto student = book::make_mlp({784, 10}, gen);
  const nlohmann::json data = book::explorer_teacher_json(classroom, *student, "a test student");
  const std::vector<book::ExplorerImage> chosen =
      book::select_explorer_images(classroom.teacher.test_logits, classroom.data.data.test.labels);
  REQUIRE(data["images"].size() == chosen.size());
  CHECK(data["classes"].size() == 10);
  CHECK(data["classes"][0] == "T-shirt/top");
  CHECK(data["student"] == "a test student");
  CHECK(data["teacher_config"] == classroom.teacher.config);
  std::vector<int64_t> indices;
  for (const auto& image : chosen) indices.push_back(image.test_index);
  const tensor::Tensor student_logits =
      book::predict_logits(*student, classroom.data.data.test, indices, classroom.data.norm);
  for (size_t k = 0; k < chosen.size(); ++k) {
    const nlohmann::json& image = data["images"][k];
    const auto n = static_cast<size_t>(chosen[k].test_index);
    CHECK(image["test_index"] == chosen[k].test_index);
    CHECK(image["label"] == classroom.data.data.test.labels[n]);
    CHECK(image["why"] == chosen[k].why);
    const std::vector<int> pixels = image["pixels"];
    REQUIRE(pixels.size() == 784);
    for (size_t p = 0; p < 784; ++p) REQUIRE(pixels[p] == classroom.data.data.test.images[n * 784 + p]);
    for (size_t c = 0; c < 10; ++c) {
      CHECK(image["teacher_logits"][c].get<float>() == classroom.teacher.test_logits.data()[n * 10 + c]);
      CHECK(image["student_logits"][c].get<float>() == student_logits.data()[k * 10 + c]);
    }
  }
}

TEST_CASE("the students file names the same images as the teacher file, and both are written whole") {
  const testing::TempDir dir("explorer");
  const book::Classroom classroom = small_classroom();
  tensor::Generator gen(3);
  const auto hard = book::make_mlp({784, 10}, gen);
  const auto soft = book::make_mlp({784, 10}, gen);
  book::Options options;
  options.out = dir.str();
  options.quick = true;
  options.seed = 5;
  book::write_explorer_teacher(options, classroom, *hard, "a test student");
  book::write_explorer_students(options, classroom, *hard, *soft, book::Targets::soft(4.0f, 0.9f), 6);
  const nlohmann::json teacher = nlohmann::json::parse(read(dir.file(book::kExplorerTeacherFile)));
  const nlohmann::json students = nlohmann::json::parse(read(dir.file(book::kExplorerStudentsFile)));
  CHECK(teacher["quick"] == true);
  CHECK(teacher["seed"] == 5);
  CHECK(students["seed"] == 6);
  CHECK(students["soft_targets"]["T"] == 4.0);
  CHECK(students["soft_targets"]["alpha"].get<float>() == 0.9f);
  CHECK(students["teacher_config"] == teacher["teacher_config"]);
  REQUIRE(students["images"].size() == teacher["images"].size());
  for (size_t k = 0; k < teacher["images"].size(); ++k) {
    CHECK(students["images"][k]["test_index"] == teacher["images"][k]["test_index"]);
    // The hard student is the one the teacher file was given: the same logits in both files.
    CHECK(students["images"][k]["hard_logits"] == teacher["images"][k]["student_logits"]);
    CHECK(students["images"][k]["soft_logits"] != students["images"][k]["hard_logits"]);
  }
}
}
