#include "mmdg/data/data_check.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "mmdg/data/padisi_format.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::data {
namespace {

namespace fs = std::filesystem;

void write_image(const std::string& path, int side) {
  fs::create_directories(fs::path(path).parent_path());
  cv::imwrite(path, cv::Mat(side, side, CV_8UC1, cv::Scalar(100)));
}

// A C list of five lines: good, a missing depth file, a corrupt IR file, a 8 x 8 RGB image, good;
// a P list of a good .npz, one with values above 1, and a missing one.
class DataCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"a", "b", "c", "d", "e"})
      for (const char* m : {"rgb", "depth", "ir"}) write_image(dir.file(std::string("data/C/") + v + "/" + m + "/0.png"), 32);
    fs::remove(dir.file("data/C/b/depth/0.png"));
    test::write_bytes(dir.file("data/C/c/ir/0.png"), "not a png");
    write_image(dir.file("data/C/d/rgb/0.png"), 8);
    std::string c;
    for (const char* v : {"a", "b", "c", "d", "e"})
      c += std::string(c.empty() ? "" : "\r\n") + "C/" + v + "/rgb/0.png C/" + v + "/depth/0.png C/" + v + "/ir/0.png " +
           (std::string(v) == "a" ? "1" : "0");
    fs::create_directories(dir.file("lists"));
    test::write_bytes(dir.file("lists/C-train.txt"), c);
    const auto rgb = torch::full({3, 20, 20}, 0.5), plane = torch::full({20, 20}, 0.25);
    write_padisi_npz(dir.file("data/good.npz"), rgb, plane, plane);
    write_padisi_npz(dir.file("data/bright.npz"), rgb, plane * 8, plane);  // depth 2.0
    test::write_bytes(dir.file("lists/P-test.txt"), "good.npz\t1\nbright.npz\t0\ngone.npz\t0\n");
    options.lists_dir = dir.file("lists");
    options.data_root = dir.file("data");
  }
  test::TempDir dir;
  DataCheckOptions options;
};

TEST_F(DataCheckTest, CountsFilesByStageAndNamesEachProblemsLine) {
  const auto report = check_data(options);
  ASSERT_EQ(report.lists.size(), 2u);  // only the lists that exist (no --datasets)
  const ListCheck& c = report.lists[0];
  EXPECT_EQ(c.list, dir.file("lists/C-train.txt"));
  EXPECT_EQ(c.lines, 5u);
  EXPECT_EQ(c.live, 1u);
  EXPECT_EQ(c.spoof, 4u);
  EXPECT_EQ(c.files, 15u);
  EXPECT_EQ(c.present, 14u);
  EXPECT_EQ(c.readable, 13u);
  EXPECT_EQ(c.well_formed, 12u);
  ASSERT_EQ(c.problem_count, 3u);
  EXPECT_NE(c.problems[0].find("C-train.txt:2: C/b/depth/0.png: file not found"), std::string::npos) << c.problems[0];
  EXPECT_NE(c.problems[1].find("C-train.txt:3: "), std::string::npos) << c.problems[1];
  EXPECT_NE(c.problems[1].find("cannot decode"), std::string::npos) << c.problems[1];
  EXPECT_NE(c.problems[2].find("C-train.txt:4: C/d/rgb/0.png: image of [3, 8, 8]: expected at least 16 x 16"), std::string::npos)
      << c.problems[2];
  const ListCheck& p = report.lists[1];
  EXPECT_EQ(p.files, 3u);
  EXPECT_EQ(p.present, 2u);
  EXPECT_EQ(p.readable, 1u);  // the PADISI reader refuses values outside [0, 1]
  EXPECT_EQ(p.well_formed, 1u);
  ASSERT_EQ(p.problem_count, 2u);
  EXPECT_NE(p.problems[0].find("P-test.txt:2: "), std::string::npos) << p.problems[0];
  EXPECT_NE(p.problems[0].find("bright.npz: PADISI 'data' values lie in"), std::string::npos) << p.problems[0];
  EXPECT_NE(p.problems[1].find("P-test.txt:3: gone.npz: file not found"), std::string::npos) << p.problems[1];
  EXPECT_FALSE(report.ok());
  EXPECT_NE(report.to_text().find("problems found"), std::string::npos);
  EXPECT_EQ(report.to_json()["lists"][0]["well_formed"], 12);
}

TEST_F(DataCheckTest, EveryNthLineMaxProblemsAndNamedDatasets) {
  options.every = 2;  // lines 1, 3, 5
  options.max_problems = 0;
  auto report = check_data(options);
  EXPECT_EQ(report.lists[0].checked, 3u);
  EXPECT_EQ(report.lists[0].problem_count, 1u);  // line 3's corrupt IR
  EXPECT_TRUE(report.lists[0].problems.empty());
  options.every = 1;
  options.datasets = "CW";
  options.datasets_given = true;
  report = check_data(options);
  EXPECT_EQ(report.lists.size(), 1u);
  EXPECT_EQ(report.missing_lists.size(), 5u);  // C-val, C-test, W-train, W-val, W-test
  options.datasets = "X";
  EXPECT_MMDG_ERROR(check_data(options), "--datasets: unknown dataset 'X'");
  options.datasets = "S";
  options.datasets_given = false;
  EXPECT_MMDG_ERROR(check_data(options), "none of the lists {S}-{train,val,test}.txt");
}

TEST_F(DataCheckTest, AMalformedListIsOneProblemNamingItsLine) {
  test::write_bytes(dir.file("lists/C-train.txt"), "C/a/rgb/0.png C/a/depth/0.png 1");
  const auto report = check_data(options);
  ASSERT_EQ(report.lists[0].problem_count, 1u);
  EXPECT_NE(report.lists[0].problems[0].find("C-train.txt:1"), std::string::npos) << report.lists[0].problems[0];
}

}  // namespace
}  // namespace mmdg::data
