#include "mmdg/io/torch_checkpoint.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mmdg/io/file_util.h"
#include "mmdg/io/weights_file.h"
#include "mmdg/io/zip_archive.h"
#include "mmdg/io/zip_writer.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::io {
namespace {

using test::expected;
using test::golden;

// Compares every tensor of `file` against expected.json: dtype, shape, sum and (small) values.
void expect_matches_golden(const std::string& file, const StateDict& tensors) {
  const auto& want = expected()["files"][file];
  ASSERT_EQ(tensors.size(), want.size()) << file;
  for (const auto& [name, info] : want.items()) {
    SCOPED_TRACE(file + ": " + name);
    const at::Tensor* t = tensors.find(name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(dtype_name(t->scalar_type()), info["dtype"].get<std::string>());
    EXPECT_EQ(t->sizes().vec(), info["shape"].get<std::vector<std::int64_t>>());
    const at::Tensor d = t->to(torch::kDouble);
    EXPECT_DOUBLE_EQ(d.sum().item<double>(), info["sum"].get<double>());
    if (info.contains("values")) {
      const auto values = info["values"].get<std::vector<double>>();
      const at::Tensor flat = d.contiguous().view(-1);
      ASSERT_EQ(flat.numel(), static_cast<std::int64_t>(values.size()));
      for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(flat[i].item<double>(), values[i]) << "index " << i;
    }
  }
}

TEST(TorchCheckpoint, ReadsTorchvisionStateDict) {
  const auto sd = read_torch_checkpoint(golden("vit_tiny_torchvision.pth"));
  expect_matches_golden("vit_tiny_torchvision.pth", sd);
  // file order is kept
  EXPECT_EQ(sd.keys().front(), "class_token");
}

TEST(TorchCheckpoint, ReadsHalfBFloat16IntegerBoolAndParameters) {
  expect_matches_golden("dtypes.pth", read_torch_checkpoint(golden("dtypes.pth")));
}

TEST(TorchCheckpoint, SharedStoragesOffsetsAndStrides) {
  std::vector<std::string> skipped;
  const auto sd = read_torch_checkpoint(golden("shared_storage.pth"), &skipped);
  expect_matches_golden("shared_storage.pth", sd);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0], "epoch (int)");
  // the views alias the base storage, as in Python
  const auto& base = sd["model.base"];
  EXPECT_TRUE(sd["model.row"].is_alias_of(base));
  EXPECT_TRUE(sd["model.transposed"].is_alias_of(base));
  EXPECT_EQ(sd["model.block"].storage_offset(), 8);
  EXPECT_EQ(sd["model.every_other"].strides().vec(), (std::vector<std::int64_t>{6, 2}));
}

TEST(TorchCheckpoint, RefusesForbiddenGlobals) {
  std::remove("/tmp/mmdg_pickle_exploit");
  EXPECT_MMDG_ERROR(read_torch_checkpoint(golden("forbidden_global.pth")), "refusing to load");
  EXPECT_MMDG_ERROR(read_torch_checkpoint(golden("forbidden_global.pth")), "posix.system");
  EXPECT_FALSE(std::ifstream("/tmp/mmdg_pickle_exploit").good());
}

TEST(TorchCheckpoint, LegacyFormatGetsAClearError) {
  EXPECT_MMDG_ERROR(read_weights(golden("legacy_format.pth")), "legacy");
  EXPECT_MMDG_ERROR(read_weights(golden("legacy_format.pth")), "re-save");
}

TEST(TorchCheckpoint, MissingFileNamesThePath) {
  EXPECT_MMDG_ERROR(read_weights("/nonexistent/weights.pth"), "/nonexistent/weights.pth: file not found");
}

// One flipped byte in a tensor's data: the entry's CRC-32 no longer matches, a clean error (the
// file used to load with a wrong weight).
TEST(TorchCheckpoint, AFlippedByteFailsTheCrcCheck) {
  std::string bytes = read_file(golden("vit_tiny_torchvision.pth"));
  // the middle of the file lies in the largest tensor's data (the entries are stored, not deflated)
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
  test::TempDir dir;
  test::write_bytes(dir.file("flipped.pth"), bytes);
  EXPECT_MMDG_ERROR(read_weights(dir.file("flipped.pth")), "fails its CRC-32 check");
  EXPECT_NO_THROW(read_weights(golden("vit_tiny_torchvision.pth")));
}

// Every truncation of a valid checkpoint is a clean error, never a crash or a wrong result.
TEST(TorchCheckpoint, TruncatedArchivesAreCleanErrors) {
  const std::string bytes = read_file(golden("shared_storage.pth"));
  test::TempDir dir;
  const std::string path = dir.file("truncated.pth");
  for (std::size_t len = 0; len < bytes.size(); len += (len < 64 ? 7 : 61)) {
    SCOPED_TRACE("length " + std::to_string(len));
    test::write_bytes(path, bytes.substr(0, len));
    EXPECT_THROW(read_weights(path), Error);
  }
}

