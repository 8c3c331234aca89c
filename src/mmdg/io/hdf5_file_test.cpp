#include "mmdg/io/hdf5_file.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::io {
namespace {

// The fixture's pixel rule (tests/fixtures/make_wmca_hdf5.py): 40 c + offset + y + x + 2 i.
at::Tensor expected_frame(int channels, int frame, int offset) {
  const auto y = torch::arange(32, torch::kInt64).view({1, 32, 1}), x = torch::arange(32, torch::kInt64).view({1, 1, 32});
  const auto c = torch::arange(channels, torch::kInt64).view({channels, 1, 1});
  return (40 * c + offset + y + x + 2 * frame).remainder(256).to(torch::kUInt8);
}

class Hdf5FileTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  std::string rgb() const { return dir.file("wmca/preprocessed-face-station_RGB/12.02.18/001_01_000_0_00.hdf5"); }
  std::string cdit() const { return dir.file("wmca/preprocessed-face-station_CDIT/12.02.18/001_01_000_0_00.hdf5"); }
};

TEST_F(Hdf5FileTest, ReadsTheArraysH5pyWrote) {
  if (!hdf5_available()) GTEST_SKIP() << "built without libhdf5";
  MMDG_RUN_FIXTURE_SCRIPT("make_wmca_hdf5.py", dir.file(""));
  const Hdf5File f(rgb());
  EXPECT_EQ(f.members(), (std::vector<std::string>{"Frame_12", "Frame_24", "Frame_48"}));
  EXPECT_EQ(f.members("Frame_12"), (std::vector<std::string>{"array"}));
  EXPECT_TRUE(f.has_dataset("Frame_24/array"));
  EXPECT_FALSE(f.has_dataset("Frame_24"));  // a group
  EXPECT_FALSE(f.has_dataset("Frame_25/array"));
  EXPECT_TRUE(torch::equal(f.read_uint8("Frame_24/array"), expected_frame(3, 24, 0)));
  EXPECT_TRUE(torch::equal(Hdf5File(cdit()).read_uint8("/Frame_12/array"), expected_frame(4, 12, 8)));
  // the same file from memory
  const Hdf5File m = Hdf5File::from_bytes(read_file(rgb()), "memory.hdf5");
  EXPECT_TRUE(torch::equal(m.read_uint8("Frame_12/array"), expected_frame(3, 12, 0)));
}

TEST_F(Hdf5FileTest, ErrorsNameTheFileAndTheObject) {
  if (!hdf5_available()) GTEST_SKIP() << "built without libhdf5";
  MMDG_RUN_FIXTURE_SCRIPT("make_wmca_hdf5.py", dir.file(""));
  EXPECT_MMDG_ERROR(Hdf5File(dir.file("none.hdf5")), "none.hdf5: file not found");
  test::write_bytes(dir.file("text.hdf5"), "not an HDF5 file at all");
  EXPECT_MMDG_ERROR(Hdf5File(dir.file("text.hdf5")), "text.hdf5: not an HDF5 file");
  EXPECT_MMDG_ERROR(Hdf5File::from_bytes("short", "mem.h5"), "mem.h5: not an HDF5 file");
  EXPECT_MMDG_ERROR(Hdf5File::from_bytes(std::string(4096, 'x'), "mem.h5"), "mem.h5: cannot open");
  const Hdf5File f(rgb());
  EXPECT_MMDG_ERROR(f.read_uint8("Frame_99/array"), "001_01_000_0_00.hdf5: Frame_99/array: no such dataset");
  EXPECT_MMDG_ERROR(f.read_uint8("Frame_12/array", 100), "Frame_12/array: more than 100 values");
  EXPECT_MMDG_ERROR(f.members("Frame_99"), "Frame_99: not a group");
  // a truncated file: the header is there, the data is not
  const std::string bytes = read_file(rgb());
  test::write_bytes(dir.file("cut.hdf5"), bytes.substr(0, bytes.size() / 3));
  try {
    const Hdf5File cut(dir.file("cut.hdf5"));
    for (const auto& frame : cut.members()) cut.read_uint8(frame + "/array");
    ADD_FAILURE() << "a truncated file read whole";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.hdf5"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mmdg::io
