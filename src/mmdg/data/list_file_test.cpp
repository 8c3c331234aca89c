#include "mmdg/data/list_file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::data {
namespace {

// Line and label counts of the shared MMDG-Benchmark lists. REFERENCE.md gives C, S and W one
// line fewer (4799 / 2400 / 6738, ...): those files end without a newline, so `wc -l` misses the
// last line; the live/spoof splits (e.g. C-train 1200 + 3600) confirm the counts below.
struct ListFacts {
  const char* name;
  std::size_t lines, live;
  bool npz;
};
const ListFacts kLists[] = {
    {"C-train.txt", 4800, 1200, false}, {"C-val.txt", 2401, 601, false},    {"C-test.txt", 6739, 1200, false},
    {"P-train.txt", 1090, 597, true},   {"P-val.txt", 272, 145, true},      {"P-test.txt", 667, 363, true},
    {"S-train.txt", 6297, 900, false},  {"S-val.txt", 2100, 300, false},    {"S-test.txt", 12564, 1800, false},
    {"W-train.txt", 1695, 372, false},  {"W-val.txt", 1671, 324, false},    {"W-test.txt", 1671, 345, false},
};

TEST(ListFile, EverySharedBenchmarkListParses) {
  const std::string dir = std::string(MMDG_SHARED_DIR) + "/benchmark/lists";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " is absent (shared benchmark lists not available)";
  for (const auto& facts : kLists) {
    SCOPED_TRACE(facts.name);
    const auto list = read_list(dir + "/" + facts.name);
    EXPECT_EQ(list.entries.size(), facts.lines);
    EXPECT_EQ(list.count(1), facts.live);
    EXPECT_EQ(list.count(0), facts.lines - facts.live);
    EXPECT_EQ(list.entries.front().is_npz(), facts.npz);
    EXPECT_EQ(list.entries.back().line, static_cast<int>(facts.lines));
    // no stray carriage returns survive in the paths or labels
    for (const auto& e : list.entries) ASSERT_EQ(e.ir.find('\r'), std::string::npos);
  }
}

TEST(ListFile, BothLineFormats) {
  const auto crlf = parse_list("a/rgb.jpg a/d.jpg a/ir.jpg 1\r\nb/rgb.jpg b/d.jpg b/ir.jpg 0", "C.txt");
  ASSERT_EQ(crlf.entries.size(), 2u);
  EXPECT_EQ(crlf.entries[1].ir, "b/ir.jpg");
  EXPECT_EQ(crlf.entries[0].label, 1);
  EXPECT_EQ(crlf.entries[1].label, 0);
  const auto npz = parse_list("x.npz\t1\ny.npz\t0\n", "P.txt");
  ASSERT_EQ(npz.entries.size(), 2u);
  EXPECT_TRUE(npz.entries[0].is_npz());
  EXPECT_EQ(npz.entries[1].rgb, "y.npz");
}

TEST(ListFile, MalformedLinesNameFileAndLine) {
  EXPECT_MMDG_ERROR(parse_list("a b c 1\r\nrgb.jpg 1\r\n", "L.txt"), "L.txt:2: a two-field line must name a .npz");
  EXPECT_MMDG_ERROR(parse_list("a b c 1\na b c d e\n", "L.txt"), "L.txt:2: expected 'rgb depth ir label'");
  EXPECT_MMDG_ERROR(parse_list("a b c 2\n", "L.txt"), "L.txt:1: label must be 0 (spoof) or 1 (live), got '2'");
  EXPECT_MMDG_ERROR(parse_list("a b c 1\n\na b c 0\n", "L.txt"), "L.txt:2: empty line");
  EXPECT_MMDG_ERROR(parse_list("", "L.txt"), "L.txt: the list is empty");
  EXPECT_MMDG_ERROR(read_list("/nonexistent/L.txt"), "/nonexistent/L.txt: file not found");
}

}  // namespace
}  // namespace mmdg::data
