// edge46ctl: talks to a running edge46d over its control socket.
//
//   edge46ctl [--socket PATH] [--timeout SECONDS] [--json] status
//   edge46ctl config show
//   edge46ctl eamt show | add <ipv6-prefix> <ipv4-prefix> | remove <ipv6-prefix> <ipv4-prefix>
//   edge46ctl pool6 show
//   edge46ctl stats [--prometheus] [--nonzero]
//   edge46ctl reload
//
// Exit codes: 0 success, 1 the daemon refused the request, 2 no daemon / no
// answer in time / not the daemon (see below) / usage.
//
// Before sending anything, the peer is checked with SO_PEERCRED: it must run
// as root or as the caller's own uid. Anyone else listening on the path is an
// impostor that replaced the socket (docs/operations.md, "Control socket").
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>

using Json = nlohmann::ordered_json;

namespace {

struct Reply {
  bool connected = false;
  std::string error;
  Json body;
};

using Clock = std::chrono::steady_clock;

// Waits for `events` on fd until `deadline`; false on timeout or error.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      errno = ETIMEDOUT;
      return false;
    }
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    if (n > 0) {
      return true;
    }
    if (n < 0 && errno != EINTR) {
      return false;
    }
  }
}

Reply call(const std::string& path, const Json& req, double timeout_s) {
  Reply r;
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  std::ostringstream secs;
  secs << timeout_s;
  const std::string within = " within " + secs.str() + " s (--timeout)";
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) {
    r.error = "bad socket path " + path;
    return r;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    r.error = std::string("socket: ") + std::strerror(errno);
    return r;
  }
  // connect(2) on a Unix socket blocks while the listener's backlog is full,
  // for at most SO_SNDTIMEO.
  const auto us = static_cast<long long>(timeout_s * 1e6);
  timeval tv{static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::memcpy(a.sun_path, path.data(), path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    const int e = errno;
    r.error = e == EAGAIN || e == EINPROGRESS
                  ? "cannot connect to " + path + within + ": edge46d does not accept connections"
                  : "cannot connect to " + path + ": " + std::strerror(e) + " (is edge46d running? --socket PATH)";
    ::close(fd);
    return r;
  }
  // The daemon runs as root; a test or private instance runs as ourselves.
  // Anyone else who could put a socket there must not be believed.
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    r.error = std::string("cannot check who listens on ") + path + ": " + std::strerror(errno);
    ::close(fd);
    return r;
  }
  if (cred.uid != 0 && cred.uid != ::getuid()) {
    r.error = "refusing to talk to " + path + ": it is served by pid " + std::to_string(cred.pid) + " running as uid " +
              std::to_string(cred.uid) + ", neither root nor you (uid " + std::to_string(::getuid()) +
              "); someone may have replaced edge46d's socket: check the owner and mode of its directory";
    ::close(fd);
    return r;
  }
  const std::string line = req.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  std::size_t off = 0;
  while (off < line.size()) {
    if (!wait_for(fd, POLLOUT, deadline)) {
      r.error = errno == ETIMEDOUT ? "edge46d on " + path + " did not take the request" + within
                                   : std::string("poll: ") + std::strerror(errno);
      ::close(fd);
      return r;
    }
    const ssize_t w = ::send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      continue;
    }
    if (w <= 0) {
      r.error = std::string("send: ") + std::strerror(errno);
      ::close(fd);
      return r;
    }
    off += static_cast<std::size_t>(w);
  }
  std::string buf;
  char chunk[65536];
  while (buf.find('\n') == std::string::npos) {
    if (!wait_for(fd, POLLIN, deadline)) {
      r.error = errno == ETIMEDOUT ? "no answer from edge46d on " + path + within
                                   : std::string("poll: ") + std::strerror(errno);
      ::close(fd);
      return r;
    }
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  r.connected = true;
  try {
    r.body = Json::parse(buf.substr(0, buf.find('\n')));
  } catch (const std::exception& e) {
    r.connected = false;
    r.error = buf.empty() ? "edge46d on " + path + " closed the connection without an answer"
                          : std::string("bad answer from daemon: ") + e.what();
  }
  return r;
}

