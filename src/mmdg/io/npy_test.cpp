#include "mmdg/io/npy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <torch/torch.h>

#include "mmdg/io/file_util.h"
#include "mmdg/io/safetensors.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::io {
namespace {

std::string npy(const std::string& dict, const std::string& data, int version = 1) {
  std::string header = dict;
  const std::size_t prefix = version == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(version) + '\0';
  const std::size_t n = header.size();
  for (int i = 0; i < (version == 1 ? 2 : 4); ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string floats(std::initializer_list<float> values) {
  std::string s;
  for (float v : values) s.append(reinterpret_cast<const char*>(&v), 4);
  return s;
}

TEST(Npy, ReadsNumpyWrittenArchivesStoredAndDeflated) {
  const auto want = read_safetensors(test::golden("pipeline_expected.safetensors"))["padisi_raw"];
  for (const char* file : {"padisi_stored.npz", "padisi_deflate.npz"}) {
    const auto arrays = read_npz(test::golden(file));
    ASSERT_TRUE(arrays.contains("data")) << file;
    EXPECT_EQ(arrays["data"].sizes().vec(), (std::vector<std::int64_t>{1, 22, 10, 8}));
    EXPECT_TRUE(torch::equal(arrays["data"], want)) << file;
  }
}

TEST(Npy, HeaderVariantsAndDtypes) {
  const auto a = parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }", floats({1.5f, -2})), "a");
  EXPECT_EQ(a.sizes().vec(), (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(a[1][0].item<float>(), -2.0f);
  const auto v2 = parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", floats({3, 4}), 2), "b");
  EXPECT_EQ(v2[1].item<float>(), 4.0f);
  const auto scalar = parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", floats({7})), "c");
  EXPECT_EQ(scalar.dim(), 0);
  const std::string u16 = std::string("\xff\xff\x01\x00", 4);
  const auto w = parse_npy(npy("{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", u16), "d");
  EXPECT_EQ(w[0].item<int>(), 65535);
  EXPECT_EQ(w[1].item<int>(), 1);
  EXPECT_EQ(parse_npy(npy("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", "abc"), "e")[2].item<int>(), 'c');
}

TEST(Npy, BadArraysAreCleanErrors) {
  const std::string data = floats({1, 2});
  EXPECT_MMDG_ERROR(parse_npy("NUMPY....", "x.npy"), "bad magic");
  EXPECT_MMDG_ERROR(parse_npy(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data), "x.npy"), "big-endian");
  EXPECT_MMDG_ERROR(parse_npy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data), "x.npy"), "Fortran-order");
  EXPECT_MMDG_ERROR(parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data), "x.npy"), "needs 12 bytes");
  EXPECT_MMDG_ERROR(parse_npy(npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", data), "x.npy"), "unsupported dtype");
  EXPECT_MMDG_ERROR(parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", data), "x.npy"), "malformed .npy header (expected a dimension at byte 54)");
  EXPECT_MMDG_ERROR(parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data).substr(0, 40), "x.npy"), "truncated");
  EXPECT_MMDG_ERROR(parse_npy(npy("{'fortran_order': False, 'shape': (2,), }", data), "x.npy"), "without 'descr'");
  // hostile headers (a backtracking regex overflowed the stack on these): a linear scan, and
  // numpy's own 10000-byte header limit
  const auto header = [&](const std::string& descr, const std::string& gap, const std::string& shape_gap) {
    return npy("{'descr':" + gap + "'" + descr + "', 'fortran_order': False, 'shape': (2," + shape_gap + "), }", data, 2);
  };
  EXPECT_MMDG_ERROR(parse_npy(header(std::string(50000, 'f'), " ", ""), "x.npy"), "header of 50100 bytes is larger than 10000");
  EXPECT_MMDG_ERROR(parse_npy(header(std::string(9000, 'f'), " ", ""), "x.npy"), "a string longer than 32 characters");
  EXPECT_MMDG_ERROR(parse_npy(header("<f4", std::string(60000, ' '), ""), "x.npy"), "larger than 10000");
  EXPECT_MMDG_ERROR(parse_npy(header("<f4", " ", std::string(1000000, ' ')), "x.npy"), "larger than 10000");
  EXPECT_EQ(parse_npy(header("<f4", std::string(9000, ' '), std::string(500, ' ')), "x.npy").numel(), 2);  // long but valid
  EXPECT_MMDG_ERROR(parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", data), "x.npy"), "unknown key 'x'");
  EXPECT_MMDG_ERROR(parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", data), "x.npy"), "text after the dict");
  EXPECT_MMDG_ERROR(parse_npy(npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", data), "x.npy"), "True or False");
  // an empty array (a dimension 0) has no data to copy (found by fuzzing: memcpy from null)
  EXPECT_EQ(parse_npy(npy("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 4, 3, 0), }", ""), "x.npy").sizes(),
            (std::vector<std::int64_t>{3, 4, 3, 0}));
  EXPECT_EQ(parse_npy(npy("{'descr': '<u2', 'fortran_order': False, 'shape': (0,), }", ""), "x.npy").numel(), 0);
  EXPECT_MMDG_ERROR(parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 99999999, 99999999, 99999999), }", ""),
                              "x.npy"),
                    "x.npy: shape (0, 99999999, 99999999, 99999999) too large");
  // a zip without arrays, and a truncated archive
  test::TempDir dir;
  const std::string bytes = read_file(test::golden("padisi_deflate.npz"));
  test::write_bytes(dir.file("cut.npz"), bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(read_npz(dir.file("cut.npz")), Error);
  EXPECT_MMDG_ERROR(read_npz(test::golden("vit_tiny_torchvision.pth")), "no .npy arrays");
  EXPECT_MMDG_ERROR(read_npz(dir.file("missing.npz")), "missing.npz: file not found");
}

}  // namespace
}  // namespace mmdg::io

