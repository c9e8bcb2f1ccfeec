#include "config/loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <optional>

#include <toml++/toml.h>

namespace edge46::config {

std::string ConfigError::to_string() const {
  std::string s = file.empty() ? std::string("<config>") : file;
  if (line > 0) {
    s += ":" + std::to_string(line) + ":" + std::to_string(column);
  }
  s += ": ";
  if (!key.empty()) {
    s += key + ": ";
  }
  return s + message;
}

namespace {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629 section 4: no
// overlong forms, no surrogates, nothing above U+10FFFF), 0 when ill-formed.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // bounds of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    lo = c == 0xe0 ? 0xa0 : 0x80;
    hi = c == 0xed ? 0x9f : 0xbf;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    lo = c == 0xf0 ? 0x90 : 0x80;
    hi = c == 0xf4 ? 0x8f : 0xbf;
  } else {
    return 0;
  }
  if (i + n > s.size() || b(i + 1) < lo || b(i + 1) > hi) {
    return 0;
  }
  for (std::size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) {
      return 0;
    }
  }
  return n;
}

// Thrown inside the loader only and turned into a ConfigError at the entry
// points: the walk below stops at the first problem.
struct Failure {
  ConfigError error;
};

const char* type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

class Walker {
 public:
  explicit Walker(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const toml::source_region& where, const std::string& key, const std::string& msg) const {
    throw Failure{
        ConfigError{file_, static_cast<int>(where.begin.line), static_cast<int>(where.begin.column), key, msg}};
  }

  // Every key of `t` must be one of `known`.
  void check_keys(const toml::table& t, const std::string& path, std::initializer_list<std::string_view> known) const {
    for (auto&& [k, v] : t) {
      if (std::find(known.begin(), known.end(), k.str()) == known.end()) {
        std::string list;
        for (auto n : known) {
          list += (list.empty() ? "" : ", ") + std::string(n);
        }
        fail(k.source(), join(path, excerpt(k.str())), "unknown key (expected one of: " + list + ")");
      }
    }
  }

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  void want(const toml::node& n, toml::node_type t, const std::string& key) const {
    if (n.type() != t) {
      fail(n.source(), key, std::string("expected ") + type_name(t) + ", got " + type_name(n.type()));
    }
  }

