#include "chapters/common/plot.h"

#include "chapters/common/report.h"
#include "nn/files.h"

#include <fmt/core.h>

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
  script += fmt::format("set title {}\nset xlabel {}\nset ylabel {}\n", quoted(plot.title), quoted(plot.x_label),
                        quoted(plot.y_label));
  script += "set grid\nset key below\n";
  if (plot.log_x) script += "set logscale x\n";
  if (!plot.x_ticks.empty()) {
    script += "set xtics (";
    for (size_t i = 0; i < plot.x_ticks.size(); ++i) script += fmt::format("{}{} {}", i ? ", " : "", quoted(plot.x_ticks[i]), i);
    script += ") rotate by 30 right\n";
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
  for (size_t r = 0; r < plot.values.size(); ++r) {
    for (size_t c = 0; c < plot.values[r].size(); ++c) data += fmt::format("{} {} {:.6g}\n", c, r, plot.values[r][c]);
    data += "\n";
  }
  write_file((std::filesystem::path(dir) / (name + ".dat")).string(), data);
  std::string script = "set terminal svg size 760,640 dynamic noenhanced font 'sans,11' background rgb 'white'\n";
  script += output_line(name);
  script += fmt::format("set title {}\nset xlabel {}\nset ylabel {}\nset cblabel {}\n", quoted(plot.title),
                        quoted(plot.x_label), quoted(plot.y_label), quoted(plot.value_label));
  const auto tics = [&](const std::vector<std::string>& names) {
    std::string t = "(";
    for (size_t i = 0; i < names.size(); ++i) t += fmt::format("{}{} {}", i ? ", " : "", quoted(names[i]), i);
    return t + ")";
  };
  script += fmt::format("set xtics {} rotate by 45 right\nset ytics {}\n", tics(plot.columns), tics(plot.rows));
  script += "set yrange [] reverse\nset palette defined (0 'white', 1 '#4a90d9', 2 '#08306b')\n";
  script += fmt::format("plot {} using 1:2:3 with image notitle, '' using 1:2:(sprintf('%.2g', $3)) with labels "
                        "font ',8' notitle\n",
                        quoted(name + ".dat"));
  return finish(dir, name, script);
}

}  // namespace book
