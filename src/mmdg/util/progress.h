// A progress bar on a terminal ("\r" updates: bar, count, rate, ETA, a caller's note); plain
// lines at every 10 % when the output is not a terminal (logs, CI); nothing when the log's console
// hides info messages (--quiet).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace mmdg {

class Progress {
 public:
  Progress(std::string title, std::int64_t total);
  // Marks `done` items finished; `note` (e.g. "loss 0.31") is shown after the numbers.
  void update(std::int64_t done, const std::string& note = "");
  void finish(const std::string& note = "");

 private:
  std::string line(std::int64_t done, const std::string& note) const;
  std::string title_;
  std::int64_t total_;
  bool tty_;
  bool shown_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace mmdg
