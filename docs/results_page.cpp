// kd_results_page: the "results of the last run" section of a chapter's page on the docs site,
// and the box with that run's verdicts at the top of the page.
//
//   kd_results_page CHAPTER RESULTS_DIR FRAGMENT VERDICT_FRAGMENT ASSETS_DIR
//   kd_results_page --summary BOOK_DIR CHAPTERS_DIR FRAGMENT CHAPTER...
//   kd_results_page --robustness RUNS_DIR OUT CHAPTER...
//
// Reads the chapter's output directory RESULTS_DIR (e.g. build/book/ch05_student). If it holds
// a results.json, FRAGMENT becomes an HTML fragment with every table (NAME.csv) and plot
// (NAME.svg) in it, in name order, each plot copied to ASSETS_DIR (the page links it as
// results/CHAPTER/NAME.svg), and VERDICT_FRAGMENT a box with each verdict results.json records
// (`verdict`, the entries of `verdicts`, and each of `students`' `verdict`): claim, criterion,
// outcome (holds, opposite, no effect, cannot tell), evidence, and the machine the run came from. If it does not, both fragments say
// how to produce the results. The chapter's README pulls them in with \htmlinclude, so the page
// never shows a broken image. Files are written through a temporary name and a rename.
//
// With --summary, FRAGMENT becomes the main page's one-screen summary: a row per CHAPTER (its
// title from CHAPTERS_DIR/CHAPTER/README.md, linked to its page) with each verdict of its
// BOOK_DIR/CHAPTER/results.json and its outcome, counted per outcome, and the machines the runs came from.
//
// With --robustness, OUT becomes a Markdown table per CHAPTER of its verdicts' outcomes in each
// run of the robustness protocol: RUNS_DIR holds a book directory per run (`default`, `seed101`,
// `kernel-NAME`, as `./run robustness` writes them), each run a column named with its seed and
// BLAS kernel; a verdict whose outcome differs between runs is marked fragile.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace fs = std::filesystem;

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// The records of a CSV text, as book::Table::to_csv writes them: cells separated by commas,
// records by newlines, a cell quoted when it holds a comma, a quote or a newline (a quote
// doubled inside). Empty lines are skipped.
std::vector<std::vector<std::string>> csv_records(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record(1);
  bool quoted = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted && c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
      record.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
      any = true;
    } else if (c == ',' && !quoted) {
      record.emplace_back();
      any = true;
    } else if (c == '\n' && !quoted) {
      if (any || !record.back().empty()) records.push_back(record);
      record.assign(1, "");
      any = false;
    } else if (c != '\r') {
      record.back() += c;
    }
  }
  if (any || !record.back().empty()) records.push_back(record);
  return records;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// `text` without the white space around it.
std::string trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  return first == std::string::npos ? "" : text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

std::string table_html(const fs::path& csv) {
  std::string html = "<table class=\"doxtable\">\n";
  bool header = true;  // the first record holds the column names
  for (const std::vector<std::string>& record : csv_records(read(csv))) {
    html += "<tr>";
    for (const std::string& cell : record) html += header ? "<th>" + escape(cell) + "</th>" : "<td>" + escape(cell) + "</td>";
    html += "</tr>\n";
    header = false;
  }
  return html + "</table>\n";
}

void write_atomically(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  std::ofstream out(tmp, std::ios::binary);
  out << text;
  out.close();
  std::error_code error;
  if (!out) {
    fs::remove(tmp, error);
    throw std::runtime_error(tmp.string() + ": cannot write");
  }
  fs::rename(tmp, path, error);
  if (error) {
    fs::remove(tmp, error);
    throw std::runtime_error(path.string() + ": cannot write");
  }
}

// A directory as the reader knows it: relative to the repository (the working directory).
std::string shown(const fs::path& dir) {
  std::error_code error;
  const fs::path relative = fs::relative(dir, error);
  return error || relative.empty() ? dir.string() : relative.string();
}

std::string missing(const std::string& chapter, const fs::path& dir) {
  return "<p><b>No results yet.</b> This page shows the tables and plots of the last run of the chapter, "
         "and there is none in <code>" + escape(shown(dir)) + "</code>. Run the book with <code>./run book</code> "
         "(or this chapter alone: <code>build/release/chapters/" + escape(chapter) + "/" + escape(chapter) +
         "</code>, then <code>cmake --build build/release --target docs</code>) to see them here.</p>\n";
}

