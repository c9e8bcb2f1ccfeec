// libFuzzer: one control-socket request line (src/daemon/control.h), as a
// local client sends it. Every input must produce one JSON reply line that
// parses, with "ok"; nothing may throw, crash or recurse without bound.
// Reload is refused (no configuration file), so the state only changes
// through eamt.add/remove, which the target exercises too.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "config/loader.h"
#include "daemon/control.h"

using namespace edge46;

namespace {

daemon::DaemonState& state() {
  static daemon::DaemonState* st = [] {
    auto* s = new daemon::DaemonState(1);
    auto loaded = config::load_string(
        "[translator]\npool6 = \"64:ff9b::/96\"\n[[eamt]]\nipv6 = \"2001:db8:6::/120\"\nipv4 = \"198.51.100.0/24\"\n",
        "fuzz.toml");
    if (!loaded) std::abort();
    auto snap = daemon::make_snapshot(std::move(*loaded), 0);
    if (!snap) std::abort();
    s->eamt.init((*snap)->settings.eamt);
    s->snapshot.reset(std::move(*snap));
    return s;
  }();
  return *st;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  std::string reply = daemon::handle_request(state(), line);
  if (reply.find('\n') != std::string::npos) {
    std::fprintf(stderr, "reply holds a newline: it would split the line protocol\n");
    std::abort();
  }
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ok") || !j["ok"].is_boolean()) {
    std::fprintf(stderr, "reply is not a JSON object with ok: %.200s\n", reply.c_str());
    std::abort();
  }
  return 0;
}
