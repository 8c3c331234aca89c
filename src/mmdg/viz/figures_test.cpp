#include "mmdg/viz/figures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"
#include "mmdg/viz/plot.h"

namespace mmdg::viz {
namespace {

int count_colour(const cv::Mat& img, const cv::Scalar& c) {
  int n = 0;
  for (int y = 0; y < img.rows; ++y)
    for (int x = 0; x < img.cols; ++x) {
      const auto p = img.at<cv::Vec3b>(y, x);
      n += (p[0] == c[0] && p[1] == c[1] && p[2] == c[2]) ? 1 : 0;
    }
  return n;
}

// Bars stand on 0 and reach their value: a bar's colour spans the pixel rows from to_pixel(v) to
// to_pixel(0) at the bar's centre; NaN draws nothing.
TEST(Plot, BarChartDrawsEachValue) {
  BarChart chart{"bars", {"a", "b"}, {{"one", {2.0, 4.0}, {}}, {"two", {1.0, NAN}, {0.5, 0}}}, 400, 300};
  const auto img = bar_chart(chart);
  PlotOptions o;  // the chart's axes: x over the groups, y from 0 to 1.15 x the top (4)
  o.width = 400, o.height = 300, o.x_min = 0, o.x_max = 2, o.y_min = 0, o.y_max = 4 * 1.15;
  const auto column = [&](double x) {  // rows of series colours in one pixel column
    std::map<int, int> rows;           // series -> count
    const int px = static_cast<int>(std::round(to_pixel(o, x, 0).x));
    for (int y = 0; y < img.rows; ++y) {
      const auto p = img.at<cv::Vec3b>(y, px);
      for (int s = 0; s < 2; ++s) {
        const auto c = series_colour(static_cast<std::size_t>(s));
        if (p[0] == c[0] && p[1] == c[1] && p[2] == c[2]) ++rows[s];
      }
    }
    return rows;
  };
  const double h = to_pixel(o, 0, 0).y - to_pixel(o, 0, 1).y;  // pixels per unit
  EXPECT_NEAR(column(0.3)[0], 2 * h, 2);   // group a, series one: 2
  EXPECT_NEAR(column(0.6)[1], 1 * h, 2);   // group a, series two: 1 (off its centre: the whisker is ink)
  EXPECT_NEAR(column(1.3)[0], 4 * h, 2);   // group b, series one: 4
  EXPECT_EQ(column(1.7)[1], 0);            // group b, series two: NaN, no bar
  chart.series[0].values.pop_back();
  EXPECT_MMDG_ERROR(bar_chart(chart), "one value");
}

TEST(Plot, DataMapsIntoThePlotArea) {
  PlotOptions o;
  const auto bottom_left = to_pixel(o, 0, 0), top_right = to_pixel(o, 1, 1);
  EXPECT_DOUBLE_EQ(bottom_left.x, 80);
  EXPECT_DOUBLE_EQ(bottom_left.y, 480 - 55);
  EXPECT_DOUBLE_EQ(top_right.x, 640 - 20);
  EXPECT_DOUBLE_EQ(top_right.y, 40);
  // a horizontal series at y = 0.5 paints its colour on that row
  const cv::Scalar red(0, 0, 255);
  const auto img = line_plot({{"half", {0, 1}, {0.5, 0.5}, red}}, o);
  const int row = static_cast<int>(std::round(to_pixel(o, 0.5, 0.5).y));
  int on_row = 0;
  for (int x = 100; x < 500; ++x) {
    const auto p = img.at<cv::Vec3b>(row, x);
    on_row += (p[2] > 200 && p[0] < 60) ? 1 : 0;
  }
  EXPECT_GT(on_row, 390);
  EXPECT_MMDG_ERROR(line_plot({{"bad", {0, 1}, {0.5}, red}}, o), "different lengths");
}

TEST(Figures, RocOfAPerfectAndAChanceMethod) {
  eval::Scores perfect{{0.9, 0.8, 0.2, 0.1}, {1, 1, 0, 0}, {}, {}}, reversed{{0.1, 0.2, 0.8, 0.9}, {1, 1, 0, 0}, {}, {}};
  const auto img = roc_figure("test", {{"perfect", perfect}, {"reversed", reversed}});
  EXPECT_EQ(img.cols, 640);
  EXPECT_GT(count_colour(img, series_colour(0)), 300);
  EXPECT_GT(count_colour(img, series_colour(1)), 300);
}

TEST(Figures, BalanceFigureFromARunLog) {
  test::TempDir dir;
  test::write_bytes(dir.file("log.jsonl"),
                    "{\"type\":\"step\",\"loss\":1}\n"
                    "{\"type\":\"epoch\",\"epoch\":1,\"ssp_mean\":[1.0,0.8,0.6],\"ssp_variance\":0.03}\n"
                    "{\"type\":\"epoch\",\"epoch\":2,\"ssp_mean\":[0.7,0.6,0.5],\"ssp_variance\":0.007}\n");
  const auto img = balance_figure(dir.file("log.jsonl"));
  EXPECT_EQ(img.rows, 720);
  EXPECT_GT(count_colour(img, series_colour(2)), 50);
  test::write_bytes(dir.file("empty.jsonl"), "{\"type\":\"step\"}\n");
  EXPECT_MMDG_ERROR(balance_figure(dir.file("empty.jsonl")), "no epoch lines");
  test::write_bytes(dir.file("bad.jsonl"), "{\"type\":\"step\"}\nnot json\n");
  EXPECT_MMDG_ERROR(balance_figure(dir.file("bad.jsonl")), "bad.jsonl:2: not JSON");
}

}  // namespace
}  // namespace mmdg::viz
