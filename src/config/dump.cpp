// Printing a loaded configuration (`config show`) and comparing two.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "config/loader.h"

namespace edge46::config {

namespace {

// A TOML basic string.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

const char* hairpin_name(xlat::HairpinMode m) {
  switch (m) {
    case xlat::HairpinMode::kOff: return "off";
    case xlat::HairpinMode::kSimple: return "simple";
    case xlat::HairpinMode::kIntrinsic: return "intrinsic";
  }
  return "intrinsic";
}

const char* tf(bool b) {
  return b ? "true" : "false";
}

std::vector<net::Ipv4Prefix> denylist(const xlat::Config& c) {
  std::vector<net::Ipv4Prefix> v;
  for (const auto& e : c.denylist4.entries()) {
    v.push_back(net::Ipv4Prefix{net::Ipv4Addr{e.prefix}, e.len});
  }
  std::sort(v.begin(), v.end(), [](const net::Ipv4Prefix& a, const net::Ipv4Prefix& b) {
    return a.addr.value != b.addr.value ? a.addr.value < b.addr.value : a.len < b.len;
  });
  return v;
}

template <class T, class F>
std::string list(const std::vector<T>& v, F f) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + f(v[i]);
  return out + "]";
}

void dump_pe(std::ostringstream& o, const PeSettings& pe) {
  auto q4 = [](const net::Ipv4Prefix& p) { return quote(net::to_string(p)); };
  auto q6 = [](const net::Ipv6Prefix& p) { return quote(net::to_string(p)); };
  auto qs = [](const std::string& s) { return quote(s); };
  o << "\n[pe]\n";
  o << "prefixes = " << list(pe.prefixes, [&](const mapping::Pool6& p) { return q6(p.prefix); }) << "\n";
  if (!pe.prefixes.empty()) o << "layout = " << quote(mapping::layout_name(pe.prefixes[0].layout)) << "\n";
  o << "accept = " << quote(mapping::modes_name(pe.accept)) << "\n";
  o << "prefer = " << quote(mapping::modes_name(pe.prefer)) << "\n";
  o << "ipv4 = " << list(pe.ipv4, q4) << "\n";
  o << "hop-limit = " << unsigned{pe.hop_limit} << "\n";
  o << "core-mtu = " << pe.core_mtu << "\n";
  o << "pmtu-timeout = " << pe.pmtu_timeout_s << "\n";
  o << "no-rule = " << quote(pe.no_rule_unreachable ? "unreachable" : "drop") << "\n";
  o << "trusted = " << list(pe.trusted, q6) << "\n";
  o << "ingress-rate = " << pe.ingress_rate << "\n";
  o << "ingress-burst = " << pe.ingress_burst << "\n";
  if (!pe.rules_file.empty()) o << "rules-file = " << quote(pe.rules_file) << "\n";
  const auto& r = pe.kernel_routes;
  if (!(r == PeRouteSettings{})) {
    o << "\n[pe.kernel-routes]\n";
    o << "enabled = " << tf(r.enabled) << "\n";
    o << "tables = " << list(r.tables, [](uint32_t t) { return std::to_string(t); }) << "\n";
    o << "protocols = " << list(r.protocols, qs) << "\n";
    o << "include-connected = " << tf(r.include_connected) << "\n";
    o << "exclude-devices = " << list(r.exclude_devices, qs) << "\n";
  }
  for (const auto& rule : pe.rules) {
    o << "\n[[pe.rule]]\nprefix = " << q4(rule.prefix) << "\npref6 = " << q6(rule.target.pool6.prefix)
      << "\nlayout = " << quote(mapping::layout_name(rule.target.pool6.layout))
      << "\nmodes = " << quote(mapping::modes_name(rule.target.modes)) << "\npreference = " << rule.preference << "\n";
  }
}

nlohmann::json pe_json(const PeSettings& pe) {
  using json = nlohmann::json;
  json j;
  j["prefixes"] = json::array();
  for (const auto& p : pe.prefixes) {
    j["prefixes"].push_back({{"prefix", net::to_string(p.prefix)}, {"layout", mapping::layout_name(p.layout)}});
  }
  j["accept"] = mapping::modes_name(pe.accept);
  j["prefer"] = mapping::modes_name(pe.prefer);
  j["ipv4"] = json::array();
  for (const auto& p : pe.ipv4) j["ipv4"].push_back(net::to_string(p));
  j["hop-limit"] = pe.hop_limit;
  j["core-mtu"] = pe.core_mtu;
  j["pmtu-timeout"] = pe.pmtu_timeout_s;
  j["no-rule"] = pe.no_rule_unreachable ? "unreachable" : "drop";
  j["trusted"] = json::array();
  for (const auto& p : pe.trusted) j["trusted"].push_back(net::to_string(p));
  j["ingress-rate"] = pe.ingress_rate;
  j["ingress-burst"] = pe.ingress_burst;
  j["rules-file"] = pe.rules_file;
  const auto& r = pe.kernel_routes;
  j["kernel-routes"] = {{"enabled", r.enabled},
                        {"tables", r.tables},
                        {"protocols", r.protocols},
                        {"include-connected", r.include_connected},
                        {"exclude-devices", r.exclude_devices}};
  j["rule"] = json::array();
  for (const auto& rule : pe.rules) {
    j["rule"].push_back({{"prefix", net::to_string(rule.prefix)},
                         {"pref6", net::to_string(rule.target.pool6.prefix)},
                         {"layout", mapping::layout_name(rule.target.pool6.layout)},
                         {"modes", mapping::modes_name(rule.target.modes)},
                         {"preference", rule.preference}});
  }
  return j;
}

std::string prefix_list_text(const bgp::PrefixListEntry& e) {
  std::string out = net::to_string(e.prefix);
  if (e.ge != 0) out += " ge " + std::to_string(e.ge);
  if (e.le != 0) out += " le " + std::to_string(e.le);
  return out;
}

std::vector<std::string> prefix_list_texts(const bgp::PrefixList& l) {
  std::vector<std::string> out;
  for (const auto& e : l.entries()) out.push_back(prefix_list_text(e));
  return out;
}

const char* action_name(bgp::MaxPrefixAction a) {
  return a == bgp::MaxPrefixAction::kWarn ? "warn" : a == bgp::MaxPrefixAction::kRefuse ? "refuse" : "teardown";
}

// The TCP MD5 key is never printed: `config show` output travels to
// whoever may run edge46ctl.
void dump_bgp(std::ostringstream& o, const BgpSettings& b) {
  const auto& sc = b.speaker;
  auto q6a = [](const net::Ipv6Addr& a) { return quote(net::to_string(a)); };
  o << "\n[bgp]\n";
  o << "asn = " << sc.asn << "\n";
  o << "router-id = " << quote(net::to_string(sc.router_id)) << "\n";
  o << "next-hop = " << q6a(sc.next_hop) << "\n";
  o << "listen = " << tf(sc.listen) << "\n";
  o << "listen-address = " << q6a(sc.listen_address) << "\n";
  o << "port = " << sc.port << "\n";
  o << "hold-time = " << sc.hold_time << "\n";
  o << "connect-retry = " << sc.connect_retry << "\n";
  o << "connect-retry-max = " << sc.connect_retry_max << "\n";
  o << "stale-time = " << sc.stale_time << "\n";
  o << "egress-endpoint = " << tf(sc.egress_endpoint) << "\n";
  o << "layout = " << quote(mapping::layout_name(sc.layout)) << "\n";
  o << "preference = " << sc.preference << "\n";
  o << "reject-invalid = " << tf(sc.reject_invalid) << "\n";
  if (!sc.authorization_file.empty()) o << "authorization-file = " << quote(sc.authorization_file) << "\n";
  o << "advertise-default = " << tf(b.advertise_default) << "\n";
  if (b.advertise_translate)
    o << "advertise-mode = " << quote(*b.advertise_translate ? "translate" : "encapsulate") << "\n";
  o << "\n[bgp.codepoints]\nsafi = " << unsigned{sc.cp.safi} << "\ntunnel-type = " << sc.cp.tunnel_type
    << "\nsub-tlv = " << unsigned{sc.cp.sub_tlv} << "\nattribute = " << unsigned{sc.cp.attribute} << "\n";
  for (const auto& peer : sc.peers) {
    o << "\n[[bgp.peer]]\nname = " << quote(peer.name) << "\naddress = " << q6a(peer.address)
      << "\nport = " << peer.port << "\n";
    if (peer.local_address) o << "local-address = " << q6a(*peer.local_address) << "\n";
    o << "asn = " << peer.asn << "\npassive = " << tf(peer.passive)
      << "\nshape = " << quote(peer.shape == bgp::Shape::kAttribute ? "attribute" : "tunnel-encap") << "\n";
    if (peer.inside_domain) o << "inside-domain = " << tf(*peer.inside_domain) << "\n";
    o << "accept-default = " << tf(peer.accept_default) << "\n";
    o << "import = " << list(prefix_list_texts(peer.import), [](const std::string& x) { return quote(x); }) << "\n";
    o << "export = " << list(prefix_list_texts(peer.export_), [](const std::string& x) { return quote(x); }) << "\n";
    o << "max-prefix = " << peer.max_prefix << "\nmax-prefix-action = " << quote(action_name(peer.max_prefix_action))
      << "\n";
    if (peer.hold_time) o << "hold-time = " << *peer.hold_time << "\n";
    if (!peer.password.empty()) o << "# password: set (not shown)\n";
  }
}

nlohmann::json bgp_json(const BgpSettings& b) {
  using json = nlohmann::json;
  const auto& sc = b.speaker;
  json j = {{"asn", sc.asn},
            {"router-id", net::to_string(sc.router_id)},
            {"next-hop", net::to_string(sc.next_hop)},
            {"listen", sc.listen},
            {"listen-address", net::to_string(sc.listen_address)},
            {"port", sc.port},
            {"hold-time", sc.hold_time},
            {"connect-retry", sc.connect_retry},
            {"connect-retry-max", sc.connect_retry_max},
            {"stale-time", sc.stale_time},
            {"egress-endpoint", sc.egress_endpoint},
            {"layout", mapping::layout_name(sc.layout)},
            {"preference", sc.preference},
            {"reject-invalid", sc.reject_invalid},
            {"authorization-file", sc.authorization_file},
            {"advertise-default", b.advertise_default},
            {"advertise-mode",
             b.advertise_translate ? json(*b.advertise_translate ? "translate" : "encapsulate") : json(nullptr)},
            {"codepoints",
             {{"safi", sc.cp.safi},
              {"tunnel-type", sc.cp.tunnel_type},
              {"sub-tlv", sc.cp.sub_tlv},
              {"attribute", sc.cp.attribute}}}};
  j["peer"] = json::array();
  for (const auto& peer : sc.peers) {
    j["peer"].push_back(
        {{"name", peer.name},
         {"address", net::to_string(peer.address)},
         {"port", peer.port},
         {"local-address", peer.local_address ? json(net::to_string(*peer.local_address)) : json(nullptr)},
         {"asn", peer.asn},
         {"passive", peer.passive},
         {"shape", peer.shape == bgp::Shape::kAttribute ? "attribute" : "tunnel-encap"},
         {"inside-domain", peer.inside_domain ? json(*peer.inside_domain) : json(nullptr)},
         {"accept-default", peer.accept_default},
         {"import", prefix_list_texts(peer.import)},
         {"export", prefix_list_texts(peer.export_)},
         {"max-prefix", peer.max_prefix},
         {"max-prefix-action", action_name(peer.max_prefix_action)},
         {"password", peer.password.empty() ? json(nullptr) : json("(set, not shown)")},
         {"hold-time", peer.hold_time ? json(*peer.hold_time) : json(nullptr)}});
  }
  return j;
}

}  // namespace