// An argument the JSON request cannot carry (ill-formed UTF-8) is refused
// here, named with its bad bytes in hex, instead of aborting in dump().
std::string check_argument(const char* what, const std::string& v) {
  try {
    (void)Json(v).dump();
    return {};
  } catch (const Json::type_error&) {
  }
  std::string shown;
  for (std::size_t i = 0; i < v.size() && i < 64; ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c >= 0x20 && c < 0x7f) {
      shown += static_cast<char>(c);
    } else {
      char b[5];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      shown += b;
    }
  }
  if (v.size() > 64) {
    shown += "...(" + std::to_string(v.size()) + " bytes)";
  }
  return std::string(what) + " is not valid UTF-8: \"" + shown + "\"";
}

std::string scalar(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// 3725 -> "01:02:05", 90061 -> "1d01:01:01".
std::string duration(uint64_t s) {
  char buf[32];
  if (s >= 86400) {
    std::snprintf(buf, sizeof buf, "%llud%02llu:%02llu:%02llu", static_cast<unsigned long long>(s / 86400),
                  static_cast<unsigned long long>(s / 3600 % 24), static_cast<unsigned long long>(s / 60 % 60),
                  static_cast<unsigned long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%02llu:%02llu:%02llu", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s / 60 % 60), static_cast<unsigned long long>(s % 60));
  }
  return buf;
}

void print_table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w(head.size());
  for (std::size_t i = 0; i < head.size(); ++i) w[i] = head[i].size();
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  auto line = [&](const std::vector<std::string>& r) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      std::cout << std::left << std::setw(static_cast<int>(w[i]) + 2) << r[i];
    }
    std::cout << "\n";
  };
  line(head);
  for (const auto& r : rows) line(r);
}

// "packets_in.ipv4" -> edge46_packets_in_total{family="ipv4"}
// "drop.no_mapping_dst" -> edge46_drops_total{reason="no_mapping_dst"}
void print_prometheus(const Json& body) {
  const auto& counters = body["counters"];
  const auto& help = body["help"];
  std::string last_metric;
  for (auto it = counters.begin(); it != counters.end(); ++it) {
    std::string name = it.key();
    std::string metric, label;
    auto dot = name.find('.');
    if (name.starts_with("drop.")) {
      metric = "edge46_drops_total";
      label = "reason=\"" + name.substr(5) + "\"";
    } else if (dot != std::string::npos) {
      metric = "edge46_" + name.substr(0, dot) + "_total";
      label = "family=\"" + name.substr(dot + 1) + "\"";
    } else {
      metric = "edge46_" + name + "_total";
    }
    if (metric != last_metric) {
      std::string h = metric == "edge46_drops_total" ? "packets dropped, by reason"
                                                     : (help.contains(name) ? scalar(help[name]) : name);
      std::cout << "# HELP " << metric << " " << h << "\n# TYPE " << metric << " counter\n";
      last_metric = metric;
    }
    std::cout << metric << (label.empty() ? "" : "{" + label + "}") << " " << it.value().dump() << "\n";
  }
  // The BGP peers: one series per peer (and per rejection reason).
  if (!body.contains("bgp") || body["bgp"].empty()) return;
  const auto& peers = body["bgp"];
  auto series = [&](const std::string& key, const std::string& type, const std::string& h) {
    const std::string metric = "edge46_bgp_" + key;
    std::cout << "# HELP " << metric << " " << h << "\n# TYPE " << metric << " " << type << "\n";
    for (const auto& p : peers) {
      std::cout << metric << "{peer=\"" << scalar(p["peer"]) << "\"} " << p[key].dump() << "\n";
    }
  };
  series("state_code", "gauge", "session state (RFC 4273 bgpPeerState: 1 idle .. 6 established)");
  series("uptime_seconds", "gauge", "seconds in Established (0 otherwise)");
  series("established_total", "counter", "transitions into Established");
  series("messages_in_total", "counter", "BGP messages received");
  series("messages_out_total", "counter", "BGP messages sent");
  series("updates_in_total", "counter", "UPDATE messages received");
  series("updates_out_total", "counter", "UPDATE messages sent");
  series("notifications_in_total", "counter", "NOTIFICATION messages received");
  series("notifications_out_total", "counter", "NOTIFICATION messages sent");
  series("prefixes_received", "gauge", "routes held from the peer (accepted or rejected)");
  series("prefixes_accepted", "gauge", "routes accepted from the peer");
  series("prefixes_stale", "gauge", "routes of a lost session kept until the stale time");
  series("prefixes_advertised", "gauge", "prefixes advertised to the peer");
  std::cout << "# HELP edge46_bgp_rejected_total received routes rejected, by reason\n"
               "# TYPE edge46_bgp_rejected_total counter\n";
  for (const auto& p : peers) {
    for (auto it = p["rejected_total"].begin(); it != p["rejected_total"].end(); ++it) {
      std::cout << "edge46_bgp_rejected_total{peer=\"" << scalar(p["peer"]) << "\",reason=\"" << it.key() << "\"} "
                << it.value().dump() << "\n";
    }
  }
}

