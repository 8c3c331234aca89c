#include "mmdg/viz/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "mmdg/util/error.h"

namespace mmdg::viz {
namespace {
constexpr int kLeft = 80, kRight = 20, kTop = 40, kBottom = 55;

std::string tick_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::abs(v) >= 100 || (std::abs(v) < 0.01 && v != 0) ? "%.2g" : "%.2f", v);
  return buf;
}
}  // namespace

cv::Scalar series_colour(std::size_t i) {
  static const cv::Scalar colours[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44}, {40, 39, 214},
                                       {189, 103, 148}, {75, 86, 140}, {194, 119, 227}, {127, 127, 127}};
  return colours[i % 8];
}

cv::Point2d to_pixel(const PlotOptions& o, double x, double y) {
  const double w = o.width - kLeft - kRight, h = o.height - kTop - kBottom;
  return {kLeft + (x - o.x_min) / (o.x_max - o.x_min) * w, kTop + (o.y_max - y) / (o.y_max - o.y_min) * h};
}

cv::Mat line_plot(const std::vector<Series>& series, PlotOptions o) {
  if (o.auto_range) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (const auto& s : series) {
      for (double v : s.x) x0 = std::min(x0, v), x1 = std::max(x1, v);
      for (double v : s.y)
        if (std::isfinite(v)) y0 = std::min(y0, v), y1 = std::max(y1, v);
    }
    if (!std::isfinite(x0)) throw Error("plot '" + o.title + "': no data");
    if (x1 == x0) x1 = x0 + 1;
    if (y1 == y0) y1 = y0 + 1;
    const double pad = 0.05 * (y1 - y0);
    o.x_min = x0, o.x_max = x1, o.y_min = std::min(0.0, y0 - pad), o.y_max = y1 + pad;
  }
  cv::Mat img(o.height, o.width, CV_8UC3, cv::Scalar(255, 255, 255));
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  const cv::Scalar ink(40, 40, 40), grid(225, 225, 225);
  // grid, ticks and tick labels
  for (int k = 0; k <= 5; ++k) {
    const double x = o.x_min + (o.x_max - o.x_min) * k / 5, y = o.y_min + (o.y_max - o.y_min) * k / 5;
    const auto px = to_pixel(o, x, o.y_min), py = to_pixel(o, o.x_min, y);
    cv::line(img, cv::Point(int(px.x), kTop), cv::Point(int(px.x), o.height - kBottom), grid, 1);
    cv::line(img, cv::Point(kLeft, int(py.y)), cv::Point(o.width - kRight, int(py.y)), grid, 1);
    cv::putText(img, tick_text(x), cv::Point(int(px.x) - 14, o.height - kBottom + 18), font, 0.4, ink, 1, cv::LINE_AA);
    int baseline = 0;
    const auto size = cv::getTextSize(tick_text(y), font, 0.4, 1, &baseline);
    cv::putText(img, tick_text(y), cv::Point(kLeft - 6 - size.width, int(py.y) + 4), font, 0.4, ink, 1, cv::LINE_AA);
  }
  cv::rectangle(img, cv::Point(kLeft, kTop), cv::Point(o.width - kRight, o.height - kBottom), ink, 1);
  cv::putText(img, o.title, cv::Point(kLeft, 26), font, 0.6, ink, 1, cv::LINE_AA);
  cv::putText(img, o.x_label, cv::Point(o.width / 2 - 4 * int(o.x_label.size()), o.height - 14), font, 0.5, ink, 1, cv::LINE_AA);
  // y label, rotated
  cv::Mat label(24, std::max(10, 9 * int(o.y_label.size())), CV_8UC3, cv::Scalar(255, 255, 255));
  cv::putText(label, o.y_label, cv::Point(0, 17), font, 0.5, ink, 1, cv::LINE_AA);
  cv::Mat rotated;
  cv::rotate(label, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
  const int ly = std::max(0, (o.height - rotated.rows) / 2);
  if (ly + rotated.rows <= o.height && rotated.cols <= kLeft - 40) rotated.copyTo(img(cv::Rect(2, ly, rotated.cols, rotated.rows)));
  // series
  for (const auto& s : series) {
    if (s.x.size() != s.y.size()) throw Error("plot '" + o.title + "': series '" + s.name + "' has x and y of different lengths");
    for (std::size_t i = 1; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i - 1]) || !std::isfinite(s.y[i])) continue;
      if (s.dashed && i % 2 == 0) continue;
      const auto a = to_pixel(o, s.x[i - 1], s.y[i - 1]), b = to_pixel(o, s.x[i], s.y[i]);
      cv::line(img, cv::Point(int(std::round(a.x)), int(std::round(a.y))), cv::Point(int(std::round(b.x)), int(std::round(b.y))),
               s.colour, 2, cv::LINE_AA);
    }
    if (s.x.size() == 1) {
      const auto a = to_pixel(o, s.x[0], s.y[0]);
      cv::circle(img, cv::Point(int(a.x), int(a.y)), 3, s.colour, -1);
    }
  }
  // legend
  for (std::size_t i = 0; i < series.size(); ++i) {
    const int y = kTop + 16 + 18 * static_cast<int>(i), x = o.width - kRight - 170;
    cv::line(img, cv::Point(x, y - 4), cv::Point(x + 22, y - 4), series[i].colour, 2, cv::LINE_AA);
    cv::putText(img, series[i].name, cv::Point(x + 28, y), font, 0.45, ink, 1, cv::LINE_AA);
  }
  return img;
}

