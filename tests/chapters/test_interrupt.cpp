// Ctrl-C in a chapter: the temporary file of a write in progress goes, and the program ends
// as the signal says. Run in a child process, which the signal really ends.
#include "chapters/common/options.h"
#include "nn/files.h"

#include "tests/temp_dir.h"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

namespace {

// Forks; the child writes `path`, registers it as a write in progress and raises `signal`
// (after setting SIGINT to be ignored if `ignored`); returns the child's wait status.
int interrupted_child(const std::string& path, int signal, bool ignored) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (ignored) std::signal(SIGINT, SIG_IGN);
    book::clean_up_on_interrupt();
    std::ofstream(path) << "half a file";
    const nn::UnfinishedFile guard(path);
    std::raise(signal);
    ::_exit(3);  // only when the signal was ignored
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

}  // namespace

TEST_SUITE("chapters/interrupt") {
TEST_CASE("SIGINT or SIGTERM during a write removes its temporary file, then ends the program as the signal would") {
  testing::TempDir dir("interrupt");
  const std::string path = dir.file("results.json.tmp.123.0");
  for (int signal : {SIGINT, SIGTERM}) {
    CAPTURE(signal);
    const int status = interrupted_child(path, signal, false);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == signal);
    CHECK_FALSE(std::filesystem::exists(path));
  }
}

TEST_CASE("a SIGINT the shell told the program to ignore (nohup, a background job) stays ignored") {
  testing::TempDir dir("interrupt");
  const std::string path = dir.file("results.json.tmp.123.0");
  const int status = interrupted_child(path, SIGINT, true);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
  CHECK(std::filesystem::exists(path));
}
}