// The verdicts of a results.json as (name, verdict) pairs, in the order the chapter wrote them.
std::vector<std::pair<std::string, nlohmann::json>> verdicts_of(const nlohmann::json& results) {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  if (results.contains("verdict")) out.emplace_back("", results["verdict"]);
  if (results.contains("verdicts")) {
    for (const auto& [name, v] : results["verdicts"].items()) out.emplace_back(name, v);
  }
  if (results.contains("students")) {
    for (const nlohmann::json& s : results["students"]) {
      if (s.contains("verdict")) out.emplace_back(s.value("name", std::string("student")) + " student", s["verdict"]);
    }
  }
  return out;
}

std::string text(const nlohmann::json& v, const char* key) {
  return v.contains(key) && v[key].is_string() ? v[key].get<std::string>() : std::string("(missing)");
}

// The machine a results.json came from: "OpenBLAS 0.3.21, Cooperlake kernels; AMD EPYC", or "" when it
// does not say.
std::string machine_of(const nlohmann::json& results) {
  if (!results.contains("blas") || !results["blas"].is_object()) return "";
  const nlohmann::json& b = results["blas"];
  return b.value("library", "") + " " + b.value("version", "") + ", " + b.value("kernel", "") + " kernels; " +
         results.value("cpu", std::string("unknown CPU"));
}

// A verdict's outcome as results.json records it: "holds", "opposite", "no effect" or "cannot tell";
// a results.json from before the four outcomes has only `holds`: "holds" or "does not hold".
std::string outcome_of(const nlohmann::json& v) {
  static const std::vector<std::string> kOutcomes = {"holds", "opposite", "no effect", "cannot tell"};
  if (v.contains("outcome") && v["outcome"].is_string()) {
    const std::string o = v["outcome"].get<std::string>();
    if (std::find(kOutcomes.begin(), kOutcomes.end(), o) != kOutcomes.end()) return o;
  }
  return v.contains("holds") && v["holds"].is_boolean() && v["holds"].get<bool>() ? "holds" : "does not hold";
}

// Green for a claim that holds, red for its opposite, grey-blue for no effect, amber for cannot tell.
std::string colour_of(const std::string& outcome) {
  if (outcome == "holds") return "#1a7f37";
  if (outcome == "no effect") return "#4a5a78";
  if (outcome == "cannot tell") return "#9a6700";
  return "#b3261e";
}