  bool get_bool(const toml::node& n, const std::string& key) const {
    want(n, toml::node_type::boolean, key);
    return n.as_boolean()->get();
  }
  int64_t get_int(const toml::node& n, const std::string& key, int64_t lo, int64_t hi) const {
    want(n, toml::node_type::integer, key);
    int64_t v = n.as_integer()->get();
    if (v < lo || v > hi) {
      fail(n.source(), key, std::to_string(v) + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
    }
    return v;
  }
  std::string get_string(const toml::node& n, const std::string& key) const {
    want(n, toml::node_type::string, key);
    return n.as_string()->get();
  }
  std::string get_choice(const toml::node& n, const std::string& key,
                         std::initializer_list<std::string_view> choices) const {
    std::string s = get_string(n, key);
    if (std::find(choices.begin(), choices.end(), s) == choices.end()) {
      std::string list;
      for (auto c : choices) {
        list += (list.empty() ? "" : " | ") + std::string(c);
      }
      fail(n.source(), key, "\"" + excerpt(s) + "\" is not one of " + list);
    }
    return s;
  }
  net::Ipv4Prefix get_prefix4(const toml::node& n, const std::string& key) const {
    std::string s = get_string(n, key);
    if (auto p = net::parse_ipv4_prefix(s)) {
      return *p;
    }
    if (net::parse_ipv4_prefix(s, true)) {
      fail(n.source(), key, "\"" + excerpt(s) + "\" has host bits set beyond the prefix length");
    }
    fail(n.source(), key, "\"" + excerpt(s) + "\" is not an IPv4 prefix (a.b.c.d/len, or a bare address for /32)");
  }
  net::Ipv6Prefix get_prefix6(const toml::node& n, const std::string& key) const {
    std::string s = get_string(n, key);
    if (auto p = net::parse_ipv6_prefix(s)) {
      return *p;
    }
    if (net::parse_ipv6_prefix(s, true)) {
      fail(n.source(), key, "\"" + excerpt(s) + "\" has host bits set beyond the prefix length");
    }
    fail(n.source(), key, "\"" + excerpt(s) + "\" is not an IPv6 prefix (x:x::/len, or a bare address for /128)");
  }
  net::Ipv4Addr get_addr4(const toml::node& n, const std::string& key) const {
    std::string s = get_string(n, key);
    if (auto a = net::parse_ipv4(s)) {
      return *a;
    }
    fail(n.source(), key, "\"" + excerpt(s) + "\" is not an IPv4 address");
  }
  net::Ipv6Addr get_addr6(const toml::node& n, const std::string& key) const {
    std::string s = get_string(n, key);
    if (auto a = net::parse_ipv6(s)) {
      return *a;
    }
    fail(n.source(), key, "\"" + excerpt(s) + "\" is not an IPv6 address");
  }
  const toml::table& get_table(const toml::node& n, const std::string& key) const {
    want(n, toml::node_type::table, key);
    return *n.as_table();
  }
  const toml::array& get_array(const toml::node& n, const std::string& key) const {
    want(n, toml::node_type::array, key);
    return *n.as_array();
  }

 private:
  std::string file_;
};

void load_daemon(const Walker& w, const toml::table& t, DaemonSettings& d) {
  const std::string p = "daemon";
  w.check_keys(t, p, {"role", "workers", "tun", "tun-multiqueue", "tun-offload", "control-socket", "log-level"});
  for (auto&& [k, v] : t) {
    const std::string key = Walker::join(p, k.str());
    const auto name = k.str();
    if (name == "role") {
      d.role = w.get_choice(v, key, {"siit", "siit-dc-br", "siit-dc-er", "pe"});
    } else if (name == "workers") {
      d.workers = static_cast<unsigned>(w.get_int(v, key, 0, 1024));
    } else if (name == "tun") {
      d.tun = w.get_string(v, key);
      // IFNAMSIZ is 16 with the terminating NUL.
      if (d.tun.empty() || d.tun.size() > 15 || d.tun.find_first_of("/ \t\n") != std::string::npos) {
        w.fail(v.source(), key, "interface name must be 1-15 characters without '/' or blanks");
      }
    } else if (name == "tun-multiqueue") {
      d.tun_multiqueue = w.get_bool(v, key);
    } else if (name == "tun-offload") {
      d.tun_offload = w.get_bool(v, key);
    } else if (name == "control-socket") {
      d.control_socket = w.get_string(v, key);
      if (d.control_socket.empty() || d.control_socket.size() > 107) {
        w.fail(v.source(), key, "socket path must be 1-107 characters (sun_path)");
      }
    } else if (name == "log-level") {
      d.log_level = w.get_choice(v, key, {"trace", "debug", "info", "warn", "error"});
    }
  }
}

void load_pool6(const Walker& w, const toml::node& v, const std::string& key, xlat::Config& c) {
  mapping::Pool6 pool;
  if (v.is_string()) {
    pool.prefix = w.get_prefix6(v, key);
  } else if (v.is_table()) {
    const auto& t = *v.as_table();
    w.check_keys(t, key, {"prefix", "layout"});
    const toml::node* prefix = t.get("prefix");
    if (prefix == nullptr) {
      w.fail(v.source(), key, "missing key \"prefix\"");
    }
    pool.prefix = w.get_prefix6(*prefix, key + ".prefix");
    if (const toml::node* layout = t.get("layout")) {
      auto s = w.get_choice(*layout, key + ".layout", {"rfc6052", "low32"});
      pool.layout = *mapping::parse_layout(s);
    }
  } else {
    w.fail(v.source(), key, std::string("expected a string or a table, got ") + type_name(v.type()));
  }
  auto why = mapping::validate_pool6(pool);
  if (!why.empty()) {
    w.fail(v.source(), key, std::string(why));
  }
  c.pool6 = pool;
}

void load_translator(const Walker& w, const toml::table& t, xlat::Config& c) {
  const std::string p = "translator";
  w.check_keys(t, p,
               {"pool6", "eam-hairpin-mode", "denylist4", "rfc6791v4-prefix", "rfc6791v6-prefix",
                "randomize-rfc6791-addresses", "ipv4-address", "ipv6-address", "lowest-ipv6-mtu", "ipv4-mtu",
                "ipv6-mtu", "mtu-plateaus", "zeroize-traffic-class", "override-tos", "tos", "amend-udp-checksum-zero"});
  for (auto&& [k, v] : t) {
    const std::string key = Walker::join(p, k.str());
    const auto name = k.str();
    if (name == "pool6") {
      load_pool6(w, v, key, c);
    } else if (name == "eam-hairpin-mode") {
      auto s = w.get_choice(v, key, {"off", "simple", "intrinsic"});
      c.hairpin = s == "off"      ? xlat::HairpinMode::kOff
                  : s == "simple" ? xlat::HairpinMode::kSimple
                                  : xlat::HairpinMode::kIntrinsic;
    } else if (name == "denylist4") {
      const auto& arr = w.get_array(v, key);
      for (std::size_t i = 0; i < arr.size(); ++i) {
        auto pfx = w.get_prefix4(arr[i], key + "[" + std::to_string(i) + "]");
        c.denylist4.insert(pfx.addr.value, pfx.len, true);
      }
    } else if (name == "rfc6791v4-prefix") {
      c.rfc6791v4 = w.get_prefix4(v, key);
    } else if (name == "rfc6791v6-prefix") {
      c.rfc6791v6 = w.get_prefix6(v, key);
    } else if (name == "randomize-rfc6791-addresses") {
      c.randomize_rfc6791 = w.get_bool(v, key);
    } else if (name == "ipv4-address") {
      c.own_ipv4 = w.get_addr4(v, key);
    } else if (name == "ipv6-address") {
      c.own_ipv6 = w.get_addr6(v, key);
    } else if (name == "lowest-ipv6-mtu") {
      c.lowest_ipv6_mtu = static_cast<uint32_t>(w.get_int(v, key, 1280, 65535));
    } else if (name == "ipv4-mtu") {
      c.ipv4_mtu = static_cast<uint32_t>(w.get_int(v, key, 68, 65535));
    } else if (name == "ipv6-mtu") {
      c.ipv6_mtu = static_cast<uint32_t>(w.get_int(v, key, 1280, 65535));
    } else if (name == "mtu-plateaus") {
      const auto& arr = w.get_array(v, key);
      if (arr.empty()) {
        w.fail(v.source(), key, "needs at least one value");
      }
      std::vector<uint16_t> plateaus;
      for (std::size_t i = 0; i < arr.size(); ++i) {
        plateaus.push_back(static_cast<uint16_t>(w.get_int(arr[i], key + "[" + std::to_string(i) + "]", 68, 65535)));
      }
      // Consulted largest first (RFC 1191 section 7); duplicates are moot.
      std::sort(plateaus.begin(), plateaus.end(), std::greater<>());
      plateaus.erase(std::unique(plateaus.begin(), plateaus.end()), plateaus.end());
      c.mtu_plateaus = std::move(plateaus);
    } else if (name == "zeroize-traffic-class") {
      c.zeroize_traffic_class = w.get_bool(v, key);
    } else if (name == "override-tos") {
      c.override_tos = w.get_bool(v, key);
    } else if (name == "tos") {
      c.tos = static_cast<uint8_t>(w.get_int(v, key, 0, 255));
    } else if (name == "amend-udp-checksum-zero") {
      c.amend_udp_checksum_zero = w.get_bool(v, key);
    }
  }
}

void load_eamt(const Walker& w, const toml::node& n, mapping::Eamt& eamt) {
  const auto& arr = w.get_array(n, "eamt");
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string key = "eamt[" + std::to_string(i) + "]";
    const auto& t = w.get_table(arr[i], key);
    w.check_keys(t, key, {"ipv6", "ipv4"});
    const toml::node* v6 = t.get("ipv6");
    const toml::node* v4 = t.get("ipv4");
    if (v6 == nullptr || v4 == nullptr) {
      w.fail(arr[i].source(), key, std::string("missing key \"") + (v6 == nullptr ? "ipv6" : "ipv4") + "\"");
    }
    mapping::Eam e{w.get_prefix6(*v6, key + ".ipv6"), w.get_prefix4(*v4, key + ".ipv4")};
    auto why = eamt.add(e);
    if (!why.empty()) {
      w.fail(arr[i].source(), key, why);
    }
  }
}

