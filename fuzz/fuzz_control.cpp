// libFuzzer: one control-socket request line (src/daemon/control.h), as a
// local client sends it. Every input must produce one JSON reply line that
// parses, with "ok"; nothing may throw, crash or recurse without bound.
// Reload is refused (no configuration file), so the state only changes
// through eamt.add/remove and, on the PE instance, rule.add/change/remove,
// which the target exercises too. Even-length inputs go to a SIIT daemon,
// odd-length ones to a PE (rule.*, mrdb.stats).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.h"
#include "daemon/control.h"

using namespace edge46;

namespace {

daemon::DaemonState* make(const char* toml) {
  auto* s = new daemon::DaemonState(1);
  auto loaded = config::load_string(toml, "fuzz.toml");
  if (!loaded) std::abort();
  auto snap = daemon::make_snapshot(std::move(*loaded), 0);
  if (!snap) std::abort();
  s->eamt.init((*snap)->settings.eamt);
  std::vector<std::string> warnings;
  if ((*snap)->role.role == pipeline::Role::kPe && !s->pe.configure((*snap)->settings.pe, warnings)) std::abort();
  s->snapshot.reset(std::move(*snap));
  return s;
}

daemon::DaemonState& state(bool pe) {
  static daemon::DaemonState* siit =
      make("[translator]\npool6 = \"64:ff9b::/96\"\n[[eamt]]\nipv6 = \"2001:db8:6::/120\"\nipv4 = \"198.51.100.0/24\"\n");
  static daemon::DaemonState* pe_state = make(
      "[daemon]\nrole = \"pe\"\n[pe]\nprefixes = [\"2001:db8:1:46::/96\"]\nipv4 = [\"192.0.2.0/26\"]\n"
      "[[pe.rule]]\nprefix = \"198.51.100.0/24\"\npref6 = \"2001:db8:3:46::/96\"\n");
  return pe ? *pe_state : *siit;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  std::string reply = daemon::handle_request(state(size % 2 == 1), line);
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
