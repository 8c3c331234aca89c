// Shared by the libFuzzer harnesses of fuzz/: where an input goes when the parser under test reads
// a file, and the oracle every harness applies. A parser of untrusted bytes may only
//   - return normally, or
//   - throw mmdg::Error whose message names the input (its file path or context),
// within the sanitizers' and the fuzzer's memory and time limits. Any other exception (a raw
// LibTorch or nlohmann-json error, std::bad_alloc, std::out_of_range, ...) or an Error that does
// not name its input is a finding: the harness aborts so that libFuzzer records the input.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <typeinfo>
#include <unistd.h>

#include "mmdg/util/error.h"

namespace mmdg::fuzz {

// A per-process scratch file `input<suffix>`, on /dev/shm when it exists (the harnesses write
// one per execution), removed at exit.
inline std::string write_input(const std::uint8_t* data, std::size_t size, const std::string& suffix) {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec) ? std::filesystem::path("/dev/shm")
                                                                               : std::filesystem::temp_directory_path();
    auto d = base / ("mmdg-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    static const std::string removed = d.string();
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(removed, ignored);
    });
    return d;
  }();
  const std::string path = (dir / ("input" + suffix)).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

[[noreturn]] inline void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "\n==== FINDING: %s\n%s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// Runs `parse`; applies the oracle above with `name` the text an error must contain.
template <class F>
void expect_clean(const std::string& name, F&& parse) {
  try {
    parse();
  } catch (const mmdg::Error& e) {
    const std::string message = e.what();
    if (message.find(name) == std::string::npos)
      finding("an mmdg::Error that does not name its input", "expected '" + name + "' in: " + message);
  } catch (const std::exception& e) {
    finding("an exception other than mmdg::Error", std::string(typeid(e).name()) + ": " + e.what());
  } catch (...) {
    finding("a non-standard exception", "");
  }
}

}  // namespace mmdg::fuzz
