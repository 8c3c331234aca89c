#include "mmdg/viz/figures.h"

#include <gtest/gtest.h>

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
  eval::Scores perfect{{0.9, 0.8, 0.2, 0.1}, {1, 1, 0, 0}, {}}, reversed{{0.1, 0.2, 0.8, 0.9}, {1, 1, 0, 0}, {}};
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
