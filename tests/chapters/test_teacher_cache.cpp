// The teacher cache the chapters share: trained once, reused, rebuilt when it cannot be trusted.
#include "chapters/common/teacher.h"

#include "nn/checkpoint.h"
#include "tensor/ops.h"

#include "tests/temp_dir.h"

#include <doctest/doctest.h>

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

TEST_CASE("quick runs default to a book of their own") {
  const char* argv[] = {"ch09_example", "--quick"};
  const book::Options o = book::parse_options(2, const_cast<char**>(argv), "ch09_example", "test");
  CHECK(o.out == "build/book-quick/ch09_example");
  std::filesystem::remove_all("build/book-quick/ch09_example");
}
}
