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
  const std::string dir = std::string(test::shared_dir()) + "/benchmark/lists";
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

// The writer and the reader share the line format: entries come back with their format tag.
TEST(ListFile, WrittenListsReadBack) {
  const std::vector<ListEntry> images = {ListEntry::images("a/rgb/0.jpg", "a/depth/0.jpg", "a/ir/0.jpg", 1),
                                         ListEntry::images("b/rgb/0.png", "b/depth/0.png", "b/ir/0.png", 0)};
  const std::vector<ListEntry> npz = {ListEntry::padisi("x.npz", 1), ListEntry::padisi("y.npz", 0)};
  // the real lists' line ends: CRLF between image lines, LF after every PADISI line
  EXPECT_EQ(format_list(images), "a/rgb/0.jpg a/depth/0.jpg a/ir/0.jpg 1\r\nb/rgb/0.png b/depth/0.png b/ir/0.png 0");
  EXPECT_EQ(format_list(npz), "x.npz\t1\ny.npz\t0\n");
  for (const auto* entries : {&images, &npz}) {
    const auto back = parse_list(format_list(*entries), "L.txt");
    ASSERT_EQ(back.entries.size(), entries->size());
    for (std::size_t i = 0; i < entries->size(); ++i) {
      const auto &want = (*entries)[i], &got = back.entries[i];
      EXPECT_EQ(got.format, want.format);
      EXPECT_EQ(got.rgb, want.rgb);
      EXPECT_EQ(got.depth, want.depth);
      EXPECT_EQ(got.ir, want.ir);
      EXPECT_EQ(got.label, want.label);
      EXPECT_EQ(got.line, static_cast<int>(i + 1));
    }
  }
  EXPECT_TRUE(parse_list("x.npz\t1\n", "P.txt").entries[0].is_npz());
  EXPECT_EQ(parse_list("a b c 1", "C.txt").entries[0].format, SampleFormat::ThreeImages);
  test::TempDir dir;
  write_list(dir.file("P.txt"), npz);
  EXPECT_EQ(read_list(dir.file("P.txt")).count(1), 1u);
}

// The optional attack-type field: read, written back, and checked against the label.
TEST(ListFile, AttackTypeField) {
  const auto list = parse_list("a/r.jpg a/d.jpg a/i.jpg 0 replay\r\nb/r.jpg b/d.jpg b/i.jpg 1 bonafide\r\nc/r.jpg c/d.jpg c/i.jpg 1",
                               "L.txt");
  EXPECT_EQ(list.entries[0].attack, "replay");
  EXPECT_EQ(list.entries[1].attack, "bonafide");
  EXPECT_EQ(list.entries[2].attack, "");
  EXPECT_EQ(format_list(list.entries), "a/r.jpg a/d.jpg a/i.jpg 0 replay\r\nb/r.jpg b/d.jpg b/i.jpg 1 bonafide\r\nc/r.jpg c/d.jpg c/i.jpg 1");
  const auto npz = parse_list("x.npz\t0\tm50201\ny.npz\t1\n", "P.txt");
  EXPECT_EQ(npz.entries[0].attack, "m50201");
  EXPECT_EQ(format_list(npz.entries), "x.npz\t0\tm50201\ny.npz\t1\n");
  EXPECT_MMDG_ERROR(parse_list("a b c 1 print\n", "L.txt"), "L.txt:1: a live sample (label 1) has the attack type 'print'");
  EXPECT_MMDG_ERROR(parse_list("a b c 0 bonafide\n", "L.txt"), "L.txt:1: a spoof sample (label 0) is marked bonafide");
  EXPECT_MMDG_ERROR(parse_list("a b c 0 pr/int\n", "L.txt"), "L.txt:1: attack type 'pr/int'");
  auto e = ListEntry::images("r", "d", "i", 0);
  e.attack = "two words";
  EXPECT_MMDG_ERROR(format_list_line(e), "attack type 'two words'");
}

TEST(ListFile, UnwritableEntriesAreErrors) {
  EXPECT_MMDG_ERROR(format_list_line(ListEntry::images("a b.jpg", "d.jpg", "i.jpg", 1)), "'a b.jpg' is empty or holds white space");
  EXPECT_MMDG_ERROR(format_list_line(ListEntry::images("r.jpg", "", "i.jpg", 1)), "depth path");
  EXPECT_MMDG_ERROR(format_list_line(ListEntry::padisi("x.npy", 1)), "must name a .npz file, got 'x.npy'");
  EXPECT_MMDG_ERROR(format_list_line(ListEntry::padisi("x.npz", 2)), "label must be 0 (spoof) or 1 (live), got 2");
}

TEST(ListFile, MalformedLinesNameFileAndLine) {
  EXPECT_MMDG_ERROR(parse_list("a b c 1\r\nrgb.jpg 1\r\n", "L.txt"), "L.txt:2: a two-field line must name a .npz");
  EXPECT_MMDG_ERROR(parse_list("a b c 1\na b c d e f\n", "L.txt"), "L.txt:2: expected 'rgb depth ir label [attack]'");
  EXPECT_MMDG_ERROR(parse_list("a b c 1\na b c d e\n", "L.txt"), "L.txt:2: label must be 0 (spoof) or 1 (live), got 'd'");
  EXPECT_MMDG_ERROR(parse_list("a b c 2\n", "L.txt"), "L.txt:1: label must be 0 (spoof) or 1 (live), got '2'");
  EXPECT_MMDG_ERROR(parse_list(std::string("a b c 1\nrgb\0x.jpg d.jpg i.jpg 1\n", 32), "L.txt"), "L.txt:2: control character 0x00 at column 4");
  EXPECT_MMDG_ERROR(parse_list("a b c 1\n\na b c 0\n", "L.txt"), "L.txt:2: empty line");
  EXPECT_MMDG_ERROR(parse_list("", "L.txt"), "L.txt: the list is empty");
  EXPECT_MMDG_ERROR(read_list("/nonexistent/L.txt"), "/nonexistent/L.txt: file not found");
}

}  // namespace
}  // namespace mmdg::data