void load_siit_dc(const Walker& w, const toml::table& t, SiitDcSettings& s) {
  const std::string p = "siit-dc";
  w.check_keys(t, p, {"ingress-filter", "drop-own-service-sources"});
  for (auto&& [k, v] : t) {
    const std::string key = Walker::join(p, k.str());
    if (k.str() == "ingress-filter") {
      s.ingress_filter = w.get_bool(v, key);
    } else {
      s.drop_own_service_sources = w.get_bool(v, key);
    }
  }
}

void load_limits(const Walker& w, const toml::table& t, LimitSettings& l) {
  const std::string p = "limits";
  w.check_keys(
      t, p, {"icmp-error-rate", "icmp-error-burst", "reassembly-slots", "reassembly-memory", "reassembly-timeout-ms"});
  for (auto&& [k, v] : t) {
    const std::string key = Walker::join(p, k.str());
    const auto name = k.str();
    if (name == "icmp-error-rate") {
      l.icmp_error_rate = static_cast<uint32_t>(w.get_int(v, key, 0, 1'000'000));
    } else if (name == "icmp-error-burst") {
      l.icmp_error_burst = static_cast<uint32_t>(w.get_int(v, key, 1, 1'000'000));
    } else if (name == "reassembly-slots") {
      l.reassembly_slots = static_cast<uint32_t>(w.get_int(v, key, 0, 4096));
    } else if (name == "reassembly-memory") {
      l.reassembly_memory = static_cast<uint32_t>(w.get_int(v, key, 65536, 64 * 1024 * 1024));
    } else if (name == "reassembly-timeout-ms") {
      l.reassembly_timeout_ms = static_cast<uint32_t>(w.get_int(v, key, 100, 60000));
    }
  }
}

