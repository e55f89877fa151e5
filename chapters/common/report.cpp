#include "chapters/common/report.h"

#include "nn/files.h"
#include "tensor/parallel.h"

#include <fmt/core.h>

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace book {

void write_file(const std::string& path, const std::string& text) {
  const int error = nn::write_atomically(path, text);
  if (error != 0) throw std::runtime_error(path + ": cannot write: " + std::strerror(error));
}

void write_json(const std::string& path, const nlohmann::json& value) { write_file(path, value.dump(2) + "\n"); }

namespace {

// The "model name" line of /proc/cpuinfo, or "unknown" where there is none.
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
  }
  return "unknown";
}

// OpenBLAS's kernels for x86 CPUs without AVX: on a newer CPU they mean OpenBLAS did not
// recognise it and fell back.
bool generic_kernel(const std::string& kernel) {
  for (const char* name : {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Coppermine",
                           "Northwood", "Banias", "Opteron", "Opteron_SSE3", "Barcelona", "Bobcat"}) {
    if (kernel == name) return true;
  }
  return false;
}

}  // namespace

nlohmann::json machine_json() {
  const tensor::BlasInfo blas = tensor::blas_info();
  return {{"blas", {{"library", blas.library}, {"version", blas.version}, {"kernel", blas.kernel}, {"threads", blas.threads}}},
          {"cpu", cpu_model()}};
}

std::string machine_summary() {
  const tensor::BlasInfo blas = tensor::blas_info();
  std::string text = fmt::format("BLAS: {} {}, {} kernels, {} thread{}; CPU: {}\n", blas.library, blas.version,
                                 blas.kernel, blas.threads, blas.threads == 1 ? "" : "s", cpu_model());
#if defined(__x86_64__) || defined(__i386__)
  const char* better = __builtin_cpu_supports("avx512f") ? "SkylakeX" : __builtin_cpu_supports("avx2") ? "Haswell" : nullptr;
  if (better != nullptr && generic_kernel(blas.kernel)) {
    text += fmt::format("note: this CPU has {} but OpenBLAS runs its generic {} kernels; OPENBLAS_CORETYPE={} may be "
                        "several times faster (your choice: the book never sets it, and other kernels round differently)\n",
                        std::string(better) == "SkylakeX" ? "AVX-512" : "AVX2", blas.kernel, better);
  }
#endif
  return text;
}

void write_results(const Options& options, nlohmann::json results) {
  const nlohmann::json machine = machine_json();
  results["blas"] = machine["blas"];
  results["cpu"] = machine["cpu"];
  write_json(options.file("results.json"), results);
}

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::add_row(std::vector<std::string> cells) {
  if (cells.size() != headers_.size()) {
    throw std::invalid_argument("Table::add_row: " + std::to_string(cells.size()) + " cells for " +
                                std::to_string(headers_.size()) + " columns");
  }
  rows_.push_back(std::move(cells));
}

std::string Table::to_text() const {
  std::vector<size_t> width(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) {
    width[c] = headers_[c].size();
    for (const auto& row : rows_) width[c] = std::max(width[c], row[c].size());
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      // The first column (a label) is left-aligned, numbers right-aligned.
      out += c == 0 ? fmt::format("{:<{}}", cells[c], width[c]) : fmt::format("  {:>{}}", cells[c], width[c]);
    }
    return out + "\n";
  };
  std::string out = line(headers_);
  size_t total = 0;
  for (size_t c = 0; c < width.size(); ++c) total += width[c] + (c == 0 ? 0 : 2);
  out += std::string(total, '-') + "\n";
  for (const auto& row : rows_) out += line(row);
  return out;
}

std::string Table::to_csv() const {
  const auto cell = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string quoted = "\"";
    for (char ch : s) {
      if (ch == '"') quoted += '"';
      quoted += ch;
    }
    quoted += '"';
    return quoted;
  };
  std::string out;
  const auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) out += ',';
      out += cell(cells[c]);
    }
    out += '\n';
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
  return out;
}

void banner(int number, const std::string& title) { fmt::print("\n== {}. {} ==\n", number, title); }

}  // namespace book
