// The library's messages go through one logger (spdlog underneath, kept out of this header).
//
// Console: standard error. Info and above by default; warnings print as "warning: ...", errors as
// "error: ..."; set_console_level(warning) is the CLI's --quiet, (debug) its --verbose.
// Files: a LogFile (a run directory's train.log, a protocol folder's protocol.log) receives every
// message, debug included, time-stamped, for as long as it lives; several may be open (a protocol
// run and the training run inside it).
// Results (reports, tables, predictions) are not messages: front ends print them to standard
// output themselves, so `mmdg eval --json > r.json` stays clean whatever the level.
#pragma once
#include <exception>
#include <memory>
#include <string>

namespace spdlog::sinks {
class sink;
}

namespace mmdg::log {

enum class Level { debug, info, warning, error, off };

void set_console_level(Level level);
Level console_level();
// True when the console shows messages of `level` (progress bars draw only when info is shown).
bool console_shows(Level level);

void debug(const std::string& message);
void info(const std::string& message);
void warning(const std::string& message);
void error(const std::string& message);

class LogFile {
 public:
  // Opens `path` for appending (creating it); throws Error naming the file when it cannot.
  explicit LogFile(const std::string& path);
  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  // Records a failure in this file only (the caller rethrows; the front end prints it once). A
  // LibTorch error is recorded without its C++ backtrace.
  void failure(const std::string& message);
  void failure(const std::exception& e);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::shared_ptr<spdlog::sinks::sink> sink_;
};

// Runs `body` with `path` open as a LogFile; a failure is recorded there before it propagates.
template <class Body>
auto with_log_file(const std::string& path, Body&& body) {
  LogFile file(path);
  try {
    return body();
  } catch (const std::exception& e) {
    file.failure(e);
    throw;
  }
}

}  // namespace mmdg::log
