// Small line plots as PNG, drawn with OpenCV (no Python needed): axes with ticks and labels, a
// title, a legend, several series. Used for ROC curves and the modality-balance figure.
#pragma once
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace mmdg::viz {

struct Series {
  std::string name;
  std::vector<double> x, y;
  cv::Scalar colour{0, 0, 0};  // BGR
  bool dashed = false;
};

struct PlotOptions {
  std::string title, x_label, y_label;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;  // set automatically when x_min == x_max etc.
  int width = 640, height = 480;
  bool auto_range = false;
};

// The plot area's pixel coordinates of a data point.
cv::Point2d to_pixel(const PlotOptions& options, double x, double y);

cv::Mat line_plot(const std::vector<Series>& series, PlotOptions options);

// Grouped bars (Fig. 5): one group of bars per category, one bar per series in each group, with
// optional error whiskers; the y axis starts at 0 and ends above the highest bar.
struct BarSeries {
  std::string name;
  std::vector<double> values;  // per group; NaN: no bar (not measured yet)
  std::vector<double> errors;  // per group, half-length of the whisker; empty or 0: none
};
struct BarChart {
  std::string title;
  std::vector<std::string> groups;
  std::vector<BarSeries> series;
  int width = 640, height = 420;
};
cv::Mat bar_chart(const BarChart& chart);

// A distinct colour per series index (BGR).
cv::Scalar series_colour(std::size_t index);

}  // namespace mmdg::viz
