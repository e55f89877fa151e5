#include "chapters/common/options.h"

#include "chapters/common/report.h"

#include "nn/data.h"
#include "nn/files.h"
#include "tensor/parallel.h"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace book {

std::string Options::book_dir() const {
  std::filesystem::path dir = std::filesystem::path(out).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "build/book/ch03/" names the same directory
  const std::filesystem::path parent = dir.parent_path();
  return parent.empty() ? "." : parent.string();
}

std::string Options::file(const std::string& name) const { return (std::filesystem::path(out) / name).string(); }

Options parse_options(int argc, char** argv, const std::string& chapter, const std::string& description) {
  Options o;
  o.chapter = chapter;
  o.out = "build/book/" + chapter;
  o.data = nn::default_fashion_mnist_dir();
  CLI::App app(description, chapter);
  // CLI11 would read "-1" into an unsigned seed as 18446744073709551615: refuse it instead.
  const CLI::Validator whole_number(
      [](std::string& value) {
        uint64_t parsed = 0;
        const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
        const bool whole = !value.empty() && error == std::errc() && end == value.data() + value.size();
        return whole ? std::string() : "must be a whole number from 0 to 2^64 - 1, got " + value;
      },
      "UINT");
  app.add_option("--seed", o.seed, "seed of every random choice")->check(whole_number)->capture_default_str();
  CLI::Option* out = app.add_option("--out", o.out, "directory for results.json, tables and plots (default "
                                    "build/book/<chapter>, or build/book-quick/<chapter> with --quick)");
  app.add_option("--data", o.data, "Fashion-MNIST directory (four .gz IDX files)")->capture_default_str();
  app.add_flag("--quick", o.quick, "a seconds-long smoke run on a small subset");
  app.add_option("--threads", o.threads, "cores to use (0: every core): the lab trains as many students side by side, one per core; a teacher splits its products over them")->check(CLI::Range(0, kMaxThreads));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    std::exit(0);
  } catch (const CLI::ParseError& e) {
    std::cerr << chapter << ": " << e.what() << "\n" << app.help();
    std::exit(2);
  }
  // Quick runs keep to a book of their own, so they never replace a full run's results or teacher.
  if (o.quick && out->count() == 0) o.out = "build/book-quick/" + chapter;
  if (o.threads > 0) tensor::set_num_threads(o.threads);
  tensor::set_flush_denormal(true);  // Adam's tiny second moments would otherwise crawl
  std::error_code error;
  std::filesystem::create_directories(o.out, error);
  if (error) {
    std::cerr << chapter << ": cannot create the output directory " << o.out << ": " << error.message() << "\n";
    std::exit(1);
  }
  return o;
}

namespace {

// Ctrl-C or a kill in the middle of a write: remove the temporary file being written (the
// finished files are all renamed into place whole), then end as the signal would have.
extern "C" void on_interrupt(int signal) {
  nn::remove_unfinished_writes();
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

}  // namespace

void clean_up_on_interrupt() {
  for (int signal : {SIGINT, SIGTERM}) {
    struct sigaction current {};
    // A signal the shell told us to ignore (nohup, a background job) stays ignored.
    if (sigaction(signal, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
    std::signal(signal, on_interrupt);
  }
}

int run_chapter(int argc, char** argv, const std::string& chapter, const std::string& description,
                const std::function<int(const Options&)>& body) {
  clean_up_on_interrupt();
  // A line at a time even into a pipe or a log: a reader watching `./run book | tee` sees each run as it ends.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const Options options = parse_options(argc, argv, chapter, description);
  std::cout << machine_summary() << std::flush;
  const auto start = std::chrono::steady_clock::now();
  try {
    const int status = body(options);
    std::cout << "\n" << chapter << ": wall time "
              << fmt::format("{:.1f}", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count())
              << " s\n";
    return status;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << chapter << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace book
