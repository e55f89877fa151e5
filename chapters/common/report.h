/// \file
/// \brief Tables on screen and in CSV, results.json, and files written whole or not at all.
#pragma once

#include "chapters/common/options.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace book {

/// \defgroup chapters chapters: the toolkit every chapter shares
/// \brief Command line, progress, tables, plots, results files and the teacher cache.

/// \ingroup chapters
/// \brief Writes `text` to `path` through a temporary file and a rename: an interrupted
/// run leaves the old file or none, never half of one.
/// \throws std::runtime_error `PATH: cannot write: REASON`.
void write_file(const std::string& path, const std::string& text);

/// \ingroup chapters
/// \brief Writes a JSON document, indented, with `write_file`.
void write_json(const std::string& path, const nlohmann::json& value);

/// \ingroup chapters
/// \brief The machine a run's numbers come from: `blas` (library, version, kernel, threads)
/// and `cpu` (the model name from /proc/cpuinfo), as `results.json` records them.
nlohmann::json machine_json();

/// \ingroup chapters
/// \brief One line naming the BLAS kernel, its threads and the CPU; and a second line when
/// OpenBLAS runs a generic kernel (Prescott, Nehalem, ...) on a CPU with AVX2 or AVX-512,
/// naming the `OPENBLAS_CORETYPE` a reader may try (the program never sets it).
std::string machine_summary();

/// \ingroup chapters
/// \brief Writes a chapter's `results.json` to `options.file("results.json")`, with
/// `machine_json()`'s `blas` and `cpu` added.
void write_results(const Options& options, nlohmann::json results);

/// \ingroup chapters
/// \brief A table of text cells: printed aligned, and written as CSV.
class Table {
 public:
  /// \brief A table with these column headers.
  explicit Table(std::vector<std::string> headers);
  /// \brief Appends a row (as many cells as headers).
  /// \throws std::invalid_argument when the count differs.
  void add_row(std::vector<std::string> cells);
  /// \brief The table, columns aligned, for the terminal.
  std::string to_text() const;
  /// \brief The table as CSV (cells with commas or quotes are quoted).
  std::string to_csv() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

/// \ingroup chapters
/// \brief Prints a numbered section banner: `== 2. Teacher ==`.
void banner(int number, const std::string& title);

}  // namespace book
