// Files written whole or not at all, and the clean-up an interrupt needs.
#include "nn/files.h"

#include "tests/temp_dir.h"

#include <doctest/doctest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace fs = std::filesystem;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

size_t files_in(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST_SUITE("nn/files") {
TEST_CASE("write_atomically replaces a file whole and leaves no temporary file") {
  testing::TempDir dir("files");
  const std::string path = dir.file("results.json");
  REQUIRE(nn::write_atomically(path, "old") == 0);
  SUBCASE("plain") { CHECK(nn::write_atomically(path, std::string(100000, 'x')) == 0); }
  SUBCASE("durable") { CHECK(nn::write_atomically(path, std::string(100000, 'x'), true) == 0); }
  CHECK(read(path) == std::string(100000, 'x'));
  CHECK(files_in(dir.path()) == 1);
}

TEST_CASE("a write that cannot happen reports errno and leaves the old file and nothing else") {
  testing::TempDir dir("files");
  CHECK(nn::write_atomically(dir.file("missing/results.json"), "x") == ENOENT);
  const std::string path = dir.file("results.json");
  REQUIRE(nn::write_atomically(path, "old") == 0);
  fs::create_directory(dir.file("results.json.dir"));
  CHECK(nn::write_atomically(dir.file("results.json.dir"), "new") != 0);  // rename onto a directory fails
  CHECK(read(path) == "old");
  CHECK(files_in(dir.path()) == 2);
}

TEST_CASE("remove_unfinished_writes deletes the temporary files of writes in progress, and only those") {
  testing::TempDir dir("files");
  const std::string in_progress = dir.file("plot.svg.tmp"), finished = dir.file("plot.svg");
  std::ofstream(in_progress) << "half";
  std::ofstream(finished) << "whole";
  {
    const nn::UnfinishedFile guard(in_progress);
    nn::remove_unfinished_writes();  // what the SIGINT handler of a chapter calls
    CHECK_FALSE(fs::exists(in_progress));
    CHECK(fs::exists(finished));
  }
  std::ofstream(in_progress) << "again";
  nn::remove_unfinished_writes();  // the guard is gone: the file is someone else's now
  CHECK(fs::exists(in_progress));
}
}