std::string dump_toml(const Settings& s) {
  const auto& d = s.daemon;
  const auto& c = s.xlat;
  std::ostringstream o;
  o << "# edge46 configuration" << (s.source.empty() ? "" : " (loaded from " + quote(s.source) + ")") << "\n";
  o << "[daemon]\n";
  o << "role = " << quote(d.role) << "\n";
  o << "workers = " << d.workers << "\n";
  o << "tun = " << quote(d.tun) << "\n";
  o << "tun-multiqueue = " << tf(d.tun_multiqueue) << "\n";
  o << "tun-offload = " << tf(d.tun_offload) << "\n";
  o << "control-socket = " << quote(d.control_socket) << "\n";
  o << "log-level = " << quote(d.log_level) << "\n";

  o << "\n[translator]\n";
  if (c.pool6) {
    if (c.pool6->layout == mapping::Pool6Layout::kRfc6052) {
      o << "pool6 = " << quote(net::to_string(c.pool6->prefix)) << "\n";
    } else {
      o << "pool6 = { prefix = " << quote(net::to_string(c.pool6->prefix))
        << ", layout = " << quote(mapping::layout_name(c.pool6->layout)) << " }\n";
    }
  } else {
    o << "# pool6 unset\n";
  }
  o << "eam-hairpin-mode = " << quote(hairpin_name(c.hairpin)) << "\n";
  o << "denylist4 = [";
  bool first = true;
  for (const auto& p : denylist(c)) {
    o << (first ? "" : ", ") << quote(net::to_string(p));
    first = false;
  }
  o << "]\n";
  if (c.rfc6791v4) {
    o << "rfc6791v4-prefix = " << quote(net::to_string(*c.rfc6791v4)) << "\n";
  } else {
    o << "# rfc6791v4-prefix unset: ipv4-address is used\n";
  }
  if (c.rfc6791v6) {
    o << "rfc6791v6-prefix = " << quote(net::to_string(*c.rfc6791v6)) << "\n";
  } else {
    o << "# rfc6791v6-prefix unset: ipv6-address is used\n";
  }
  o << "randomize-rfc6791-addresses = " << tf(c.randomize_rfc6791) << "\n";
  if (c.own_ipv4) {
    o << "ipv4-address = " << quote(net::to_string(*c.own_ipv4)) << "\n";
  } else {
    o << "# ipv4-address unset\n";
  }
  if (c.own_ipv6) {
    o << "ipv6-address = " << quote(net::to_string(*c.own_ipv6)) << "\n";
  } else {
    o << "# ipv6-address unset\n";
  }
  o << "lowest-ipv6-mtu = " << c.lowest_ipv6_mtu << "\n";
  o << "ipv4-mtu = " << c.ipv4_mtu << "\n";
  o << "ipv6-mtu = " << c.ipv6_mtu << "\n";
  o << "mtu-plateaus = [";
  for (std::size_t i = 0; i < c.mtu_plateaus.size(); ++i) {
    o << (i ? ", " : "") << c.mtu_plateaus[i];
  }
  o << "]\n";
  o << "zeroize-traffic-class = " << tf(c.zeroize_traffic_class) << "\n";
  o << "override-tos = " << tf(c.override_tos) << "\n";
  o << "tos = " << unsigned{c.tos} << "\n";
  o << "amend-udp-checksum-zero = " << tf(c.amend_udp_checksum_zero) << "\n";

  for (const auto& e : s.eamt.entries()) {
    o << "\n[[eamt]]\nipv6 = " << quote(net::to_string(e.v6)) << "\nipv4 = " << quote(net::to_string(e.v4)) << "\n";
  }

  o << "\n[siit-dc]\n";
  o << "ingress-filter = " << tf(s.siit_dc.ingress_filter) << "\n";
  o << "drop-own-service-sources = " << tf(s.siit_dc.drop_own_service_sources) << "\n";

  const auto& l = s.limits;
  o << "\n[limits]\n";
  o << "icmp-error-rate = " << l.icmp_error_rate << "\n";
  o << "icmp-error-burst = " << l.icmp_error_burst << "\n";
  o << "reassembly-slots = " << l.reassembly_slots << "\n";
  o << "reassembly-memory = " << l.reassembly_memory << "\n";
  o << "reassembly-timeout-ms = " << l.reassembly_timeout_ms << "\n";
  if (!(s.pe == PeSettings{})) dump_pe(o, s.pe);
  if (s.bgp.enabled) dump_bgp(o, s.bgp);
  return o.str();
}

