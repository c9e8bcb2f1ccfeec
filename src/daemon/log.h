// One line per event on stderr. Under systemd (JOURNAL_STREAM set) each line
// starts with a syslog priority prefix (<3> error, <4> warning, <6> info,
// <7> debug) that journald reads; on a terminal lines start with the level
// name. Thread-safe (one write(2) per line).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace edge46::daemon {

enum class LogLevel : int { kError = 3, kWarning = 4, kInfo = 6, kDebug = 7 };

bool set_log_level(std::string_view name);  // "error" | "warning" | "info" | "debug"
void set_log_tag(std::string tag);          // e.g. "edge46d[edge46]"
void log(LogLevel level, std::string_view msg);

inline void log_error(std::string_view m) {
  log(LogLevel::kError, m);
}
inline void log_warning(std::string_view m) {
  log(LogLevel::kWarning, m);
}
inline void log_info(std::string_view m) {
  log(LogLevel::kInfo, m);
}
inline void log_debug(std::string_view m) {
  log(LogLevel::kDebug, m);
}

// A warning that may repeat in a loop (a persistent accept or receive
// error): at most one line per kInterval, carrying the count of the ones
// left out since. Not thread-safe: one per thread and call site.
class RateLimitedLog {
 public:
  static constexpr std::chrono::seconds kInterval{10};
  void warn(const std::string& msg) {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_) {
      ++suppressed_;
      return;
    }
    log_warning(suppressed_ == 0 ? msg : msg + " (" + std::to_string(suppressed_) + " more since the last report)");
    suppressed_ = 0;
    next_ = now + kInterval;
  }

 private:
  std::chrono::steady_clock::time_point next_{};
  uint64_t suppressed_ = 0;
};

}  // namespace edge46::daemon
