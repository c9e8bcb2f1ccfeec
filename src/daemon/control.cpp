#include "daemon/control.h"

#include <unistd.h>

#include <exception>

#include "config/loader.h"
#include "daemon/bgp_control.h"
#include "daemon/log.h"
#include "mapping/mrdb_file.h"
#include "mapping/rfc6052.h"
#include "net/addr.h"

namespace edge46::daemon {
namespace {

Json fail(std::string msg) {
  return Json{{"ok", false}, {"error", std::move(msg)}};
}

using config::excerpt;

// Builds the DOM through nlohmann's own SAX-to-DOM builder, but stops at the
// first value nested deeper than kMaxRequestDepth: a request is flat (one
// object of strings), and a deep one (400 KB of '[' fits under the request
// size limit) would otherwise cost a deep DOM whose handling recurses.
class BoundedSax {
 public:
  explicit BoundedSax(Json& root) : dom_(root, false) {}

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(Json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(Json::number_float_t v, const Json::string_t& s) { return dom_.number_float(v, s); }
  bool string(Json::string_t& v) { return dom_.string(v); }
  bool binary(Json::binary_t& v) { return dom_.binary(v); }
  bool key(Json::string_t& v) { return dom_.key(v); }
  bool start_object(std::size_t n) { return deeper() && dom_.start_object(n); }
  bool end_object() {
    --depth_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) { return deeper() && dom_.start_array(n); }
  bool end_array() {
    --depth_;
    return dom_.end_array();
  }
  bool parse_error(std::size_t position, const std::string& /*token*/, const nlohmann::detail::exception& e) {
    // e.what() quotes the last token read, which may be a whole megabyte or
    // ill-formed UTF-8: only an excerpt goes into the reply.
    error_ = "not JSON (at byte " + std::to_string(position) + "): " + excerpt(e.what(), 4 * config::kExcerptBytes);
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  bool deeper() {
    if (++depth_ > kMaxRequestDepth) {
      error_ = "JSON nested deeper than " + std::to_string(kMaxRequestDepth) + " levels";
      return false;
    }
    return true;
  }

  nlohmann::detail::json_sax_dom_parser<Json> dom_;
  std::size_t depth_ = 0;
  std::string error_;
};

tl::expected<Json, std::string> parse_request(std::string_view line) {
  Json req;
  BoundedSax sax(req);
  const bool ok = Json::sax_parse(line.begin(), line.end(), &sax, nlohmann::json::input_format_t::json, true);
  if (!ok) {
    return tl::unexpected(sax.error().empty() ? std::string("not JSON") : sax.error());
  }
  return req;
}

Json eamt_json(const EamtStore& store) {
  const mapping::Eamt& eamt = store.current();
  Json a = Json::array();
  for (const auto& e : eamt.entries()) {
    a.push_back(Json{{"ipv6", net::to_string(e.v6)},
                     {"ipv4", net::to_string(e.v4)},
                     {"source", std::string(eam_source_name(store.source_of(e)))}});
  }
  return a;
}

Json rule_json(const mapping::MrRule& r) {
  return Json{{"prefix", net::to_string(r.prefix)},
              {"pref6", net::to_string(r.target.pool6.prefix)},
              {"layout", std::string(mapping::layout_name(r.target.pool6.layout))},
              {"modes", std::string(mapping::modes_name(r.target.modes))},
              {"source", std::string(mapping::rule_source_name(r.source))},
              {"preference", r.preference}};
}

// {"prefix", "pref6", "modes"?, "layout"?, "preference"?} of rule.add/change.
tl::expected<mapping::MrRule, std::string> parse_rule(const Json& req) {
  auto str = [&](const char* k) -> std::optional<std::string> {
    if (!req.contains(k)) return std::nullopt;
    if (!req[k].is_string()) throw std::invalid_argument(std::string("\"") + k + "\" must be a string");
    return req[k].get<std::string>();
  };
  try {
    auto prefix = str("prefix");
    auto pref6 = str("pref6");
    if (!prefix || !pref6) return tl::unexpected(std::string("rules need \"prefix\" and \"pref6\""));
    mapping::MrRule r;
    r.source = mapping::RuleSource::kCtl;
    auto p4 = net::parse_ipv4_prefix(*prefix);
    if (!p4) return tl::unexpected("not an IPv4 prefix (host bits must be zero): " + excerpt(*prefix));
    r.prefix = *p4;
    auto p6 = net::parse_ipv6_prefix(*pref6);
    if (!p6) return tl::unexpected("not an IPv6 prefix (host bits must be zero): " + excerpt(*pref6));
    r.target.pool6 = mapping::Pool6{*p6, mapping::Pool6Layout::kLow32};
    if (auto l = str("layout")) {
      auto layout = mapping::parse_layout(*l);
      if (!layout) return tl::unexpected("layout must be low32 or rfc6052: " + excerpt(*l));
      r.target.pool6.layout = *layout;
    }
    if (auto m = str("modes")) {
      auto modes = mapping::parse_modes(*m);
      if (!modes) return tl::unexpected("modes must be translate, encapsulate or both: " + excerpt(*m));
      r.target.modes = *modes;
    }
    if (req.contains("preference")) {
      if (!req["preference"].is_number_unsigned() || req["preference"].get<uint64_t>() > 1'000'000) {
        return tl::unexpected(std::string("preference must be an integer 0..1000000"));
      }
      r.preference = req["preference"].get<uint32_t>();
    }
    if (auto why = mapping::validate_rule(r); !why.empty()) return tl::unexpected(why);
    return r;
  } catch (const std::invalid_argument& e) {
    return tl::unexpected(std::string(e.what()));
  }
}

Json pe_command(DaemonState& st, const Snapshot& snap, const std::string& cmd, const Json& req) {
  if (snap.role.role != pipeline::Role::kPe)
    return fail("'" + cmd + "' needs role pe (running: " + std::string(pipeline::role_name(snap.role.role)) + ")");
  PeStore& pe = st.pe;
  auto source_of = [&](const char* key, mapping::RuleSource dflt) -> tl::expected<mapping::RuleSource, std::string> {
    if (!req.contains(key)) return dflt;
    if (!req[key].is_string()) return tl::unexpected(std::string("source must be a string"));
    auto s = mapping::parse_rule_source(req[key].get<std::string>());
    if (!s) return tl::unexpected("source must be config, local, ctl or bgp: " + excerpt(req[key].get<std::string>()));
    return *s;
  };
  if (cmd == "rule.show") {
    std::optional<mapping::RuleSource> src;
    if (req.contains("source")) {
      auto s = source_of("source", mapping::RuleSource::kCtl);
      if (!s) return fail(s.error());
      src = *s;
    }
    std::size_t limit = 10000;
    if (req.contains("limit")) {
      if (!req["limit"].is_number_unsigned()) return fail("limit must be a non-negative integer");
      limit = req["limit"].get<std::size_t>();
    }
    const auto rules = pe.mrdb().rules(src);
    Json a = Json::array();
    for (std::size_t i = 0; i < rules.size() && i < limit; ++i) {
      Json j = rule_json(rules[i]);
      auto m = pe.mrdb().match(rules[i].prefix.addr);
      j["installed"] = m && m->prefix == rules[i].prefix && m->source == rules[i].source;
      a.push_back(std::move(j));
    }
    return Json{{"ok", true}, {"total", rules.size()}, {"truncated", rules.size() > limit}, {"rules", a}};
  }
  if (cmd == "rule.add" || cmd == "rule.change") {
    auto r = parse_rule(req);
    if (!r) return fail(r.error());
    auto ok = cmd == "rule.add" ? pe.add(*r) : pe.change(*r);
    if (!ok) return fail(ok.error());
    log_info(std::string(cmd == "rule.add" ? "rule added: " : "rule changed: ") + mapping::format_rule(*r));
    return Json{{"ok", true}, {"rule", rule_json(*r)}};
  }
  if (cmd == "rule.remove") {
    if (!req.contains("prefix") || !req["prefix"].is_string()) return fail("rule.remove needs \"prefix\"");
    auto p4 = net::parse_ipv4_prefix(req["prefix"].get<std::string>());
    if (!p4) return fail("not an IPv4 prefix (host bits must be zero): " + excerpt(req["prefix"].get<std::string>()));
    auto src = source_of("source", mapping::RuleSource::kCtl);
    if (!src) return fail(src.error());
    if (*src != mapping::RuleSource::kCtl) {
      return fail("only ctl rules are removed here; config and local rules follow the file and the routes");
    }
    auto ok = pe.remove(*p4, *src);
    if (!ok) return fail(ok.error());
    log_info("rule removed: " + net::to_string(*p4) + " (ctl)");
    return Json{{"ok", true}};
  }
  if (cmd == "rule.lookup") {
    if (!req.contains("address") || !req["address"].is_string()) return fail("rule.lookup needs \"address\"");
    auto a = net::parse_ipv4(req["address"].get<std::string>());
    if (!a) return fail("not an IPv4 address: " + excerpt(req["address"].get<std::string>()));
    std::optional<net::Ipv4Addr> from;
    if (req.contains("source")) {
      if (!req["source"].is_string() || !(from = net::parse_ipv4(req["source"].get<std::string>()))) {
        return fail("source must be an IPv4 address");
      }
    }
    auto m = pe.mrdb().match(*a);
    if (!m) {
      return Json{{"ok", true},
                  {"address", net::to_string(*a)},
                  {"rule", nullptr},
                  {"action", snap.role.pe.no_rule_unreachable ? "drop (no_mapping_rule), ICMPv4 3/0 to the source"
                                                              : "drop (no_mapping_rule)"}};
    }
    const auto& p = snap.role.pe;
    const uint8_t mode = pipeline::choose_mode(m->target.modes, p.prefer);
    Json j{{"ok", true},
           {"address", net::to_string(*a)},
           {"rule", rule_json(*m)},
           {"mode", std::string(mapping::modes_name(mode))},
           {"ipv6_destination", net::to_string(mapping::embed(m->target.pool6, *a))},
           {"ipv6_source_prefix", net::to_string(p.own.prefix)}};
    if (from) j["ipv6_source"] = net::to_string(mapping::embed(p.own, *from));
    return j;
  }
  if (cmd == "mrdb.stats") {
    const auto s = pe.mrdb().stats();
    Json per = Json::object();
    for (std::size_t i = 0; i < mapping::kRuleSourceCount; ++i) {
      per[std::string(mapping::rule_source_name(static_cast<mapping::RuleSource>(i)))] = s.per_source[i];
    }
    return Json{{"ok", true},
                {"rules", s.rules},
                {"installed", s.installed},
                {"per_source", per},
                {"targets", s.targets},
                {"known_pref6", pe.known().size()},
                {"kernel_blocks", pe.kernel_block_count()},
                {"tbl8_groups", s.tbl8_groups_used},
                {"retired", s.retired},
                {"memory_bytes", s.memory_bytes},
                {"updates", s.updates}};
  }
  return fail("unknown command '" + excerpt(cmd) + "'");
}

Json pool6_json(const xlat::Config& x) {
  if (!x.pool6) {
    return nullptr;
  }
  return Json{{"prefix", net::to_string(x.pool6->prefix)},
              {"layout", std::string(mapping::layout_name(x.pool6->layout))}};
}

// Parses {"ipv6":..., "ipv4":...} of an eamt.add/remove request.
tl::expected<mapping::Eam, std::string> parse_eam(const Json& req) {
  if (!req.contains("ipv6") || !req["ipv6"].is_string() || !req.contains("ipv4") || !req["ipv4"].is_string()) {
    return tl::unexpected(std::string("eamt entries need \"ipv6\" and \"ipv4\" prefixes"));
  }
  auto s6 = req["ipv6"].get<std::string>();
  auto s4 = req["ipv4"].get<std::string>();
  auto v6 = net::parse_ipv6_prefix(s6);
  if (!v6) {
    return tl::unexpected("not an IPv6 prefix (host bits must be zero): " + excerpt(s6));
  }
  auto v4 = net::parse_ipv4_prefix(s4);
  if (!v4) {
    return tl::unexpected("not an IPv4 prefix (host bits must be zero): " + excerpt(s4));
  }
  return mapping::Eam{*v6, *v4};
}

Json stats_json(const DaemonState& st) {
  auto t = st.counters.totals();
  Json counters = Json::object();
  Json help = Json::object();
  for (const auto& [name, value] : t.values) {
    counters[name] = value;
    help[name] = pipeline::counter_help(name);
  }
  Json j{{"ok", true}, {"workers", st.counters.size()}, {"counters", counters}, {"help", help}};
  if (st.bgp != nullptr) j["bgp"] = bgp_metrics(st);
  return j;
}

}  // namespace

tl::expected<std::string, std::string> reload(DaemonState& st) {
  std::lock_guard lock(st.change_mutex);
  if (st.config_path.empty()) {
    return tl::unexpected(std::string("no configuration file to reload"));
  }
  auto loaded = config::load_file(st.config_path);
  if (!loaded) {
    ++st.reloads_failed;
    st.last_reload_error = loaded.error().to_string();
    log_error("reload refused, keeping the running configuration: " + st.last_reload_error);
    return tl::unexpected(st.last_reload_error);
  }
  const Snapshot* cur = st.snapshot.current();
  std::string warning;
  const auto& old_d = cur->settings.daemon;
  auto& new_d = loaded->daemon;
  if (new_d.tun != old_d.tun || new_d.workers != old_d.workers || new_d.control_socket != old_d.control_socket ||
      new_d.tun_multiqueue != old_d.tun_multiqueue || new_d.tun_offload != old_d.tun_offload) {
    warning =
        "daemon.tun, workers, tun-multiqueue, tun-offload and control-socket changes need a restart; kept running "
        "values";
    std::string role = new_d.role, level = new_d.log_level;
    new_d = old_d;
    new_d.role = role;
    new_d.log_level = level;
  }
  // The kernel route source is started once ([pe.kernel-routes]).
  if (!(loaded->pe.kernel_routes == cur->settings.pe.kernel_routes)) {
    if (!warning.empty()) warning += "; ";
    warning += "pe.kernel-routes changes need a restart; kept running values";
    loaded->pe.kernel_routes = cur->settings.pe.kernel_routes;
  }
  // The BGP speaker is started once: whether it runs, its identity, its
  // listening socket and its code points need a restart; peers, policies,
  // timers and what this PE originates follow a reload.
  {
    const auto& ob = cur->settings.bgp;
    auto& nb = loaded->bgp;
    const auto& o = ob.speaker;
    auto& n = nb.speaker;
    if (nb.enabled != ob.enabled) {
      if (!warning.empty()) warning += "; ";
      warning += std::string("[bgp] ") + (nb.enabled ? "added" : "removed") +
                 ": starting or stopping the BGP speaker needs a restart; kept running values";
      nb = ob;
    } else if (nb.enabled && (n.asn != o.asn || n.router_id != o.router_id || n.listen != o.listen ||
                              n.listen_address != o.listen_address || n.port != o.port || !(n.cp == o.cp))) {
      if (!warning.empty()) warning += "; ";
      warning +=
          "bgp.asn, router-id, listen, listen-address, port and codepoints changes need a restart; kept running "
          "values";
      n.asn = o.asn;
      n.router_id = o.router_id;
      n.listen = o.listen;
      n.listen_address = o.listen_address;
      n.port = o.port;
      n.cp = o.cp;
    }
  }
  // Each worker allocates its reassembly table once, at start (worker.cpp):
  // these bounds are restart-only too, and the snapshot keeps the values in
  // force so config.show does not show a table that does not exist.
  const auto& old_l = cur->settings.limits;
  auto& new_l = loaded->limits;
  if (new_l.reassembly_slots != old_l.reassembly_slots || new_l.reassembly_memory != old_l.reassembly_memory ||
      new_l.reassembly_timeout_ms != old_l.reassembly_timeout_ms) {
    if (!warning.empty()) warning += "; ";
    warning +=
        "limits.reassembly-slots, reassembly-memory and reassembly-timeout-ms changes need a restart; kept "
        "running values";
    new_l.reassembly_slots = old_l.reassembly_slots;
    new_l.reassembly_memory = old_l.reassembly_memory;
    new_l.reassembly_timeout_ms = old_l.reassembly_timeout_ms;
  }
  auto snap = make_snapshot(std::move(*loaded), st.next_generation);
  if (!snap) {
    ++st.reloads_failed;
    st.last_reload_error = st.config_path + ": " + snap.error();
    log_error("reload refused, keeping the running configuration: " + st.last_reload_error);
    return tl::unexpected(st.last_reload_error);
  }
  // The file's EAMs replace the file's EAMs only (tables.h); a conflict
  // with an edge46ctl entry refuses the whole reload, nothing changed.
  std::size_t eams_removed = 0, eams_added = 0;
  if (auto why = st.eamt.replace_file((*snap)->settings.eamt, eams_removed, eams_added); !why.empty()) {
    ++st.reloads_failed;
    st.last_reload_error = st.config_path + ": " + why;
    log_error("reload refused, keeping the running configuration: " + st.last_reload_error);
    return tl::unexpected(st.last_reload_error);
  }
  // The PE's config and local rules (pe_store.h). A rules file that does
  // not load refuses the reload; the EAMT change just made is undone (back
  // to the running file's entries, which it held a moment ago).
  if ((*snap)->role.role == pipeline::Role::kPe) {
    std::vector<std::string> pe_warnings;
    if (auto ok = st.pe.configure((*snap)->settings.pe, pe_warnings); !ok) {
      std::size_t r = 0, a = 0;
      (void)st.eamt.replace_file(cur->settings.eamt, r, a);
      ++st.reloads_failed;
      st.last_reload_error = st.config_path + ": " + ok.error();
      log_error("reload refused, keeping the running configuration: " + st.last_reload_error);
      return tl::unexpected(st.last_reload_error);
    }
    for (const auto& w : pe_warnings) {
      if (!warning.empty()) warning += "; ";
      warning += w;
    }
  }
  ++st.next_generation;
  ++st.reloads_ok;
  st.last_reload_error.clear();
  set_log_level((*snap)->settings.daemon.log_level);
  // Publishes the new pair; the old one is freed here after a grace period.
  st.snapshot.reset(std::move(*snap));
  cur = st.snapshot.current();
  if (st.bgp != nullptr) {
    if (auto ok = st.bgp->reconfigure(cur->settings.bgp.speaker); !ok) {
      if (!warning.empty()) warning += "; ";
      warning += "bgp: " + ok.error() + "; the speaker keeps its running peers";
    }
    publish_local_rules(st);
  }
  log_info("configuration reloaded from " + st.config_path + " (generation " + std::to_string(cur->generation) +
           ", role " + std::string(pipeline::role_name(cur->role.role)) + ", " +
           std::to_string(st.eamt.current().entries().size()) + " EAMs: " + std::to_string(eams_removed) +
           " removed, " + std::to_string(eams_added) + " added from the file)");
  if (!warning.empty()) {
    log_warning(warning);
  }
  return warning;
}

Json handle(DaemonState& st, const Json& req) {
  if (!req.is_object() || !req.contains("cmd") || !req["cmd"].is_string()) {
    return fail("request must be a JSON object with a \"cmd\" string");
  }
  const auto cmd = req["cmd"].get<std::string>();
  // Control-plane readers hold change_mutex: no version is changed or freed
  // under them. Commands that change the snapshot let go of it first.
  std::unique_lock lock(st.change_mutex);
  const Snapshot* snap = st.snapshot.current();
  const auto& s = snap->settings;

  if (cmd == "status") {
    auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - st.started).count();
    return Json{
        {"ok", true},
        {"role", std::string(pipeline::role_name(snap->role.role))},
        {"tun", st.tun_name},
        {"workers", st.workers},
        {"offload", st.offload},
        {"loop_guard", st.loop_guard()},
        {"config_file", st.config_path},
        {"generation", snap->generation},
        {"uptime_seconds", up},
        {"reloads_ok", st.reloads_ok},
        {"reloads_failed", st.reloads_failed},
        {"last_reload_error", st.last_reload_error},
        {"pool6", pool6_json(s.xlat)},
        {"eamt_entries", st.eamt.current().entries().size()},
        {"mrdb_rules", snap->role.role == pipeline::Role::kPe ? Json(st.pe.mrdb().stats().rules) : Json(nullptr)},
        {"kernel_routes", st.routes4 != nullptr ? Json(st.routes4->status()) : Json("off")},
        {"pid", static_cast<long>(::getpid())}};
  }
  if (cmd == "config.show") {
    // The running configuration, runtime tables included (every EAM, from
    // any source): saved to the file, it reloads to what runs now.
    config::Settings shown = s;
    shown.eamt = st.eamt.current();
    Json j{{"ok", true}, {"generation", snap->generation}};
    j["config"] = Json::parse(config::to_json(shown).dump());
    j["toml"] = config::dump_toml(shown);
    return j;
  }
  if (cmd == "eamt.show") {
    return Json{{"ok", true}, {"eamt", eamt_json(st.eamt)}};
  }
  if (cmd.starts_with("rule.") || cmd == "mrdb.stats") {
    return pe_command(st, *snap, cmd, req);
  }
  if (cmd.starts_with("bgp.")) {
    return bgp_command(st, cmd, req);
  }
  if (cmd == "pool6.show") {
    return Json{{"ok", true}, {"pool6", pool6_json(s.xlat)}};
  }
  if (cmd == "eamt.add" || cmd == "eamt.remove") {
    auto eam = parse_eam(req);
    if (!eam) {
      return fail(eam.error());
    }
    const bool add = cmd == "eamt.add";
    // One entry applied to the runtime table (no snapshot, no copy).
    std::string why = add ? st.eamt.add(*eam) : st.eamt.remove(*eam);
    if (!why.empty()) {
      return fail(why);
    }
    log_info(std::string(add ? "EAM added: " : "EAM removed: ") + net::to_string(eam->v6) + " <-> " +
             net::to_string(eam->v4) + " (EAMT version " + std::to_string(st.eamt.version()) + ")");
    return Json{{"ok", true}, {"version", st.eamt.version()}};
  }
  if (cmd == "stats") {
    return stats_json(st);
  }
  if (cmd == "reload") {
    lock.unlock();
    auto r = reload(st);
    if (!r) {
      return fail("reload refused, running configuration kept: " + r.error());
    }
    lock.lock();
    Json j{{"ok", true}, {"generation", st.snapshot.current()->generation}};
    if (!r->empty()) {
      j["warning"] = *r;
    }
    return j;
  }
  return fail("unknown command '" + excerpt(cmd) + "'");
}

std::string handle_request(DaemonState& st, std::string_view line) {
  // Everything, the serialisation of the reply included, happens inside the
  // try: a reply must never take the daemon down. dump() replaces ill-formed
  // UTF-8 (U+FFFD) instead of throwing type_error.316, as a last resort
  // behind the excerpts in every message.
  try {
    Json resp;
    try {
      auto req = parse_request(line);
      resp = req ? handle(st, *req) : fail("bad request: " + req.error());
    } catch (const std::exception& e) {
      resp = fail("internal error: " + excerpt(e.what(), 4 * config::kExcerptBytes));
    }
    return resp.dump(-1, ' ', false, Json::error_handler_t::replace);
  } catch (...) {
    return R"({"ok":false,"error":"internal error: the reply could not be built"})";
  }
}

}  // namespace edge46::daemon
