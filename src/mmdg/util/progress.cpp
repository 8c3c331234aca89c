#include "mmdg/util/progress.h"

#include <unistd.h>

#include <cstdio>

#include "mmdg/util/log.h"

namespace mmdg {

Progress::Progress(std::string title, std::int64_t total)
    : title_(std::move(title)), total_(total), tty_(isatty(fileno(stderr)) != 0),
      shown_(log::console_shows(log::Level::info)),
      start_(std::chrono::steady_clock::now()) {}

std::string Progress::line(std::int64_t done, const std::string& note) const {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = seconds > 0 ? done / seconds : 0;
  const double eta = rate > 0 ? (total_ - done) / rate : 0;
  char buf[256];
  const int width = 24;
  const int filled = total_ > 0 ? static_cast<int>(width * done / total_) : width;
  std::string bar(filled, '#');
  bar.resize(width, '.');
  std::snprintf(buf, sizeof buf, "%s [%s] %lld/%lld %.1f/s ETA %.0fs", title_.c_str(), bar.c_str(),
                static_cast<long long>(done), static_cast<long long>(total_), rate, eta);
  return note.empty() ? std::string(buf) : std::string(buf) + " " + note;
}

void Progress::update(std::int64_t done, const std::string& note) {
  if (!shown_) return;
  if (tty_) {
    std::fprintf(stderr, "\r%s\033[K", line(done, note).c_str());
    std::fflush(stderr);
    return;
  }
  const int decile = total_ > 0 ? static_cast<int>(10 * done / total_) : 10;
  if (decile != last_decile_) {
    last_decile_ = decile;
    std::fprintf(stderr, "%s\n", line(done, note).c_str());
  }
}

void Progress::finish(const std::string& note) {
  if (!shown_) return;
  if (tty_) std::fprintf(stderr, "\r%s\033[K\n", line(total_, note).c_str());
  else if (last_decile_ != 10) std::fprintf(stderr, "%s\n", line(total_, note).c_str());
}

}  // namespace mmdg