cv::Mat bar_chart(const BarChart& chart) {
  double top = 0;
  for (const auto& s : chart.series) {
    if (s.values.size() != chart.groups.size() || (!s.errors.empty() && s.errors.size() != chart.groups.size()))
      throw Error("bar chart '" + chart.title + "': series '" + s.name + "' needs one value (and error) per group");
    for (std::size_t g = 0; g < s.values.size(); ++g)
      if (std::isfinite(s.values[g])) top = std::max(top, s.values[g] + (s.errors.empty() ? 0.0 : s.errors[g]));
  }
  PlotOptions o;
  o.title = chart.title;
  o.width = chart.width;
  o.height = chart.height;
  o.x_min = 0, o.x_max = static_cast<double>(std::max<std::size_t>(1, chart.groups.size()));
  o.y_min = 0, o.y_max = top > 0 ? top * 1.15 : 1;
  cv::Mat img(o.height, o.width, CV_8UC3, cv::Scalar(255, 255, 255));
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  const cv::Scalar ink(40, 40, 40), grid(225, 225, 225);
  for (int k = 0; k <= 5; ++k) {  // horizontal grid and y ticks
    const double y = o.y_min + (o.y_max - o.y_min) * k / 5;
    const auto p = to_pixel(o, o.x_min, y);
    cv::line(img, cv::Point(kLeft, int(p.y)), cv::Point(o.width - kRight, int(p.y)), grid, 1);
    int baseline = 0;
    const auto size = cv::getTextSize(tick_text(y), font, 0.4, 1, &baseline);
    cv::putText(img, tick_text(y), cv::Point(kLeft - 6 - size.width, int(p.y) + 4), font, 0.4, ink, 1, cv::LINE_AA);
  }
  cv::rectangle(img, cv::Point(kLeft, kTop), cv::Point(o.width - kRight, o.height - kBottom), ink, 1);
  cv::putText(img, o.title, cv::Point(kLeft, 26), font, 0.5, ink, 1, cv::LINE_AA);
  const double n = static_cast<double>(std::max<std::size_t>(1, chart.series.size()));
  for (std::size_t g = 0; g < chart.groups.size(); ++g) {
    const auto centre = to_pixel(o, static_cast<double>(g) + 0.5, 0);
    int baseline = 0;
    const auto size = cv::getTextSize(chart.groups[g], font, 0.4, 1, &baseline);
    cv::putText(img, chart.groups[g], cv::Point(int(centre.x) - size.width / 2, o.height - kBottom + 18), font, 0.4, ink, 1,
                cv::LINE_AA);
    for (std::size_t s = 0; s < chart.series.size(); ++s) {
      const double v = chart.series[s].values[g];
      if (!std::isfinite(v)) continue;
      const double x0 = static_cast<double>(g) + 0.1 + 0.8 * static_cast<double>(s) / n, x1 = x0 + 0.8 / n;
      const auto a = to_pixel(o, x0, v), b = to_pixel(o, x1, 0);
      cv::rectangle(img, cv::Point(int(a.x) + 1, int(a.y)), cv::Point(int(b.x) - 1, int(b.y)), series_colour(s), cv::FILLED);
      const double e = chart.series[s].errors.empty() ? 0.0 : chart.series[s].errors[g];
      if (e > 0) {
        const double xm = (x0 + x1) / 2;
        const auto lo = to_pixel(o, xm, std::max(0.0, v - e)), hi = to_pixel(o, xm, v + e);
        cv::line(img, cv::Point(int(lo.x), int(lo.y)), cv::Point(int(hi.x), int(hi.y)), ink, 1, cv::LINE_AA);
        cv::line(img, cv::Point(int(hi.x) - 4, int(hi.y)), cv::Point(int(hi.x) + 4, int(hi.y)), ink, 1, cv::LINE_AA);
        cv::line(img, cv::Point(int(lo.x) - 4, int(lo.y)), cv::Point(int(lo.x) + 4, int(lo.y)), ink, 1, cv::LINE_AA);
      }
    }
  }
  for (std::size_t s = 0; s < chart.series.size(); ++s) {  // legend
    const int y = kTop + 16 + 18 * static_cast<int>(s), x = o.width - kRight - 170;
    cv::rectangle(img, cv::Point(x, y - 10), cv::Point(x + 22, y), series_colour(s), cv::FILLED);
    cv::putText(img, chart.series[s].name, cv::Point(x + 28, y), font, 0.45, ink, 1, cv::LINE_AA);
  }
  return img;
}

}  // namespace mmdg::viz