nlohmann::json to_json(const Settings& s) {
  using nlohmann::json;
  const auto& d = s.daemon;
  const auto& c = s.xlat;
  json j;
  j["source"] = s.source;
  j["daemon"] = {{"role", d.role},
                 {"workers", d.workers},
                 {"tun", d.tun},
                 {"tun-multiqueue", d.tun_multiqueue},
                 {"tun-offload", d.tun_offload},
                 {"control-socket", d.control_socket},
                 {"log-level", d.log_level}};
  json t;
  if (c.pool6) {
    t["pool6"] = {{"prefix", net::to_string(c.pool6->prefix)},
                  {"layout", std::string(mapping::layout_name(c.pool6->layout))}};
  } else {
    t["pool6"] = nullptr;
  }
  t["eam-hairpin-mode"] = hairpin_name(c.hairpin);
  t["denylist4"] = json::array();
  for (const auto& p : denylist(c)) {
    t["denylist4"].push_back(net::to_string(p));
  }
  t["rfc6791v4-prefix"] = c.rfc6791v4 ? json(net::to_string(*c.rfc6791v4)) : json(nullptr);
  t["rfc6791v6-prefix"] = c.rfc6791v6 ? json(net::to_string(*c.rfc6791v6)) : json(nullptr);
  t["randomize-rfc6791-addresses"] = c.randomize_rfc6791;
  t["ipv4-address"] = c.own_ipv4 ? json(net::to_string(*c.own_ipv4)) : json(nullptr);
  t["ipv6-address"] = c.own_ipv6 ? json(net::to_string(*c.own_ipv6)) : json(nullptr);
  t["lowest-ipv6-mtu"] = c.lowest_ipv6_mtu;
  t["ipv4-mtu"] = c.ipv4_mtu;
  t["ipv6-mtu"] = c.ipv6_mtu;
  t["mtu-plateaus"] = c.mtu_plateaus;
  t["zeroize-traffic-class"] = c.zeroize_traffic_class;
  t["override-tos"] = c.override_tos;
  t["tos"] = c.tos;
  t["amend-udp-checksum-zero"] = c.amend_udp_checksum_zero;
  j["translator"] = t;
  j["eamt"] = json::array();
  for (const auto& e : s.eamt.entries()) {
    j["eamt"].push_back({{"ipv6", net::to_string(e.v6)}, {"ipv4", net::to_string(e.v4)}});
  }
  j["siit-dc"] = {{"ingress-filter", s.siit_dc.ingress_filter},
                  {"drop-own-service-sources", s.siit_dc.drop_own_service_sources}};
  j["limits"] = {{"icmp-error-rate", s.limits.icmp_error_rate},
                 {"icmp-error-burst", s.limits.icmp_error_burst},
                 {"reassembly-slots", s.limits.reassembly_slots},
                 {"reassembly-memory", s.limits.reassembly_memory},
                 {"reassembly-timeout-ms", s.limits.reassembly_timeout_ms}};
  if (!(s.pe == PeSettings{})) j["pe"] = pe_json(s.pe);
  if (s.bgp.enabled) j["bgp"] = bgp_json(s.bgp);
  return j;
}

