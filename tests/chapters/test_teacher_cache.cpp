// The teacher cache the chapters share: trained once, reused, rebuilt when it cannot be trusted.
#include "chapters/common/teacher.h"

#include "nn/checkpoint.h"
#include "tensor/ops.h"

#include "tests/temp_dir.h"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace {

// A book directory of its own, removed at the end.
struct TempBook : testing::TempDir {
  TempBook() : testing::TempDir("teacher-cache") {}
  std::filesystem::path root = path();
};

book::Options quick_options(const TempBook& book, const std::string& out_suffix = "") {
  book::Options o;
  o.chapter = "ch03_test";
  o.out = (book.root / "ch03_test").string() + out_suffix;
  o.data = nn::default_fashion_mnist_dir();
  o.quick = true;
  return o;
}

}  // namespace

TEST_SUITE("chapters/teacher") {
TEST_CASE("the teacher is trained once, then loaded; a corrupt or foreign cache is rebuilt") {
  TempBook book;
  const book::Options options = quick_options(book);
  const book::BookData data = book::load_book_data(options);
  const std::filesystem::path logits = book.root / "ch02_teacher" / "teacher_logits.ckpt";

  const book::TeacherCache first = book::load_or_train_teacher(options, data);
  REQUIRE(std::filesystem::exists(logits));
  CHECK(first.train_logits.shape() == tensor::Shape{data.data.train.size(), 10});
  CHECK(first.test_logits.shape() == tensor::Shape{data.data.test.size(), 10});

  SUBCASE("a second call loads the same logits instead of training") {
    const auto written = std::filesystem::last_write_time(logits);
    const book::TeacherCache again = book::load_or_train_teacher(options, data);
    CHECK(std::filesystem::last_write_time(logits) == written);
    CHECK(tensor::allclose(again.train_logits, first.train_logits, 0.0f, 0.0f));
  }
  SUBCASE("an --out with a trailing slash finds the same book") {
    const auto written = std::filesystem::last_write_time(logits);
    book::load_or_train_teacher(quick_options(book, "/"), data);
    CHECK(std::filesystem::last_write_time(logits) == written);
  }
  SUBCASE("a flipped byte fails the checksum and the teacher is retrained") {
    {
      std::fstream file(logits, std::ios::in | std::ios::out | std::ios::binary);
      file.seekp(200);
      file.put('\x5a');
    }
    CHECK_THROWS_AS(nn::load_tensors(logits.string()), nn::CheckpointError);
    const book::TeacherCache rebuilt = book::load_or_train_teacher(options, data);
    CHECK_NOTHROW(nn::load_tensors(logits.string()));
    // The same seed and settings train the same teacher, bit for bit.
    CHECK(tensor::allclose(rebuilt.test_logits, first.test_logits, 0.0f, 0.0f));
  }
  SUBCASE("a cache from another configuration is replaced") {
    nn::Checkpoint ck = nn::load_tensors(logits.string());
    nlohmann::json config = nlohmann::json::parse(ck.metadata);
    config["hidden"] = 999;
    nn::save_tensors(logits.string(), ck.tensors, config.dump());
    book::load_or_train_teacher(options, data);
    CHECK(nlohmann::json::parse(nn::load_tensors(logits.string()).metadata)["hidden"] != 999);
  }
}

TEST_CASE("the teacher's snapshots are the weights of their epoch, and keeping them changes nothing of the training") {
  TempBook book;
  const book::Options options = quick_options(book);
  const book::BookData data = book::load_book_data(options);
  const book::TeacherConfig config = book::teacher_config(options);
  REQUIRE(config.snapshot_epochs == std::vector<int64_t>{1});
  const book::TrainedTeacher kept = book::train_teacher(config, data);
  REQUIRE(kept.snapshots.size() == 1);
  CHECK(kept.snapshots[0].epoch == 1);
  CHECK(kept.snapshots[0].cache.config["after_epoch"] == 1);

  book::TeacherConfig without = config;
  without.snapshot_epochs.clear();
  const book::TrainedTeacher plain = book::train_teacher(without, data);
  CHECK(plain.snapshots.empty());
  const book::TeacherCache a = book::compute_teacher_cache(*kept.model, config, data);
  const book::TeacherCache b = book::compute_teacher_cache(*plain.model, without, data);
  CHECK(tensor::allclose(a.test_logits, b.test_logits, 0.0f, 0.0f));

  // The snapshot's weights, loaded into a fresh network, give the snapshot's logits, and not the final ones.
  const std::string path = (book.root / "snapshot.ckpt").string();
  nn::save_tensors(path, kept.snapshots[0].weights);
  tensor::Generator gen(99);
  const auto restored = book::make_teacher(config, gen);
  nn::load_checkpoint(path, *restored);
  restored->eval();
  const book::TeacherCache again = book::compute_teacher_cache(*restored, config, data);
  CHECK(tensor::allclose(again.test_logits, kept.snapshots[0].cache.test_logits, 0.0f, 0.0f));
  CHECK_FALSE(tensor::allclose(again.test_logits, a.test_logits, 0.0f, 0.0f));
}

TEST_CASE("the cached teacher's weights give its cached logits; weights of another configuration are refused") {
  TempBook book;
  const book::Options options = quick_options(book);
  const book::BookData data = book::load_book_data(options);
  const book::TeacherCache cache = book::load_or_train_teacher(options, data);
  const std::shared_ptr<nn::Sequential> teacher = book::load_teacher_model(options, cache);
  CHECK_FALSE(teacher->is_training());
  CHECK(tensor::allclose(book::predict_logits(*teacher, data.data.test, data.test_indices, data.norm), cache.test_logits,
                         0.0f, 0.0f));
  book::TeacherCache foreign = cache;
  foreign.config["seed"] = 12345;
  CHECK_THROWS_WITH_AS(book::load_teacher_model(options, foreign),
                       doctest::Contains("teacher.ckpt: weights of another configuration than the cached logits"),
                       std::runtime_error);
}

TEST_CASE("the teacher's course loads its snapshots with it, and trains again when one is missing") {
  TempBook book;
  const book::Options options = quick_options(book);
  const book::BookData data = book::load_book_data(options);
  const std::filesystem::path dir = book.root / "ch02_teacher";
  const book::TeacherCache first = book::load_or_train_teacher(options, data);
  REQUIRE(std::filesystem::exists(dir / "teacher_epoch_1_logits.ckpt"));
  const auto written = std::filesystem::last_write_time(dir / "teacher_logits.ckpt");

  std::vector<book::NamedTeacher> course = book::load_or_train_teacher_course(options, data);
  CHECK(std::filesystem::last_write_time(dir / "teacher_logits.ckpt") == written);
  REQUIRE(course.size() == 2);
  CHECK(course[0].name == "teacher_epoch_1");
  CHECK(course[0].epochs == 1);
  CHECK(course[1].name == "teacher");
  CHECK(course[1].epochs == 2);
  CHECK(tensor::allclose(course[1].cache.test_logits, first.test_logits, 0.0f, 0.0f));

  SUBCASE("a snapshot of another training is not taken for this one's") {
    const std::string logits = (dir / "teacher_epoch_1_logits.ckpt").string();
    nn::Checkpoint ck = nn::load_tensors(logits);
    nlohmann::json config = nlohmann::json::parse(ck.metadata);
    config["seed"] = 7;
    nn::save_tensors(logits, ck.tensors, config.dump());
    nn::save_tensors((dir / "teacher_epoch_1.ckpt").string(), nn::load_tensors((dir / "teacher_epoch_1.ckpt").string()).tensors,
                     config.dump());
    course = book::load_or_train_teacher_course(options, data);
    CHECK(nlohmann::json::parse(nn::load_tensors(logits).metadata)["seed"] == 1);
  }
  SUBCASE("a missing snapshot: the teacher is trained again, the same bit for bit") {
    std::filesystem::remove(dir / "teacher_epoch_1.ckpt");
    const std::vector<book::NamedTeacher> rebuilt = book::load_or_train_teacher_course(options, data);
    CHECK(std::filesystem::exists(dir / "teacher_epoch_1.ckpt"));
    REQUIRE(rebuilt.size() == 2);
    CHECK(tensor::allclose(rebuilt[0].cache.test_logits, course[0].cache.test_logits, 0.0f, 0.0f));
    CHECK(tensor::allclose(rebuilt[1].cache.test_logits, first.test_logits, 0.0f, 0.0f));
  }
}

TEST_CASE("another named teacher is trained once and reused for its exact configuration, seed included") {
  TempBook book;
  const book::Options options = quick_options(book);
  const book::BookData data = book::load_book_data(options);
  const std::string dir = (book.root / "ch09_test" / "teachers").string();
  book::TeacherConfig config = book::teacher_config(options);
  config.snapshot_epochs.clear();
  config.epochs = 1;
  config.label_smoothing = 0.1f;
  const book::TeacherCache first = book::load_or_train_teacher(dir, "smoothed", config, data);
  CHECK(first.config["label_smoothing"] == doctest::Approx(0.1));
  const std::filesystem::path logits = std::filesystem::path(dir) / "smoothed_logits.ckpt";
  const auto written = std::filesystem::last_write_time(logits);
  const book::TeacherCache again = book::load_or_train_teacher(dir, "smoothed", config, data);
  CHECK(std::filesystem::last_write_time(logits) == written);
  CHECK(tensor::allclose(again.test_logits, first.test_logits, 0.0f, 0.0f));
  config.seed = 2;
  const book::TeacherCache other = book::load_or_train_teacher(dir, "smoothed", config, data);
  CHECK(other.config["seed"] == 2);
  CHECK_FALSE(tensor::allclose(other.test_logits, first.test_logits, 0.0f, 0.0f));
}

TEST_CASE("an ensemble averages its members' probabilities (or their logits), for the training and the test images") {
  // Member a: softmax (3/4, 1/4); member b: (1/2, 1/2).
  const float ln3 = static_cast<float>(std::log(3.0));
  const book::TeacherCache a{tensor::Tensor::from_vector({1, 2}, {ln3, 0}), tensor::Tensor::from_vector({1, 2}, {0, ln3}),
                             {{"seed", 1}}};
  const book::TeacherCache b{tensor::Tensor::zeros({1, 2}), tensor::Tensor::zeros({1, 2}), {{"seed", 2}}};
  const book::TeacherCache mean_p = book::average_teachers({a, b}, book::Averaging::probabilities);
  const std::vector<float> p = tensor::exp(tensor::log_softmax(mean_p.train_logits, 1)).to_vector();
  CHECK(p[0] == doctest::Approx(0.625));
  CHECK(p[1] == doctest::Approx(0.375));
  CHECK(tensor::exp(tensor::log_softmax(mean_p.test_logits, 1)).to_vector()[1] == doctest::Approx(0.625));
  CHECK(mean_p.config["members"][1]["seed"] == 2);
  CHECK(mean_p.config["averaging"] == "probabilities");
  const book::TeacherCache mean_z = book::average_teachers({a, b}, book::Averaging::logits);
  CHECK(mean_z.train_logits.to_vector()[0] == doctest::Approx(ln3 / 2));
  CHECK(mean_z.train_logits.to_vector()[1] == doctest::Approx(0.0));
  CHECK_THROWS_WITH_AS(book::average_teachers({}, book::Averaging::logits), "average_teachers: no member",
                       std::invalid_argument);
  const book::TeacherCache wide{tensor::Tensor::zeros({1, 3}), tensor::Tensor::zeros({1, 3}), {}};
  CHECK_THROWS_AS(book::average_teachers({a, wide}, book::Averaging::probabilities), std::invalid_argument);
}

TEST_CASE("quick runs default to a book of their own") {
  const char* argv[] = {"ch09_example", "--quick"};
  const book::Options o = book::parse_options(2, const_cast<char**>(argv), "ch09_example", "test");
  CHECK(o.out == "build/book-quick/ch09_example");
  std::filesystem::remove_all("build/book-quick/ch09_example");
}
}
