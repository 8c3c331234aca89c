#include "mmdg/util/log.h"

#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <regex>
#include <stdexcept>

#include "mmdg/util/error.h"
#include "mmdg/util/progress.h"
#include "mmdg/util/test_util.h"

namespace mmdg::log {
namespace {

// Restores the console level a test changed.
struct ConsoleLevel {
  Level saved = console_level();
  ~ConsoleLevel() { set_console_level(saved); }
};

std::string console_output(Level level, const std::function<void()>& body) {
  ConsoleLevel restore;
  set_console_level(level);
  testing::internal::CaptureStderr();
  body();
  return testing::internal::GetCapturedStderr();
}

void one_of_each() {
  debug("d-message");
  info("i-message");
  warning("w-message");
  error("e-message");
}

TEST(Log, ConsoleLevelsAndPrefixes) {
  EXPECT_EQ(console_output(Level::info, one_of_each), "i-message\nwarning: w-message\nerror: e-message\n");
  EXPECT_EQ(console_output(Level::warning, one_of_each), "warning: w-message\nerror: e-message\n");  // --quiet
  EXPECT_EQ(console_output(Level::debug, one_of_each), "d-message\ni-message\nwarning: w-message\nerror: e-message\n");
  EXPECT_EQ(console_output(Level::off, one_of_each), "");
}

TEST(Log, ConsoleShows) {
  ConsoleLevel restore;
  set_console_level(Level::warning);
  EXPECT_FALSE(console_shows(Level::info));
  EXPECT_TRUE(console_shows(Level::warning));
  EXPECT_TRUE(console_shows(Level::error));
  set_console_level(Level::debug);
  EXPECT_TRUE(console_shows(Level::debug));
  EXPECT_FALSE(console_shows(Level::off));
}

// Every line of a log file: "[YYYY-MM-DD HH:MM:SS.mmm] [level] message".
std::vector<std::pair<std::string, std::string>> file_lines(const std::string& path) {
  static const std::regex line(R"(\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] \[(\w+)\] (.*))");
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in(path);
  for (std::string text; std::getline(in, text);) {
    std::smatch m;
    EXPECT_TRUE(std::regex_match(text, m, line)) << text;
    if (!m.empty()) out.emplace_back(m[1], m[2]);
  }
  return out;
}

std::string io_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Log, FilesReceiveEveryLevelWhileOpenAndNest) {
  test::TempDir dir;
  const std::string outer_path = dir.file("outer.log"), inner_path = dir.file("inner.log");
  console_output(Level::off, [&] {
    info("before");
    {
      LogFile outer(outer_path);
      debug("one");
      {
        LogFile inner(inner_path);
        warning("two");
        inner.failure("inner only");
      }
      info("three");
    }
    info("after");
  });
  using Lines = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(file_lines(outer_path), (Lines{{"debug", "one"}, {"warning", "two"}, {"info", "three"}}));
  EXPECT_EQ(file_lines(inner_path), (Lines{{"warning", "two"}, {"error", "inner only"}}));
}

TEST(Log, FilesAppend) {
  test::TempDir dir;
  const std::string path = dir.file("run.log");
  console_output(Level::off, [&] {
    { LogFile f(path); info("first run"); }
    { LogFile f(path); info("resumed"); }
  });
  ASSERT_EQ(file_lines(path).size(), 2u);
  EXPECT_EQ(file_lines(path)[1].second, "resumed");
}

TEST(Log, WithLogFileRecordsTheFailureThatPropagates) {
  test::TempDir dir;
  const std::string path = dir.file("run.log");
  ConsoleLevel restore;
  set_console_level(Level::off);
  EXPECT_THROW(with_log_file(path,
                             []() -> int {
                               info("working");
                               throw std::runtime_error("disk on fire");
                             }),
               std::runtime_error);
  using Lines = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(file_lines(path), (Lines{{"info", "working"}, {"error", "disk on fire"}}));
  EXPECT_EQ(with_log_file(path, [] { return 7; }), 7);
  // a LibTorch error: its message without the C++ backtrace
  EXPECT_THROW(with_log_file(path, [] { TORCH_CHECK(false, "tensor trouble"); }), c10::Error);
  const auto lines = file_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2].first, "error");
  EXPECT_NE(lines[2].second.find("tensor trouble"), std::string::npos);
  EXPECT_EQ(io_text(path).find("Exception raised from"), std::string::npos) << io_text(path);
}

TEST(Log, UnopenableFileIsNamed) {
  test::TempDir dir;
  std::ofstream(dir.file("plain")) << "a file, not a folder";
  EXPECT_MMDG_ERROR(LogFile f(dir.file("plain/x.log")), "x.log: cannot open the log file");
}

// Without a terminal a bar prints plain lines: at most one per interval, and one when finished.
TEST(Progress, PlainLinesAtMostOncePerIntervalAndOnceWhenFinished) {
  if (isatty(fileno(stderr))) GTEST_SKIP() << "standard error is a terminal";
  const auto lines = [](const std::string& text) { return std::count(text.begin(), text.end(), '\n'); };
  const std::string rare = console_output(Level::info, [] {
    Progress p("rare", 1000, 1e9);
    for (int i = 1; i <= 1000; ++i) p.update(i, "note");
    p.finish("done");
    p.finish("again");
  });
  EXPECT_EQ(lines(rare), 1) << rare;
  EXPECT_NE(rare.find("rare [########################] 1000/1000"), std::string::npos) << rare;
  EXPECT_NE(rare.find(" done"), std::string::npos) << rare;
  const std::string every = console_output(Level::info, [] {
    Progress p("every", 3, 0);
    for (int i = 1; i <= 3; ++i) p.update(i);
    p.finish();
  });
  EXPECT_EQ(lines(every), 4) << every;
  EXPECT_EQ(console_output(Level::warning, [] {
              Progress p("quiet", 3, 0);
              p.update(1);
              p.finish();
            }),
            "");
}

}  // namespace
}  // namespace mmdg::log