// A declared size is bounded by what the file can hold: an entry whose local and central headers
// both claim 3.75 GiB from a few deflated bytes is refused before anything is allocated.
TEST(TorchCheckpoint, DeclaredSizesBeyondTheFileAreRefused) {
  test::TempDir dir;
  const std::string path = dir.file("bomb.pth");
  write_zip(path, {{"archive/data.pkl", std::string(4096, 'x')}}, /*compress=*/true);
  std::string bytes = read_file(path);
  const auto patch = [&](const std::string& signature, std::size_t offset) {
    int found = 0;
    for (std::size_t at = bytes.find(signature); at != std::string::npos; at = bytes.find(signature, at + 4), ++found)
      for (int k = 0; k < 4; ++k) bytes[at + offset + k] = k == 3 ? '\xf0' : '\0';  // 0xf0000000, little-endian
    return found;
  };
  ASSERT_EQ(patch(std::string("PK\x03\x04", 4), 22), 1);  // local header: uncompressed size
  ASSERT_EQ(patch(std::string("PK\x01\x02", 4), 24), 1);  // central directory: uncompressed size
  test::write_bytes(path, bytes);
  EXPECT_MMDG_ERROR(ZipArchive(path).read("archive/data.pkl"), "declares 4026531840 bytes");
  EXPECT_MMDG_ERROR(read_weights(path), "zip bomb");
}

// Flipping bytes anywhere (pickle, storages, zip structures) must never crash; ZIP_CHECKCONS and
// the CRC catch most, the unpickler's checks the rest.
TEST(TorchCheckpoint, CorruptedBytesNeverCrash) {
  const std::string bytes = read_file(golden("shared_storage.pth"));
  test::TempDir dir;
  const std::string path = dir.file("corrupt.pth");
  std::mt19937 rng(7);
  int errors = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string mutated = bytes;
    for (int k = 0; k < 3; ++k) mutated[rng() % mutated.size()] = static_cast<char>(rng());
    test::write_bytes(path, mutated);
    try {
      read_weights(path);
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);
}

}  // namespace
}  // namespace mmdg::io

namespace mmdg::io {
namespace {

TEST(TorchCheckpointWriter, RoundTripsEveryDtypeBitIdentically) {
  test::TempDir dir;
  StateDict sd;
  sd.insert("f32", torch::randn({3, 4}));
  sd.insert("f64", torch::randn({2}, torch::kDouble));
  sd.insert("f16", torch::randn({5}).to(torch::kHalf));
  sd.insert("bf16", torch::randn({2, 2}).to(torch::kBFloat16));
  sd.insert("i64", torch::tensor({int64_t{1} << 40, int64_t{-3}}));
  sd.insert("u8", torch::arange(250, 256, torch::kByte));
  sd.insert("bool", torch::tensor({true, false}));
  sd.insert("scalar", torch::tensor(2.5));
  sd.insert("transposed", torch::randn({3, 2}).t());
  sd.insert("empty", torch::zeros({0, 3}));
  const std::string path = dir.file("out.pth");
  write_torch_checkpoint(path, sd);
  const auto back = read_torch_checkpoint(path);
  ASSERT_EQ(back.keys(), sd.keys());
  for (const auto& item : sd) {
    EXPECT_EQ(back[item.key()].scalar_type(), item.value().scalar_type()) << item.key();
    EXPECT_TRUE(torch::equal(back[item.key()], item.value())) << item.key();
  }
}

// weights info's sums of hostile views: a broadcast (stride 0) view of 2^27 elements over one
// stored value, and overlapping strides over a small storage, summed without a full double copy;
// checked against closed forms.
TEST(WeightsInfo, SumsBroadcastAndOverlappingViewsExactly) {
  EXPECT_EQ(element_sum(torch::full({1}, 0.5).expand({std::int64_t{1} << 27})), 0.5 * (1 << 27));
  EXPECT_EQ(element_sum(torch::arange(3, torch::kDouble).view({3, 1}).expand({3, std::int64_t{1} << 22})), 3.0 * (1 << 22));
  // base[i + j] for i < 3000, j < 1000: 1000 * sum(i) + 3000 * sum(j)
  const auto base = torch::arange(4000, torch::kDouble);
  const auto overlapping = base.as_strided({3000, 1000}, {1, 1});
  ASSERT_GT(overlapping.numel(), kSumChunk);  // the slab path
  EXPECT_EQ(element_sum(overlapping), 1000.0 * (2999.0 * 3000 / 2) + 3000.0 * (999.0 * 1000 / 2));
  EXPECT_EQ(element_sum(torch::tensor(2.5)), 2.5);
  const auto ints = torch::arange(10, torch::kInt32).view({2, 5}).t();  // transposed, small
  EXPECT_EQ(element_sum(ints), 45.0);
}

}  // namespace
}  // namespace mmdg::io
