// kd_results_page: the "results of the last run" section of a chapter's page on the docs site,
// and the box with that run's verdicts at the top of the page.
//
//   kd_results_page CHAPTER RESULTS_DIR FRAGMENT VERDICT_FRAGMENT ASSETS_DIR [REFERENCE_DIR ROBUSTNESS_FRAGMENT]
//   kd_results_page --summary BOOK_DIR CHAPTERS_DIR FRAGMENT CHAPTER...
//   kd_results_page --robustness RUNS_DIR OUT CHAPTER...
//   kd_results_page --run-label RESULTS_JSON COMMIT DATE OUT
//
// Reads the chapter's output directory RESULTS_DIR (e.g. build/book/ch05_student). If it holds
// a results.json, FRAGMENT becomes an HTML fragment with every table (NAME.csv) and plot
// (NAME.svg) in it, in name order, each plot copied to ASSETS_DIR (the page links it as
// results/CHAPTER/NAME.svg), and VERDICT_FRAGMENT a box with each verdict results.json records
// (`verdict`, the entries of `verdicts`, and each of `students`' `verdict`): claim, criterion,
// outcome (holds, opposite, no effect, cannot tell), evidence, and the machine the run came from. If it does not, both fragments say
// how to produce the results. With REFERENCE_DIR (docs/reference: the run the texts quote, one
// CHAPTER.json per chapter, run.json naming it, robustness.json the protocol's table), each verdict
// in the box shows the reference run's outcome and evidence beside this run's, and
// ROBUSTNESS_FRAGMENT becomes the chapter's rows of the protocol's table ("How sure are we").
// The chapter's README pulls them in with \htmlinclude, so the page never shows a broken image.
// Files are written through a temporary name and a rename.
//
// With --summary, FRAGMENT becomes the main page's one-screen summary: a row per CHAPTER (its
// title from CHAPTERS_DIR/CHAPTER/README.md, linked to its page) with each verdict of its
// BOOK_DIR/CHAPTER/results.json and its outcome, counted per outcome, and the machines the runs came from.
//
// With --robustness, OUT becomes a Markdown table per CHAPTER of its verdicts' outcomes in each
// run of the robustness protocol, and OUT with the extension .json the same table as JSON (what
// docs/reference/robustness.json commits): RUNS_DIR holds a book directory per run (`default`, `seed101`,
// `kernel-NAME`, as `./run robustness` writes them), each run a column named with its seed and
// BLAS kernel; a verdict whose outcome differs between runs is marked fragile.
//
// With --run-label, OUT becomes the reference run's run.json (docs/reference/): the CPU, BLAS,
// kernel and threads of RESULTS_JSON, the COMMIT and the DATE (`./run reference` calls it).
#include "docs/read_files.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
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


// `text` without the white space around it.
std::string trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  return first == std::string::npos ? "" : text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

