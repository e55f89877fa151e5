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
/// \brief A heatmap of a matrix with named rows and columns (e.g. a confusion matrix): one
/// flat cell per entry, its value printed in it.
struct Heatmap {
  std::string title;                        ///< above the plot
  std::string x_label;                      ///< x axis label
  std::string y_label;                      ///< y axis label
  std::vector<std::string> rows;            ///< row tick labels
  std::vector<std::string> columns;         ///< column tick labels
  std::vector<std::vector<double>> values;  ///< values[row][column]
  std::string value_label;                  ///< what the colour means
  /// \brief Signed values (e.g. gains): a diverging palette, red below 0, white at 0, blue
  /// above, symmetric about 0, so that 0 is neutral. Otherwise white to blue from the smallest.
  bool diverging = false;
  std::string value_format = "%.2g";        ///< how each cell's value is printed (gnuplot's sprintf)
};

/// \ingroup chapters
/// \brief Two measurements of the same seeds side by side (e.g. the hard and the soft student
/// of each seed): the seeds as categories, each seed's pair of dots joined by a thin line.
struct PairedPlot {
  std::string title;                     ///< above the plot: the finding, e.g. "soft beats hard on 7 of 8 seeds"
  std::string x_label;                   ///< what the categories are, e.g. "comparison seed"
  std::string y_label;                   ///< y axis label, units included
  std::vector<std::string> categories;   ///< one per pair, e.g. "7"
  std::string a_name;                    ///< legend entry of the first of each pair
  std::vector<double> a;                 ///< as many as categories
  std::string b_name;                    ///< legend entry of the second
  std::vector<double> b;                 ///< as many as categories
};

/// \ingroup chapters
/// \brief Paired differences, each a dot with its 95% interval, against a line at 0 (e.g. the
/// soft - hard gain on each fifth of the test set).
struct DifferencePlot {
  std::string title;                    ///< above the plot: the finding
  std::string x_label;                  ///< what the categories are
  std::string y_label;                  ///< the difference, units included
  std::vector<std::string> categories;  ///< one per difference
  std::vector<double> mean;             ///< the differences
  std::vector<double> low;              ///< their intervals' lower ends
  std::vector<double> high;             ///< and upper ends
};

/// \ingroup chapters
/// \brief Writes `DIR/NAME.dat` and `DIR/NAME.gp` and, if gnuplot is installed, renders
/// `DIR/NAME.svg`. Returns a one-line note for the reader (where the figure is, or why
/// there is no SVG); a missing gnuplot is not an error.
std::string save_plot(const std::string& dir, const std::string& name, const LinePlot& plot);

/// \ingroup chapters
/// \brief The same for a heatmap.
std::string save_plot(const std::string& dir, const std::string& name, const Heatmap& plot);

/// \ingroup chapters
/// \brief The same for paired measurements. \throws std::invalid_argument when the lengths differ.
std::string save_plot(const std::string& dir, const std::string& name, const PairedPlot& plot);

/// \ingroup chapters
/// \brief The same for differences with intervals. \throws std::invalid_argument when the lengths differ.
std::string save_plot(const std::string& dir, const std::string& name, const DifferencePlot& plot);

}  // namespace book