mapping::Pool6 pref6_of(const Walker& w, const toml::node& n, const std::string& key, mapping::Pool6Layout layout) {
  mapping::Pool6 p{w.get_prefix6(n, key), layout};
  if (auto why = mapping::validate_pool6(p); !why.empty()) w.fail(n.source(), key, std::string(why));
  return p;
}

uint8_t modes_of(const Walker& w, const toml::node& n, const std::string& key) {
  return *mapping::parse_modes(w.get_choice(n, key, {"translate", "encapsulate", "both"}));
}

void load_pe_rules(const Walker& w, const toml::node& n, PeSettings& pe) {
  const auto& arr = w.get_array(n, "pe.rule");
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string key = "pe.rule[" + std::to_string(i) + "]";
    const auto& t = w.get_table(arr[i], key);
    w.check_keys(t, key, {"prefix", "pref6", "modes", "layout", "preference"});
    const toml::node* prefix = t.get("prefix");
    const toml::node* pref6 = t.get("pref6");
    if (prefix == nullptr || pref6 == nullptr) {
      w.fail(arr[i].source(), key, std::string("missing key \"") + (prefix == nullptr ? "prefix" : "pref6") + "\"");
    }
    mapping::MrRule r;
    r.source = mapping::RuleSource::kConfig;
    r.prefix = w.get_prefix4(*prefix, key + ".prefix");
    auto layout = mapping::Pool6Layout::kLow32;
    if (const toml::node* l = t.get("layout")) {
      layout = *mapping::parse_layout(w.get_choice(*l, key + ".layout", {"low32", "rfc6052"}));
    }
    r.target.pool6 = pref6_of(w, *pref6, key + ".pref6", layout);
    if (const toml::node* m = t.get("modes")) r.target.modes = modes_of(w, *m, key + ".modes");
    if (const toml::node* p = t.get("preference")) {
      r.preference = static_cast<uint32_t>(w.get_int(*p, key + ".preference", 0, 1'000'000));
    }
    if (auto why = mapping::validate_rule(r); !why.empty()) w.fail(arr[i].source(), key, why);
    pe.rules.push_back(r);
  }
}

