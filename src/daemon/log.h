// One line per event on stderr. Under systemd (JOURNAL_STREAM set) each line
// starts with a syslog priority prefix (<3> error, <4> warning, <6> info,
// <7> debug) that journald reads; on a terminal lines start with the level
// name. Thread-safe (one write(2) per line).
#pragma once

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

}  // namespace edge46::daemon
