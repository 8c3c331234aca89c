#include "mmdg/util/log.h"

#include <c10/util/Exception.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <mutex>

#include "mmdg/util/error.h"

namespace mmdg::log {
namespace {

// "%*": "warning: " / "error: " before a console message of that level, nothing otherwise.
class LevelPrefix : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const char* prefix = msg.level == spdlog::level::warn ? "warning: "
                         : msg.level >= spdlog::level::err ? "error: "
                                                          : "";
    dest.append(prefix, prefix + std::char_traits<char>::length(prefix));
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<LevelPrefix>(); }
};

constexpr const char* kFilePattern = "[%Y-%m-%d %H:%M:%S.%e] [%l] %v";

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warning: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
    case Level::off: break;
  }
  return spdlog::level::off;
}

// The logger is built on first use and never destroyed (messages may come from static destructors).
struct State {
  std::mutex mutex;  // guards the sink list against concurrent LogFile creation / destruction
  Level console = Level::info;
  std::shared_ptr<spdlog::sinks::sink> console_sink;
  spdlog::logger logger{"mmdg"};

  State() {
    console_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<LevelPrefix>('*').set_pattern("%*%v");
    console_sink->set_formatter(std::move(formatter));
    console_sink->set_level(to_spdlog(console));
    logger.sinks().push_back(console_sink);
    logger.set_level(spdlog::level::debug);
    logger.flush_on(spdlog::level::debug);  // messages are rare: every one reaches the file at once
  }
};

State& state() {
  static State* s = new State();
  return *s;
}

void write(spdlog::level::level_enum level, const std::string& message) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.logger.log(level, spdlog::string_view_t(message.data(), message.size()));
}

}  // namespace

void set_console_level(Level level) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.console = level;
  s.console_sink->set_level(to_spdlog(level));
}

Level console_level() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.console;
}

bool console_shows(Level level) { return level != Level::off && level >= console_level(); }

void debug(const std::string& message) { write(spdlog::level::debug, message); }
void info(const std::string& message) { write(spdlog::level::info, message); }
void warning(const std::string& message) { write(spdlog::level::warn, message); }
void error(const std::string& message) { write(spdlog::level::err, message); }

LogFile::LogFile(const std::string& path) : path_(path) {
  try {
    sink_ = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
  } catch (const spdlog::spdlog_ex& e) {
    throw Error(path + ": cannot open the log file (" + e.what() + ")");
  }
  sink_->set_pattern(kFilePattern);
  sink_->set_level(spdlog::level::debug);
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.logger.sinks().push_back(sink_);
}

LogFile::~LogFile() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto& sinks = s.logger.sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  sink_->flush();
}

void LogFile::failure(const std::exception& e) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  failure(torch_error ? torch_error->what_without_backtrace() : e.what());
}

void LogFile::failure(const std::string& message) {
  const spdlog::details::log_msg msg(spdlog::string_view_t("mmdg"), spdlog::level::err,
                                     spdlog::string_view_t(message.data(), message.size()));
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  sink_->log(msg);
  sink_->flush();
}

}  // namespace mmdg::log
