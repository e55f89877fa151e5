// The small files the docs tools read (kd_results_page, kd_check_quotes): whole, or as JSON,
// each failure one line naming the file.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace docs {

// The whole file. Throws "PATH: cannot read".
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The file parsed as JSON. Throws "PATH: cannot read" or "PATH: not valid JSON".
inline nlohmann::json read_json(const std::filesystem::path& path) {
  nlohmann::json j = nlohmann::json::parse(read_text(path), nullptr, false);
  if (j.is_discarded()) throw std::runtime_error(path.string() + ": not valid JSON");
  return j;
}

}  // namespace docs
