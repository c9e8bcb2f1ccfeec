// Loading and printing the one configuration schema (TOML; documented key by
// key in docs/configuration.md).
//
// Every problem is reported with its place: file, line and column of the
// offending key or value (toml++ source regions), the dotted key path
// ("translator.pool6.layout", "eamt[2].ipv4") and a message. Unknown keys,
// wrong types, prefixes with host bits and out-of-range numbers are all
// errors; nothing is silently ignored. Control-path code: values, not
// exceptions (tl::expected).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "config/settings.h"

namespace edge46::config {

struct ConfigError {
  std::string file;
  int line = 0;     // 1-based; 0 when the error has no place (file unreadable)
  int column = 0;   // 1-based
  std::string key;  // dotted path, empty when the error is about the document
  std::string message;
  // "file:line:col: key: message" (parts that are unknown are left out).
  std::string to_string() const;
};

// Reads and loads one file. Anything that is not a readable regular file (a
// directory, a FIFO, a device) and any read error fails the load with the
// reason; nothing is half-read.
tl::expected<Settings, ConfigError> load_file(const std::string& path);
tl::expected<Settings, ConfigError> load_string(std::string_view toml, std::string_view source_name);

// The whole configuration, every key spelled out (defaults included), in the
// schema's order. load_string(dump_toml(s)) == s.
std::string dump_toml(const Settings& s);

// A user-supplied value made safe to quote in an error message, a log line
// or a JSON reply: at most `max` bytes of it, then "...(N bytes)" with the
// whole length; bytes that are not printable ASCII or part of valid UTF-8
// (control characters, a newline, a cut or ill-formed sequence) are written
// as \xHH. Error messages never echo unbounded input.
inline constexpr std::size_t kExcerptBytes = 64;
std::string excerpt(std::string_view s, std::size_t max = kExcerptBytes);
nlohmann::json to_json(const Settings& s);

}  // namespace edge46::config
