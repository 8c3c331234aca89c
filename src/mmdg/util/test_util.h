// Helpers shared by the tests: golden-file paths, expected.json, temporary folders.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sys/wait.h>
#include <cstdlib>
#include <string>

namespace mmdg::test {

// Where the tests' files are (a source CMake generates: test_paths.cpp in the build folder).
const char* test_data_dir();  // tests/golden/data
const char* shared_dir();     // ../shared (read-only material; tests skip when absent)
const char* photo_dir();      // tests/.photos (scripts/test_photo.sh)
const char* fixtures_dir();   // tests/fixtures
const char* cli_path();       // the mmdg program ("" when not built)

inline std::string golden(const std::string& name) { return std::string(test_data_dir()) + "/" + name; }

// expected.json written by tests/golden/make_golden.py.
inline const nlohmann::json& expected() {
  static const nlohmann::json j = [] {
    std::ifstream in(golden("expected.json"));
    return nlohmann::json::parse(in);
  }();
  return j;
}

// A fresh temporary folder, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("mmdg_test_" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Runs a committed fixture script of tests/fixtures with Debian's Python (/usr/bin/python3 when
// there, else python3 on the PATH) and the given arguments; skips the calling test when the
// script exits 77 (a Python package it needs is missing). Returns whether it succeeded.
#define MMDG_RUN_FIXTURE_SCRIPT(script, args)                                                              \
  do {                                                                                                     \
    const std::string python = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; \
    const int status = std::system((python + " " + std::string(::mmdg::test::fixtures_dir()) + "/" +       \
                                    (script) + " " + (args))                                               \
                                       .c_str());                                                          \
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) GTEST_SKIP() << (script) << ": python3-h5py missing"; \
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << (script) << " failed";                  \
  } while (0)

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Expects `fn` to throw mmdg::Error whose message contains `fragment`.
#define EXPECT_MMDG_ERROR(statement, fragment)                                              \
  do {                                                                                      \
    try {                                                                                   \
      statement;                                                                            \
      ADD_FAILURE() << "expected mmdg::Error containing '" << (fragment) << "'";            \
    } catch (const ::mmdg::Error& e) {                                                      \
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();       \
    }                                                                                       \
  } while (0)

}  // namespace mmdg::test