bool same_xlat(const xlat::Config& a, const xlat::Config& b) {
  auto pfx_eq = [](const net::Ipv4Prefix& x, const net::Ipv4Prefix& y) { return x == y; };
  auto da = denylist(a);
  auto db = denylist(b);
  return a.pool6 == b.pool6 && std::equal(da.begin(), da.end(), db.begin(), db.end(), pfx_eq) &&
         a.hairpin == b.hairpin && a.rfc6791v4 == b.rfc6791v4 && a.rfc6791v6 == b.rfc6791v6 &&
         a.randomize_rfc6791 == b.randomize_rfc6791 && a.own_ipv4 == b.own_ipv4 && a.own_ipv6 == b.own_ipv6 &&
         a.lowest_ipv6_mtu == b.lowest_ipv6_mtu && a.ipv4_mtu == b.ipv4_mtu && a.ipv6_mtu == b.ipv6_mtu &&
         a.mtu_plateaus == b.mtu_plateaus && a.zeroize_traffic_class == b.zeroize_traffic_class &&
         a.override_tos == b.override_tos && a.tos == b.tos && a.amend_udp_checksum_zero == b.amend_udp_checksum_zero;
}

bool operator==(const Settings& a, const Settings& b) {
  return a.daemon == b.daemon && a.siit_dc == b.siit_dc && a.limits == b.limits && a.pe == b.pe && a.bgp == b.bgp &&
         same_xlat(a.xlat, b.xlat) && a.eamt.entries() == b.eamt.entries();
}

}  // namespace edge46::config
