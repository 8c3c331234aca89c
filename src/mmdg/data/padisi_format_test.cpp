#include "mmdg/data/padisi_format.h"

#include <gtest/gtest.h>

#include <limits>
#include <torch/torch.h>

#include "mmdg/io/npy.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::data {
namespace {

// The writer's channels are where the reader (and the real PADISI files) expect them.
TEST(PadisiFormat, ChannelLayout) {
  torch::manual_seed(0);
  const auto rgb = torch::rand({3, 4, 5}), depth = torch::rand({4, 5}), ir = torch::rand({1, 4, 5});
  const auto data = padisi_data(rgb, depth, ir);
  EXPECT_EQ(data.sizes().vec(), (std::vector<std::int64_t>{1, 22, 4, 5}));
  EXPECT_TRUE(torch::equal(data[0][0], rgb[2]));  // BGR
  EXPECT_TRUE(torch::equal(data[0][1], rgb[1]));
  EXPECT_TRUE(torch::equal(data[0][2], rgb[0]));
  EXPECT_TRUE(torch::equal(data[0][3], ir[0]));   // NIR
  EXPECT_TRUE(torch::equal(data[0][4], depth));   // depth
  EXPECT_EQ(data[0].slice(0, 5).abs().sum().item<float>(), 0.0f);
  const auto m = padisi_modalities(data, "x.npz");
  EXPECT_TRUE(torch::equal(m[0], rgb));
  EXPECT_TRUE(torch::equal(m[1], depth.unsqueeze(0).expand({3, -1, -1})));
  EXPECT_TRUE(torch::equal(m[2], ir.expand({3, -1, -1})));
}

TEST(PadisiFormat, WrittenFileReadsBackAsTheGoldenOneDoes) {
  test::TempDir dir;
  // the Python-written sample, rewritten through our writer, reads back the same
  const auto golden = read_padisi_npz(test::golden("padisi_deflate.npz"));
  write_padisi_npz(dir.file("s.npz"), golden[0], golden[1][0], golden[2][0]);
  const auto back = read_padisi_npz(dir.file("s.npz"));
  for (int k = 0; k < 3; ++k) EXPECT_TRUE(torch::equal(back[k], golden[k])) << k;
  const auto arrays = io::read_npz(dir.file("s.npz"));
  ASSERT_EQ(arrays.size(), 1u);
  EXPECT_TRUE(arrays.contains(padisi::kArrayName));
}

TEST(PadisiFormat, BadArraysAreNamed) {
  EXPECT_MMDG_ERROR(padisi_modalities(torch::zeros({1, 4, 2, 2}), "p.npz"), "p.npz: PADISI 'data' must have shape");
  EXPECT_MMDG_ERROR(padisi_modalities(torch::zeros({1, 22, 2, 2}, torch::kLong), "p.npz"), "must hold floats");
  // channels last, 0-255 data, NaN: named, not silently wrong inputs
  EXPECT_MMDG_ERROR(padisi_modalities(torch::zeros({1, 8, 8, 22}), "p.npz"), "(channels last? HINT: np.moveaxis(data, -1, 1))");
  EXPECT_MMDG_ERROR(padisi_modalities(torch::full({1, 22, 2, 2}, 200.0), "p.npz"), "expected [0, 1] (0-255 data? HINT: divide by 255)");
  auto nan = torch::zeros({1, 22, 2, 2});
  nan[0][padisi::kNir][1][1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_MMDG_ERROR(padisi_modalities(nan, "p.npz"), "p.npz: PADISI 'data' holds NaN or infinite values");
  // a zero-height image: named with the file (LibTorch's reduction error did not name it)
  EXPECT_MMDG_ERROR(padisi_modalities(torch::zeros({1, 22, 0, 4}), "p.npz"), "p.npz: PADISI 'data' has an empty image");
  auto unused = torch::zeros({1, 22, 2, 2});
  unused[0][10].fill_(500);  // channels MMDG does not use are not checked
  EXPECT_NO_THROW(padisi_modalities(unused, "p.npz"));
  EXPECT_MMDG_ERROR(padisi_data(torch::zeros({3, 2, 2}), torch::zeros({2, 3}), torch::zeros({2, 2})), "depth must be");
  EXPECT_MMDG_ERROR(padisi_data(torch::zeros({1, 2, 2}), torch::zeros({2, 2}), torch::zeros({2, 2})), "rgb must be");
  test::TempDir dir;
  io::StateDict other;
  other.insert("x", torch::zeros({1}));
  io::write_npz(dir.file("o.npz"), other, false);
  EXPECT_MMDG_ERROR(read_padisi_npz(dir.file("o.npz")), "without a 'data' array");
}

}  // namespace
}  // namespace mmdg::data
