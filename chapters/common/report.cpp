#include "chapters/common/report.h"

#include "nn/files.h"

#include <fmt/core.h>

#include <cstring>
#include <stdexcept>

namespace book {

void write_file(const std::string& path, const std::string& text) {
  const int error = nn::write_atomically(path, text);
  if (error != 0) throw std::runtime_error(path + ": cannot write: " + std::strerror(error));
}

void write_json(const std::string& path, const nlohmann::json& value) { write_file(path, value.dump(2) + "\n"); }

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
