// The control protocol: one JSON object per line on a Unix stream socket,
// one JSON object per line in answer.
//
//   {"cmd":"status"}
//   {"cmd":"config.show"}
//   {"cmd":"eamt.show"}
//   {"cmd":"eamt.add","ipv6":"2001:db8:a::/128","ipv4":"192.0.2.1/32"}
//   {"cmd":"eamt.remove","ipv6":"...","ipv4":"..."}
//   {"cmd":"pool6.show"}
//   {"cmd":"stats"}
//   {"cmd":"reload"}
//
// Every answer has "ok": true plus the data, or "ok": false and "error".
// Runtime changes (eamt.add/remove) are applied one entry at a time to the
// runtime EAMT (tables.h), outside the configuration snapshot, and shown by
// eamt.show (with each entry's source) and config.show. A reload replaces
// the file's entries only: edge46ctl's survive it.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "daemon/state.h"

namespace edge46::daemon {

using Json = nlohmann::ordered_json;

// Reloads the configuration file. A file that does not load (or has another
// role that cannot be built) is refused: the running snapshot stays and the
// error (file:line:column: key: message) is returned and logged. Changes to
// [daemon] keys that need a restart (tun, workers, control-socket,
// tun-multiqueue) are kept at their running values and reported as a warning.
tl::expected<std::string, std::string> reload(DaemonState& st);

// Requests nested deeper than this are refused before a DOM is built.
inline constexpr std::size_t kMaxRequestDepth = 16;

// Handles one request line and returns the reply line (without the newline);
// never throws, whatever the bytes: ill-formed JSON or UTF-8 and requests
// nested deeper than kMaxRequestDepth get {"ok":false,"error":...}. Values
// quoted in an error are excerpts (config::excerpt): at most 64 bytes, ill-
// formed bytes as \xHH.
std::string handle_request(DaemonState& st, std::string_view line);
Json handle(DaemonState& st, const Json& req);

}  // namespace edge46::daemon
