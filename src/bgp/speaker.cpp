// The BGP speaker (speaker.h): one thread, one epoll set (listening socket,
// one socket per connection, an eventfd for wake-ups), timers as deadlines
// scanned each iteration (a handful of peers: a heap would buy nothing).
//
// Locking: the loop holds mu_ while it processes one iteration (socket
// events, timers, pending rules and configuration) and releases it before
// calling the sink and the logger, so a status call waits at most one
// iteration and a sink or logger that calls back into the speaker cannot
// deadlock.
//
// A peer has up to two connections at a time (ours and its), each with its
// own RFC 4271 8 state from Connect to Established; the collision between
// them is resolved when an OPEN arrives (RFC 4271 6.8).
#include "bgp/speaker.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "bgp/wire.h"

namespace edge46::bgp {

std::string_view session_state_name(SessionState s) noexcept {
  switch (s) {
    case SessionState::kIdle: return "Idle";
    case SessionState::kConnect: return "Connect";
    case SessionState::kActive: return "Active";
    case SessionState::kOpenSent: return "OpenSent";
    case SessionState::kOpenConfirm: return "OpenConfirm";
    case SessionState::kEstablished: return "Established";
  }
  return "?";
}

namespace {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
constexpr TimePoint kNever = TimePoint::max();

constexpr uint64_t kTokenListen = 1;
constexpr uint64_t kTokenWake = 2;
constexpr uint64_t kFirstConnToken = 16;

constexpr uint16_t kOpenSentHold = 240;                     // RFC 4271 8.2.2: "large value", 4 minutes
constexpr std::size_t kOutHighWater = 64u << 20;            // stop reading a peer whose output exceeds this
constexpr std::size_t kOutLowWater = 32u << 20;             // and resume below this
constexpr std::size_t kReadPerEvent = 256u << 10;           // fairness between peers in one iteration
constexpr uint32_t kNoExport = 0xFFFFFF01;                  // RFC 1997
constexpr auto kAuthPoll = std::chrono::seconds(1);         // authorization file mtime/size poll
constexpr auto kStopFlushBudget = std::chrono::seconds(1);  // stop(): time to flush the Cease

std::string errno_text(int e) {
  return std::strerror(e);
}

sockaddr_in6 make_sa6(const net::Ipv6Addr& a, uint16_t port) {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(port);
  std::memcpy(&sa.sin6_addr, a.bytes.data(), 16);
  return sa;
}

// RFC 2385 through Linux's TCP_MD5SIG: the key for one peer address; an
// empty password deletes it.
tl::expected<void, std::string> set_md5(int fd, const net::Ipv6Addr& peer, const std::string& password) {
  if (password.size() > TCP_MD5SIG_MAXKEYLEN) {
    return tl::unexpected("TCP MD5 password longer than " + std::to_string(TCP_MD5SIG_MAXKEYLEN) + " octets");
  }
  tcp_md5sig md5{};
  const sockaddr_in6 sa = make_sa6(peer, 0);
  std::memcpy(&md5.tcpm_addr, &sa, sizeof(sa));
  md5.tcpm_keylen = static_cast<uint16_t>(password.size());
  std::memcpy(md5.tcpm_key, password.data(), password.size());
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5)) != 0) {
    // Deleting a key that is not there is not an error worth reporting.
    if (password.empty() && errno == ENOENT) return {};
    return tl::unexpected("TCP_MD5SIG for " + net::to_string(peer) + ": " + errno_text(errno));
  }
  return {};
}

struct PrefixKey {
  uint32_t addr;
  uint8_t len;
  friend auto operator<=>(const PrefixKey&, const PrefixKey&) = default;
};
PrefixKey key_of(net::Ipv4Prefix p) {
  return {p.addr.value, p.len};
}

enum class ConnState : uint8_t { kConnecting, kOpenSent, kOpenConfirm, kEstablished };

struct Conn {
  uint64_t token = 0;
  int fd = -1;
  bool outgoing = false;
  ConnState st = ConnState::kConnecting;
  std::vector<uint8_t> in;
  std::deque<std::vector<uint8_t>> out;
  std::size_t out_off = 0;    // sent octets of out.front()
  std::size_t out_bytes = 0;  // queued octets not yet sent
  bool want_out = false;      // EPOLLOUT registered
  bool read_paused = false;   // backpressure (EPOLLIN removed)
  TimePoint connect_deadline = kNever;
  TimePoint hold_deadline = kNever;
  TimePoint keepalive_deadline = kNever;
  uint16_t hold = 0;  // negotiated, once the OPEN is in
  Open peer_open;
};

struct AdvEntry {
  net::Ipv4Prefix prefix;
  FourMap6 rule;
  std::vector<uint8_t> attr_raw;
  net::Ipv6Addr next_hop;
};

struct Peer {
  PeerId id = 0;
  PeerConfig cfg;
  std::string name;
  bool ibgp = false;
  bool inside = false;
  std::vector<std::unique_ptr<Conn>> conns;  // at most two: ours and its
  uint32_t retry_interval = 0;               // the wait before the next connect
  TimePoint retry_deadline = kNever;
  TimePoint suppress_until = TimePoint::min();  // max-prefix teardown: no session until then
  TimePoint stale_deadline = kNever;
  bool eor_received = false;     // End-of-RIB since the session came up
  bool refresh_pending = false;  // ROUTE-REFRESH received, not yet answered (run_refreshes)
  TimePoint last_change = Clock::now();
  TimePoint established_at;               // uptime while Established
  std::map<PrefixKey, AdvEntry> adj_out;  // what the peer has been sent
  PeerStatus st;                          // counters, last_error, caps, ... (state and uptime computed)
};

}  // namespace

struct Speaker::Impl {
  // --- shared with the public methods (under mu_) ---
  mutable std::mutex mu_;
  SpeakerConfig cfg_;  // the configuration as last accepted
  std::optional<std::vector<LocalRule>> pending_rules_;
  std::optional<SpeakerConfig> pending_cfg_;
  bool stop_requested_ = false;
  std::string auth_status_ = "none";

  // --- the loop's own (peers_ and rib_ are read by status calls under mu_) ---
  SpeakerConfig lcfg_;  // the configuration the loop runs
  Sink sink_;
  Logger log_;
  std::unique_ptr<Rib> rib_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::unordered_map<uint64_t, std::pair<Peer*, Conn*>> by_token_;
  std::vector<std::unique_ptr<Conn>> graveyard_;  // closed this iteration, freed at its end
  std::vector<LocalRule> local_rules_;
  std::vector<MrChange> batch_;
  std::vector<std::string> logs_;
  PeerId next_peer_id_ = 1;
  uint64_t next_token_ = kFirstConnToken;
  int epfd_ = -1, wakefd_ = -1, listenfd_ = -1;
  std::thread thread_;
  bool running_ = false;

