#include "daemon/bgp_control.h"

#include "bgp/wire.h"
#include "config/loader.h"
#include "net/addr.h"

namespace edge46::daemon {

using Json = nlohmann::ordered_json;

namespace {

Json fail(std::string msg) {
  return Json{{"ok", false}, {"error", std::move(msg)}};
}

Json caps_json(const bgp::Capabilities& c) {
  return Json{{"multiprotocol_ipv4", c.mp_ipv4},
              {"multiprotocol_ipv6", c.mp_ipv6},
              {"extended_next_hop", c.ext_next_hop},
              {"four_octet_as", c.four_octet_as},
              {"route_refresh", c.route_refresh}};
}

Json counters_json(const bgp::PeerCounters& c) {
  Json rejected = Json::object();
  for (std::size_t i = 1; i < bgp::kRejectCount; ++i) {
    rejected[std::string(bgp::reject_name(static_cast<bgp::Reject>(i)))] = c.rejected[i];
  }
  return Json{{"updates", c.updates},     {"announced", c.announced},
              {"withdrawn", c.withdrawn}, {"received", c.received},
              {"accepted", c.accepted},   {"stale", c.stale},
              {"rejected", rejected},     {"max_prefix_warned", c.max_prefix_warned}};
}

Json peer_json(const bgp::PeerStatus& p) {
  return Json{{"name", p.config.name},
              {"address", net::to_string(p.config.address)},
              {"port", p.config.port},
              {"asn", p.config.asn},
              {"type", p.ibgp ? "ibgp" : "ebgp"},
              {"passive", p.config.passive},
              {"shape", p.config.shape == bgp::Shape::kAttribute ? "attribute" : "tunnel-encap"},
              {"state", std::string(bgp::session_state_name(p.state))},
              {"uptime_seconds", p.uptime_s},
              {"peer_router_id", net::to_string(net::Ipv4Addr{p.peer_bgp_id})},
              {"hold_time", p.hold_time},
              {"capabilities", caps_json(p.peer_caps)},
              {"can_announce", p.can_announce},
              {"last_error", p.last_error},
              {"established_count", p.established_count},
              {"messages_in", p.msgs_in},
              {"messages_out", p.msgs_out},
              {"updates_in", p.updates_in},
              {"updates_out", p.updates_out},
              {"notifications_in", p.notifications_in},
              {"notifications_out", p.notifications_out},
              {"advertised", p.advertised},
              {"rib", counters_json(p.rib)}};
}

Json rule_json(const bgp::FourMap6& r) {
  return Json{{"pref6", net::to_string(r.pref6)},
              {"translate", r.translate},
              {"default", r.is_default},
              {"egress", r.egress ? Json(net::to_string(*r.egress)) : Json(nullptr)}};
}

Json route_json(const bgp::RouteView& v) {
  const auto& a = v.attrs;
  Json j{{"prefix", net::to_string(v.prefix)}, {"peer", v.peer_name}};
  if (a.rule_state == bgp::PathAttrs::RuleState::kPresent) {
    j.update(rule_json(a.rule));
  } else {
    j["pref6"] = nullptr;
  }
  j["shape"] = a.rule_shape == bgp::Shape::kAttribute ? "attribute" : "tunnel-encap";
  j["validity"] = std::string(bgp::validity_name(v.validity));
  j["reject"] = std::string(bgp::reject_name(v.reject));
  j["best"] = v.best;
  j["stale"] = v.stale;
  j["as_path"] = bgp::to_string(a.as_path);
  j["origin"] = a.origin;
  j["local_pref"] = a.local_pref ? Json(*a.local_pref) : Json(nullptr);
  j["med"] = a.med ? Json(*a.med) : Json(nullptr);
  j["originator_id"] = a.originator_id ? Json(net::to_string(net::Ipv4Addr{*a.originator_id})) : Json(nullptr);
  j["cluster_list"] = Json::array();
  for (auto c : a.cluster_list) j["cluster_list"].push_back(net::to_string(net::Ipv4Addr{c}));
  j["communities"] = a.communities;
  j["next_hop"] = net::to_string(a.next_hop);
  j["attr"] = bgp::to_hex(a.rule_attr_raw);
  if (!a.rule_error.empty()) j["rule_error"] = a.rule_error;
  return j;
}

tl::expected<std::optional<net::Ipv4Prefix>, std::string> prefix_arg(const Json& req) {
  if (!req.contains("prefix")) return std::optional<net::Ipv4Prefix>{};
  if (!req["prefix"].is_string()) return tl::unexpected(std::string("prefix must be a string"));
  const auto s = req["prefix"].get<std::string>();
  auto p = net::parse_ipv4_prefix(s);
  if (!p) return tl::unexpected("not an IPv4 prefix (host bits must be zero): " + config::excerpt(s));
  return p;
}

tl::expected<std::optional<std::string>, std::string> peer_arg(const Json& req) {
  if (!req.contains("peer")) return std::optional<std::string>{};
  if (!req["peer"].is_string()) return tl::unexpected(std::string("peer must be a string"));
  return req["peer"].get<std::string>();
}

}  // namespace

std::vector<bgp::LocalRule> originated_rules(const config::Settings& s, std::span<const net::Ipv4Prefix> blocks) {
  std::vector<bgp::LocalRule> out;
  if (s.pe.prefixes.empty()) return out;
  bgp::FourMap6 rule;
  rule.pref6 = s.pe.prefixes.front().prefix;
  rule.translate = s.bgp.advertise_translate.value_or(s.pe.accept == mapping::kModeTranslate);
  out.reserve(blocks.size() + 1);
  for (const auto& b : blocks) {
    if (b.len == 0) continue;  // the default rule only by advertise-default
    out.push_back({b, rule});
  }
  if (s.bgp.advertise_default) {
    bgp::FourMap6 d = rule;
    d.is_default = true;
    out.push_back({net::Ipv4Prefix{net::Ipv4Addr{0}, 0}, d});
  }
  return out;
}

void publish_local_rules(DaemonState& st) {
  if (st.bgp == nullptr) return;
  const auto blocks = st.pe.local_blocks();
  st.bgp->set_local_rules(originated_rules(st.snapshot.current()->settings, blocks));
}

Json bgp_metrics(const DaemonState& st) {
  Json a = Json::array();
  if (st.bgp == nullptr) return a;
  for (const auto& p : st.bgp->peers()) {
    Json j{{"peer", p.config.name},
           {"state", std::string(bgp::session_state_name(p.state))},
           {"state_code", static_cast<int>(p.state) + 1},  // RFC 4273 bgpPeerState: idle(1) .. established(6)
           {"uptime_seconds", p.state == bgp::SessionState::kEstablished ? p.uptime_s : 0},
           {"established_total", p.established_count},
           {"messages_in_total", p.msgs_in},
           {"messages_out_total", p.msgs_out},
           {"updates_in_total", p.updates_in},
           {"updates_out_total", p.updates_out},
           {"notifications_in_total", p.notifications_in},
           {"notifications_out_total", p.notifications_out},
           {"prefixes_received", p.rib.received},
           {"prefixes_accepted", p.rib.accepted},
           {"prefixes_stale", p.rib.stale},
           {"prefixes_advertised", p.advertised}};
    Json rejected = Json::object();
    for (std::size_t i = 1; i < bgp::kRejectCount; ++i) {
      rejected[std::string(bgp::reject_name(static_cast<bgp::Reject>(i)))] = p.rib.rejected[i];
    }
    j["rejected_total"] = rejected;
    a.push_back(std::move(j));
  }
  return a;
}

Json bgp_command(DaemonState& st, const std::string& cmd, const Json& req) {
  if (st.bgp == nullptr) return fail("'" + cmd + "' needs the BGP speaker: role pe with a [bgp] table");
  const auto& speaker = *st.bgp;
  if (cmd == "bgp.summary") {
    const auto cfg = speaker.config();
    Json peers = Json::array();
    for (const auto& p : speaker.peers()) {
      peers.push_back(Json{{"name", p.config.name},
                           {"address", net::to_string(p.config.address)},
                           {"asn", p.config.asn},
                           {"state", std::string(bgp::session_state_name(p.state))},
                           {"uptime_seconds", p.uptime_s},
                           {"received", p.rib.received},
                           {"accepted", p.rib.accepted},
                           {"stale", p.rib.stale},
                           {"advertised", p.advertised},
                           {"can_announce", p.can_announce},
                           {"last_error", p.last_error}});
    }
    return Json{
        {"ok", true},
        {"asn", cfg.asn},
        {"router_id", net::to_string(cfg.router_id)},
        {"prefixes", speaker.prefix_count()},
        {"mrdb_bgp_rules", st.pe.mrdb().stats().per_source[static_cast<std::size_t>(mapping::RuleSource::kBgp)]},
        {"mrdb_refused", st.pe.bgp_refused()},
        {"mrdb_last_refusal", st.pe.bgp_last_refusal()},
        {"authorization", speaker.authorization_status()},
        {"peers", peers}};
  }
  if (cmd == "bgp.neighbors") {
    auto name = peer_arg(req);
    if (!name) return fail(name.error());
    Json peers = Json::array();
    for (const auto& p : speaker.peers()) {
      if (*name && p.config.name != **name) continue;
      peers.push_back(peer_json(p));
    }
    if (*name && peers.empty()) return fail("no peer named " + config::excerpt(**name));
    return Json{{"ok", true}, {"peers", peers}};
  }
  if (cmd == "bgp.routes") {
    auto prefix = prefix_arg(req);
    if (!prefix) return fail(prefix.error());
    auto name = peer_arg(req);
    if (!name) return fail(name.error());
    std::size_t limit = 10000;
    if (req.contains("limit")) {
      if (!req["limit"].is_number_unsigned()) return fail("limit must be a non-negative integer");
      limit = req["limit"].get<std::size_t>();
    }
    std::string dir = "received";
    if (req.contains("dir")) {
      if (!req["dir"].is_string()) return fail("dir must be received or advertised");
      dir = req["dir"].get<std::string>();
    }
    // With a prefix: that prefix only (as `birdc show route P` and
    // `gobgp global rib P`), or with "match": "longer" also the prefixes
    // inside it.
    bool longer = false;
    if (req.contains("match")) {
      if (!req["match"].is_string() ||
          (req["match"].get<std::string>() != "exact" && req["match"].get<std::string>() != "longer")) {
        return fail("match must be exact or longer");
      }
      longer = req["match"].get<std::string>() == "longer";
    }
    auto wanted = [&](const net::Ipv4Prefix& p) {
      if (!*prefix) return true;
      const auto& q = **prefix;
      return p == q || (longer && p.len >= q.len && q.contains(p.addr));
    };
    Json routes = Json::array();
    std::size_t total = 0;
    if (dir == "received") {
      for (const auto& r : speaker.received(*name, *prefix)) {
        if (!wanted(r.prefix)) continue;
        if (total++ < limit) routes.push_back(route_json(r));
      }
    } else if (dir == "advertised") {
      for (const auto& a : speaker.advertised(*name, *prefix)) {
        if (!wanted(a.prefix)) continue;
        if (total++ >= limit) continue;
        Json j{{"prefix", net::to_string(a.prefix)}, {"peer", a.peer_name}};
        j.update(rule_json(a.rule));
        j["attr"] = bgp::to_hex(a.attr_raw);
        routes.push_back(std::move(j));
      }
    } else {
      return fail("dir must be received or advertised: " + config::excerpt(dir));
    }
    return Json{{"ok", true}, {"dir", dir}, {"total", total}, {"truncated", total > limit}, {"routes", routes}};
  }
  return fail("unknown command '" + config::excerpt(cmd) + "'");
}

}  // namespace edge46::daemon