std::string capitalised(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string verdict_box(const nlohmann::json& results) {
  const auto verdicts = verdicts_of(results);
  if (verdicts.empty()) return "";
  std::string html = "<div class=\"kd-verdicts\" style=\"border: 2px solid #555; border-radius: 6px; padding: 0.2em 1em; "
                     "margin: 1em 0;\">\n<p><b>This run's verdict" + std::string(verdicts.size() > 1 ? "s" : "") +
                     "</b>, computed by the chapter from its own numbers";
  if (const std::string machine = machine_of(results); !machine.empty()) html += " (" + escape(machine) + ")";
  html += ". The text below quotes our run; yours may differ in its numbers, and this box is what your run concluded.</p>\n";
  for (const auto& [name, v] : verdicts) {
    const std::string outcome = outcome_of(v);
    html += "<p><span style=\"font-weight: bold; color: " + colour_of(outcome) + ";\">" + capitalised(outcome) +
            "</span>" + (name.empty() ? "" : " (" + escape(name) + ")") + ": " +
            escape(text(v, "claim")) + "<br/>\n<i>Criterion:</i> " + escape(text(v, "criterion")) +
            "<br/>\n<i>Evidence:</i> " + escape(text(v, "evidence")) + "</p>\n";
  }
  return html + "</div>\n";
}

// A chapter's title, from the first line of its README: "# Chapter 5: the student {#ch05_student}".
std::string title_of(const fs::path& readme, const std::string& chapter) {
  std::ifstream in(readme);
  std::string line;
  if (!in || !std::getline(in, line) || line.rfind("# ", 0) != 0) return chapter;
  line = line.substr(2);
  if (const size_t label = line.find(" {#"); label != std::string::npos) line.resize(label);
  return line;
}

// "consistent_teaching" -> "consistent teaching"; a chapter's single verdict is "verdict".
std::string verdict_name(std::string name) {
  if (name.empty()) return "verdict";
  for (char& c : name) c = c == '_' ? ' ' : c;
  return name;
}

std::string summary(const fs::path& book, const fs::path& chapters_dir, const std::vector<std::string>& chapters) {
  std::string rows, machines;
  int verdicts = 0;
  std::map<std::string, int> counts;  // per outcome
  for (const std::string& chapter : chapters) {
    const fs::path results_path = book / chapter / "results.json";
    std::string cell;
    if (!fs::exists(results_path)) {
      cell = "<i>not run yet</i>";
    } else {
      const nlohmann::json results = nlohmann::json::parse(read(results_path), nullptr, false);
      if (results.is_discarded()) throw std::runtime_error(results_path.string() + ": not valid JSON");
      const auto found = verdicts_of(results);
      if (found.empty()) cell = "<i>no verdict: this chapter shows how, it claims nothing</i>";
      for (const auto& [name, v] : found) {
        const std::string outcome = outcome_of(v);
        ++verdicts;
        ++counts[outcome];
        cell += std::string(cell.empty() ? "" : "; ") + "<span title=\"" + escape(text(v, "claim")) + "\">" +
                escape(verdict_name(name)) + ": <b style=\"color: " + colour_of(outcome) + ";\">" + outcome +
                "</b></span>";
      }
      const std::string machine = machine_of(results);
      if (!machine.empty() && machines.find(machine) == std::string::npos) {
        machines += (machines.empty() ? "" : " / ") + machine;
      }
    }
    rows += "<tr><td><a href=\"" + escape(chapter) + ".html\">" +
            escape(title_of(chapters_dir / chapter / "README.md", chapter)) + "</a></td><td>" + cell + "</td></tr>\n";
  }
  std::string html = "<p><b>What the run that built these pages concluded</b>";
  if (!machines.empty()) html += " (" + escape(machines) + ")";
  std::string tally;
  for (const std::string o : {"holds", "opposite", "no effect", "cannot tell", "does not hold"}) {
    if (counts[o] > 0) tally += (tally.empty() ? "" : ", ") + std::to_string(counts[o]) + " " + o;
  }
  html += ": of " + std::to_string(verdicts) + " verdicts, " + (tally.empty() ? std::string("none yet") : tally) +
          ". <i>Holds</i>: the 95% interval of the effect lies on the claimed side of 0 (or a criterion that is "
          "not an interval is met); <i>opposite</i>: on the other side (or it is not met); <i>no effect</i>: inside the smallest effect of interest, so whatever the effect is, it is too "
          "small to matter; <i>cannot tell</i>: this run's seeds do not decide. Each chapter computes its verdicts "
          "from its own numbers; point at one for its claim, and open the chapter for the criterion and the "
          "evidence.</p>\n"
          "<table class=\"doxtable\">\n<tr><th>chapter</th><th>this run's verdicts</th></tr>\n" +
          rows + "</table>\n";
  return html;
}

// The runs of RUNS_DIR in the protocol's order: the default, the disjoint seed, then the kernels.
std::vector<fs::path> runs_in(const fs::path& runs_dir) {
  std::vector<fs::path> runs;
  for (const auto& entry : fs::directory_iterator(runs_dir)) {
    if (entry.is_directory()) runs.push_back(entry.path());
  }
  const auto rank = [](const fs::path& p) {
    const std::string name = p.filename().string();
    return name == "default" ? 0 : name.rfind("seed", 0) == 0 ? 1 : 2;
  };
  std::sort(runs.begin(), runs.end(), [&](const fs::path& a, const fs::path& b) {
    return rank(a) != rank(b) ? rank(a) < rank(b) : a.filename() < b.filename();
  });
  return runs;
}

std::string robustness(const fs::path& runs_dir, const std::vector<std::string>& chapters) {
  const std::vector<fs::path> runs = runs_in(runs_dir);
  if (runs.empty()) throw std::runtime_error(runs_dir.string() + ": no runs");
  std::string md = "# Verdicts under the robustness protocol\n\nRuns: ";
  for (size_t r = 0; r < runs.size(); ++r) md += (r ? ", " : "") + std::string("`") + runs[r].filename().string() + "`";
  md += ". A verdict whose outcome is not the same in every run is marked **fragile**.\n";
  for (const std::string& chapter : chapters) {
    md += "\n## " + chapter + "\n\n| verdict |";
    std::vector<nlohmann::json> results;
    std::string separator = "|---|", machines;
    for (const fs::path& run : runs) {
      // A run whose teacher came out byte for byte another run's (OpenBLAS gave both the same
      // kernels) names that run in `same_as` instead of repeating it.
      const std::string same_as = fs::exists(run / "same_as") ? trim(read(run / "same_as")) : "";
      const fs::path path = (same_as.empty() ? run : runs_dir / same_as) / chapter / "results.json";
      nlohmann::json r = fs::exists(path) ? nlohmann::json::parse(read(path), nullptr, false) : nlohmann::json();
      if (r.is_discarded()) throw std::runtime_error(path.string() + ": not valid JSON");
      md += " " + run.filename().string() + (same_as.empty() ? "" : " (= " + same_as + ")") + " |";
      separator += "---|";
      machines += "- `" + run.filename().string() + "`: " +
                  (!same_as.empty() ? "its teacher is byte for byte `" + same_as + "`'s (the same kernels); `" + same_as +
                                          "`'s results stand for it"
                   : r.is_null()    ? std::string("not run")
                                    : machine_of(r) + (r.contains("seed") ? ", seed " + r["seed"].dump() : "")) +
                  "\n";
      results.push_back(std::move(r));
    }
    md += "\n" + separator + "\n";
    std::vector<std::string> names;  // in the order of the first run that has them
    for (const nlohmann::json& r : results) {
      if (r.is_null()) continue;
      for (const auto& [name, v] : verdicts_of(r)) {
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      }
    }
    for (const std::string& name : names) {
      std::string row = "| " + verdict_name(name) + " |";
      std::vector<std::string> outcomes;
      for (const nlohmann::json& r : results) {
        std::string cell = "not run";
        if (!r.is_null()) {
          for (const auto& [n, v] : verdicts_of(r)) {
            if (n == name) cell = outcome_of(v);
          }
          outcomes.push_back(cell);
        }
        row += " " + cell + " |";
      }
      const bool fragile = std::adjacent_find(outcomes.begin(), outcomes.end(), std::not_equal_to<>()) != outcomes.end();
      md += row + (fragile ? " **fragile**" : "") + "\n";
    }
    md += "\n" + machines;
  }
  return md;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::string(argv[1]) == "--robustness") {
    try {
      write_atomically(argv[3], robustness(argv[2], std::vector<std::string>(argv + 4, argv + argc)));
    } catch (const std::exception& e) {
      std::cerr << "kd_results_page: robustness: " << e.what() << "\n";
      return 1;
    }
    return 0;
  }
  if (argc >= 5 && std::string(argv[1]) == "--summary") {
    try {
      write_atomically(argv[4], summary(argv[2], argv[3], std::vector<std::string>(argv + 5, argv + argc)));
    } catch (const std::exception& e) {
      std::cerr << "kd_results_page: summary: " << e.what() << "\n";
      return 1;
    }
    return 0;
  }
  if (argc != 6) {
    std::cerr << "usage: kd_results_page CHAPTER RESULTS_DIR FRAGMENT VERDICT_FRAGMENT ASSETS_DIR\n"
                 "       kd_results_page --summary BOOK_DIR CHAPTERS_DIR FRAGMENT CHAPTER...\n"
                 "       kd_results_page --robustness RUNS_DIR OUT CHAPTER...\n";
    return 2;
  }
  const std::string chapter = argv[1];
  const fs::path dir = argv[2], fragment = argv[3], verdict_fragment = argv[4], assets = argv[5];
  try {
    if (!fs::exists(dir / "results.json")) {
      write_atomically(fragment, missing(chapter, dir));
      write_atomically(verdict_fragment, "<p><b>No verdict yet</b>: this chapter has not been run (see the end of the page).</p>\n");
      return 0;
    }
    const nlohmann::json results = nlohmann::json::parse(read(dir / "results.json"), nullptr, false);
    if (results.is_discarded()) throw std::runtime_error((dir / "results.json").string() + ": not valid JSON");
    write_atomically(verdict_fragment, verdict_box(results));
    // Tables and plots by name: a plot and the table of its numbers sit together.
    std::map<std::string, std::pair<fs::path, fs::path>> items;  // name -> (csv, svg)
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
      const fs::path& p = e.path();
      if (p.extension() == ".csv") items[p.stem().string()].first = p;
      if (p.extension() == ".svg") items[p.stem().string()].second = p;
    }
    std::string html = "<p>The tables and plots of the last run, read from <code>" + escape(shown(dir)) +
                       "</code> when these pages were built (<code>results.json</code> there has every number).</p>\n";
    fs::create_directories(assets);
    for (const auto& [name, files] : items) {
      html += "<h3>" + escape(name) + "</h3>\n";
      if (!files.second.empty()) {
        fs::copy_file(files.second, assets / files.second.filename(), fs::copy_options::overwrite_existing);
        html += "<p><img src=\"results/" + escape(chapter) + "/" + escape(files.second.filename().string()) +
                "\" alt=\"" + escape(name) + "\" style=\"max-width: 100%;\"/></p>\n";
      }
      if (!files.first.empty()) html += table_html(files.first);
    }
    write_atomically(fragment, html);
  } catch (const std::exception& e) {
    std::cerr << "kd_results_page: " << chapter << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
