// Figures for papers and reports, drawn with PLplot (Debian's libplplot-dev, Cairo driver): line
// plots with optional confidence bands and grouped bar charts with whiskers, in panels on one
// page, with round tick values and legends. One call writes the figure as PNG, SVG and PDF and its
// numbers as CSV, each atomically. Used for ROC curves, the modality-balance figure (Fig. 6) and
// the Fig. 5 bars.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace mmdg::viz {

// One curve. NaN values in y break the line (nothing is drawn through them).
struct Series {
  Series() = default;
  Series(std::string name_, std::vector<double> x_, std::vector<double> y_)
      : name(std::move(name_)), x(std::move(x_)), y(std::move(y_)) {}
  std::string name;
  std::vector<double> x, y;
  std::vector<double> y_low, y_high;  // optional band (e.g. a 95 % CI), empty or as long as x
  int colour = -1;                    // palette index (series_colour); -1: the series' position
  bool dashed = false;
  bool markers = false;
};

enum class LegendAt { top_right, bottom_right, top_left, bottom_left, none };

struct LinePanel {
  std::string title, x_label, y_label;
  std::optional<std::pair<double, double>> x_range, y_range;  // default: the data's, with a margin
  std::vector<Series> series;
  LegendAt legend = LegendAt::top_right;
};

// Grouped bars: one group per category on the x axis, one bar per series in each group, standing
// on 0; optional whiskers of +- error.
struct BarSeries {
  std::string name;
  std::vector<double> values;  // per group; NaN: no bar (not measured)
  std::vector<double> errors;  // per group, the whisker's half-length; empty or 0: none
};
struct BarPanel {
  std::string title, y_label;
  std::vector<std::string> groups;
  std::vector<BarSeries> series;
};

using Panel = std::variant<LinePanel, BarPanel>;

struct Figure {
  Figure() = default;
  explicit Figure(std::vector<Panel> panels_, int columns_ = 1) : panels(std::move(panels_)), columns(columns_) {}
  std::vector<Panel> panels;
  int columns = 1;                         // panels fill rows of this many, left to right
  int panel_width = 640, panel_height = 480;  // one panel's size in PNG pixels (points in SVG / PDF)
};

// The formats write_figure writes, by extension.
inline const std::vector<std::string>& figure_formats() {
  static const std::vector<std::string> formats{".png", ".svg", ".pdf", ".csv"};
  return formats;
}

// Writes `stem`.png / .svg / .pdf and `stem`.csv, where stem is `path` without a trailing
// .png / .svg / .pdf / .csv. Parent folders are created; each file is written atomically. Returns
// the paths written. Errors (inconsistent data, a file that cannot be written) name the figure or
// the file. Without PLplot in the build only the CSV is written (with a warning).
std::vector<std::string> write_figure(const std::string& path, const Figure& figure);

// Whether this build draws PNG / SVG / PDF (PLplot was found) or writes only the CSV.
bool draws_images();

// The figure's numbers as CSV: panel,series,x,y,y_low,y_high (one row per point; for bars x is
// the group and y_low / y_high the whisker's ends, empty when there is none).
std::string figure_csv(const Figure& figure);

// Checks lengths (x against y, bands, bars against groups); throws naming the panel and series.
void validate(const Figure& figure);

// The palette (Tableau 10), as 0xRRGGBB; index modulo its size.
unsigned series_colour(int index);

// Where a data point of a line panel falls on the PNG: the panel's plot area is fixed by margins
// (kept here so that tests can compute pixel positions independently). The page is
// columns x rows panels of panel_width x panel_height; `ranges` are the panel's resolved axis
// ranges (resolved_ranges).
struct PixelPoint {
  double x, y;
};
PixelPoint to_pixel(const Figure& figure, int panel, const std::pair<double, double>& x_range,
                    const std::pair<double, double>& y_range, double x, double y);
// The axis ranges a line panel is drawn with (its own, or the data's with a 5 % margin).
std::pair<std::pair<double, double>, std::pair<double, double>> resolved_ranges(const LinePanel& panel);

}  // namespace mmdg::viz
