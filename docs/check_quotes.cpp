// kd_check_quotes: every number the book's texts quote is the reference run's.
//
//   kd_check_quotes REFERENCE_DIR FILE...
//
// A text marks a quoted number with an HTML comment right after it, which no page shows:
//
//   the soft student gains +0.0044<!--ref ch05_student/students/0/paired_difference/mean-->
//
// naming a value of the reference run: the chapter (REFERENCE_DIR/CHAPTER.json holds its
// results.json) and a JSON pointer into it; `<!--ref -CHAPTER/...-->` quotes the value's
// negative, for a text that says "falls by 0.079" of a difference of -0.079. The quote must be that value rounded to the digits
// the text shows: "0.9294" to 4 decimals, "92.9%" is the value times 100 to 1 decimal,
// "1,474" to a whole number, "3.0e-4" to 2 significant digits. A sign, a Unicode minus, `**`
// or a backtick between the number and the comment are allowed. A value that is a string
// ("holds") must be the text right before the comment. Prints one line per quote that is not
// the reference run's, or whose pointer names nothing, and exits 1 if there was one; 2 on a bad
// command line or an unreadable file.
#include "docs/read_files.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kOpen = "<!--ref ", kClose = "-->";


// A number as a text writes it, parsed: its value and the precision it shows.
struct Quoted {
  double value = 0;
  bool percent = false;
  bool scientific = false;
  int decimals = 0;  // after the point (of the mantissa when scientific)
};

// `text` with each U+2212 MINUS SIGN written as an ASCII '-', so one parser reads both.
std::string ascii_minus(const std::string& text) {
  static const std::string kMinus = "\u2212";
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, kMinus.size(), kMinus) == 0) {
      out += '-';
      i += kMinus.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

bool digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// The number that ends `before` (after stripping `**`, backticks and spaces), if there is one:
// [+-] digits (with thousands commas) [. digits] [e [+-] digits] [%].
std::optional<Quoted> number_before(std::string before) {
  while (!before.empty() && (before.back() == '*' || before.back() == '`' || before.back() == ' ')) before.pop_back();
  before = ascii_minus(before);
  size_t start = before.size();
  const auto in_number = [](char c) {
    return digit(c) || c == '.' || c == ',' || c == 'e' || c == 'E' || c == '+' || c == '-' || c == '%';
  };
  while (start > 0 && in_number(before[start - 1])) --start;
  std::string token = before.substr(start);
  while (!token.empty() && !digit(token[0]) && token[0] != '+' && token[0] != '-') token.erase(0, 1);
  size_t i = 0;
  const bool negative = i < token.size() && token[i] == '-';
  if (i < token.size() && (token[i] == '+' || token[i] == '-')) ++i;
  std::string digits, fraction, exponent;
  for (; i < token.size() && (digit(token[i]) || token[i] == ','); ++i) {
    if (token[i] != ',') digits += token[i];
  }
  if (digits.empty()) return std::nullopt;
  if (i < token.size() && token[i] == '.') {
    for (++i; i < token.size() && digit(token[i]); ++i) fraction += token[i];
  }
  Quoted q;
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) exponent += token[i++];
    for (; i < token.size() && digit(token[i]); ++i) exponent += token[i];
    if (exponent.empty() || !digit(exponent.back())) return std::nullopt;
    q.scientific = true;
  }
  if (i < token.size() && token[i] == '%') {
    q.percent = true;
    ++i;
  }
  if (i != token.size()) return std::nullopt;
  q.decimals = static_cast<int>(fraction.size());
  q.value = std::stod(digits + (fraction.empty() ? "" : "." + fraction) + (q.scientific ? "e" + exponent : ""));
  if (negative) q.value = -q.value;
  return q;
}

// `value` as the quote would show it, for the message.
std::string shown(double value, const Quoted& q) {
  char buffer[64];
  if (q.scientific) {
    std::snprintf(buffer, sizeof buffer, "%.*e", q.decimals, value);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.*f%s", q.decimals, q.percent ? 100 * value : value, q.percent ? "%" : "");
  }
  return buffer;
}