int run(int argc, char** argv) {
  CLI::App app{"edge46ctl: control a running edge46d"};
  app.require_subcommand(1);
  // Global options (--json, --socket, --timeout) also after the subcommand:
  // `edge46ctl bgp routes received --json`.
  app.fallthrough();
  std::string socket_path = std::getenv("EDGE46_SOCKET") ? std::getenv("EDGE46_SOCKET") : "/run/edge46/edge46.sock";
  bool json = false;
  app.add_option("-s,--socket", socket_path, "control socket of the instance (env EDGE46_SOCKET)");
  app.add_flag("-j,--json", json, "print the daemon's JSON answer");
  double timeout_s = 10;
  app.add_option("-t,--timeout", timeout_s, "seconds to wait for the daemon (connect, send, answer)")
      ->check(CLI::Range(0.001, 86400.0));

  auto* status = app.add_subcommand("status", "role, TUN, workers, configuration generation, reloads");
  auto* config = app.add_subcommand("config", "running configuration");
  config->require_subcommand(1);
  auto* config_show = config->add_subcommand("show", "show the running configuration (TOML; --json for JSON)");
  auto* eamt = app.add_subcommand("eamt", "Explicit Address Mapping Table (RFC 7757)");
  eamt->require_subcommand(1);
  auto* eamt_show = eamt->add_subcommand("show", "list the EAMs");
  std::string v6, v4;
  auto* eamt_add = eamt->add_subcommand("add", "add an EAM at run time");
  eamt_add->add_option("ipv6", v6, "IPv6 prefix")->required();
  eamt_add->add_option("ipv4", v4, "IPv4 prefix")->required();
  auto* eamt_rm = eamt->add_subcommand("remove", "remove an EAM at run time");
  eamt_rm->add_option("ipv6", v6, "IPv6 prefix")->required();
  eamt_rm->add_option("ipv4", v4, "IPv4 prefix")->required();
  auto* pool6 = app.add_subcommand("pool6", "RFC 6052 translation prefix");
  pool6->require_subcommand(1);
  auto* pool6_show = pool6->add_subcommand("show", "show pool6");
  auto* stats = app.add_subcommand("stats", "every counter, including each drop reason");
  bool prometheus = false, nonzero = false;
  stats->add_flag("--prometheus", prometheus, "Prometheus text exposition format");
  stats->add_flag("--nonzero", nonzero, "only counters that are not zero");
  auto* reload = app.add_subcommand("reload", "reload the configuration file (a bad file is refused)");

  // The PE's Mapping Rule Database (role pe).
  auto* rule = app.add_subcommand("rule", "PE mapping rules: IPv4 prefix -> Pref6(egress PE) (role pe)");
  rule->require_subcommand(1);
  std::string r_prefix, r_pref6, r_modes, r_layout, r_source, r_addr, r_from;
  long long r_pref = -1;
  std::size_t r_limit = 10000;
  auto* rule_show = rule->add_subcommand("show", "list the rules of every source (or --source)");
  rule_show->add_option("--source", r_source, "config, local, ctl or bgp");
  rule_show->add_option("--limit", r_limit, "at most this many rows (default 10000)");
  auto add_rule_options = [&](CLI::App* c) {
    c->add_option("prefix", r_prefix, "IPv4 prefix")->required();
    c->add_option("pref6", r_pref6, "Pref6 of the egress PE")->required();
    c->add_option("--modes", r_modes, "modes the egress accepts: translate, encapsulate or both (default both)");
    c->add_option("--layout", r_layout, "low32 (default, the framework's Table 1) or rfc6052");
    c->add_option("--preference", r_pref, "higher wins between sources of one prefix (default 100)");
  };
  auto* rule_add = rule->add_subcommand("add", "add a rule (source ctl; survives reloads)");
  add_rule_options(rule_add);
  auto* rule_change = rule->add_subcommand("change", "change the ctl rule of a prefix (moves live traffic)");
  add_rule_options(rule_change);
  auto* rule_rm = rule->add_subcommand("remove", "remove the ctl rule of a prefix");
  rule_rm->add_option("prefix", r_prefix, "IPv4 prefix")->required();
  auto* rule_lookup = rule->add_subcommand("lookup", "the rule an IPv4 destination uses and the IPv6 addresses");
  rule_lookup->add_option("address", r_addr, "IPv4 destination")->required();
  rule_lookup->add_option("--from", r_from, "IPv4 source (to show the IPv6 source too)");
  auto* mrdb = app.add_subcommand("mrdb", "the PE's Mapping Rule Database");
  mrdb->require_subcommand(1);
  auto* mrdb_stats = mrdb->add_subcommand("stats", "rules per source, targets, memory, updates");

  // The BGP speaker (role pe with [bgp]).
  auto* bgp = app.add_subcommand("bgp", "the BGP speaker that exchanges mapping rules (role pe, [bgp])");
  bgp->require_subcommand(1);
  std::string b_peer, b_prefix, b_dir = "received";
  std::size_t b_limit = 10000;
  auto* bgp_summary = bgp->add_subcommand("summary", "one line per peer: state, uptime, prefixes");
  auto* bgp_neighbors = bgp->add_subcommand("neighbors", "each peer in detail (or one: NAME)");
  bgp_neighbors->add_option("name", b_peer, "peer name");
  auto* bgp_routes = bgp->add_subcommand("routes", "received (default) or advertised routes");
  bgp_routes->add_option("dir", b_dir, "received or advertised")->check(CLI::IsMember({"received", "advertised"}));
  bgp_routes->add_option("prefix", b_prefix, "only this IPv4 prefix");
  bool b_longer = false;
  bgp_routes->add_flag("--longer", b_longer, "with a prefix: also the prefixes inside it");
  bgp_routes->add_option("--peer", b_peer, "only this peer");
  bgp_routes->add_option("--limit", b_limit, "at most this many rows (default 10000)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  for (auto [what, v] :
       {std::pair{"ipv6 prefix", &v6}, std::pair{"ipv4 prefix", &v4}, std::pair{"prefix", &r_prefix},
        std::pair{"pref6", &r_pref6}, std::pair{"modes", &r_modes}, std::pair{"layout", &r_layout},
        std::pair{"source", &r_source}, std::pair{"address", &r_addr}, std::pair{"address", &r_from}}) {
    if (auto why = check_argument(what, *v); !why.empty()) {
      std::cerr << "edge46ctl: " << why << "\n";
      return 2;
    }
  }

  Json req;
  if (*status)
    req = {{"cmd", "status"}};
  else if (*config_show)
    req = {{"cmd", "config.show"}};
  else if (*eamt_show)
    req = {{"cmd", "eamt.show"}};
  else if (*eamt_add)
    req = {{"cmd", "eamt.add"}, {"ipv6", v6}, {"ipv4", v4}};
  else if (*eamt_rm)
    req = {{"cmd", "eamt.remove"}, {"ipv6", v6}, {"ipv4", v4}};
  else if (*pool6_show)
    req = {{"cmd", "pool6.show"}};
  else if (*stats)
    req = {{"cmd", "stats"}};
  else if (*reload)
    req = {{"cmd", "reload"}};
  else if (*rule_show) {
    req = {{"cmd", "rule.show"}, {"limit", r_limit}};
    if (!r_source.empty()) req["source"] = r_source;
  } else if (*rule_add || *rule_change) {
    req = {{"cmd", *rule_add ? "rule.add" : "rule.change"}, {"prefix", r_prefix}, {"pref6", r_pref6}};
    if (!r_modes.empty()) req["modes"] = r_modes;
    if (!r_layout.empty()) req["layout"] = r_layout;
    if (r_pref >= 0) req["preference"] = r_pref;
  } else if (*rule_rm) {
    req = {{"cmd", "rule.remove"}, {"prefix", r_prefix}};
  } else if (*rule_lookup) {
    req = {{"cmd", "rule.lookup"}, {"address", r_addr}};
    if (!r_from.empty()) req["source"] = r_from;
  } else if (*mrdb_stats) {
    req = {{"cmd", "mrdb.stats"}};
  } else if (*bgp_summary) {
    req = {{"cmd", "bgp.summary"}};
  } else if (*bgp_neighbors) {
    req = {{"cmd", "bgp.neighbors"}};
    if (!b_peer.empty()) req["peer"] = b_peer;
  } else if (*bgp_routes) {
    req = {{"cmd", "bgp.routes"}, {"dir", b_dir}, {"limit", b_limit}};
    if (!b_peer.empty()) req["peer"] = b_peer;
    if (!b_prefix.empty()) req["prefix"] = b_prefix;
    if (b_longer) req["match"] = "longer";
  } else {
    std::cerr << app.help();
    return 2;
  }
  (void)config;
  (void)eamt;
  (void)pool6;
  (void)rule;
  (void)mrdb;
  (void)bgp;

  auto r = call(socket_path, req, timeout_s);
  if (!r.connected) {
    std::cerr << "edge46ctl: " << r.error << "\n";
    return 2;
  }
  const auto& b = r.body;
  const bool ok = b.value("ok", false);
  if (json) {
    std::cout << b.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    return ok ? 0 : 1;
  }
  if (!ok) {
    std::cerr << "edge46ctl: " << b.value("error", std::string("request failed")) << "\n";
    return 1;
  }
  if (*status) {
    for (auto it = b.begin(); it != b.end(); ++it) {
      if (it.key() == "ok") continue;
      std::string v = it.value().is_object() ? scalar(it.value().value("prefix", Json())) : scalar(it.value());
      std::cout << std::left << std::setw(20) << (it.key() + ":") << v << "\n";
    }
  } else if (*config_show) {
    std::cout << "# generation " << scalar(b["generation"]) << "\n" << scalar(b["toml"]);
  } else if (*eamt_show) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : b["eamt"]) rows.push_back({scalar(e["ipv6"]), scalar(e["ipv4"])});
    print_table({"IPv6 prefix", "IPv4 prefix"}, rows);
    std::cout << "(" << rows.size() << " entries)\n";
  } else if (*eamt_add || *eamt_rm) {
    std::cout << (*eamt_add ? "added" : "removed") << " (EAMT version " << scalar(b["version"]) << ")\n";
  } else if (*pool6_show) {
    if (b["pool6"].is_null())
      std::cout << "pool6: (none)\n";
    else
      std::cout << "pool6: " << scalar(b["pool6"]["prefix"]) << " (" << scalar(b["pool6"]["layout"]) << ")\n";
  } else if (*stats) {
    if (prometheus) {
      print_prometheus(b);
    } else {
      std::vector<std::vector<std::string>> rows;
      for (auto it = b["counters"].begin(); it != b["counters"].end(); ++it) {
        if (nonzero && it.value().get<uint64_t>() == 0) continue;
        rows.push_back({it.key(), scalar(it.value()), scalar(b["help"].value(it.key(), Json("")))});
      }
      print_table({"counter", "value", "meaning"}, rows);
    }
  } else if (*rule_show) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : b["rules"]) {
      rows.push_back({scalar(e["prefix"]), scalar(e["pref6"]), scalar(e["layout"]), scalar(e["modes"]),
                      scalar(e["source"]), scalar(e["preference"]), e.value("installed", false) ? "*" : ""});
    }
    print_table({"IPv4 prefix", "Pref6 (egress)", "layout", "modes", "source", "pref", "used"}, rows);
    std::cout << "(" << scalar(b["total"]) << " rules" << (b.value("truncated", false) ? ", first shown" : "")
              << "; * = the rule lookups use)\n";
  } else if (*rule_add || *rule_change || *rule_rm) {
    std::cout << (*rule_add ? "added" : *rule_change ? "changed" : "removed") << "\n";
  } else if (*rule_lookup) {
    if (b["rule"].is_null()) {
      std::cout << scalar(b["address"]) << ": no rule: " << scalar(b["action"]) << "\n";
    } else {
      const auto& ru = b["rule"];
      std::cout << "address:          " << scalar(b["address"]) << "\n"
                << "rule:             " << scalar(ru["prefix"]) << " -> " << scalar(ru["pref6"]) << " ("
                << scalar(ru["layout"]) << ", " << scalar(ru["modes"]) << ", source " << scalar(ru["source"])
                << ", preference " << scalar(ru["preference"]) << ")\n"
                << "mode:             " << scalar(b["mode"]) << "\n"
                << "IPv6 destination: " << scalar(b["ipv6_destination"]) << "\n";
      if (b.contains("ipv6_source")) {
        std::cout << "IPv6 source:      " << scalar(b["ipv6_source"]) << "\n";
      } else {
        std::cout << "IPv6 source:      " << scalar(b["ipv6_source_prefix"]) << " + the IPv4 source\n";
      }
    }
  } else if (*mrdb_stats) {
    for (auto it = b.begin(); it != b.end(); ++it) {
      if (it.key() == "ok") continue;
      std::string v = it.value().is_object() ? it.value().dump() : scalar(it.value());
      std::cout << std::left << std::setw(16) << (it.key() + ":") << v << "\n";
    }
  } else if (*bgp_summary) {
    std::cout << "BGP AS " << scalar(b["asn"]) << ", router ID " << scalar(b["router_id"]) << ", "
              << scalar(b["prefixes"]) << " prefixes with an accepted route, " << scalar(b["mrdb_bgp_rules"])
              << " bgp rules in the MR-DB, authorization: " << scalar(b["authorization"]) << "\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : b["peers"]) {
      rows.push_back({scalar(p["name"]), scalar(p["address"]), scalar(p["asn"]), scalar(p["state"]),
                      duration(p["uptime_seconds"].get<uint64_t>()), scalar(p["received"]), scalar(p["accepted"]),
                      scalar(p["stale"]), scalar(p["advertised"]),
                      // An established session that announces needs no word;
                      // otherwise why it is down or silent.
                      scalar(p["state"]) == "Established" && p.value("can_announce", false) ? std::string()
                                                                                            : scalar(p["last_error"])});
    }
    print_table({"Name", "Address", "AS", "State", "Since", "Received", "Accepted", "Stale", "Advertised", "Info"},
                rows);
  } else if (*bgp_neighbors) {
    for (const auto& p : b["peers"]) {
      std::cout << scalar(p["name"]) << ": " << scalar(p["address"]) << " port " << scalar(p["port"]) << ", AS "
                << scalar(p["asn"]) << " (" << scalar(p["type"]) << (p.value("passive", false) ? ", passive" : "")
                << "), rules sent as " << scalar(p["shape"]) << "\n";
      std::cout << "  state " << scalar(p["state"]) << " for " << duration(p["uptime_seconds"].get<uint64_t>())
                << ", established " << scalar(p["established_count"]) << " times, router ID "
                << scalar(p["peer_router_id"]) << ", hold time " << scalar(p["hold_time"]) << "\n";
      std::string caps;
      for (auto it = p["capabilities"].begin(); it != p["capabilities"].end(); ++it) {
        if (it.value().get<bool>()) caps += (caps.empty() ? "" : ", ") + it.key();
      }
      std::cout << "  capabilities: " << (caps.empty() ? "-" : caps)
                << (p.value("can_announce", false) ? "" : " (no rules announced to it)") << "\n";
      std::cout << "  messages in/out " << scalar(p["messages_in"]) << "/" << scalar(p["messages_out"])
                << ", updates in/out " << scalar(p["updates_in"]) << "/" << scalar(p["updates_out"])
                << ", notifications in/out " << scalar(p["notifications_in"]) << "/" << scalar(p["notifications_out"])
                << "\n";
      const auto& rib = p["rib"];
      std::cout << "  prefixes: " << scalar(rib["received"]) << " received, " << scalar(rib["accepted"])
                << " accepted, " << scalar(rib["stale"]) << " stale, " << scalar(p["advertised"]) << " advertised\n";
      std::string rej;
      for (auto it = rib["rejected"].begin(); it != rib["rejected"].end(); ++it) {
        if (it.value().get<uint64_t>() != 0) rej += (rej.empty() ? "" : ", ") + it.key() + " " + scalar(it.value());
      }
      std::cout << "  rejected: " << (rej.empty() ? "none" : rej) << "\n";
      if (!scalar(p["last_error"]).empty()) std::cout << "  last error: " << scalar(p["last_error"]) << "\n";
    }
  } else if (*bgp_routes) {
    std::vector<std::vector<std::string>> rows;
    const bool rx = b_dir == "received";
    for (const auto& e : b["routes"]) {
      std::string mode = e["pref6"].is_null() ? "-" : e.value("translate", false) ? "translate" : "encapsulate";
      if (e.value("default", false)) mode += ", default";
      if (rx) {
        std::string st_text = e.value("best", false) ? "best" : "";
        if (e.value("stale", false)) st_text += st_text.empty() ? "stale" : ", stale";
        if (!scalar(e["reject"]).empty()) st_text = "rejected: " + scalar(e["reject"]);
        rows.push_back({scalar(e["prefix"]), scalar(e["pref6"]), mode, scalar(e["peer"]), scalar(e["validity"]),
                        st_text, scalar(e["as_path"])});
      } else {
        rows.push_back({scalar(e["prefix"]), scalar(e["pref6"]), mode, scalar(e["peer"])});
      }
    }
    if (rx) {
      print_table({"IPv4 prefix", "Pref6", "mode", "peer", "validity", "status", "AS path"}, rows);
    } else {
      print_table({"IPv4 prefix", "Pref6", "mode", "to peer"}, rows);
    }
    std::cout << "(" << scalar(b["total"]) << " routes" << (b.value("truncated", false) ? ", first shown" : "")
              << ")\n";
  } else if (*reload) {
    std::cout << "reloaded (generation " << scalar(b["generation"]) << ")\n";
    if (b.contains("warning")) std::cout << "warning: " << scalar(b["warning"]) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Whatever the answer looks like (an old or foreign daemon), no abort.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "edge46ctl: unexpected answer or failure: " << e.what() << "\n";
    return 2;
  }
}
