// Test helpers shared by the speaker's test programs (speaker_test.cpp,
// speaker_hostile_test.cpp): a private network namespace, a sink that
// records the MR-DB, and a raw BGP client whose bytes are written by hand
// from RFC 4271 4 (so the expectations never come from the codec under test).
#pragma once

#include "bgp/speaker.h"
#include "bgp/wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

namespace edge46::bgp::test {

using namespace std::chrono_literals;

namespace {

bool setup_netns() {
  static const bool ok = [] {
    if (geteuid() != 0) return false;
    if (unshare(CLONE_NEWNET) != 0) return false;
    if (std::system("ip link set lo up") != 0) return false;
    for (int i = 1; i <= 9; ++i) {
      const std::string cmd = "ip -6 addr add fd00::" + std::to_string(i) + "/128 dev lo nodad";
      if (std::system(cmd.c_str()) != 0) return false;
    }
    return true;
  }();
  return ok;
}

net::Ipv6Addr v6(const char* s) {
  return *net::parse_ipv6(s);
}
net::Ipv4Prefix p4(const char* s) {
  return *net::parse_ipv4_prefix(s);
}
net::Ipv6Prefix p6(const char* s) {
  return *net::parse_ipv6_prefix(s);
}

std::atomic<uint16_t> g_port{20179};
uint16_t next_port() {
  return g_port++;
}

template <class F>
bool wait_for(F pred, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

// The MR-DB as the sink sees it: prefix -> target, and every change in order.
struct Collector {
  std::mutex mu;
  std::map<std::pair<uint32_t, uint8_t>, mapping::MrTarget> table;
  std::vector<MrChange> changes;
  std::vector<std::string> logs;

  Speaker::Sink sink() {
    return [this](std::span<const MrChange> batch) {
      std::lock_guard lock(mu);
      for (const auto& c : batch) {
        changes.push_back(c);
        const auto k = std::make_pair(c.prefix.addr.value, c.prefix.len);
        if (c.target) {
          table[k] = *c.target;
        } else {
          table.erase(k);
        }
      }
    };
  }
  Speaker::Logger logger() {
    return [this](const std::string& l) {
      std::lock_guard lock(mu);
      logs.push_back(l);
    };
  }
  std::optional<mapping::MrTarget> get(net::Ipv4Prefix p) {
    std::lock_guard lock(mu);
    auto it = table.find({p.addr.value, p.len});
    if (it == table.end()) return std::nullopt;
    return it->second;
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return table.size();
  }
  std::string dump_logs() {
    std::lock_guard lock(mu);
    std::string s;
    for (const auto& l : logs) s += l + "\n";
    return s;
  }
};

SpeakerConfig speaker_cfg(uint32_t asn, const char* router_id, uint16_t port) {
  SpeakerConfig c;
  c.asn = asn;
  c.router_id = *net::parse_ipv4(router_id);
  c.listen = true;
  c.listen_address = net::Ipv6Addr{};
  c.port = port;
  c.hold_time = 9;
  c.connect_retry = 1;
  c.connect_retry_max = 2;
  c.stale_time = 1;
  c.next_hop = v6("2001:db8:ffff::1");
  return c;
}

PeerConfig peer_cfg(const char* addr, uint16_t port, uint32_t asn, const char* name) {
  PeerConfig p;
  p.name = name;
  p.address = v6(addr);
  p.port = port;
  p.asn = asn;
  return p;
}

std::optional<PeerStatus> status(const Speaker& s, const std::string& name) {
  for (auto& p : s.peers()) {
    if (p.config.name == name) return p;
  }
  return std::nullopt;
}

bool is_established(const Speaker& s, const std::string& name) {
  auto st = status(s, name);
  return st && st->state == SessionState::kEstablished;
}

[[maybe_unused]] mapping::MrTarget target(const char* pref6, bool translate) {
  mapping::MrTarget t;
  t.pool6 = mapping::Pool6{p6(pref6), mapping::Pool6Layout::kLow32};
  t.modes = translate ? mapping::kModeTranslate : mapping::kModeEncapsulate;
  return t;
}

LocalRule rule(const char* prefix, const char* pref6, bool translate, bool is_default = false) {
  LocalRule r;
  r.prefix = p4(prefix);
  r.rule.translate = translate;
  r.rule.is_default = is_default;
  r.rule.pref6 = p6(pref6);
  return r;
}

// ------------------------------------------------------- a raw BGP client

// RFC 4271 4.1 header: 16 x 0xff, length, type.
std::vector<uint8_t> frame(uint8_t type, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> m(16, 0xff);
  const std::size_t len = 19 + body.size();
  m.push_back(static_cast<uint8_t>(len >> 8));
  m.push_back(static_cast<uint8_t>(len));
  m.push_back(type);
  m.insert(m.end(), body.begin(), body.end());
  return m;
}

// RFC 4271 4.2 OPEN with one Capabilities parameter (RFC 5492): MP (1, 1)
// (RFC 4760 8), Extended Next Hop (1, 1, 2) when enh (RFC 8950 3), 4-octet
// AS (RFC 6793).
std::vector<uint8_t> raw_open(uint16_t asn, uint16_t hold, uint32_t id, bool enh) {
  std::vector<uint8_t> caps = {1, 4, 0, 1, 0, 1};
  if (enh) caps.insert(caps.end(), {5, 6, 0, 1, 0, 1, 0, 2});
  caps.insert(caps.end(), {65, 4, 0, 0, static_cast<uint8_t>(asn >> 8), static_cast<uint8_t>(asn)});
  std::vector<uint8_t> b = {4,
                            static_cast<uint8_t>(asn >> 8),
                            static_cast<uint8_t>(asn),
                            static_cast<uint8_t>(hold >> 8),
                            static_cast<uint8_t>(hold),
                            static_cast<uint8_t>(id >> 24),
                            static_cast<uint8_t>(id >> 16),
                            static_cast<uint8_t>(id >> 8),
                            static_cast<uint8_t>(id),
                            static_cast<uint8_t>(caps.size() + 2),
                            2,
                            static_cast<uint8_t>(caps.size())};
  b.insert(b.end(), caps.begin(), caps.end());
  return frame(1, b);
}

struct RawMsg {
  uint8_t type = 0;
  std::vector<uint8_t> body;
};

class RawClient {
 public:
  RawClient(const char* from, uint16_t port) {
    fd_ = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in6 la{};
    la.sin6_family = AF_INET6;
    inet_pton(AF_INET6, from, &la.sin6_addr);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&la), sizeof(la)), 0);
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    inet_pton(AF_INET6, "::1", &sa.sin6_addr);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  void nodelay() {
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  void send(const std::vector<uint8_t>& m) {
    ASSERT_EQ(::send(fd_, m.data(), m.size(), MSG_NOSIGNAL), ssize_t(m.size()));
  }
  // The next message; nullopt on EOF (eof_ set) or timeout.
  std::optional<RawMsg> next(std::chrono::milliseconds timeout) {
    std::vector<uint8_t> h;
    if (!read_n(h, 19, timeout)) return std::nullopt;
    const std::size_t len = std::size_t{h[16]} << 8 | h[17];
    RawMsg m;
    m.type = h[18];
    if (len > 19 && !read_n(m.body, len - 19, timeout)) return std::nullopt;
    return m;
  }
  bool eof() const { return eof_; }

 private:
  bool read_n(std::vector<uint8_t>& out, std::size_t n, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
      uint8_t buf[4096];
      const ssize_t r = ::recv(fd_, buf, std::min(sizeof(buf), n - out.size()), 0);
      if (r <= 0) {
        eof_ = true;
        return false;
      }
      out.insert(out.end(), buf, buf + r);
    }
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
};

// What an UPDATE body (RFC 4271 4.3) carries, read by hand.
struct UpdateShape {
  std::size_t withdrawn_len = 0;
  std::size_t nlri_len = 0;
  bool mp_reach = false;    // attribute 14
  bool mp_unreach = false;  // attribute 15
};
[[maybe_unused]] UpdateShape shape_of(const std::vector<uint8_t>& b) {
  UpdateShape s;
  const std::size_t wl = std::size_t{b.at(0)} << 8 | b.at(1);
  s.withdrawn_len = wl;
  const std::size_t al = std::size_t{b.at(2 + wl)} << 8 | b.at(3 + wl);
  std::size_t i = 4 + wl;
  const std::size_t end = i + al;
  while (i < end) {
    const uint8_t flags = b.at(i), type = b.at(i + 1);
    std::size_t len, hl;
    if (flags & 0x10) {
      len = std::size_t{b.at(i + 2)} << 8 | b.at(i + 3);
      hl = 4;
    } else {
      len = b.at(i + 2);
      hl = 3;
    }
    if (type == 14) s.mp_reach = true;
    if (type == 15) s.mp_unreach = true;
    i += hl + len;
  }
  s.nlri_len = b.size() - end;
  return s;
}

// A passive raw peer at `from` for a speaker on `port`.
struct RawPeerSpeaker {
  Collector col;
  Speaker sp;
  uint16_t port = next_port();
  explicit RawPeerSpeaker(const char* from, uint32_t max_prefix = 0, MaxPrefixAction action = MaxPrefixAction::kWarn) {
    auto cfg = speaker_cfg(65000, "10.0.0.2", port);
    auto pc = peer_cfg(from, 179, 65000, "raw");
    pc.passive = true;
    pc.max_prefix = max_prefix;
    pc.max_prefix_action = action;
    cfg.peers.push_back(pc);
    EXPECT_TRUE(sp.start(cfg, col.sink(), col.logger()));
  }
};

// The next NOTIFICATION on c (skipping the rest), as (code, subcode).
std::optional<std::pair<int, int>> next_notification(RawClient& c, std::chrono::milliseconds timeout = 3s) {
  while (auto m = c.next(timeout)) {
    if (m->type == 3 && m->body.size() >= 2) return std::make_pair(int{m->body[0]}, int{m->body[1]});
  }
  return std::nullopt;
}

// RFC 4271 4.3 UPDATE announcing `prefixes` (all /24) in MP_REACH_NLRI
// (RFC 4760 3, AFI 1 SAFI 1, RFC 8950 16-octet next hop), iBGP attributes,
// and the 4map6 rule as the standalone attribute 255 (flags 0xC0): T flag,
// length 96, 2001:db8:7::.
std::vector<uint8_t> raw_update(const std::vector<std::array<uint8_t, 3>>& prefixes) {
  std::vector<uint8_t> mp = {0, 1, 1, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
  for (const auto& p : prefixes) mp.insert(mp.end(), {24, p[0], p[1], p[2]});
  std::vector<uint8_t> attrs = {0x40, 1,  1,
                                0,            // ORIGIN IGP
                                0x40, 2,  0,  // AS_PATH empty (iBGP)
                                0x40, 5,  4,
                                0,    0,  0,
                                100,  // LOCAL_PREF 100
                                0x80, 14, static_cast<uint8_t>(mp.size())};
  attrs.insert(attrs.end(), mp.begin(), mp.end());
  attrs.insert(attrs.end(), {0xC0, 255, 14, 0x80, 96, 0x20, 0x01, 0x0d, 0xb8, 0, 7, 0, 0, 0, 0, 0, 0});
  std::vector<uint8_t> body = {0, 0, static_cast<uint8_t>(attrs.size() >> 8), static_cast<uint8_t>(attrs.size())};
  body.insert(body.end(), attrs.begin(), attrs.end());
  return frame(2, body);
}

void open_session(RawClient& c) {
  c.send(raw_open(65000, 90, 0x0a000009, true));
  c.send(frame(4, {}));
}

}  // namespace
}  // namespace edge46::bgp::test
