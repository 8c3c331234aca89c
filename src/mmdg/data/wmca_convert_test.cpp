#include "mmdg/data/wmca_convert.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "mmdg/data/data_check.h"
#include "mmdg/data/image.h"
#include "mmdg/data/list_file.h"
#include "mmdg/io/hdf5_file.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::data {
namespace {

namespace fs = std::filesystem;

// The fixture's pixel rule (tests/fixtures/make_wmca_hdf5.py) for one channel, in [0, 1].
at::Tensor fixture_plane(int channel, int frame, int offset) {
  const auto y = torch::arange(32, torch::kFloat).view({32, 1}), x = torch::arange(32, torch::kFloat).view({1, 32});
  return (40 * channel + offset + y + x + 2 * frame) / 255;
}

TEST(WmcaPath, ParsesTheListsPathsOnly) {
  const auto r = parse_wmca_path("WMCA-Image/R_CDIT/001_01_000_0_00/depth/0012.jpg");
  EXPECT_EQ(r.video, "001_01_000_0_00");
  EXPECT_EQ(r.modality, "depth");
  EXPECT_EQ(r.frame, "0012");
  for (const char* bad : {"WMCA-Image/R_CDIT/v/thermal/0012.jpg", "WMCA-Image/R_CDIT/v/ir/12a.jpg", "WMCA-Image/R_CDIT/v/ir/0012.png",
                          "CeFA/x/profile/0026.jpg", "WMCA-Image/R_CDIT/v/x/ir/0012.jpg", "WMCA-Image/R_CDIT//ir/0012.jpg"})
    EXPECT_TRUE(parse_wmca_path(bad).video.empty()) << bad;
}

TEST(WmcaConvert, WritesTheFramesTheListsNameFromBothStations) {
  if (!io::hdf5_available()) GTEST_SKIP() << "built without libhdf5";
  test::TempDir dir;
  MMDG_RUN_FIXTURE_SCRIPT("make_wmca_hdf5.py", dir.file(""));
  WmcaConvertOptions o;
  o.wmca_root = dir.file("wmca");
  o.lists_dir = dir.file("lists");
  o.data_root = dir.file("data");
  o.quality = 100;
  const auto r = convert_wmca(o);
  EXPECT_EQ(r.lists.size(), 2u);  // W-val.txt is absent: skipped
  EXPECT_EQ(r.videos, 2u);
  EXPECT_EQ(r.frames, 5u);
  EXPECT_EQ(r.written, 5u);
  EXPECT_EQ(r.problem_count, 0u);
  // every file of both lists decodes to the station channel it comes from (JPEG: within a few levels)
  for (const char* list : {"W-train.txt", "W-test.txt"})
    for (const auto& e : read_list(dir.file(std::string("lists/") + list)).entries) {
      const int frame = std::stoi(parse_wmca_path(e.rgb).frame);
      const auto colour = read_image(dir.file("data/" + e.rgb)), depth = read_image(dir.file("data/" + e.depth)),
                 ir = read_image(dir.file("data/" + e.ir));
      for (int c = 0; c < 3; ++c) {  // RGB station, channel c -> colour channel c (RGB order)
        EXPECT_LT((colour[c] - fixture_plane(c, frame, 0)).abs().mean().item<float>(), 2.5 / 255) << e.rgb << " channel " << c;
        EXPECT_LT((depth[c] - fixture_plane(1, frame, 8)).abs().max().item<float>(), 4.0 / 255) << e.depth;  // CDIT 1
        EXPECT_LT((ir[c] - fixture_plane(2, frame, 8)).abs().max().item<float>(), 4.0 / 255) << e.ir;        // CDIT 2
      }
    }
  EXPECT_FALSE(fs::exists(dir.file("data/WMCA-Image/R_CDIT/001_01_000_0_00/color/0048.jpg")));  // not in a list
  // the lists now check clean
  DataCheckOptions check;
  check.lists_dir = o.lists_dir;
  check.data_root = o.data_root;
  EXPECT_TRUE(check_data(check).ok()) << check_data(check).to_text();
  // a second run keeps what is there; --overwrite writes again
  const auto again = convert_wmca(o);
  EXPECT_EQ(again.written, 0u);
  EXPECT_EQ(again.kept, 5u);
  o.overwrite = true;
  EXPECT_EQ(convert_wmca(o).written, 5u);
}

TEST(WmcaConvert, MissingVideosFramesAndForeignLinesAreProblemsByLine) {
  if (!io::hdf5_available()) GTEST_SKIP() << "built without libhdf5";
  test::TempDir dir;
  MMDG_RUN_FIXTURE_SCRIPT("make_wmca_hdf5.py", dir.file(""));
  fs::remove(dir.file("wmca/preprocessed-face-station_CDIT/19.03.18/002_01_050_2_13.hdf5"));
  test::write_bytes(dir.file("lists/W-val.txt"),
                    "WMCA-Image/R_CDIT/001_01_000_0_00/color/0099.jpg WMCA-Image/R_CDIT/001_01_000_0_00/depth/0099.jpg "
                    "WMCA-Image/R_CDIT/001_01_000_0_00/ir/0099.jpg 1\r\n"
                    "CeFA/a/profile/0001.jpg CeFA/a/depth/0001.jpg CeFA/a/ir/0001.jpg 1");
  WmcaConvertOptions o;
  o.wmca_root = dir.file("wmca");
  o.lists_dir = dir.file("lists");
  o.data_root = dir.file("data");
  const auto r = convert_wmca(o);
  EXPECT_EQ(r.written, 2u);        // video 001's frames 12 and 24
  EXPECT_EQ(r.problem_count, 5u);  // 3 frames of video 002 (no CDIT file), frame 99, the CeFA line
  const auto has = [&](const std::string& fragment) {
    for (const auto& p : r.problems)
      if (p.find(fragment) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has("W-val.txt:2: not a WMCA line"));
  EXPECT_TRUE(has("W-val.txt:1: ") && has("Frame_99/array: no such dataset"));
  EXPECT_TRUE(has("W-train.txt:3: video 002_01_050_2_13: no preprocessed-face-station_CDIT/<date>/002_01_050_2_13.hdf5"));
  o.lists_dir = dir.file("nothing");
  EXPECT_MMDG_ERROR(convert_wmca(o), "no W-train.txt");
  o.lists_dir = dir.file("lists");
  o.wmca_root = dir.file("lists");
  EXPECT_MMDG_ERROR(convert_wmca(o), "preprocessed-face-station_RGB: not a folder");
}

}  // namespace
}  // namespace mmdg::data