// Whether the quote is `value` rounded to the digits it shows.
bool matches(double value, const Quoted& q) {
  if (q.scientific) {
    if (value == 0) return q.value == 0;
    const double exponent = std::floor(std::log10(std::abs(q.value)));
    const double unit = std::pow(10.0, exponent - q.decimals);
    return std::abs(value - q.value) <= 0.5 * unit * (1 + 1e-9);
  }
  const double scaled = q.percent ? 100 * value : value;
  const double unit = std::pow(10.0, -q.decimals);
  return std::abs(scaled - q.value) <= 0.5 * unit * (1 + 1e-9);
}

class Reference {
 public:
  explicit Reference(fs::path dir) : dir_(std::move(dir)) {}
  // The chapter's results, read once; null when the reference run has no such chapter.
  const nlohmann::json& chapter(const std::string& name) {
    auto [it, inserted] = chapters_.try_emplace(name);
    if (inserted) {
      const fs::path path = dir_ / (name + ".json");
      if (fs::exists(path)) {
        it->second = docs::read_json(path);
      }
    }
    return it->second;
  }

 private:
  fs::path dir_;
  std::map<std::string, nlohmann::json> chapters_;
};

// The problems with FILE's quotes, one line each ("FILE:LINE: ..."); counts the quotes checked.
std::vector<std::string> check(const fs::path& file, Reference& reference, int& checked) {
  const std::string text = docs::read_text(file);
  std::vector<std::string> problems;
  for (size_t at = text.find(kOpen); at != std::string::npos; at = text.find(kOpen, at + 1)) {
    const size_t line_start = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
    const std::string where = file.string() + ":" + std::to_string(1 + std::count(text.begin(), text.begin() + at, '\n'));
    const size_t end = text.find(kClose, at);
    if (end == std::string::npos) {
      problems.push_back(where + ": a quote mark that is never closed with -->");
      break;
    }
    std::string target = text.substr(at + kOpen.size(), end - at - kOpen.size());
    const bool negated = target.starts_with("-");
    if (negated) target.erase(0, 1);
    const size_t slash = target.find('/');
    const std::string name = target.substr(0, slash);
    const nlohmann::json& results = reference.chapter(name);
    if (results.is_null()) {
      problems.push_back(where + ": the reference run has no chapter '" + name + "'");
      continue;
    }
    const nlohmann::json::json_pointer pointer(slash == std::string::npos ? "" : target.substr(slash));
    if (!results.contains(pointer)) {
      problems.push_back(where + ": the reference run's " + name + " has nothing at " + pointer.to_string());
      continue;
    }
    const nlohmann::json& value = results.at(pointer);
    const double sign = negated ? -1.0 : 1.0;
    const std::string before = text.substr(line_start, at - line_start);
    ++checked;
    if (value.is_string()) {
      if (!before.ends_with(value.get<std::string>())) {
        problems.push_back(where + ": quotes '" + before.substr(before.size() > 30 ? before.size() - 30 : 0) +
                           "' where the reference run's " + target + " is '" + value.get<std::string>() + "'");
      }
      continue;
    }
    if (!value.is_number()) {
      problems.push_back(where + ": the reference run's " + target + " is neither a number nor a string");
      continue;
    }
    const std::optional<Quoted> quoted = number_before(before);
    if (!quoted) {
      problems.push_back(where + ": no number right before the mark for " + target);
    } else if (!matches(sign * value.get<double>(), *quoted)) {
      problems.push_back(where + ": quotes " + before.substr(before.find_last_of(" (") + 1) + " where the reference run's " +
                         (negated ? "-" : "") + target + " is " + shown(sign * value.get<double>(), *quoted));
    }
  }
  return problems;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: kd_check_quotes REFERENCE_DIR FILE...\n";
    return 2;
  }
  try {
    Reference reference(argv[1]);
    int problems = 0, checked = 0;
    for (int i = 2; i < argc; ++i) {
      for (const std::string& problem : check(argv[i], reference, checked)) {
        std::cout << problem << "\n";
        ++problems;
      }
    }
    std::cout << checked << " quoted numbers checked against " << argv[1] << ": "
              << (problems ? std::to_string(problems) + " not the reference run's" : std::string("all the reference run's"))
              << "\n";
    return problems ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "kd_check_quotes: " << e.what() << "\n";
    return 2;
  }
}