void load_pe_routes(const Walker& w, const toml::table& t, PeRouteSettings& r) {
  const std::string p = "pe.kernel-routes";
  w.check_keys(t, p, {"enabled", "tables", "protocols", "include-connected", "exclude-devices"});
  r.enabled = true;
  for (auto&& [k, v] : t) {
    const std::string key = Walker::join(p, k.str());
    const auto name = k.str();
    if (name == "enabled") {
      r.enabled = w.get_bool(v, key);
    } else if (name == "tables") {
      r.tables.clear();
      for (auto&& e : w.get_array(v, key)) r.tables.push_back(static_cast<uint32_t>(w.get_int(e, key, 0, 0xffffffff)));
    } else if (name == "protocols") {
      r.protocols.clear();
      for (auto&& e : w.get_array(v, key)) r.protocols.push_back(w.get_string(e, key));
    } else if (name == "include-connected") {
      r.include_connected = w.get_bool(v, key);
    } else {
      r.exclude_devices.clear();
      for (auto&& e : w.get_array(v, key)) r.exclude_devices.push_back(w.get_string(e, key));
    }
  }
}

void load_pe(const Walker& w, const toml::table& t, PeSettings& pe) {
  const std::string p = "pe";
  w.check_keys(t, p,
               {"prefixes", "layout", "accept", "prefer", "ipv4", "hop-limit", "core-mtu", "pmtu-timeout", "no-rule",
                "trusted", "ingress-rate", "ingress-burst", "rules-file", "rule", "kernel-routes"});
  // The layout applies to every prefix of this PE; read it first.
  auto layout = mapping::Pool6Layout::kLow32;
  if (const toml::node* l = t.get("layout")) {
    layout = *mapping::parse_layout(w.get_choice(*l, "pe.layout", {"low32", "rfc6052"}));
  }
  for (auto&& [k, v] : t) {
    const std::string key = Walker::join(p, k.str());
    const auto name = k.str();
    if (name == "prefixes") {
      for (auto&& e : w.get_array(v, key)) pe.prefixes.push_back(pref6_of(w, e, key, layout));
    } else if (name == "accept") {
      pe.accept = modes_of(w, v, key);
    } else if (name == "prefer") {
      pe.prefer = *mapping::parse_modes(w.get_choice(v, key, {"translate", "encapsulate"}));
    } else if (name == "ipv4") {
      for (auto&& e : w.get_array(v, key)) pe.ipv4.push_back(w.get_prefix4(e, key));
    } else if (name == "hop-limit") {
      pe.hop_limit = static_cast<uint8_t>(w.get_int(v, key, 1, 255));
    } else if (name == "core-mtu") {
      pe.core_mtu = static_cast<uint32_t>(w.get_int(v, key, 1280, 65535));
    } else if (name == "pmtu-timeout") {
      pe.pmtu_timeout_s = static_cast<uint32_t>(w.get_int(v, key, 60, 86400));
    } else if (name == "no-rule") {
      pe.no_rule_unreachable = w.get_choice(v, key, {"drop", "unreachable"}) == "unreachable";
    } else if (name == "trusted") {
      for (auto&& e : w.get_array(v, key)) pe.trusted.push_back(w.get_prefix6(e, key));
    } else if (name == "ingress-rate") {
      pe.ingress_rate = static_cast<uint32_t>(w.get_int(v, key, 0, 100'000'000));
    } else if (name == "ingress-burst") {
      pe.ingress_burst = static_cast<uint32_t>(w.get_int(v, key, 1, 100'000'000));
    } else if (name == "rules-file") {
      pe.rules_file = w.get_string(v, key);
    } else if (name == "rule") {
      load_pe_rules(w, v, pe);
    } else if (name == "kernel-routes") {
      load_pe_routes(w, w.get_table(v, key), pe.kernel_routes);
    }
  }
}

bgp::PrefixList prefix_list_of(const Walker& w, const toml::node& n, const std::string& key) {
  std::vector<std::string> entries;
  for (auto&& e : w.get_array(n, key)) entries.push_back(w.get_string(e, key));
  auto list = bgp::PrefixList::parse(entries);
  if (!list) w.fail(n.source(), key, list.error());
  return *list;
}

