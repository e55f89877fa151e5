// A fresh directory for one test case, removed with everything in it when the case ends.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

namespace testing {

class TempDir {
 public:
  // A directory named kd-test-<label>-<pid>-<n> under the system's temporary directory.
  explicit TempDir(const std::string& label) {
    static int created = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("kd-test-" + label + "-" + std::to_string(::getpid()) + "-" + std::to_string(created++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  // The names of the directory's entries.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path_)) names.push_back(e.path().filename().string());
    return names;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace testing
