// Figures: the gnuplot script a line plot writes, series by series.
#include "chapters/common/plot.h"

#include "tests/temp_dir.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_SUITE("chapters/plot") {
TEST_CASE("a series is a line through its points unless it says otherwise, with error bars when it has errors") {
  testing::TempDir dir("plot");
  book::LinePlot plot{"title", "x", "y", {}};
  plot.series.push_back({"line", {1, 2}, {3, 4}});
  plot.series.push_back({"line with errors", {1, 2}, {3, 4}, {0.1, 0.2}});
  plot.series.push_back({"points", {1, 2}, {3, 4}, {}, false});
  plot.series.push_back({"points with errors", {1}, {3}, {0.1}, false});
  book::save_plot(dir.path().string(), "figure", plot);
  const std::string script = read(dir.file("figure.gp"));
  CHECK(script.find("index 0 with linespoints title \"line\"") != std::string::npos);
  CHECK(script.find("index 1 with yerrorlines title \"line with errors\"") != std::string::npos);
  CHECK(script.find("index 2 with points title \"points\"") != std::string::npos);
  CHECK(script.find("index 3 with yerrorbars title \"points with errors\"") != std::string::npos);
}
}