void load_bgp_peers(const Walker& w, const toml::node& n, bgp::SpeakerConfig& sc) {
  const auto& arr = w.get_array(n, "bgp.peer");
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string p = "bgp.peer[" + std::to_string(i) + "]";
    const auto& t = w.get_table(arr[i], p);
    w.check_keys(t, p,
                 {"name", "address", "port", "local-address", "asn", "passive", "shape", "inside-domain",
                  "accept-default", "import", "export", "max-prefix", "max-prefix-action", "password", "hold-time"});
    bgp::PeerConfig peer;
    bool have_address = false, have_asn = false;
    for (auto&& [k, v] : t) {
      const std::string key = Walker::join(p, k.str());
      const auto name = k.str();
      if (name == "name") {
        peer.name = w.get_string(v, key);
        if (peer.name.empty() || peer.name.size() > 64 ||
            peer.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") !=
                std::string::npos) {
          w.fail(v.source(), key, "a peer name is 1-64 characters of letters, digits, '-', '_', '.', ':'");
        }
      } else if (name == "address") {
        peer.address = w.get_addr6(v, key);
        have_address = true;
      } else if (name == "port") {
        peer.port = static_cast<uint16_t>(w.get_int(v, key, 1, 65535));
      } else if (name == "local-address") {
        peer.local_address = w.get_addr6(v, key);
      } else if (name == "asn") {
        peer.asn = static_cast<uint32_t>(w.get_int(v, key, 1, 4294967295));
        have_asn = true;
      } else if (name == "passive") {
        peer.passive = w.get_bool(v, key);
      } else if (name == "shape") {
        peer.shape = w.get_choice(v, key, {"tunnel-encap", "attribute"}) == "attribute" ? bgp::Shape::kAttribute
                                                                                        : bgp::Shape::kTunnelEncap;
      } else if (name == "inside-domain") {
        peer.inside_domain = w.get_bool(v, key);
      } else if (name == "accept-default") {
        peer.accept_default = w.get_bool(v, key);
      } else if (name == "import") {
        peer.import = prefix_list_of(w, v, key);
      } else if (name == "export") {
        peer.export_ = prefix_list_of(w, v, key);
      } else if (name == "max-prefix") {
        peer.max_prefix = static_cast<uint32_t>(w.get_int(v, key, 0, 100'000'000));
      } else if (name == "max-prefix-action") {
        const auto a = w.get_choice(v, key, {"warn", "refuse", "teardown"});
        peer.max_prefix_action = a == "warn"     ? bgp::MaxPrefixAction::kWarn
                                 : a == "refuse" ? bgp::MaxPrefixAction::kRefuse
                                                 : bgp::MaxPrefixAction::kTeardown;
      } else if (name == "password") {
        peer.password = w.get_string(v, key);
        // struct tcp_md5sig: TCP_MD5SIG_MAXKEYLEN = 80.
        if (peer.password.size() > 80) w.fail(v.source(), key, "a TCP MD5 key is at most 80 octets (RFC 2385)");
      } else if (name == "hold-time") {
        const auto h = w.get_int(v, key, 0, 65535);
        if (h == 1 || h == 2) w.fail(v.source(), key, "hold time is 0 or at least 3 seconds (RFC 4271 4.2)");
        peer.hold_time = static_cast<uint16_t>(h);
      }
    }
    if (!have_address || !have_asn) {
      w.fail(arr[i].source(), p, std::string("missing key \"") + (have_address ? "asn" : "address") + "\"");
    }
    if (peer.name.empty()) peer.name = net::to_string(peer.address);
    for (const auto& other : sc.peers) {
      if (other.address == peer.address) w.fail(arr[i].source(), p, "a second peer with address " + peer.name);
      if (other.name == peer.name) w.fail(arr[i].source(), p, "a second peer named \"" + peer.name + "\"");
    }
    sc.peers.push_back(std::move(peer));
  }
}

void load_bgp_codepoints(const Walker& w, const toml::table& t, bgp::CodePoints& cp) {
  const std::string p = "bgp.codepoints";
  w.check_keys(t, p, {"safi", "tunnel-type", "sub-tlv", "attribute"});
  for (auto&& [k, v] : t) {
    const std::string key = Walker::join(p, k.str());
    const auto name = k.str();
    if (name == "safi") {
      cp.safi = static_cast<uint8_t>(w.get_int(v, key, 1, 255));
    } else if (name == "tunnel-type") {
      cp.tunnel_type = static_cast<uint16_t>(w.get_int(v, key, 1, 65535));
    } else if (name == "sub-tlv") {
      cp.sub_tlv = static_cast<uint8_t>(w.get_int(v, key, 1, 255));
      if (cp.sub_tlv == 6) w.fail(v.source(), key, "6 is the Tunnel Egress Endpoint sub-TLV (RFC 9012 3.1)");
    } else if (name == "attribute") {
      cp.attribute = static_cast<uint8_t>(w.get_int(v, key, 1, 255));
      // Types the speaker interprets itself, and 254, which BIRD uses
      // internally and discards (notes/bgp.md).
      static constexpr uint8_t kTaken[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 23, 254};
      for (uint8_t taken : kTaken) {
        if (cp.attribute == taken) {
          w.fail(v.source(), key,
                 std::to_string(taken) +
                     " is taken (a path attribute the speaker interprets, or 254, which BIRD "
                     "discards); 255 is the default");
        }
      }
    }
  }
}