namespace mmdg::io {
namespace {

TEST(Npy, WriteReadRoundTrip) {
  test::TempDir dir;
  StateDict arrays;
  arrays.insert("data", torch::rand({1, 22, 5, 4}));
  arrays.insert("vector", torch::arange(7, torch::kLong));
  arrays.insert("scalar", torch::tensor(2.5, torch::kDouble));
  for (bool compress : {false, true}) {
    write_npz(dir.file("a.npz"), arrays, compress);
    const auto back = read_npz(dir.file("a.npz"));
    ASSERT_EQ(back.size(), 3u);
    for (const auto& item : arrays) EXPECT_TRUE(torch::equal(back[item.key()], item.value())) << item.key();
  }
  // the same arrays written later give the same bytes (no clock time in the archive; DOS times
  // have a 2 s resolution)
  const std::string first = read_file(dir.file("a.npz"));
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  write_npz(dir.file("b.npz"), arrays, true);
  EXPECT_EQ(read_file(dir.file("b.npz")), first);
}

// A small archive holding a large array is refused by its declared decoded size, naming the file,
// before the array is inflated (a 1.4 MB .npz of a (1, 22, 4096, 4096) sample took 3 GB).
TEST(Npy, DecodedSizeIsBounded) {
  test::TempDir dir;
  StateDict arrays;
  arrays.insert("data", torch::zeros({1, 22, 128, 128}));  // 1.4 MB decoded, a few KB deflated
  write_npz(dir.file("big.npz"), arrays, true);
  const auto limit = max_npz_entry_bytes();
  EXPECT_EQ(limit, std::uint64_t{1} << 30);
  set_max_npz_entry_bytes(std::uint64_t{1} << 20);
  EXPECT_MMDG_ERROR(read_npz(dir.file("big.npz")),
                    dir.file("big.npz") + ":data.npy: decodes to 2 MB, more than the limit of 1 MB per array");
  set_max_npz_entry_bytes(std::uint64_t{2} << 20);
  EXPECT_EQ(read_npz(dir.file("big.npz")).size(), 1u);
  set_max_npz_entry_bytes(limit);
}

}  // namespace
}  // namespace mmdg::io
