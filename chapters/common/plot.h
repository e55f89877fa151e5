/// \file
/// \brief Figures: data and a gnuplot script written side by side, rendered to SVG when gnuplot is there.
#pragma once

#include <string>
#include <vector>

namespace book {

/// \ingroup chapters
/// \brief One line of a line plot.
struct Series {
  std::string name;        ///< legend entry
  std::vector<double> x;   ///< abscissae
  std::vector<double> y;   ///< ordinates, as many as x
  std::vector<double> error = {};  ///< if given, an error bar of +- error[i] at each point (e.g. one std)
  bool joined = true;      ///< draw a line through the points (false: points alone, e.g. teachers of one kind)
};

/// \ingroup chapters
/// \brief A line plot: title, axis labels (with units), legend, optional log x axis.
struct LinePlot {
  std::string title;             ///< above the plot
  std::string x_label;           ///< x axis label, units included
  std::string y_label;           ///< y axis label, units included
  std::vector<Series> series;    ///< the lines
  bool log_x = false;            ///< logarithmic x axis
  std::vector<std::string> x_ticks = {};  ///< if given, names for x = 0, 1, 2, ... (e.g. class names)
};

/// \ingroup chapters
/// \brief A heatmap of a matrix with named rows and columns (e.g. a confusion matrix).
struct Heatmap {
  std::string title;                        ///< above the plot
  std::string x_label;                      ///< x axis label
  std::string y_label;                      ///< y axis label
  std::vector<std::string> rows;            ///< row tick labels
  std::vector<std::string> columns;         ///< column tick labels
  std::vector<std::vector<double>> values;  ///< values[row][column]
  std::string value_label;                  ///< what the colour means
};

/// \ingroup chapters
/// \brief Writes `DIR/NAME.dat` and `DIR/NAME.gp` and, if gnuplot is installed, renders
/// `DIR/NAME.svg`. Returns a one-line note for the reader (where the figure is, or why
/// there is no SVG); a missing gnuplot is not an error.
std::string save_plot(const std::string& dir, const std::string& name, const LinePlot& plot);

/// \ingroup chapters
/// \brief The same for a heatmap.
std::string save_plot(const std::string& dir, const std::string& name, const Heatmap& plot);

}  // namespace book