void load_bgp(const Walker& w, const toml::table& t, BgpSettings& b) {
  const std::string p = "bgp";
  w.check_keys(t, p,
               {"asn", "router-id", "next-hop", "listen", "listen-address", "port", "hold-time", "connect-retry",
                "connect-retry-max", "stale-time", "egress-endpoint", "layout", "preference", "reject-invalid",
                "authorization-file", "advertise-default", "advertise-mode", "codepoints", "peer"});
  b.enabled = true;
  auto& sc = b.speaker;
  bool have_asn = false, have_id = false, have_nh = false;
  for (auto&& [k, v] : t) {
    const std::string key = Walker::join(p, k.str());
    const auto name = k.str();
    if (name == "asn") {
      sc.asn = static_cast<uint32_t>(w.get_int(v, key, 1, 4294967295));
      have_asn = true;
    } else if (name == "router-id") {
      sc.router_id = w.get_addr4(v, key);
      if (sc.router_id.value == 0) w.fail(v.source(), key, "the BGP identifier must not be 0.0.0.0 (RFC 6286)");
      have_id = true;
    } else if (name == "next-hop") {
      sc.next_hop = w.get_addr6(v, key);
      have_nh = true;
    } else if (name == "listen") {
      sc.listen = w.get_bool(v, key);
    } else if (name == "listen-address") {
      sc.listen_address = w.get_addr6(v, key);
    } else if (name == "port") {
      sc.port = static_cast<uint16_t>(w.get_int(v, key, 1, 65535));
    } else if (name == "hold-time") {
      const auto h = w.get_int(v, key, 0, 65535);
      if (h == 1 || h == 2) w.fail(v.source(), key, "hold time is 0 or at least 3 seconds (RFC 4271 4.2)");
      sc.hold_time = static_cast<uint16_t>(h);
    } else if (name == "connect-retry") {
      sc.connect_retry = static_cast<uint32_t>(w.get_int(v, key, 1, 3600));
    } else if (name == "connect-retry-max") {
      sc.connect_retry_max = static_cast<uint32_t>(w.get_int(v, key, 1, 86400));
    } else if (name == "stale-time") {
      sc.stale_time = static_cast<uint32_t>(w.get_int(v, key, 0, 86400));
    } else if (name == "egress-endpoint") {
      sc.egress_endpoint = w.get_bool(v, key);
    } else if (name == "layout") {
      sc.layout = *mapping::parse_layout(w.get_choice(v, key, {"low32", "rfc6052"}));
    } else if (name == "preference") {
      sc.preference = static_cast<uint32_t>(w.get_int(v, key, 0, 1'000'000));
    } else if (name == "reject-invalid") {
      sc.reject_invalid = w.get_bool(v, key);
    } else if (name == "authorization-file") {
      sc.authorization_file = w.get_string(v, key);
    } else if (name == "advertise-default") {
      b.advertise_default = w.get_bool(v, key);
    } else if (name == "advertise-mode") {
      b.advertise_translate = w.get_choice(v, key, {"encapsulate", "translate"}) == "translate";
    } else if (name == "codepoints") {
      load_bgp_codepoints(w, w.get_table(v, key), sc.cp);
    } else if (name == "peer") {
      load_bgp_peers(w, v, sc);
    }
  }
  if (!have_asn || !have_id || !have_nh) {
    w.fail(t.source(), p,
           std::string("missing key \"") +
               (!have_asn  ? "asn"
                : !have_id ? "router-id"
                           : "next-hop") +
               "\"");
  }
  if (sc.connect_retry_max < sc.connect_retry) {
    w.fail(t.source(), "bgp.connect-retry-max", "must be at least connect-retry");
  }
}

