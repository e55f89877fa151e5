/// \file
/// \brief The command line every chapter shares: --seed, --out, --data, --quick, --threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace book {

/// \ingroup chapters
/// \brief The most threads `--threads` accepts: more than any machine the book is run on
/// (OpenBLAS itself stops at the MAX_THREADS it was built with, 64 in Debian's build).
inline constexpr int kMaxThreads = 256;

/// \ingroup chapters
/// \brief What a chapter was asked to do.
struct Options {
  std::string chapter;   ///< e.g. "ch02_teacher"
  uint64_t seed = 1;     ///< seeds every random choice of the run
  std::string out;       ///< where results go (default `build/book/` and the chapter's name; `build/book-quick/` with --quick)
  std::string data;      ///< the Fashion-MNIST directory
  bool quick = false;    ///< a seconds-long smoke run on a small subset
  int threads = 0;       ///< cores, 0: every core; at most kMaxThreads (the lab trains as many students at once)

  /// \brief The book directory: the parent of `out`, where other chapters' results live.
  std::string book_dir() const;
  /// \brief The path of an output file: `out/name`.
  std::string file(const std::string& name) const;
};

/// \ingroup chapters
/// \brief Parses the shared flags. `--help` prints the usage and exits 0; an unknown or
/// malformed flag prints CLI11's message and the usage, and exits 2.
///
/// Sets the thread count, and creates `out`.
/// \param argc number of arguments \param argv the arguments
/// \param chapter the chapter's name \param description one line for --help
Options parse_options(int argc, char** argv, const std::string& chapter, const std::string& description);

/// \ingroup chapters
/// \brief Makes SIGINT and SIGTERM remove the temporary file of any write in progress
/// (`nn::remove_unfinished_writes`) before they end the program as usual. A signal that
/// was ignored when the program started (`nohup`, a background job) stays ignored.
void clean_up_on_interrupt();

/// \ingroup chapters
/// \brief A chapter's `main`: parses the options, runs `body`, and turns any error that
/// escapes it (a file that cannot be written, a corrupt input) into one line on stderr,
/// `chNN_name: what went wrong`, and exit code 1. It calls `clean_up_on_interrupt` first,
/// so an interrupted chapter leaves its earlier files whole and no half-written one.
/// \param argc number of arguments \param argv the arguments
/// \param chapter the chapter's name \param description one line for --help
/// \param body the chapter, given its options; returns the exit code
int run_chapter(int argc, char** argv, const std::string& chapter, const std::string& description,
                const std::function<int(const Options&)>& body);

}  // namespace book
