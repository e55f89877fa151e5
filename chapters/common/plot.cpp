#include "chapters/common/plot.h"

#include "chapters/common/report.h"
#include "nn/files.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <sys/wait.h>

namespace book {

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) out += (ch == '"' || ch == '\\') ? std::string("\\") + ch : std::string(1, ch);
  return out + "\"";
}

// A title for gnuplot, quoted, broken into lines of at most about 90 characters at spaces, so that
// a title that states a finding stays inside the figure.
std::string title(const std::string& text) {
  constexpr size_t kWidth = 90;
  std::vector<std::string> lines(1);
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!lines.back().empty() && lines.back().size() + 1 + word.size() > kWidth) lines.emplace_back();
    lines.back() += (lines.back().empty() ? "" : " ") + word;
    start = end + 1;
  }
  std::string out = "\"";
  for (size_t l = 0; l < lines.size(); ++l) {
    if (l > 0) out += "\\n";  // gnuplot's newline escape inside a double-quoted string
    for (char ch : lines[l]) out += (ch == '"' || ch == '\\') ? std::string("\\") + ch : std::string(1, ch);
  }
  return out + "\"";
}

// `gnuplot NAME.gp` writes NAME.svg; the book renders with out set to a temporary name.
std::string output_line(const std::string& name) {
  return fmt::format("if (!exists(\"out\")) out = {}\nset output out\n", quoted(name + ".svg"));
}

// A word for /bin/sh: single-quoted, with each ' written as '\''.
std::string shell_word(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// gnuplot's xtics for names at 0, 1, 2, ...
std::string name_tics(const std::vector<std::string>& names) {
  std::string t = "(";
  for (size_t i = 0; i < names.size(); ++i) t += fmt::format("{}{} {}", i ? ", " : "", quoted(names[i]), i);
  return t + ")";
}

// The start of a script whose x axis is `categories` at 0, 1, 2, ...: terminal, output, title,
// labels, the names as tics, a margin of 0.6 either side, horizontal grid lines.
std::string categorical_script(const std::string& name, const std::string& title_text, const std::string& x_label,
                               const std::string& y_label, const std::vector<std::string>& categories) {
  std::string script = "set terminal svg size 720,450 dynamic noenhanced font 'sans,12' background rgb 'white'\n";
  script += output_line(name);
  script += fmt::format("set title {}\nset xlabel {}\nset ylabel {}\nset xtics {}\n", title(title_text),
                        quoted(x_label), quoted(y_label), name_tics(categories));
  return script + fmt::format("set xrange [-0.6:{}]\nset grid ytics\n", static_cast<double>(categories.size()) - 0.4);
}

bool have_gnuplot() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

// Writes the script, then renders it next to the data (the script names files relative to dir).
std::string finish(const std::string& dir, const std::string& name, const std::string& script) {
  const std::string gp = (std::filesystem::path(dir) / (name + ".gp")).string();
  write_file(gp, script);
  if (!have_gnuplot()) return fmt::format("plot {}: data and script written; install gnuplot to render the SVG", gp);
  // Render to a temporary name, then rename: a failed or interrupted render leaves no half SVG.
  const std::string svg = name + ".svg";
  const nn::UnfinishedFile guard((std::filesystem::path(dir) / (svg + ".tmp")).string());
  const std::string command =
      fmt::format("cd {} && gnuplot -e {} {} 2>/dev/null && mv {} {}", shell_word(dir),
                  shell_word("out=" + quoted(svg + ".tmp")), shell_word(name + ".gp"), shell_word(svg + ".tmp"),
                  shell_word(svg));
  const int status = std::system(command.c_str());
  if (status != 0) {
    std::filesystem::remove(std::filesystem::path(dir) / (svg + ".tmp"));
    // system() ignores SIGINT while gnuplot runs: Ctrl-C killed only the child. Pass it on.
    if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM)) std::raise(WTERMSIG(status));
    return fmt::format("plot {}: gnuplot failed (run `gnuplot {}.gp` there to see why); the data and script are kept",
                       gp, name);
  }
  return fmt::format("plot {}", (std::filesystem::path(dir) / svg).string());
}

}  // namespace

std::string save_plot(const std::string& dir, const std::string& name, const LinePlot& plot) {
  std::string data;
  for (size_t s = 0; s < plot.series.size(); ++s) {
    const Series& line = plot.series[s];
    if (line.x.size() != line.y.size() || (!line.error.empty() && line.error.size() != line.x.size())) {
      throw std::invalid_argument("save_plot: series " + line.name + ": x, y and error differ in length");
    }
    data += fmt::format("# {}\n", line.name);
    for (size_t i = 0; i < line.x.size(); ++i) {
      data += fmt::format("{:.8g} {:.8g}", line.x[i], line.y[i]);
      data += line.error.empty() ? "\n" : fmt::format(" {:.8g}\n", line.error[i]);
    }
    data += "\n\n";  // gnuplot: a new data block per series
  }
  write_file((std::filesystem::path(dir) / (name + ".dat")).string(), data);
  std::string script = "set terminal svg size 720,450 dynamic noenhanced font 'sans,12' background rgb 'white'\n";
  script += output_line(name);
  script += fmt::format("set title {}\nset xlabel {}\nset ylabel {}\n", title(plot.title), quoted(plot.x_label),
                        quoted(plot.y_label));
  script += "set grid\nset key below\n";
  if (plot.log_x) script += "set logscale x\n";
  if (!plot.x_ticks.empty()) {
    script += fmt::format("set xtics {} rotate by 30 right\n", name_tics(plot.x_ticks));
    script += "set offsets 0.4, 0.4, 0, 0\n";  // room for the first and last (rotated) name
  }
  script += "plot ";
  for (size_t s = 0; s < plot.series.size(); ++s) {
    const Series& series = plot.series[s];
    const char* style = series.error.empty() ? (series.joined ? "linespoints" : "points")
                                             : (series.joined ? "yerrorlines" : "yerrorbars");
    script += fmt::format("{}{} index {} with {} title {}", s ? ", " : "", quoted(name + ".dat"), s, style,
                          quoted(series.name));
  }
  return finish(dir, name, script + "\n");
}

