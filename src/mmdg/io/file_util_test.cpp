#include "mmdg/io/file_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <ostream>

#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::io {
namespace {

TEST(FileUtil, AtomicWriteReplacesAndSyncs) {
  test::TempDir dir;
  const std::string path = dir.file("a.txt");
  write_file_atomically(path, [](std::ostream& out) { out << "one"; });
  write_file_atomically(path, [](std::ostream& out) { out << "two"; });
  EXPECT_EQ(read_file(path), "two");
  // a failing writer leaves the old file and no temporary file
  EXPECT_THROW(write_file_atomically(path, [](std::ostream&) { throw Error("stop"); }), Error);
  EXPECT_EQ(read_file(path), "two");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.file("."))) files += entry.is_regular_file();
  EXPECT_EQ(files, 1);
  // a file and a folder sync; a missing path is an error naming it
  sync_to_disk(path);
  sync_to_disk(dir.file("."));
  EXPECT_MMDG_ERROR(sync_to_disk(dir.file("missing")), "missing: cannot open to sync to the disk");
}

// The chunked file hashes equal the whole-buffer ones across the 1 MiB chunk boundary, and the
// published check values.
TEST(FileUtil, FileHashesReadInChunks) {
  test::TempDir dir;
  const std::string check = dir.file("check.txt"), big = dir.file("big.bin");
  write_file_atomically(check, [](std::ostream& out) { out << "123456789"; });
  EXPECT_EQ(file_crc32(check), 0xCBF43926u);  // CRC-32's check value
  write_file_atomically(check, [](std::ostream& out) { out << "a"; });
  EXPECT_EQ(file_fnv1a(check), 0xaf63dc4c8601ec8cULL);  // FNV-1a 64 of "a"
  std::string bytes((5 << 20) / 2 + 7, '\0');
  std::uint64_t x = 1;
  for (auto& c : bytes) c = static_cast<char>((x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 56);
  write_file_atomically(big, [&](std::ostream& out) { out << bytes; });
  EXPECT_EQ(file_fnv1a(big), fnv1a(bytes));
  EXPECT_EQ(file_fnv1a(big, 12345), fnv1a(bytes, 12345));
  EXPECT_MMDG_ERROR(file_fnv1a(dir.file("missing")), "missing");
}

}  // namespace
}  // namespace mmdg::io
