#include "mmdg/util/progress.h"

#include <unistd.h>

#include <cstdio>

#include "mmdg/util/log.h"

namespace mmdg {

Progress::Progress(std::string title, std::int64_t total, double plain_every_s)
    : title_(std::move(title)), total_(total), tty_(isatty(fileno(stderr)) != 0),
      shown_(log::console_shows(log::Level::info)), plain_every_s_(plain_every_s),
      start_(std::chrono::steady_clock::now()), last_plain_(start_) {}

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
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_plain_).count() >= plain_every_s_) {
    last_plain_ = now;
    std::fprintf(stderr, "%s\n", line(done, note).c_str());
  }
}

void Progress::finish(const std::string& note) {
  if (!shown_) return;
  if (printed_final_) return;
  printed_final_ = true;
  if (tty_) std::fprintf(stderr, "\r%s\033[K\n", line(total_, note).c_str());
  else std::fprintf(stderr, "%s\n", line(total_, note).c_str());
}

}  // namespace mmdg