std::string save_plot(const std::string& dir, const std::string& name, const Heatmap& plot) {
  std::string data;
  double largest = 0.0;  // the largest |value|: a diverging palette's half-range
  for (size_t r = 0; r < plot.values.size(); ++r) {
    for (size_t c = 0; c < plot.values[r].size(); ++c) {
      data += fmt::format("{} {} {:.6g}\n", c, r, plot.values[r][c]);
      if (std::isfinite(plot.values[r][c])) largest = std::max(largest, std::abs(plot.values[r][c]));
    }
    data += "\n";
  }
  write_file((std::filesystem::path(dir) / (name + ".dat")).string(), data);
  std::string script = "set terminal svg size 760,640 dynamic noenhanced font 'sans,12' background rgb 'white'\n";
  script += output_line(name);
  script += fmt::format("set title {}\nset xlabel {}\nset ylabel {}\nset cblabel {}\n", title(plot.title),
                        quoted(plot.x_label), quoted(plot.y_label), quoted(plot.value_label));
  script += fmt::format("set xtics {} rotate by 45 right\nset ytics {}\n", name_tics(plot.columns), name_tics(plot.rows));
  script += "set yrange [] reverse\n";
  if (plot.diverging) {
    const double half = largest > 0 ? largest : 1.0;
    script += fmt::format("set palette defined (-1 '#b2182b', -0.5 '#ef8a62', 0 'white', 0.5 '#67a9cf', 1 '#2166ac')\n"
                          "set cbrange [{:.6g}:{:.6g}]\n",
                          -half, half);
  } else {
    script += "set palette defined (0 'white', 1 '#4a90d9', 2 '#08306b')\n";
  }
  // `pixels`: each entry a flat cell, never interpolated between neighbours.
  script += fmt::format("plot {} using 1:2:3 with image pixels notitle, '' using 1:2:(sprintf({}, $3)) with labels "
                        "font ',12' notitle\n",
                        quoted(name + ".dat"), quoted(plot.value_format));
  return finish(dir, name, script);
}

std::string save_plot(const std::string& dir, const std::string& name, const PairedPlot& plot) {
  const size_t n = plot.categories.size();
  if (plot.a.size() != n || plot.b.size() != n) {
    throw std::invalid_argument("save_plot: " + name + ": categories, a and b differ in length");
  }
  // One row per pair: x, a, b (the line joins (x - d, a) and (x + d, b)).
  std::string data;
  for (size_t i = 0; i < n; ++i) data += fmt::format("{} {:.8g} {:.8g}\n", i, plot.a[i], plot.b[i]);
  write_file((std::filesystem::path(dir) / (name + ".dat")).string(), data);
  std::string script = categorical_script(name, plot.title, plot.x_label, plot.y_label, plot.categories);
  script += "set key below\nd = 0.12\n";
  const std::string dat = quoted(name + ".dat");
  script += fmt::format("plot {} using ($1-d):2:(2*d):($3-$2) with vectors nohead lc rgb '#aaaaaa' lw 1 notitle, "
                        "'' using ($1-d):2 with points pt 7 ps 0.8 lc rgb '#d95f02' title {}, "
                        "'' using ($1+d):3 with points pt 7 ps 0.8 lc rgb '#1b6ca8' title {}\n",
                        dat, quoted(plot.a_name), quoted(plot.b_name));
  return finish(dir, name, script);
}

std::string save_plot(const std::string& dir, const std::string& name, const DifferencePlot& plot) {
  const size_t n = plot.categories.size();
  if (plot.mean.size() != n || plot.low.size() != n || plot.high.size() != n) {
    throw std::invalid_argument("save_plot: " + name + ": categories, means and intervals differ in length");
  }
  std::string data;
  for (size_t i = 0; i < n; ++i) data += fmt::format("{} {:.8g} {:.8g} {:.8g}\n", i, plot.mean[i], plot.low[i], plot.high[i]);
  write_file((std::filesystem::path(dir) / (name + ".dat")).string(), data);
  std::string script = categorical_script(name, plot.title, plot.x_label, plot.y_label, plot.categories);
  script += "set xzeroaxis lt -1 lw 1.5\n";
  script += fmt::format("plot {} using 1:2:3:4 with yerrorbars pt 7 ps 0.9 lc rgb '#1b6ca8' title "
                        "'mean difference and its 95% interval'\n",
                        quoted(name + ".dat"));
  return finish(dir, name, script);
}

}  // namespace book
