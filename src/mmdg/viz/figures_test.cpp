#include "mmdg/viz/figures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "mmdg/eval/metrics.h"
#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"
#include "mmdg/viz/plot.h"

namespace mmdg::viz {
namespace {

// A pixel of the PNG is (close to) a palette colour: anti-aliased edges are not counted.
bool is_colour(const cv::Vec3b& p, unsigned rgb, int tolerance = 24) {
  const int r = (rgb >> 16) & 255, g = (rgb >> 8) & 255, b = rgb & 255;
  return std::abs(p[2] - r) <= tolerance && std::abs(p[1] - g) <= tolerance && std::abs(p[0] - b) <= tolerance;
}

TEST(Plot, CsvHoldsEveryPlottedNumber) {
  LinePanel line;
  line.title = "curves, with a comma";
  Series a{"a \"quoted\"", {0, 1}, {0.25, NAN}};
  a.y_low = {0.1, 0.2};
  a.y_high = {0.4, 0.5};
  line.series.push_back(a);
  BarPanel bars{"bars", "y", {"g1", "g2"}, {{"s", {2, NAN}, {0.5, 0}}}};
  const Figure f{{line, bars}, 2};
  EXPECT_EQ(figure_csv(f),
            "panel,series,x,y,y_low,y_high\n"
            "\"curves, with a comma\",\"a \"\"quoted\"\"\",0,0.25,0.1,0.4\n"
            "\"curves, with a comma\",\"a \"\"quoted\"\"\",1,,0.2,0.5\n"
            "bars,s,g1,2,1.5,2.5\n"
            "bars,s,g2,,,\n");
}

TEST(Plot, InconsistentDataIsRefusedNamingPanelAndSeries) {
  LinePanel line;
  line.title = "t";
  line.series.push_back({"bad", {0, 1}, {0.5}});
  EXPECT_MMDG_ERROR(validate(Figure{{line}}), "panel 1 ('t'), series 'bad': x and y have different lengths (2, 1)");
  line.series[0].y = {0.5, 0.5};
  line.series[0].y_low = {0};
  line.series[0].y_high = {1};
  EXPECT_MMDG_ERROR(validate(Figure{{line}}), "band");
  BarPanel bars{"b", "", {"g1", "g2"}, {{"s", {1}, {}}}};
  EXPECT_MMDG_ERROR(validate(Figure{{bars}}), "needs one value per group (2), has 1");
  EXPECT_MMDG_ERROR(validate(Figure{}), "no panels");
  test::TempDir dir;
  EXPECT_MMDG_ERROR(write_figure(dir.file("x.png"), Figure{{bars}}), "series 's'");
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.csv")));
}

TEST(Plot, RangesFollowTheDataWithAMargin) {
  LinePanel p;
  p.series.push_back({"s", {1, 3}, {10, 20}});
  p.series[0].y_low = {5, 15};
  p.series[0].y_high = {12, 30};
  const auto [x, y] = resolved_ranges(p);
  EXPECT_DOUBLE_EQ(x.first, 1 - 0.1);
  EXPECT_DOUBLE_EQ(x.second, 3 + 0.1);
  EXPECT_DOUBLE_EQ(y.first, 5 - 1.25);  // the band counts
  EXPECT_DOUBLE_EQ(y.second, 30 + 1.25);
  p.y_range = std::make_pair(0.0, 1.0);
  EXPECT_EQ(resolved_ranges(p).second, std::make_pair(0.0, 1.0));
}

// The PNG shows each series where the axes put it: the pixel position of a data point is
// computed from the fixed margins (to_pixel), independently of PLplot.
TEST(Plot, PngSvgPdfAndCsvWithTheDataWhereTheAxesPutIt) {
  if (!draws_images()) GTEST_SKIP() << "built without PLplot";
  test::TempDir dir;
  LinePanel line;
  line.title = "a line at 0.5 # with a hash";
  line.x_range = std::make_pair(0.0, 1.0);
  line.y_range = std::make_pair(0.0, 1.0);
  line.series.push_back({"half", {0, 1}, {0.5, 0.5}});
  BarPanel bars{"bars", "value", {"a", "b"}, {{"one", {2.0, 4.0}, {}}, {"two", {1.0, NAN}, {0.5, 0}}}};
  Figure f{{line, bars}, 2};
  f.panel_width = 400;
  f.panel_height = 300;
  const auto written = write_figure(dir.file("sub/fig.png"), f);
  ASSERT_EQ(written.size(), 4u);
  for (const auto& ext : figure_formats()) EXPECT_TRUE(std::filesystem::exists(dir.file("sub/fig" + ext))) << ext;
  EXPECT_EQ(io::read_file(dir.file("sub/fig.pdf")).substr(0, 5), "%PDF-");
  EXPECT_NE(io::read_file(dir.file("sub/fig.svg")).find("<svg"), std::string::npos);
  EXPECT_EQ(io::read_file(dir.file("sub/fig.csv")), figure_csv(f));
  for (const auto& entry : std::filesystem::directory_iterator(dir.file("sub")))  // no temporary left
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();

  const cv::Mat img = cv::imread(dir.file("sub/fig.png"), cv::IMREAD_COLOR);
  ASSERT_EQ(img.cols, 800);
  ASSERT_EQ(img.rows, 300);
  // the line: its row, across the middle of the plot area, is the first palette colour
  const auto a = to_pixel(f, 0, {0, 1}, {0, 1}, 0.2, 0.5), b = to_pixel(f, 0, {0, 1}, {0, 1}, 0.8, 0.5);
  int on_line = 0;
  for (int x = static_cast<int>(a.x); x < static_cast<int>(b.x); ++x) {
    bool hit = false;  // within a pixel of the computed row
    for (int dy = -1; dy <= 1; ++dy) hit = hit || is_colour(img.at<cv::Vec3b>(static_cast<int>(std::lround(a.y)) + dy, x), series_colour(0));
    on_line += hit ? 1 : 0;
  }
  EXPECT_GT(on_line, 0.95 * (b.x - a.x));
  // the bars: each stands on 0 and reaches its value (y axis 0 .. 1.3 x the top, 4)
  const std::pair<double, double> xr{0, 2}, yr{0, 4 * 1.3};
  const auto bar_height = [&](double x, int series) {
    const int px = static_cast<int>(std::lround(to_pixel(f, 1, xr, yr, x, 0).x));
    int n = 0;
    for (int y = 0; y < img.rows; ++y) n += is_colour(img.at<cv::Vec3b>(y, px), series_colour(series), 8) ? 1 : 0;
    return n;
  };
  const double unit = to_pixel(f, 1, xr, yr, 0, 0).y - to_pixel(f, 1, xr, yr, 0, 1).y;
  EXPECT_NEAR(bar_height(0.3, 0), 2 * unit, 3);  // group a, series one: 2 (bar 0 spans 0.1 .. 0.47)
  EXPECT_NEAR(bar_height(0.62, 1), 1 * unit, 3);  // group a, series two: 1 (off its centre: the whisker is ink)
  EXPECT_NEAR(bar_height(1.3, 0), 4 * unit, 3);  // group b, series one: 4
  EXPECT_EQ(bar_height(1.7, 1), 0);              // group b, series two: NaN, no bar
}

TEST(Figures, RocIsTheEvaluatorsCurveWithItsAuc) {
  eval::Scores some{{0.9, 0.3, 0.6, 0.1, 0.7}, {1, 1, 0, 0, 0}, {}, {}};
  const Figure f = roc_figure("test", {{"m", some}});
  const auto& panel = std::get<LinePanel>(f.panels.at(0));
  ASSERT_EQ(panel.series.size(), 2u);  // the method and the chance line
  const auto points = eval::roc(some.live_probability, some.labels);
  ASSERT_EQ(panel.series[0].x.size(), points.size());
  for (std::size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(panel.series[0].x[i], points[i].fpr);
    EXPECT_EQ(panel.series[0].y[i], points[i].tpr);
  }
  EXPECT_EQ(panel.series[0].name, "m (AUC 66.7)");  // 4 of the 6 live-spoof pairs ordered
  EXPECT_TRUE(panel.series[1].dashed);
}

TEST(Figures, BalanceFigureFromARunLog) {
  test::TempDir dir;
  test::write_bytes(dir.file("log.jsonl"),
                    "{\"type\":\"step\",\"loss\":1}\n"
                    "{\"type\":\"epoch\",\"epoch\":1,\"ssp_mean\":[1.0,0.8,0.6],\"ssp_variance\":0.03}\n"
                    "{\"type\":\"epoch\",\"epoch\":2,\"ssp_mean\":[0.7,0.6,0.5],\"ssp_variance\":0.007}\n");
  const Figure f = balance_figure(dir.file("log.jsonl"));
  ASSERT_EQ(f.panels.size(), 2u);
  const auto& top = std::get<LinePanel>(f.panels[0]);
  ASSERT_EQ(top.series.size(), 3u);
  EXPECT_EQ(top.series[1].name, "depth");
  EXPECT_EQ(top.series[1].x, (std::vector<double>{1, 2}));
  EXPECT_EQ(top.series[1].y, (std::vector<double>{0.8, 0.6}));
  EXPECT_EQ(std::get<LinePanel>(f.panels[1]).series[0].y, (std::vector<double>{0.03, 0.007}));
  test::write_bytes(dir.file("empty.jsonl"), "{\"type\":\"step\"}\n");
  EXPECT_MMDG_ERROR(balance_figure(dir.file("empty.jsonl")), "no epoch lines");
  test::write_bytes(dir.file("bad.jsonl"), "{\"type\":\"step\"}\nnot json\n");
  EXPECT_MMDG_ERROR(balance_figure(dir.file("bad.jsonl")), "bad.jsonl:2: not JSON");
}

}  // namespace
}  // namespace mmdg::viz