Settings load_document(const Walker& w, const toml::table& root) {
  Settings s;
  w.check_keys(root, "", {"daemon", "translator", "eamt", "siit-dc", "limits", "pe", "bgp"});
  if (const toml::node* n = root.get("daemon")) {
    load_daemon(w, w.get_table(*n, "daemon"), s.daemon);
  }
  if (const toml::node* n = root.get("translator")) {
    load_translator(w, w.get_table(*n, "translator"), s.xlat);
  }
  if (const toml::node* n = root.get("eamt")) {
    load_eamt(w, *n, s.eamt);
  }
  if (const toml::node* n = root.get("siit-dc")) {
    load_siit_dc(w, w.get_table(*n, "siit-dc"), s.siit_dc);
  }
  if (const toml::node* n = root.get("limits")) {
    load_limits(w, w.get_table(*n, "limits"), s.limits);
  }
  if (const toml::node* n = root.get("pe")) {
    load_pe(w, w.get_table(*n, "pe"), s.pe);
  }
  if (const toml::node* n = root.get("bgp")) {
    load_bgp(w, w.get_table(*n, "bgp"), s.bgp);
    if (s.daemon.role != "pe") {
      w.fail(n->source(), "bgp", "[bgp] exchanges the PE's mapping rules: it needs role \"pe\"");
    }
  }
  if (s.daemon.role == "pe" && s.pe.prefixes.empty()) {
    const toml::node* role = root.at_path("daemon.role").node();
    w.fail(role->source(), "daemon.role",
           "role \"pe\" needs [pe] prefixes: at least one Pref6 of this PE (section 4.1)");
  }
  if (s.daemon.role == "pe" && s.xlat.pool6) {
    const toml::node* n = root.at_path("translator.pool6").node();
    w.fail(n->source(), "translator.pool6",
           "role \"pe\" maps addresses with its MR-DB and [pe] prefixes, not pool6 (remove pool6)");
  }
  // Cross-key rules.
  if (s.daemon.role == "siit-dc-er" && s.eamt.empty()) {
    const toml::node* role = root.at_path("daemon.role").node();
    w.fail(role->source(), "daemon.role", "role \"siit-dc-er\" needs at least one [[eamt]] entry (RFC 7756 3.1)");
  }
  // Backstop: the translator's own coherence rules.
  auto why = s.xlat.validate();
  if (!why.empty()) {
    const toml::node* t = root.get("translator");
    w.fail(t != nullptr ? t->source() : root.source(), "translator", why);
  }
  return s;
}

}  // namespace

std::string excerpt(std::string_view s, std::size_t max) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::size_t i = 0;
  while (i < s.size() && i < max) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    const std::size_t n = c >= 0x80 ? utf8_length(s, i) : 0;
    if (n != 0 && i + n > max) {
      break;  // a whole character or none
    }
    if (n != 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
      ++i;
    }
  }
  if (i < s.size()) {
    out += "...(" + std::to_string(s.size()) + " bytes)";
  }
  return out;
}

tl::expected<Settings, ConfigError> load_string(std::string_view text, std::string_view source_name) {
  const std::string file(source_name);
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return tl::unexpected(ConfigError{file, static_cast<int>(e.source().begin.line),
                                      static_cast<int>(e.source().begin.column), "",
                                      excerpt(e.description(), 4 * kExcerptBytes)});
  }
  try {
    Settings s = load_document(Walker(file), root);
    s.source = file;
    return s;
  } catch (const Failure& f) {
    return tl::unexpected(f.error);
  }
}

tl::expected<Settings, ConfigError> load_file(const std::string& path) {
  auto fail = [&](const std::string& why) { return tl::unexpected(ConfigError{path, 0, 0, "", why}); };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    return fail(std::string("cannot open: ") + std::strerror(errno));
  }
  // Checked on the opened file, not the name, so that nothing can be swapped
  // in between. A directory opens and reads as empty through a stream, which
  // would load as "all defaults" (no pool6, no EAMs): refused here.
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return fail(std::string("cannot stat: ") + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(S_ISDIR(st.st_mode) ? "is a directory, not a configuration file"
                                    : "is not a regular file (a configuration file must be one)");
  }
  std::string text;
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return fail(std::string("cannot read: ") + std::strerror(e));
    }
    if (n == 0) {
      break;
    }
    text.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return load_string(text, path);
}

}  // namespace edge46::config
