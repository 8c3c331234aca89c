// A progress bar on a terminal ("\r" updates: bar, count, rate, ETA, a caller's note). When
// standard error is not a terminal (logs, CI) a plain line at most every `plain_every_s` seconds
// and one when finished, so a log holds a few lines per bar, not one per update. Nothing when the
// log's console hides info messages (--quiet).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace mmdg {

class Progress {
 public:
  static constexpr double kPlainEverySeconds = 30;
  Progress(std::string title, std::int64_t total, double plain_every_s = kPlainEverySeconds);
  // Marks `done` items finished; `note` (e.g. "loss 0.31") is shown after the numbers.
  void update(std::int64_t done, const std::string& note = "");
  void finish(const std::string& note = "");

 private:
  std::string line(std::int64_t done, const std::string& note) const;
  std::string title_;
  std::int64_t total_;
  bool tty_;
  bool shown_;
  double plain_every_s_;
  bool printed_final_ = false;
  std::chrono::steady_clock::time_point start_, last_plain_;
};

}  // namespace mmdg