  // authorization file
  std::shared_ptr<const Authorization> auth_;
  std::string auth_path_;
  bool auth_seen_ = false;
  struct timespec auth_mtime_ {};
  off_t auth_size_ = -1;
  TimePoint auth_next_poll_ = kNever;

  ~Impl() { close_fds(); }

  void close_fds() {
    for (int* fd : {&epfd_, &wakefd_, &listenfd_}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }

  void log(std::string line) { logs_.push_back(std::move(line)); }
  void plog(const Peer& p, const std::string& line) { log("bgp: peer " + p.name + ": " + line); }

  void wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wakefd_, &one, sizeof(one));
  }

  // ---------------------------------------------------------------- config

  static tl::expected<void, std::string> validate(const SpeakerConfig& c) {
    if (c.asn == 0) return tl::unexpected(std::string("bgp: asn must be set"));
    if (c.router_id.value == 0) return tl::unexpected(std::string("bgp: router_id must be nonzero"));
    if (c.hold_time == 1 || c.hold_time == 2) {
      return tl::unexpected(std::string("bgp: hold_time must be 0 or at least 3 (RFC 4271 4.2)"));
    }
    if (c.connect_retry == 0 || c.connect_retry_max < c.connect_retry) {
      return tl::unexpected(std::string("bgp: connect_retry must be >= 1 and <= connect_retry_max"));
    }
    for (std::size_t i = 0; i < c.peers.size(); ++i) {
      const auto& p = c.peers[i];
      if (p.asn == 0) return tl::unexpected("bgp: peer " + net::to_string(p.address) + ": asn must be set");
      if (p.hold_time && (*p.hold_time == 1 || *p.hold_time == 2)) {
        return tl::unexpected("bgp: peer " + net::to_string(p.address) + ": hold_time must be 0 or >= 3");
      }
      if (p.password.size() > TCP_MD5SIG_MAXKEYLEN) {
        return tl::unexpected("bgp: peer " + net::to_string(p.address) + ": password longer than 80 octets");
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (c.peers[j].address == p.address) {
          return tl::unexpected("bgp: peer " + net::to_string(p.address) + " configured twice");
        }
      }
    }
    return {};
  }

  RibConfig rib_config() const {
    return RibConfig{lcfg_.asn, lcfg_.router_id.value, lcfg_.layout, lcfg_.reject_invalid, lcfg_.preference};
  }

  PeerPolicy policy_of(const Peer& p) const {
    PeerPolicy pol;
    pol.name = p.name;
    pol.address = p.cfg.address;
    pol.asn = p.cfg.asn;
    pol.ibgp = p.ibgp;
    pol.inside_domain = p.inside;
    pol.accept_default = p.cfg.accept_default;
    pol.import = p.cfg.import;
    pol.max_prefix = p.cfg.max_prefix;
    pol.max_prefix_action = p.cfg.max_prefix_action;
    return pol;
  }

  void set_peer_config(Peer& p, const PeerConfig& c) {
    p.cfg = c;
    p.name = c.name.empty() ? net::to_string(c.address) : c.name;
    p.ibgp = c.asn == lcfg_.asn;
    p.inside = c.inside_domain.value_or(p.ibgp);  // section 7.2: default, iBGP peers are inside
    p.st.config = c;
    p.st.config.name = p.name;
    p.st.ibgp = p.ibgp;
  }

  Peer& add_peer(const PeerConfig& c) {
    auto p = std::make_unique<Peer>();
    p->id = next_peer_id_++;
    p->st.id = p->id;
    set_peer_config(*p, c);
    p->retry_interval = lcfg_.connect_retry;
    p->st.connect_retry_s = lcfg_.connect_retry;
    rib_->set_peer(p->id, policy_of(*p));
    if (!p->cfg.passive) p->retry_deadline = Clock::now();  // connect at once
    peers_.push_back(std::move(p));
    return *peers_.back();
  }

  // ------------------------------------------------------------- the start

  tl::expected<void, std::string> start(SpeakerConfig cfg, Sink sink, Logger logger) {
    if (auto v = validate(cfg); !v) return v;
    lcfg_ = cfg;
    cfg_ = cfg;
    sink_ = std::move(sink);
    log_ = std::move(logger);
    rib_ = std::make_unique<Rib>(rib_config());
    auth_path_ = cfg.authorization_file;
    if (!auth_path_.empty()) {
      auto a = Authorization::load(auth_path_);
      if (!a) return tl::unexpected("bgp: authorization file " + auth_path_ + ": " + a.error());
      auth_ = std::make_shared<const Authorization>(std::move(*a));
      stat_auth(auth_mtime_, auth_size_);
      auth_seen_ = true;
      std::vector<MrChange> none;
      rib_->set_authorization(auth_, none);
      auth_status_ = std::to_string(auth_->size()) + " tuples from " + auth_path_;
      auth_next_poll_ = Clock::now() + kAuthPoll;
    }
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epfd_ < 0 || wakefd_ < 0) {
      close_fds();
      return tl::unexpected("bgp: epoll/eventfd: " + errno_text(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTokenWake;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
    if (cfg.listen) {
      if (auto l = open_listener(); !l) {
        close_fds();
        return l;
      }
    }
    for (const auto& pc : cfg.peers) add_peer(pc);
    running_ = true;
    thread_ = std::thread([this] { run(); });
    return {};
  }

  tl::expected<void, std::string> open_listener() {
    const std::string where = "[" + net::to_string(lcfg_.listen_address) + "]:" + std::to_string(lcfg_.port);
    listenfd_ = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listenfd_ < 0) return tl::unexpected("bgp: socket: " + errno_text(errno));
    int one = 1;
    setsockopt(listenfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(listenfd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    const sockaddr_in6 sa = make_sa6(lcfg_.listen_address, lcfg_.port);
    if (bind(listenfd_, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
      return tl::unexpected("bgp: bind " + where + ": " + errno_text(errno));
    }
    if (listen(listenfd_, 64) != 0) return tl::unexpected("bgp: listen " + where + ": " + errno_text(errno));
    for (const auto& p : lcfg_.peers) {
      if (p.password.empty()) continue;
      if (auto r = set_md5(listenfd_, p.address, p.password); !r) return tl::unexpected("bgp: " + r.error());
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTokenListen;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, listenfd_, &ev);
    return {};
  }

  // -------------------------------------------------------------- the loop

  void run() {
    std::vector<epoll_event> events(64);
    bool stopping = false;
    while (!stopping) {
      const int timeout = next_timeout_ms();
      const int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), timeout);
      std::vector<MrChange> batch;
      std::vector<std::string> logs;
      {
        std::lock_guard lock(mu_);
        for (int i = 0; i < n; ++i) handle_event(events[static_cast<std::size_t>(i)]);
        if (pending_cfg_) {
          apply_config(std::move(*pending_cfg_));
          pending_cfg_.reset();
        }
        if (pending_rules_) {
          local_rules_ = std::move(*pending_rules_);
          pending_rules_.reset();
          for (auto& p : peers_) sync_adj_out(*p);
        }
        run_timers();
        run_refreshes();
        stopping = stop_requested_;
        if (stopping) shutdown_sessions();
        graveyard_.clear();
        batch.swap(batch_);
        logs.swap(logs_);
      }
      // Outside the lock: the sink may take a grace period, and either may
      // call back into the speaker's status methods.
      for (const auto& l : logs) {
        if (log_) log_(l);
      }
      if (!batch.empty() && sink_) sink_(batch);
    }
  }

  int next_timeout_ms() {
    std::lock_guard lock(mu_);
    TimePoint next = auth_next_poll_;
    for (const auto& p : peers_) {
      next = std::min({next, p->retry_deadline, p->stale_deadline});
      for (const auto& c : p->conns) {
        next = std::min({next, c->connect_deadline, c->hold_deadline, c->keepalive_deadline});
      }
    }
    if (next == kNever) return -1;
    const auto now = Clock::now();
    if (next <= now) return 0;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
    return static_cast<int>(std::min<int64_t>(ms, 60'000));
  }

  void handle_event(const epoll_event& ev) {
    if (ev.data.u64 == kTokenWake) {
      uint64_t v;
      while (::read(wakefd_, &v, sizeof(v)) > 0) {
      }
      return;
    }
    if (ev.data.u64 == kTokenListen) {
      accept_all();
      return;
    }
    auto it = by_token_.find(ev.data.u64);
    if (it == by_token_.end()) return;  // closed earlier in this iteration
    Peer& p = *it->second.first;
    Conn& c = *it->second.second;
    if (c.st == ConnState::kConnecting) {
      if (ev.events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) connect_done(p, c);
      return;
    }
    if (ev.events & EPOLLOUT) {
      if (!flush(p, c)) return;
    }
    if (ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) read_conn(p, c);
  }

  // ----------------------------------------------------------- connections

  Peer* find_peer(const net::Ipv6Addr& a) {
    for (auto& p : peers_) {
      if (p->cfg.address == a) return p.get();
    }
    return nullptr;
  }

  void update_epoll(Conn& c, int op) {
    epoll_event ev{};
    if (c.st == ConnState::kConnecting) {
      ev.events = EPOLLOUT;
    } else {
      ev.events = (c.read_paused ? 0u : static_cast<uint32_t>(EPOLLIN)) | (c.want_out ? EPOLLOUT : 0u);
    }
    ev.data.u64 = c.token;
    epoll_ctl(epfd_, op, c.fd, &ev);
  }

  Conn& add_conn(Peer& p, int fd, bool outgoing, ConnState st) {
    auto c = std::make_unique<Conn>();
    c->token = next_token_++;
    c->fd = fd;
    c->outgoing = outgoing;
    c->st = st;
    Conn& ref = *c;
    p.conns.push_back(std::move(c));
    by_token_[ref.token] = {&p, &ref};
    update_epoll(ref, EPOLL_CTL_ADD);
    p.last_change = Clock::now();
    return ref;
  }

  void accept_all() {
    for (;;) {
      sockaddr_in6 sa{};
      socklen_t len = sizeof(sa);
      const int fd = accept4(listenfd_, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // EAGAIN, or EMFILE and the like: the next event retries
      }
      net::Ipv6Addr from;
      std::memcpy(from.bytes.data(), &sa.sin6_addr, 16);
      Peer* p = find_peer(from);
      if (p == nullptr) {
        log("bgp: refused connection from " + net::to_string(from) + ": not a configured peer");
        ::close(fd);
        continue;
      }
      if (Clock::now() < p->suppress_until) {
        plog(*p, "refused incoming connection: held down after a maximum-prefix teardown");
        ::close(fd);
        continue;
      }
      // A second incoming connection replaces the first (the peer restarted
      // before we noticed); ours and an established one stay for the
      // collision check at its OPEN (RFC 4271 6.8).
      for (auto& c : p->conns) {
        if (!c->outgoing && c->st != ConnState::kEstablished && c->fd >= 0) {
          close_conn(*p, *c, "replaced by a new incoming connection", std::nullopt);
          break;
        }
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      Conn& c = add_conn(*p, fd, false, ConnState::kOpenSent);
      plog(*p, "incoming connection");
      send_open(*p, c);
    }
  }

  void start_connect(Peer& p) {
    p.retry_deadline = kNever;
    p.st.connect_attempts++;
    const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      connect_failed(p, "socket: " + errno_text(errno));
      return;
    }
    if (!p.cfg.password.empty()) {
      if (auto r = set_md5(fd, p.cfg.address, p.cfg.password); !r) {
        ::close(fd);
        connect_failed(p, r.error());
        return;
      }
    }
    if (p.cfg.local_address) {
      const sockaddr_in6 la = make_sa6(*p.cfg.local_address, 0);
      if (bind(fd, reinterpret_cast<const sockaddr*>(&la), sizeof(la)) != 0) {
        const int e = errno;
        ::close(fd);
        connect_failed(p, "bind " + net::to_string(*p.cfg.local_address) + ": " + errno_text(e));
        return;
      }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const sockaddr_in6 sa = make_sa6(p.cfg.address, p.cfg.port);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0 && errno != EINPROGRESS) {
      const int e = errno;
      ::close(fd);
      connect_failed(p, "connect: " + errno_text(e));
      return;
    }
    Conn& c = add_conn(p, fd, true, ConnState::kConnecting);
    // RFC 4271 8.2.2: the ConnectRetry timer bounds the TCP connect too.
    c.connect_deadline = Clock::now() + std::chrono::seconds(p.retry_interval);
  }

  // No connection left and the peer is active: try again after the
  // current interval, which doubles up to connect_retry_max.
  void schedule_retry(Peer& p) {
    if (p.cfg.passive || stop_requested_) return;
    const auto now = Clock::now();
    p.st.connect_retry_s = p.retry_interval;
    p.retry_deadline = std::max(now + std::chrono::seconds(p.retry_interval), p.suppress_until);
    p.retry_interval = std::min(p.retry_interval * 2, lcfg_.connect_retry_max);
  }

  void connect_failed(Peer& p, const std::string& why) {
    p.st.last_error = "connect: " + why;
    p.last_change = Clock::now();
    if (p.conns.empty()) schedule_retry(p);
  }

  void connect_done(Peer& p, Conn& c) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      close_conn(p, c, "connect: " + errno_text(err), std::nullopt);
      return;
    }
    c.connect_deadline = kNever;
    c.st = ConnState::kOpenSent;
    update_epoll(c, EPOLL_CTL_MOD);
    p.last_change = Clock::now();
    send_open(p, c);
  }

  uint16_t our_hold(const Peer& p) const { return p.cfg.hold_time.value_or(lcfg_.hold_time); }

  void send_open(Peer& p, Conn& c) {
    Open o;
    o.version = 4;
    o.asn = lcfg_.asn;
    o.hold_time = our_hold(p);
    o.bgp_id = lcfg_.router_id.value;
    o.caps.mp_ipv4 = true;
    o.caps.ext_next_hop = true;
    o.caps.four_octet_as = true;
    o.caps.as4 = lcfg_.asn;
    o.caps.route_refresh = true;
    // RFC 4724: with a stale time, ask the peer (a reflector) to keep our
    // routes that long when we go down without a NOTIFICATION (a crash):
    // the other PEs then keep forwarding to us, as stale-time promises for
    // our own direct peers. Forwarding state: the egress side of a PE is
    // rebuilt from its configuration at start, before any session.
    if (lcfg_.stale_time > 0) {
      o.caps.graceful_restart = true;
      o.caps.gr_time = static_cast<uint16_t>(std::min<uint32_t>(lcfg_.stale_time, 4095));
      o.caps.gr_ipv4 = true;
      o.caps.gr_forwarding = true;
    }
    c.hold_deadline = Clock::now() + std::chrono::seconds(kOpenSentHold);
    send_msg(p, c, encode_open(o, lcfg_.cp));
  }

  // Queues and writes what the socket takes; false when the connection was
  // closed by a write error.
  bool send_msg(Peer& p, Conn& c, std::vector<uint8_t> msg) {
    if (c.fd < 0) return false;
    p.st.msgs_out++;
    c.out_bytes += msg.size();
    c.out.push_back(std::move(msg));
    if (c.want_out) return true;  // EPOLLOUT will drain in order
    return flush(p, c);
  }

  bool flush(Peer& p, Conn& c) {
    while (!c.out.empty()) {
      auto& front = c.out.front();
      const ssize_t n = ::send(c.fd, front.data() + c.out_off, front.size() - c.out_off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        close_conn(p, c, "send: " + errno_text(errno), std::nullopt);
        return false;
      }
      c.out_off += static_cast<std::size_t>(n);
      c.out_bytes -= static_cast<std::size_t>(n);
      if (c.out_off == front.size()) {
        c.out.pop_front();
        c.out_off = 0;
      }
    }
    const bool want_out = !c.out.empty();
    // Backpressure: a peer that does not read does not get read either, so
    // our queue for it stays bounded (and its UPDATEs wait in its socket).
    bool paused = c.read_paused;
    if (c.out_bytes > kOutHighWater) paused = true;
    if (c.out_bytes < kOutLowWater) paused = false;
    if (want_out != c.want_out || paused != c.read_paused) {
      c.want_out = want_out;
      c.read_paused = paused;
      update_epoll(c, EPOLL_CTL_MOD);
    }
    return true;
  }

  void send_notification(Peer& p, Conn& c, const Notification& n) {
    p.st.notifications_out++;
    p.st.last_error = "sent " + describe(n);
    plog(p, "notification sent: " + describe(n));
    send_msg(p, c, encode_notification(n));
  }

  // Closes one connection (after sending `n` when given). The peer's session
  // goes down when it was the established one; with no connection left an
  // active peer schedules its retry.
  void close_conn(Peer& p, Conn& c, const std::string& reason, std::optional<Notification> n) {
    if (c.fd < 0) return;
    if (n) {
      send_notification(p, c, *n);
      if (c.fd < 0) return;  // the send failed and closed it already
    }
    const bool was_established = c.st == ConnState::kEstablished;
    epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
    by_token_.erase(c.token);
    auto it = std::find_if(p.conns.begin(), p.conns.end(), [&](const auto& u) { return u.get() == &c; });
    if (it != p.conns.end()) {
      graveyard_.push_back(std::move(*it));
      p.conns.erase(it);
    }
    p.last_change = Clock::now();
    // A NOTIFICATION sent or received already wrote last_error, with its direction.
    if (!n && !reason.empty() && reason.rfind("received ", 0) != 0) p.st.last_error = reason;
    if (was_established) {
      session_down(p, reason);
    }
    if (p.conns.empty()) schedule_retry(p);
  }

  void session_down(Peer& p, const std::string& reason) {
    plog(p, "session down: " + reason);
    p.eor_received = false;
    p.refresh_pending = false;
    p.adj_out.clear();
    p.st.can_announce = false;
    p.st.hold_time = 0;
    if (stop_requested_) return;  // the daemon exits: the routes stay as they are
    const bool keep = lcfg_.stale_time > 0;
    // Framework 5.2 / issue 9: a flap must not blackhole traffic; the rules
    // stay (stale) for stale_time, unless the peer re-sends them sooner.
    rib_->peer_down(p.id, keep, batch_);
    // A loss before the peer's End-of-RIB (stale routes still held, their
    // timer running) does not restart the timer: else a peer flapping faster
    // than stale_time would keep its stale routes forever.
    if (!keep) {
      p.stale_deadline = kNever;
    } else if (p.stale_deadline == kNever) {
      p.stale_deadline = Clock::now() + std::chrono::seconds(lcfg_.stale_time);
    }
  }

  // ---------------------------------------------------------------- input

  void read_conn(Peer& p, Conn& c) {
    std::size_t total = 0;
    uint8_t buf[65536];
    bool eof = false;
    std::string err;
    while (total < kReadPerEvent) {
      const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
      if (n > 0) {
        c.in.insert(c.in.end(), buf, buf + n);
        total += static_cast<std::size_t>(n);
        continue;
      }
      if (n == 0) {
        eof = true;
      } else if (errno == EINTR) {
        continue;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        err = "recv: " + errno_text(errno);
      }
      break;
    }
    if (!process_input(p, c)) return;
    if (!err.empty()) {
      close_conn(p, c, err, std::nullopt);
    } else if (eof) {
      close_conn(p, c, "connection closed by the peer", std::nullopt);
    }
  }

  // Frames and handles the complete messages in c.in; false once closed.
  bool process_input(Peer& p, Conn& c) {
    std::size_t off = 0;
    bool alive = true;
    while (alive) {
      std::span<const uint8_t> rest(c.in.data() + off, c.in.size() - off);
      auto h = parse_header(rest);
      if (!h) {
        close_conn(p, c, "bad message header", h.error());
        return false;
      }
      if (!*h || rest.size() < (*h)->length) break;
      p.st.msgs_in++;
      alive = handle_msg(p, c, (*h)->type, rest.subspan(kHeaderLen, (*h)->length - kHeaderLen));
      off += (*h)->length;
    }
    if (!alive) return false;
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(off));
    return true;
  }

  void restart_hold(Conn& c) {
    if (c.st == ConnState::kOpenSent) return;  // the large OpenSent hold stays
    // OpenConfirm with hold 0: the bound set by on_open stays (else a peer
    // that never sends its KEEPALIVE would hold the connection forever).
    if (c.st == ConnState::kOpenConfirm && c.hold == 0) return;
    c.hold_deadline = c.hold ? Clock::now() + std::chrono::seconds(c.hold) : kNever;
  }

  // RFC 6608 subcodes of FSM Error: 1 OpenSent, 2 OpenConfirm, 3 Established.
  static uint8_t fsm_subcode(ConnState s) {
    switch (s) {
      case ConnState::kOpenSent: return 1;
      case ConnState::kOpenConfirm: return 2;
      case ConnState::kEstablished: return 3;
      default: return 0;
    }
  }

  bool fsm_error(Peer& p, Conn& c, const char* what) {
    close_conn(p, c, std::string("unexpected ") + what, Notification{err::kFsm, fsm_subcode(c.st), {}});
    return false;
  }

  bool handle_msg(Peer& p, Conn& c, MsgType type, std::span<const uint8_t> body) {
    restart_hold(c);
    switch (type) {
      case MsgType::kOpen:
        if (c.st != ConnState::kOpenSent) return fsm_error(p, c, "OPEN");
        return on_open(p, c, body);
      case MsgType::kKeepalive:
        if (c.st == ConnState::kOpenConfirm) return on_established(p, c);
        if (c.st != ConnState::kEstablished) return fsm_error(p, c, "KEEPALIVE");
        return true;
      case MsgType::kUpdate:
        if (c.st != ConnState::kEstablished) return fsm_error(p, c, "UPDATE");
        return on_update(p, c, body);
      case MsgType::kNotification: {
        const Notification n = parse_notification(body);
        p.st.notifications_in++;
        p.st.last_error = "received " + describe(n);
        plog(p, "notification received: " + describe(n));
        close_conn(p, c, "received " + describe(n), std::nullopt);
        return false;
      }
      case MsgType::kRouteRefresh: {
        if (c.st != ConnState::kEstablished) return fsm_error(p, c, "ROUTE-REFRESH");
        auto rr = parse_route_refresh(body);
        if (!rr) {
          close_conn(p, c, "bad ROUTE-REFRESH", rr.error());
          return false;
        }
        // RFC 2918 3: re-advertise the Adj-RIB-Out, at the end of the
        // iteration (run_refreshes): a burst of requests gets one answer,
        // not one full table per 23-octet request into our output queue.
        if (rr->first == 1 && rr->second == lcfg_.cp.safi && p.st.can_announce) p.refresh_pending = true;
        return true;
      }
    }
    return true;
  }

  bool on_open(Peer& p, Conn& c, std::span<const uint8_t> body) {
    auto o = parse_open(body, lcfg_.cp);
    if (!o) {
      close_conn(p, c, "bad OPEN", o.error());
      return false;
    }
    if (o->asn != p.cfg.asn) {
      close_conn(p, c, "peer AS " + std::to_string(o->asn) + ", expected " + std::to_string(p.cfg.asn),
                 Notification{err::kOpen, err::kBadPeerAs, {}});
      return false;
    }
    // RFC 4271 6.2 / RFC 6286 2.2: nonzero; equal to ours only across ASes.
    if (o->bgp_id == 0 || (p.ibgp && o->bgp_id == lcfg_.router_id.value)) {
      close_conn(p, c, "bad BGP identifier", Notification{err::kOpen, err::kBadBgpId, {}});
      return false;
    }
    if (o->hold_time == 1 || o->hold_time == 2) {
      close_conn(p, c, "hold time " + std::to_string(o->hold_time),
                 Notification{err::kOpen, err::kUnacceptableHoldTime, {}});
      return false;
    }
    // RFC 4271 6.8 collision detection, at the OPEN (the peer's identifier
    // is known now): keep the connection opened by the higher identifier
    // (RFC 6286 3: equal identifiers, the higher AS).
    for (std::size_t i = 0; i < p.conns.size(); ++i) {
      Conn& other = *p.conns[i];
      if (&other == &c) continue;
      if (other.st == ConnState::kConnecting) {
        close_conn(p, other, "", std::nullopt);  // ours never got through: this one is the session
        --i;
        continue;
      }
      if (other.st == ConnState::kEstablished) {
        close_conn(p, c, "connection collision with the established session",
                   Notification{err::kCease, err::kCollision, {}});
        return false;
      }
      const uint32_t local = lcfg_.router_id.value;
      const bool keep_ours = local != o->bgp_id ? local > o->bgp_id : lcfg_.asn > p.cfg.asn;
      Conn& loser = (c.outgoing == keep_ours) ? other : c;
      const bool self_lost = &loser == &c;
      plog(p, std::string("connection collision: closing the ") + (loser.outgoing ? "outgoing" : "incoming") +
                  " connection");
      close_conn(p, loser, "connection collision", Notification{err::kCease, err::kCollision, {}});
      if (self_lost) return false;
      break;
    }
    c.peer_open = *o;
    // RFC 4271 4.2: the lower of the two; 0 means no KEEPALIVEs and no hold timer.
    c.hold = std::min(our_hold(p), o->hold_time);
    c.st = ConnState::kOpenConfirm;
    // RFC 4271 8.2.2 (OpenConfirm): the KEEPALIVE must come within the hold
    // time; with 0 negotiated no hold timer runs, so wait our configured hold
    // time (or the OpenSent "large value" if that is 0 too), not forever.
    const uint16_t confirm_wait = c.hold ? c.hold : (our_hold(p) ? our_hold(p) : kOpenSentHold);
    c.hold_deadline = Clock::now() + std::chrono::seconds(confirm_wait);
    c.keepalive_deadline = c.hold ? Clock::now() + std::chrono::seconds(c.hold / 3) : kNever;
    p.last_change = Clock::now();
    return send_msg(p, c, encode_keepalive()) && c.fd >= 0;
  }

  SessionContext context_of(const Peer& p, const Conn& c) const {
    SessionContext ctx;
    ctx.cp = lcfg_.cp;
    ctx.four_octet_as = c.peer_open.caps.four_octet_as;
    ctx.ibgp = p.ibgp;
    return ctx;
  }

  bool on_established(Peer& p, Conn& c) {
    c.st = ConnState::kEstablished;
    const auto now = Clock::now();
    c.hold_deadline = c.hold ? now + std::chrono::seconds(c.hold) : kNever;
    p.last_change = now;
    p.established_at = now;
    p.retry_interval = lcfg_.connect_retry;  // backoff reset
    p.st.connect_retry_s = lcfg_.connect_retry;
    p.retry_deadline = kNever;
    p.st.established_count++;
    p.st.peer_bgp_id = c.peer_open.bgp_id;
    p.st.hold_time = c.hold;
    p.st.peer_caps = c.peer_open.caps;
    p.eor_received = false;
    p.adj_out.clear();
    rib_->set_peer_router_id(p.id, c.peer_open.bgp_id);
    const auto& caps = c.peer_open.caps;
    // RFC 8950 4: no IPv4 NLRI with an IPv6 next hop to a peer that did not
    // ask for it; RFC 4760: nor MP_REACH of a family it did not negotiate.
    p.st.can_announce = caps.mp_ipv4 && caps.ext_next_hop;
    std::string note;
    if (!caps.mp_ipv4) {
      note = "not announcing: the peer did not advertise Multiprotocol (1, " + std::to_string(lcfg_.cp.safi) + ")";
    } else if (!caps.ext_next_hop) {
      note = "not announcing: the peer did not advertise Extended Next Hop (1, " + std::to_string(lcfg_.cp.safi) +
             ", 2) (RFC 8950)";
    }
    plog(p, "session up (hold " + std::to_string(c.hold) + " s" + (note.empty() ? "" : ", " + note) + ")");
    if (!note.empty()) p.st.last_error = note;
    sync_adj_out(p);
    if (c.fd < 0) return false;
    if (caps.mp_ipv4) {
      p.st.updates_out++;
      if (!send_msg(p, c, encode_end_of_rib(context_of(p, c)))) return false;
    }
    return c.fd >= 0;
  }

  bool on_update(Peer& p, Conn& c, std::span<const uint8_t> body) {
    p.st.updates_in++;
    auto u = parse_update(body, context_of(p, c));
    if (!u) {
      close_conn(p, c, "bad UPDATE", u.error());
      return false;
    }
    if (!u->error.empty()) plog(p, "UPDATE: " + u->error);
    ApplyResult r = rib_->apply(p.id, *u, batch_);
    for (auto& l : r.logs) plog(p, l);
    if (u->end_of_rib) {
      // RFC 4724 4.2-style: what was not re-sent before End-of-RIB is gone.
      p.eor_received = true;
      p.stale_deadline = kNever;
      rib_->flush_stale(p.id, batch_);
    }
    if (r.teardown) {
      plog(p, "maximum prefix count " + std::to_string(p.cfg.max_prefix) + " exceeded: tearing the session down");
      p.suppress_until = Clock::now() + std::chrono::seconds(lcfg_.connect_retry_max);
      close_conn(p, c, "maximum prefix count exceeded", Notification{err::kCease, err::kMaxPrefixReached, {}});
      return false;
    }
    return true;
  }

  // ---------------------------------------------------------------- output

  Conn* established(Peer& p) {
    for (auto& c : p.conns) {
      if (c->st == ConnState::kEstablished && c->fd >= 0) return c.get();
    }
    return nullptr;
  }

  // The Adj-RIB-Out this peer should have: local rules through its export
  // list, the default rule only inside the domain (section 7.2).
  std::map<PrefixKey, AdvEntry> wanted(const Peer& p) const {
    std::map<PrefixKey, AdvEntry> w;
    for (const auto& r : local_rules_) {
      if (r.rule.is_default && !p.inside) continue;
      if (!p.cfg.export_.empty() && !p.cfg.export_.accepts(r.prefix)) continue;
      AdvEntry e;
      e.prefix = r.prefix;
      e.rule = r.rule;
      e.rule.egress.reset();
      if (lcfg_.egress_endpoint && p.cfg.shape == Shape::kTunnelEncap) e.rule.egress = lcfg_.next_hop;
      e.attr_raw = encode_rule_attribute(e.rule, p.cfg.shape, lcfg_.cp);
      e.next_hop = lcfg_.next_hop;
      w[key_of(r.prefix)] = std::move(e);
    }
    return w;
  }

  // Sends the difference between what the peer has and what it should have.
  void sync_adj_out(Peer& p) {
    Conn* c = established(p);
    if (c == nullptr || !p.st.can_announce) return;
    const SessionContext ctx = context_of(p, *c);
    auto want = wanted(p);
    std::vector<net::Ipv4Prefix> withdraw;
    for (const auto& [k, e] : p.adj_out) {
      if (!want.count(k)) withdraw.push_back(e.prefix);
    }
    // Prefixes with equal attributes share UPDATEs: the group key is the rule
    // attribute as sent (it holds every field of the rule) and the next hop.
    std::map<std::pair<std::vector<uint8_t>, net::Ipv6Addr>, std::pair<FourMap6, std::vector<net::Ipv4Prefix>>> groups;
    for (const auto& [k, e] : want) {
      auto it = p.adj_out.find(k);
      if (it != p.adj_out.end() && it->second.attr_raw == e.attr_raw && it->second.next_hop == e.next_hop) continue;
      auto& g = groups[{e.attr_raw, e.next_hop}];
      g.first = e.rule;
      g.second.push_back(e.prefix);
    }
    std::vector<std::vector<uint8_t>> msgs;
    if (!withdraw.empty()) msgs = encode_withdraw(withdraw, ctx);
    for (const auto& [key, g] : groups) {
      Announce a;
      a.origin = 0;
      if (!p.ibgp) a.as_path.push_back(AsSegment{2, {lcfg_.asn}});  // RFC 4271 5.1.2
      if (p.ibgp) a.local_pref = 100;                               // RFC 4271 5.1.5
      if (g.first.is_default) a.communities.push_back(kNoExport);   // section 7.2: stays in the domain
      a.next_hop = key.second;
      a.rule = g.first;
      a.shape = p.cfg.shape;
      for (auto& m : encode_announce(g.second, a, ctx)) msgs.push_back(std::move(m));
    }
    p.adj_out = std::move(want);
    p.st.advertised = p.adj_out.size();
    for (auto& m : msgs) {
      p.st.updates_out++;
      if (!send_msg(p, *c, std::move(m))) return;
    }
  }

  // The pending ROUTE-REFRESH answers, each once the peer has read its
  // queue below the low-water mark (a peer that asks and never reads
  // gets no more than that queued).
  void run_refreshes() {
    for (auto& p : peers_) {
      if (!p->refresh_pending) continue;
      Conn* c = established(*p);
      if (c == nullptr || !p->st.can_announce) {
        p->refresh_pending = false;
        continue;
      }
      if (c->out_bytes >= kOutLowWater) continue;  // flush() draining it ends an iteration: retried then
      p->refresh_pending = false;
      p->adj_out.clear();
      sync_adj_out(*p);
    }
  }

  // ---------------------------------------------------------------- timers

  void run_timers() {
    const auto now = Clock::now();
    if (auth_next_poll_ <= now) {
      poll_auth();
      auth_next_poll_ = now + kAuthPoll;
    }
    for (std::size_t i = 0; i < peers_.size(); ++i) {
      Peer& p = *peers_[i];
      for (std::size_t j = 0; j < p.conns.size(); ++j) {
        Conn& c = *p.conns[j];
        const std::size_t before = p.conns.size();
        if (c.connect_deadline <= now) {
          close_conn(p, c, "connect: timed out", std::nullopt);
        } else if (c.hold_deadline <= now) {
          close_conn(p, c, "hold timer expired", Notification{err::kHoldTimer, 0, {}});
        } else if (c.keepalive_deadline <= now) {
          c.keepalive_deadline = now + std::chrono::seconds(std::max<uint16_t>(c.hold / 3, 1));
          send_msg(p, c, encode_keepalive());
        }
        if (p.conns.size() < before) --j;
      }
      if (p.stale_deadline <= now) {
        p.stale_deadline = kNever;
        if (!(established(p) && p.eor_received)) {
          plog(p, "stale timer expired: removing the routes not re-announced");
          rib_->flush_stale(p.id, batch_);
        }
      }
      if (p.retry_deadline <= now && !p.conns.empty()) {
        // A connection is under way (its incoming one, waiting in OpenSent):
        // it is this attempt; its close schedules the next. Left due, the
        // deadline would make every epoll_wait return at once (a busy loop
        // for as long as the peer keeps that connection silent).
        p.retry_deadline = kNever;
      } else if (p.retry_deadline <= now && !stop_requested_) {
        if (now < p.suppress_until) {
          p.retry_deadline = p.suppress_until;
        } else {
          start_connect(p);
        }
      }
    }
  }

  // ----------------------------------------------------- authorization file

  bool stat_auth(struct timespec& mtime, off_t& size) const {
    struct stat s {};
    if (::stat(auth_path_.c_str(), &s) != 0) return false;
    mtime = s.st_mtim;
    size = s.st_size;
    return true;
  }

  void poll_auth() {
    if (auth_path_.empty()) return;
    struct timespec mtime {};
    off_t size = -1;
    const bool exists = stat_auth(mtime, size);
    if (exists == auth_seen_ && mtime.tv_sec == auth_mtime_.tv_sec && mtime.tv_nsec == auth_mtime_.tv_nsec &&
        size == auth_size_) {
      return;
    }
    auth_seen_ = exists;
    auth_mtime_ = mtime;
    auth_size_ = size;
    load_auth();
  }

  void load_auth() {
    auto a = Authorization::load(auth_path_);
    const std::size_t kept = auth_ ? auth_->size() : 0;
    if (!a) {
      auth_status_ = "error: " + a.error() + " (kept " + std::to_string(kept) + ")";
      log("bgp: authorization file " + auth_path_ + ": " + a.error() + "; keeping the previous data");
      return;
    }
    auth_ = std::make_shared<const Authorization>(std::move(*a));
    rib_->set_authorization(auth_, batch_);
    auth_status_ = std::to_string(auth_->size()) + " tuples from " + auth_path_;
    log("bgp: authorization file reloaded: " + auth_status_);
  }

  // --------------------------------------------------------- reconfiguring

  void reset_session(Peer& p, Notification n, const std::string& why) {
    while (!p.conns.empty()) {
      Conn& c = *p.conns.front();
      if (c.st == ConnState::kConnecting) {
        close_conn(p, c, why, std::nullopt);
      } else {
        close_conn(p, c, why, n);
      }
    }
  }

  void apply_config(SpeakerConfig n) {
    const bool rib_changed =
        n.layout != lcfg_.layout || n.preference != lcfg_.preference || n.reject_invalid != lcfg_.reject_invalid;
    const bool auth_changed = n.authorization_file != lcfg_.authorization_file;
    const bool out_changed = n.next_hop != lcfg_.next_hop || n.egress_endpoint != lcfg_.egress_endpoint;
    lcfg_ = n;
    // Removed peers: Cease 3 (RFC 4486), their routes gone.
    for (std::size_t i = 0; i < peers_.size();) {
      Peer& p = *peers_[i];
      const bool kept =
          std::any_of(n.peers.begin(), n.peers.end(), [&](const PeerConfig& c) { return c.address == p.cfg.address; });
      if (kept) {
        ++i;
        continue;
      }
      plog(p, "removed from the configuration");
      p.cfg.passive = true;  // no retry
      reset_session(p, Notification{err::kCease, err::kPeerDeconfigured, {}}, "peer de-configured");
      rib_->remove_peer(p.id, batch_);
      if (listenfd_ >= 0 && !p.cfg.password.empty()) (void)set_md5(listenfd_, p.cfg.address, "");
      peers_.erase(peers_.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (rib_changed) {
      // The Rib's configuration is fixed at construction: a new one, and the
      // sessions reset so that it learns everything again.
      for (auto& p : peers_) rib_->remove_peer(p->id, batch_);
      rib_ = std::make_unique<Rib>(rib_config());
      std::vector<MrChange> none;
      if (auth_) rib_->set_authorization(auth_, none);
      for (auto& p : peers_) {
        rib_->set_peer(p->id, policy_of(*p));
        p->stale_deadline = kNever;
      }
    }
    for (const auto& pc : n.peers) {
      Peer* p = find_peer(pc.address);
      if (p == nullptr) {
        Peer& np = add_peer(pc);
        if (listenfd_ >= 0 && !pc.password.empty()) {
          if (auto r = set_md5(listenfd_, pc.address, pc.password); !r) plog(np, r.error());
        }
        plog(np, "added");
        continue;
      }
      if (p->cfg == pc && !rib_changed) continue;
      if (listenfd_ >= 0 && p->cfg.password != pc.password) {
        if (auto r = set_md5(listenfd_, pc.address, pc.password); !r) plog(*p, r.error());
      }
      const bool changed = !(p->cfg == pc);
      set_peer_config(*p, pc);
      rib_->set_peer(p->id, policy_of(*p));
      if (changed) plog(*p, "configuration changed: resetting the session");
      reset_session(*p, Notification{err::kCease, err::kOtherConfigChange, {}}, "configuration changed");
      p->retry_interval = lcfg_.connect_retry;
      p->st.connect_retry_s = lcfg_.connect_retry;
      p->retry_deadline = p->cfg.passive ? kNever : Clock::now();
    }
    if (auth_changed) {
      auth_path_ = n.authorization_file;
      auth_ = nullptr;
      if (auth_path_.empty()) {
        rib_->set_authorization(nullptr, batch_);
        auth_status_ = "none";
        auth_next_poll_ = kNever;
      } else {
        auth_seen_ = stat_auth(auth_mtime_, auth_size_);
        load_auth();
        if (!auth_) rib_->set_authorization(nullptr, batch_);
        auth_next_poll_ = Clock::now() + kAuthPoll;
      }
    }
    if (out_changed) {
      for (auto& p : peers_) sync_adj_out(*p);
    }
  }

  // --------------------------------------------------------------- stopping

  // RFC 8203: Cease / Administrative Shutdown to every peer past OpenSent,
  // a bounded wait for the queues to drain, then every socket closed.
  // The routes are not flushed: the daemon is exiting.
  void shutdown_sessions() {
    // A send error closes a connection (close_conn moves it to graveyard_),
    // so walk copies of the pointers, not the vectors.
    std::vector<std::pair<Peer*, Conn*>> all;
    for (auto& p : peers_) {
      p->cfg.passive = true;
      p->retry_deadline = kNever;
      for (auto& c : p->conns) all.emplace_back(p.get(), c.get());
    }
    for (auto [p, c] : all) {
      if (c->st != ConnState::kConnecting && c->fd >= 0) {
        send_notification(*p, *c, Notification{err::kCease, err::kAdminShutdown, {}});
      }
    }
    const auto until = Clock::now() + kStopFlushBudget;
    for (auto [p, c] : all) {
      while (c->fd >= 0 && !c->out.empty() && Clock::now() < until) {
        if (!flush(*p, *c)) break;
        if (!c->out.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    for (auto& p : peers_) {
      for (auto& c : p->conns) {
        if (c->fd >= 0) {
          epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
          ::close(c->fd);
          c->fd = -1;
        }
        if (c->st == ConnState::kEstablished) plog(*p, "session down: administrative shutdown");
      }
      p->conns.clear();
      p->st.can_announce = false;
    }
    by_token_.clear();
  }

  // ---------------------------------------------------------------- status

  PeerStatus status_of(const Peer& p) const {
    PeerStatus s = p.st;
    const auto now = Clock::now();
    SessionState state = p.cfg.passive ? SessionState::kActive : SessionState::kIdle;
    if (!p.cfg.passive && p.retry_deadline != kNever && now >= p.suppress_until) state = SessionState::kActive;
    for (const auto& c : p.conns) {
      SessionState cs = SessionState::kConnect;
      switch (c->st) {
        case ConnState::kConnecting: cs = SessionState::kConnect; break;
        case ConnState::kOpenSent: cs = SessionState::kOpenSent; break;
        case ConnState::kOpenConfirm: cs = SessionState::kOpenConfirm; break;
        case ConnState::kEstablished: cs = SessionState::kEstablished; break;
      }
      if (state == SessionState::kIdle || state == SessionState::kActive || cs > state) state = cs;
    }
    if (!running_) state = SessionState::kIdle;
    s.state = state;
    // A refused second connection must not reset an established session's uptime.
    const TimePoint since = state == SessionState::kEstablished ? p.established_at : p.last_change;
    s.uptime_s = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(now - since).count());
    if (const PeerCounters* rc = rib_->counters(p.id)) s.rib = *rc;
    return s;
  }
};

// ------------------------------------------------------------------ Speaker

Speaker::Speaker() : impl_(std::make_unique<Impl>()) {}
Speaker::~Speaker() {
  stop();
}

tl::expected<void, std::string> Speaker::start(SpeakerConfig cfg, Sink sink, Logger log) {
  if (impl_->running_ || impl_->thread_.joinable()) return tl::unexpected(std::string("bgp: already started"));
  return impl_->start(std::move(cfg), std::move(sink), std::move(log));
}

void Speaker::stop() {
  if (!impl_->thread_.joinable()) return;
  {
    std::lock_guard lock(impl_->mu_);
    impl_->stop_requested_ = true;
  }
  impl_->wake();
  impl_->thread_.join();
  std::lock_guard lock(impl_->mu_);
  impl_->running_ = false;
  impl_->close_fds();
}

void Speaker::set_local_rules(std::vector<LocalRule> rules) {
  std::lock_guard lock(impl_->mu_);
  impl_->pending_rules_ = std::move(rules);
  if (impl_->wakefd_ >= 0) {
    impl_->wake();
  } else {
    impl_->local_rules_ = std::move(*impl_->pending_rules_);  // not started: kept for the start
    impl_->pending_rules_.reset();
  }
}

tl::expected<void, std::string> Speaker::reconfigure(SpeakerConfig cfg) {
  if (auto v = Impl::validate(cfg); !v) return v;
  std::lock_guard lock(impl_->mu_);
  const SpeakerConfig& cur = impl_->cfg_;
  std::string what;
  if (cfg.asn != cur.asn) what = "asn";
  if (cfg.router_id != cur.router_id) what = "router_id";
  if (cfg.listen != cur.listen) what = "listen";
  if (cfg.listen_address != cur.listen_address) what = "listen_address";
  if (cfg.port != cur.port) what = "port";
  if (cfg.cp != cur.cp) what = "codepoints";
  if (!what.empty()) return tl::unexpected("bgp: changing " + what + " needs a restart of the daemon");
  if (!impl_->running_) return tl::unexpected(std::string("bgp: the speaker is not running"));
  impl_->cfg_ = cfg;
  impl_->pending_cfg_ = std::move(cfg);
  impl_->wake();
  return {};
}

std::vector<PeerStatus> Speaker::peers() const {
  std::lock_guard lock(impl_->mu_);
  std::vector<PeerStatus> out;
  for (const auto& p : impl_->peers_) out.push_back(impl_->status_of(*p));
  return out;
}

std::vector<RouteView> Speaker::received(std::optional<std::string> peer_name,
                                         std::optional<net::Ipv4Prefix> prefix) const {
  std::lock_guard lock(impl_->mu_);
  if (!impl_->rib_) return {};
  std::optional<PeerId> id;
  if (peer_name) {
    for (const auto& p : impl_->peers_) {
      if (p->name == *peer_name) id = p->id;
    }
    if (!id) return {};
  }
  return impl_->rib_->routes(id, prefix);
}

std::vector<Speaker::Advertised> Speaker::advertised(std::optional<std::string> peer_name,
                                                     std::optional<net::Ipv4Prefix> prefix) const {
  std::lock_guard lock(impl_->mu_);
  std::vector<Advertised> out;
  for (const auto& p : impl_->peers_) {
    if (peer_name && p->name != *peer_name) continue;
    for (const auto& [k, e] : p->adj_out) {
      if (prefix && !(e.prefix == *prefix || (prefix->len <= e.prefix.len && prefix->contains(e.prefix.addr)) ||
                      (e.prefix.len <= prefix->len && e.prefix.contains(prefix->addr)))) {
        continue;
      }
      out.push_back(Advertised{p->name, e.prefix, e.rule, e.attr_raw});
    }
  }
  return out;
}

std::size_t Speaker::prefix_count() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->rib_ ? impl_->rib_->prefix_count() : 0;
}

std::string Speaker::authorization_status() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->auth_status_;
}

SpeakerConfig Speaker::config() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->cfg_;
}

}  // namespace edge46::bgp
