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

}  // namespace
}  // namespace mmdg::io