std::string table_html(const fs::path& csv) {
  std::string html = "<table class=\"doxtable\">\n";
  bool header = true;  // the first record holds the column names
  for (const std::vector<std::string>& record : csv_records(docs::read_text(csv))) {
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

// The reference run as the texts name it: "AMD EPYC, OpenBLAS 0.3.21 with Haswell kernels, 2 threads,
// commit abc1234", from REFERENCE_DIR/run.json.
std::string reference_label(const nlohmann::json& run) {
  return run.value("cpu", std::string("unknown CPU")) + ", " + run.value("blas", std::string("unknown BLAS")) + ", " +
         std::to_string(run.value("threads", 0)) + " threads, commit " + run.value("commit", std::string("unknown"));
}

// The box of this run's verdicts; with the reference run's results of the chapter (`reference`
// not null), each verdict also shows the reference run's outcome and evidence beside this run's.
std::string verdict_box(const nlohmann::json& results, const nlohmann::json& reference = {},
                        const std::string& reference_run = "") {
  const auto verdicts = verdicts_of(results);
  if (verdicts.empty()) return "";
  std::map<std::string, nlohmann::json> in_reference;
  if (!reference.is_null()) {
    for (const auto& [name, v] : verdicts_of(reference)) in_reference[name] = v;
  }
  std::string html = "<div class=\"kd-verdicts\" style=\"border: 2px solid #555; border-radius: 6px; padding: 0.2em 1em; "
                     "margin: 1em 0;\">\n<p><b>This run's verdict" + std::string(verdicts.size() > 1 ? "s" : "") +
                     "</b>, computed by the chapter from its own numbers";
  if (const std::string machine = machine_of(results); !machine.empty()) html += " (" + escape(machine) + ")";
  html += ". The text below quotes the reference run";
  if (!reference_run.empty()) html += " (" + escape(reference_run) + ")";
  html += "; yours may differ in its numbers, and this box is what your run concluded.</p>\n";
  for (const auto& [name, v] : verdicts) {
    const std::string outcome = outcome_of(v);
    html += "<p><span style=\"font-weight: bold; color: " + colour_of(outcome) + ";\">" + capitalised(outcome) +
            "</span>" + (name.empty() ? "" : " (" + escape(name) + ")") + ": " +
            escape(text(v, "claim")) + "<br/>\n<i>Criterion:</i> " + escape(text(v, "criterion")) +
            "<br/>\n<i>Evidence, your run:</i> " + escape(text(v, "evidence"));
    if (const auto r = in_reference.find(name); r != in_reference.end()) {
      const std::string ref_outcome = outcome_of(r->second);
      html += "<br/>\n<i>The reference run:</i> <span style=\"color: " + colour_of(ref_outcome) + ";\">" + ref_outcome +
              "</span>; " + escape(text(r->second, "evidence"));
    }
    html += "</p>\n";
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
      const nlohmann::json results = docs::read_json(results_path);
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

// The outcome of every verdict of each CHAPTER in each run of RUNS_DIR:
//   {"runs": [{"name", "machine", "same_as"}], "chapters": {CHAPTER: [{"verdict", "outcomes": [...], "fragile"}]}}
// with "not run" where a run lacks the chapter; a verdict is fragile when its outcome differs between runs.
nlohmann::json robustness(const fs::path& runs_dir, const std::vector<std::string>& chapters) {
  const std::vector<fs::path> runs = runs_in(runs_dir);
  if (runs.empty()) throw std::runtime_error(runs_dir.string() + ": no runs");
  nlohmann::json out = {{"runs", nlohmann::json::array()}, {"chapters", nlohmann::json::object()}};
  for (const fs::path& run : runs) {
    // A run whose teacher came out byte for byte another run's (OpenBLAS gave both the same
    // kernels) names that run in `same_as` instead of repeating it.
    const std::string same_as = fs::exists(run / "same_as") ? trim(docs::read_text(run / "same_as")) : "";
    std::string machine;
    for (const std::string& chapter : chapters) {
      const fs::path path = run / chapter / "results.json";
      if (machine.empty() && same_as.empty() && fs::exists(path)) {
        const nlohmann::json r = docs::read_json(path);
        machine = machine_of(r);
        if (r.contains("seed")) machine += (machine.empty() ? "seed " : ", seed ") + r["seed"].dump();
      }
    }
    out["runs"].push_back({{"name", run.filename().string()}, {"machine", machine}, {"same_as", same_as}});
  }
  for (const std::string& chapter : chapters) {
    std::vector<nlohmann::json> results;
    for (const nlohmann::json& run : out["runs"]) {
      const std::string same_as = run["same_as"];
      const fs::path path = runs_dir / (same_as.empty() ? run["name"].get<std::string>() : same_as) / chapter / "results.json";
      nlohmann::json r = fs::exists(path) ? docs::read_json(path) : nlohmann::json();
      results.push_back(std::move(r));
    }
    std::vector<std::string> names;  // in the order of the first run that has them
    for (const nlohmann::json& r : results) {
      if (r.is_null()) continue;
      for (const auto& [name, v] : verdicts_of(r)) {
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      }
    }
    nlohmann::json rows = nlohmann::json::array();
    for (const std::string& name : names) {
      std::vector<std::string> outcomes, ran;
      for (const nlohmann::json& r : results) {
        std::string cell = "not run";
        if (!r.is_null()) {
          for (const auto& [n, v] : verdicts_of(r)) {
            if (n == name) cell = outcome_of(v);
          }
          ran.push_back(cell);
        }
        outcomes.push_back(cell);
      }
      const bool fragile = std::adjacent_find(ran.begin(), ran.end(), std::not_equal_to<>()) != ran.end();
      rows.push_back({{"verdict", verdict_name(name)}, {"outcomes", outcomes}, {"fragile", fragile}});
    }
    out["chapters"][chapter] = rows;
  }
  return out;
}

// A run's column heading: "kernel-Zen (= default)".
std::string run_heading(const nlohmann::json& run) {
  const std::string same_as = run.value("same_as", std::string());
  return run.value("name", std::string("?")) + (same_as.empty() ? "" : " (= " + same_as + ")");
}

// What each run was: "- `seed101`: OpenBLAS 0.3.21, Haswell kernels; AMD EPYC, seed 101".
std::string run_description(const nlohmann::json& run) {
  const std::string same_as = run.value("same_as", std::string());
  if (!same_as.empty()) {
    return "its teacher is byte for byte " + same_as + "'s (the same kernels); " + same_as + "'s results stand for it";
  }
  const std::string machine = run.value("machine", std::string());
  return machine.empty() ? "not run" : machine;
}

// The protocol's table as Markdown, every chapter in turn.
std::string robustness_markdown(const nlohmann::json& table) {
  std::string md = "# Verdicts under the robustness protocol\n\nRuns: ";
  std::string runs, header = "| verdict |", separator = "|---|";
  for (const nlohmann::json& run : table["runs"]) {
    md += (runs.empty() ? "" : ", ") + std::string("`") + run["name"].get<std::string>() + "`";
    runs += "- `" + run["name"].get<std::string>() + "`: " + run_description(run) + "\n";
    header += " " + run_heading(run) + " |";
    separator += "---|";
  }
  md += ". A verdict whose outcome is not the same in every run is marked **fragile**.\n\n" + runs;
  for (const auto& [chapter, rows] : table["chapters"].items()) {
    md += "\n## " + chapter + "\n\n" + header + "\n" + separator + "\n";
    for (const nlohmann::json& row : rows) {
      md += "| " + row["verdict"].get<std::string>() + " |";
      for (const nlohmann::json& o : row["outcomes"]) md += " " + o.get_ref<const std::string&>() + " |";
      md += std::string(row["fragile"].get<bool>() ? " **fragile**" : "") + "\n";
    }
  }
  return md;
}

// One chapter's rows of the protocol's table as HTML, for its "How sure are we" section.
std::string robustness_html(const nlohmann::json& table, const std::string& chapter) {
  if (!table.contains("chapters") || !table["chapters"].contains(chapter)) {
    return "<p><i>The committed protocol table (docs/reference/robustness.json) has no row for this chapter.</i></p>\n";
  }
  std::string html = "<table class=\"doxtable\">\n<tr><th>verdict</th>";
  for (const nlohmann::json& run : table["runs"]) {
    html += "<th title=\"" + escape(run_description(run)) + "\">" + escape(run_heading(run)) + "</th>";
  }
  html += "<th></th></tr>\n";
  for (const nlohmann::json& row : table["chapters"][chapter]) {
    html += "<tr><td>" + escape(row["verdict"].get<std::string>()) + "</td>";
    for (const nlohmann::json& o : row["outcomes"]) {
      html += "<td style=\"color: " + colour_of(o.get<std::string>()) + ";\">" + escape(o.get<std::string>()) + "</td>";
    }
    html += std::string("<td>") + (row["fragile"].get<bool>() ? "<b>fragile</b>" : "") + "</td></tr>\n";
  }
  html += "</table>\n<p>The runs: ";
  std::string runs;
  for (const nlohmann::json& run : table["runs"]) {
    runs += (runs.empty() ? "" : "; ") + std::string("<code>") + escape(run_heading(run)) + "</code>: " +
            escape(run_description(run));
  }
  return html + runs + ".</p>\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 6 && std::string(argv[1]) == "--run-label") {
    try {
      const nlohmann::json results = docs::read_json(argv[2]);
      const nlohmann::json blas = results.value("blas", nlohmann::json::object());
      const nlohmann::json run = {
          {"cpu", results.value("cpu", std::string("unknown CPU"))},
          {"blas", blas.value("library", std::string("?")) + " " + blas.value("version", std::string("?")) + " with " +
                       blas.value("kernel", std::string("?")) + " kernels"},
          {"threads", blas.value("threads", 0)},
          {"commit", argv[3]},
          {"date", argv[4]},
          {"command", "./run book"}};
      write_atomically(argv[5], run.dump(2) + "\n");
    } catch (const std::exception& e) {
      std::cerr << "kd_results_page: run label: " << e.what() << "\n";
      return 1;
    }
    return 0;
  }
  if (argc >= 4 && std::string(argv[1]) == "--robustness") {
    try {
      const nlohmann::json table = robustness(argv[2], std::vector<std::string>(argv + 4, argv + argc));
      write_atomically(argv[3], robustness_markdown(table));
      write_atomically(fs::path(argv[3]).replace_extension(".json"), table.dump(2) + "\n");
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
  if (argc != 6 && argc != 8) {
    std::cerr << "usage: kd_results_page CHAPTER RESULTS_DIR FRAGMENT VERDICT_FRAGMENT ASSETS_DIR [REFERENCE_DIR ROBUSTNESS_FRAGMENT]\n"
                 "       kd_results_page --summary BOOK_DIR CHAPTERS_DIR FRAGMENT CHAPTER...\n"
                 "       kd_results_page --robustness RUNS_DIR OUT CHAPTER...\n"
                 "       kd_results_page --run-label RESULTS_JSON COMMIT DATE OUT\n";
    return 2;
  }
  const std::string chapter = argv[1];
  const fs::path dir = argv[2], fragment = argv[3], verdict_fragment = argv[4], assets = argv[5];
  try {
    // The reference run the texts quote: the chapter's results, its label, the protocol's table.
    nlohmann::json reference, robustness_table;
    std::string reference_run;
    if (argc == 8) {
      const fs::path reference_dir = argv[6];
      const auto parsed = [](const fs::path& path) { return fs::exists(path) ? docs::read_json(path) : nlohmann::json(); };
      reference = parsed(reference_dir / (chapter + ".json"));
      if (const nlohmann::json run = parsed(reference_dir / "run.json"); !run.is_null()) reference_run = reference_label(run);
      robustness_table = parsed(reference_dir / "robustness.json");
      write_atomically(argv[7], robustness_html(robustness_table, chapter));
    }
    if (!fs::exists(dir / "results.json")) {
      write_atomically(fragment, missing(chapter, dir));
      std::string none = "<p><b>No verdict yet</b>: this chapter has not been run (see the end of the page).";
      std::string outcomes;
      for (const auto& [name, v] : verdicts_of(reference)) {
        if (!outcomes.empty()) outcomes += "; ";
        outcomes += escape(verdict_name(name));
        outcomes += " <b style=\"color: " + colour_of(outcome_of(v)) + ";\">" + outcome_of(v) + "</b>";
      }
      if (!outcomes.empty()) {
        none += " The reference run";
        if (!reference_run.empty()) none += " (" + escape(reference_run) + ")";
        none += ": " + outcomes + ".";
      }
      write_atomically(verdict_fragment, none + "</p>\n");
      return 0;
    }
    const nlohmann::json results = docs::read_json(dir / "results.json");
    write_atomically(verdict_fragment, verdict_box(results, reference, reference_run));
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
