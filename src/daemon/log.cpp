#include "daemon/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace edge46::daemon {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_tag_mutex;
std::string g_tag = "edge46d";
const bool g_journal = std::getenv("JOURNAL_STREAM") != nullptr;

std::string_view level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "info";
}
}  // namespace

bool set_log_level(std::string_view name) {
  LogLevel l;
  if (name == "error") {
    l = LogLevel::kError;
  } else if (name == "warning" || name == "warn") {
    l = LogLevel::kWarning;
  } else if (name == "info") {
    l = LogLevel::kInfo;
  } else if (name == "debug" || name == "trace") {
    l = LogLevel::kDebug;
  } else {
    return false;
  }
  g_level.store(static_cast<int>(l));
  return true;
}

void set_log_tag(std::string tag) {
  std::lock_guard lock(g_tag_mutex);
  g_tag = std::move(tag);
}

void log(LogLevel level, std::string_view msg) {
  if (static_cast<int>(level) > g_level.load(std::memory_order_relaxed)) {
    return;
  }
  std::string line;
  if (g_journal) {
    line = "<" + std::to_string(static_cast<int>(level)) + ">";
  } else {
    char ts[32];
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    line = ts;
  }
  {
    std::lock_guard lock(g_tag_mutex);
    line += g_tag;
  }
  line += ": ";
  if (!g_journal) {
    line += level_name(level);
    line += ": ";
  }
  line += msg;
  line += '\n';
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace edge46::daemon
