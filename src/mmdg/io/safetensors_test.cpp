#include "mmdg/io/safetensors.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <torch/torch.h>

#include "mmdg/io/file_util.h"
#include "mmdg/io/weights_file.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::io {
namespace {

using test::golden;

// A safetensors file from a header text and data bytes.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

TEST(Safetensors, ReadsTimmFileWrittenByPython) {
  Metadata metadata;
  const auto sd = read_safetensors(golden("vit_tiny_timm.safetensors"), &metadata);
  EXPECT_EQ(metadata["format"], "pt");
  const auto& want = test::expected()["files"]["vit_tiny_timm.safetensors"];
  ASSERT_EQ(sd.size(), want.size());
  for (const auto& [name, info] : want.items()) {
    ASSERT_TRUE(sd.contains(name)) << name;
    EXPECT_EQ(sd[name].sizes().vec(), info["shape"].get<std::vector<std::int64_t>>()) << name;
    EXPECT_DOUBLE_EQ(sd[name].to(torch::kDouble).sum().item<double>(), info["sum"].get<double>()) << name;
  }
}

TEST(Safetensors, RoundTripsEveryDtype) {
  test::TempDir dir;
  StateDict sd;
  sd.insert("f64", torch::randn({2, 3}, torch::kDouble));
  sd.insert("f32", torch::randn({4}));
  sd.insert("f16", torch::randn({3, 1}).to(torch::kHalf));
  sd.insert("bf16", torch::randn({5}).to(torch::kBFloat16));
  sd.insert("i64", torch::arange(-3, 3, torch::kLong));
  sd.insert("i32", torch::arange(4, torch::kInt));
  sd.insert("i16", torch::arange(4, torch::kShort));
  sd.insert("i8", torch::arange(-4, 4, torch::kChar));
  sd.insert("u8", torch::arange(250, 256, torch::kByte));
  sd.insert("bool", torch::tensor({true, false}));
  sd.insert("transposed", torch::randn({3, 2}).t());  // non-contiguous input
  sd.insert("empty", torch::zeros({0, 3}));
  const std::string path = dir.file("all.safetensors");
  write_safetensors(path, sd, {{"note", "round trip"}});
  Metadata metadata;
  const auto back = read_safetensors(path, &metadata);
  EXPECT_EQ(metadata["note"], "round trip");
  ASSERT_EQ(back.size(), sd.size());
  for (const auto& item : sd) {
    ASSERT_TRUE(back.contains(item.key()));
    EXPECT_EQ(back[item.key()].scalar_type(), item.value().scalar_type()) << item.key();
    EXPECT_TRUE(torch::equal(back[item.key()], item.value())) << item.key();
  }
  EXPECT_EQ(detect_weights_format(path), WeightsFormat::Safetensors);
}

TEST(Safetensors, MalformedFilesAreCleanErrors) {
  test::TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  const auto expect_error = [&](const std::string& bytes, const std::string& fragment) {
    test::write_bytes(path, bytes);
    EXPECT_MMDG_ERROR(read_safetensors(path), fragment);
  };
  const std::string ok_header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data(8, '\0');
  // sanity: the well-formed version reads
  test::write_bytes(path, safetensors_bytes(ok_header, data));
  EXPECT_EQ(read_safetensors(path).size(), 1u);

  expect_error(std::string("\x10\0\0", 3), "too short");
  expect_error(safetensors_bytes(ok_header, data).substr(0, 20), "runs past the end");
  std::string huge_len = safetensors_bytes(ok_header, data);
  huge_len[7] = '\x7f';
  expect_error(huge_len, "runs past the end");
  expect_error(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],)", data), "not valid JSON");
  expect_error(safetensors_bytes("[1,2]", data), "not a JSON object");
  expect_error(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data), "needs 12 bytes");
  expect_error(safetensors_bytes(R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}})", data), "needs 4 bytes");
  expect_error(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", data), "outside");
  expect_error(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data), "outside");
  expect_error(safetensors_bytes(R"({"w":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", data), "unsupported dtype");
  expect_error(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data), "non-negative");
  expect_error(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2]}})", data), "needs 'dtype'");
  expect_error(safetensors_bytes(
                   R"({"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", data),
               "too large");
  expect_error(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[0,9223372036854775807],"data_offsets":[0,0]}})", data),
               "shape entry 9223372036854775807 too large");
  expect_error(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}})", data),
               "shape too large");
  // the data section cut short: offsets point past the end
  expect_error(safetensors_bytes(ok_header, data.substr(0, 5)), "outside");
  // the layout the reference implementation requires: contiguous tensors tiling the data
  const std::string two = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[)";
  expect_error(safetensors_bytes(two + "0,4]}}", data), "overlapping tensors");  // b shares a's bytes
  expect_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data), "a gap between tensors");
  expect_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data),
               "4 data bytes after the last tensor are not indexed");
  test::write_bytes(path, safetensors_bytes(two + "4,8]}}", data));
  EXPECT_EQ(read_safetensors(path).size(), 2u);  // well formed
  expect_error(safetensors_bytes(R"({"__metadata__":{"k":5},)" + ok_header.substr(1), data), "__metadata__ value 'k' is not a string");
  // a __metadata__ value nested 10^6 arrays deep: refused before parsing, no recursion
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  expect_error(safetensors_bytes(R"({"__metadata__":{"x":)" + deep + "}," + ok_header.substr(1), data),
               "not valid JSON: nested deeper than 64 levels at byte 83");
}

TEST(FileUtil, AtomicWriteKeepsTheOldFileOnFailure) {
  test::TempDir dir;
  const std::string path = dir.file("keep.safetensors");
  StateDict sd;
  sd.insert("w", torch::ones({2}));
  write_safetensors(path, sd);
  const std::string before = read_file(path);
  EXPECT_THROW(write_file_atomically(path,
                                     [](std::ostream& out) {
                                       out << "partial";
                                       throw Error("interrupted");
                                     }),
               Error);
  EXPECT_EQ(read_file(path), before);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1) << "temporary file left behind";
}

// In a child process: a file-size limit of 64 KB stands in for a full disk (writes past it fail
// with EFBIG once SIGXFSZ is ignored). Writing 1 MB must be a clean error naming the file, the old
// file kept and no temporary left behind; exits 0 when all of that holds.
[[noreturn]] void write_past_a_full_disk(const std::string& path) {
  std::signal(SIGXFSZ, SIG_IGN);
  const rlimit limit{64 * 1024, 64 * 1024};
  setrlimit(RLIMIT_FSIZE, &limit);
  const std::string before = read_file(path);
  try {
    write_file_atomically(path, [](std::ostream& out) { out << std::string(1 << 20, 'x'); });
    std::_Exit(2);
  } catch (const Error& e) {
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) files += entry.is_regular_file();
    const bool clean = std::string(e.what()).find("write failed (disk full?)") != std::string::npos && read_file(path) == before && files == 1;
    std::fprintf(stderr, "%s\n", e.what());
    std::_Exit(clean ? 0 : 3);
  }
}

TEST(FileUtil, AtomicWriteOnAFullDiskIsACleanError) {
  test::TempDir dir;
  const std::string path = dir.file("resume.pt");
  test::write_bytes(path, "the previous state");
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process, not a fork of a threaded one
  EXPECT_EXIT(write_past_a_full_disk(path), ::testing::ExitedWithCode(0), "disk full");
}

}  // namespace
}  // namespace mmdg::io
