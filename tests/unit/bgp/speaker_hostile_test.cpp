// The speaker (bgp/speaker.h) against peers that misbehave on purpose, and
// against the daemon's locking pattern: nothing a remote peer sends may
// crash, hang, spin or grow the daemon without bound; status and
// configuration calls made under the caller's own mutex, from other
// threads, while sessions exchange routes, never deadlock.
//
// Same private network namespace and raw clients as speaker_test.cpp
// (speaker_support.h): the bytes are written here by hand.
#include <sys/resource.h>

#include <dirent.h>

#include "speaker_support.h"

using namespace edge46;
using namespace edge46::bgp;
using namespace edge46::bgp::test;
using namespace std::chrono_literals;

namespace {

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!setup_netns()) GTEST_SKIP() << "needs root (a private network namespace)";
  }
};

// CPU time (user + system) this process has used.
std::chrono::microseconds cpu_time() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const auto us = [](const timeval& tv) { return int64_t{tv.tv_sec} * 1'000'000 + tv.tv_usec; };
  return std::chrono::microseconds(us(ru.ru_utime) + us(ru.ru_stime));
}

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n;
}

// An active peer whose connect is refused (its retry is due in 1 s) while
// an incoming connection from its address sits in OpenSent, sending
// nothing: the due retry must not turn the loop into a busy spin (the retry
// deadline stayed in the past while a connection existed, so every
// epoll_wait got a zero timeout until that connection's 240 s OpenSent hold).
TEST_F(HostileTest, RetryDueWhileAnIncomingConnectionWaitsDoesNotSpin) {
  Collector col;
  Speaker sp;
  auto cfg = speaker_cfg(65000, "10.0.0.2", next_port());
  cfg.peers.push_back(peer_cfg("fd00::3", 9, 65000, "active"));  // nothing listens on port 9: refused
  ASSERT_TRUE(sp.start(cfg, col.sink(), col.logger()));
  ASSERT_TRUE(wait_for(
      [&] {
        return status(sp, "active")->connect_attempts == 1 && status(sp, "active")->state == SessionState::kActive;
      },
      1s));
  RawClient c("fd00::3", cfg.port);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.next(1s)) << "our OPEN";
  std::this_thread::sleep_for(1200ms);  // the retry is due now
  const auto cpu0 = cpu_time();
  std::this_thread::sleep_for(1s);
  const auto used = cpu_time() - cpu0;
  EXPECT_LT(used, 100ms) << "the speaker thread spins: " << used.count() << " us of CPU in 1 s";
  EXPECT_EQ(status(sp, "active")->state, SessionState::kOpenSent);
}

// RFC 4271 4.2: the peer's OPEN says hold time 0, so no hold timer runs;
// if it then never sends the KEEPALIVE that completes the OPEN exchange,
// the connection must not wait in OpenConfirm forever (no retry would
// ever start, the peer's session stuck). It waits our configured hold time.
TEST_F(HostileTest, OpenConfirmWithHoldTimeZeroDoesNotWaitForever) {
  Collector col;
  Speaker sp;
  auto cfg = speaker_cfg(65000, "10.0.0.2", next_port());
  auto pc = peer_cfg("fd00::1", 179, 65000, "raw");
  pc.passive = true;
  pc.hold_time = 3;
  cfg.peers.push_back(pc);
  ASSERT_TRUE(sp.start(cfg, col.sink(), col.logger()));
  RawClient c("fd00::1", cfg.port);
  ASSERT_TRUE(c.connected());
  c.send(raw_open(65000, 0, 0x0a000009, true));  // hold 0, and then nothing
  ASSERT_TRUE(wait_for([&] { return status(sp, "raw")->state == SessionState::kOpenConfirm; }, 1s));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(next_notification(c, 5s), std::make_pair(4, 0));  // Hold Timer Expired
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 2500ms);
  EXPECT_TRUE(wait_for([&] { return status(sp, "raw")->state == SessionState::kActive; }, 1s));
}

// A peer that flaps (session up, down, up, ...) without ever sending
// End-of-RIB again must not keep its stale routes alive forever: each loss
// restarted the stale timer, so a flap shorter than stale_time kept them.
TEST_F(HostileTest, StaleRoutesExpireEvenWhenThePeerKeepsFlapping) {
  RawPeerSpeaker s("fd00::1");  // stale_time 1 s
  {
    RawClient c("fd00::1", s.port);
    ASSERT_TRUE(c.connected());
    open_session(c);
    ASSERT_TRUE(wait_for([&] { return is_established(s.sp, "raw"); }, 2s));
    c.send(raw_update({{{192, 0, 2}}}));
    c.send(frame(2, {0, 0, 0, 0}));  // End-of-RIB
    ASSERT_TRUE(wait_for([&] { return s.col.size() == 1; }, 2s)) << s.col.dump_logs();
  }
  const auto t0 = std::chrono::steady_clock::now();
  bool gone = false;
  // Flap every ~400 ms for 2.5 s: up (OPEN, KEEPALIVE, Established), then lost.
  while (std::chrono::steady_clock::now() - t0 < 2500ms) {
    ASSERT_TRUE(wait_for([&] { return !is_established(s.sp, "raw"); }, 2s));
    RawClient c("fd00::1", s.port);
    ASSERT_TRUE(c.connected());
    open_session(c);
    ASSERT_TRUE(wait_for([&] { return is_established(s.sp, "raw"); }, 2s));
    std::this_thread::sleep_for(400ms);
    if (s.col.size() == 0) gone = true;
  }
  EXPECT_TRUE(gone || s.col.size() == 0) << "the stale route outlived stale_time (1 s) by a flapping peer";
}

// Many connections from one configured address: each new one replaces the
// previous one still waiting for its OPEN, so at most one survives; none
// of them accumulates in the speaker.
TEST_F(HostileTest, ManyConnectionsFromAPeerLeaveOne) {
  RawPeerSpeaker s("fd00::1");
  const std::size_t fds0 = open_fds();
  std::vector<std::unique_ptr<RawClient>> cs;
  for (int i = 0; i < 40; ++i) {
    cs.push_back(std::make_unique<RawClient>("fd00::1", s.port));
    ASSERT_TRUE(cs.back()->connected());
  }
  std::this_thread::sleep_for(300ms);
  int open = 0;
  for (auto& c : cs) {
    while (c->next(50ms)) {  // our OPEN, and a NOTIFICATION for the replaced ones
    }
    if (!c->eof()) ++open;
  }
  EXPECT_EQ(open, 1) << "only the last connection stays";
  // Ours: 40 client sockets plus the one the speaker kept.
  EXPECT_LE(open_fds(), fds0 + 40 + 1);
  EXPECT_EQ(status(s.sp, "raw")->state, SessionState::kOpenSent);
}

TEST_F(HostileTest, ConnectionsFromUnknownAddressesDoNotAccumulate) {
  RawPeerSpeaker s("fd00::1");
  const std::size_t fds0 = open_fds();
  for (int i = 0; i < 200; ++i) {
    RawClient c("fd00::5", s.port);
    ASSERT_TRUE(c.connected());
    EXPECT_FALSE(c.next(1s));
    EXPECT_TRUE(c.eof());
  }
  EXPECT_TRUE(wait_for([&] { return open_fds() <= fds0; }, 1s)) << open_fds() << " > " << fds0;
}

// RFC 4271 6.8: a second connection from the peer's address while the
// session is Established is closed with Cease 7 (Connection Collision
// Resolution) at its OPEN; the established session stays, uptime and all.
TEST_F(HostileTest, SecondConnectionDuringEstablishedGetsCollisionCease) {
  RawPeerSpeaker s("fd00::1");
  RawClient first("fd00::1", s.port);
  ASSERT_TRUE(first.connected());
  open_session(first);
  ASSERT_TRUE(wait_for([&] { return is_established(s.sp, "raw"); }, 2s));
  first.send(raw_update({{{192, 0, 2}}}));
  ASSERT_TRUE(wait_for([&] { return s.col.size() == 1; }, 2s));
  RawClient second("fd00::1", s.port);
  ASSERT_TRUE(second.connected());
  second.send(raw_open(65000, 90, 0x0a000009, true));
  EXPECT_EQ(next_notification(second), std::make_pair(6, 7));
  EXPECT_TRUE(is_established(s.sp, "raw"));
  EXPECT_EQ(status(s.sp, "raw")->established_count, 1u);
  EXPECT_EQ(s.col.size(), 1u);
  first.send(frame(4, {}));  // the first session still answers
  EXPECT_TRUE(is_established(s.sp, "raw"));
}

// A peer sending its messages one octet per TCP segment is framed right.
TEST_F(HostileTest, OneOctetSegmentsAreFramed) {
  RawPeerSpeaker s("fd00::1");
  RawClient c("fd00::1", s.port);
  ASSERT_TRUE(c.connected());
  c.nodelay();
  std::vector<uint8_t> all = raw_open(65000, 90, 0x0a000009, true);
  for (auto& m : {frame(4, {}), raw_update({{{192, 0, 2}}, {{198, 51, 100}}})})
    all.insert(all.end(), m.begin(), m.end());
  for (uint8_t b : all) {
    c.send({b});
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_TRUE(wait_for([&] { return s.col.size() == 2; }, 2s)) << s.col.dump_logs();
  EXPECT_EQ(status(s.sp, "raw")->msgs_in, 3u);
}

// RFC 2918: a ROUTE-REFRESH asks for the whole Adj-RIB-Out again. 23
// octets in, a full table out: a burst of them (or a peer that asks and
// never reads) multiplied our output queue by the table size per request.
// A burst gets one answer (or a few, as TCP splits it), each once the peer
// has read what was queued.
TEST_F(HostileTest, RouteRefreshBurstIsAnsweredOnceNotPerRequest) {
  Collector col;
  Speaker sp;
  auto cfg = speaker_cfg(65000, "10.0.0.2", next_port());
  auto pc = peer_cfg("fd00::1", 179, 65000, "raw");
  pc.passive = true;
  cfg.peers.push_back(pc);
  sp.set_local_rules({rule("192.0.2.0/24", "2001:db8:a::/96", true)});
  ASSERT_TRUE(sp.start(cfg, col.sink(), col.logger()));
  RawClient c("fd00::1", cfg.port);
  ASSERT_TRUE(c.connected());
  open_session(c);
  while (c.next(300ms)) {  // OPEN, KEEPALIVE, the UPDATE, End-of-RIB
  }
  ASSERT_TRUE(is_established(sp, "raw"));
  const uint64_t out0 = status(sp, "raw")->updates_out;
  // RFC 2918 3: AFI 1, reserved, SAFI 1.
  const auto rr = frame(5, {0, 1, 0, 1});
  std::vector<uint8_t> burst;
  for (int i = 0; i < 2000; ++i) burst.insert(burst.end(), rr.begin(), rr.end());
  c.send(burst);
  int updates = 0;
  while (auto m = c.next(500ms)) {
    if (m->type == 2) ++updates;
  }
  EXPECT_GE(updates, 1) << "the refresh is answered";
  EXPECT_LE(updates, 20) << "one answer per request";
  EXPECT_EQ(status(sp, "raw")->updates_out - out0, uint64_t(updates));
  EXPECT_TRUE(is_established(sp, "raw"));
}

// The daemon's pattern: the sink takes a mutex of the caller's (the
// daemon's change_mutex) and, inside it, calls back into the speaker (the
// PE store's local-rule listener -> set_local_rules); control threads take
// the same mutex and call status, set_local_rules and reconfigure; then
// stop() while they still run. All of it under a watchdog.
TEST_F(HostileTest, CallsUnderTheCallersMutexWhileSessionsExchangeRoutesDoNotDeadlock) {
  std::mutex change_mutex;
  std::atomic<uint64_t> batches{0};
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (!done && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
    if (!done) {
      std::fprintf(stderr, "deadlock: the hammer did not finish in 20 s\n");
      std::abort();
    }
  });
  {
    Collector ca;
    Speaker a, b;
    const uint16_t pa = next_port(), pb = next_port();
    auto cfg_a = speaker_cfg(65000, "10.0.0.1", pa);
    cfg_a.peers.push_back(peer_cfg("::1", pb, 65000, "B"));
    auto cfg_b = speaker_cfg(65000, "10.0.0.2", pb);
    cfg_b.peers.push_back(peer_cfg("::1", pa, 65000, "A"));
    auto sink_b = [&](std::span<const MrChange> batch) {
      std::lock_guard lock(change_mutex);
      batches += batch.empty() ? 0 : 1;
      (void)b.peers();
      b.set_local_rules({rule("203.0.113.0/24", "2001:db8:b::/96", true)});
    };
    ASSERT_TRUE(a.start(cfg_a, ca.sink(), ca.logger()));
    ASSERT_TRUE(b.start(cfg_b, sink_b, nullptr));
    ASSERT_TRUE(wait_for([&] { return is_established(a, "B") && is_established(b, "A"); }, 5s));
    std::atomic<bool> stop_hammer{false};
    std::vector<std::thread> hammers;
    for (int t = 0; t < 3; ++t) {
      hammers.emplace_back([&, t] {
        uint32_t i = 0;
        while (!stop_hammer) {
          std::lock_guard lock(change_mutex);
          switch ((i++ + t) % 5) {
            case 0: (void)b.peers(); break;
            case 1: (void)b.received(std::nullopt, std::nullopt); break;
            case 2: b.set_local_rules({rule("203.0.113.0/24", "2001:db8:b::/96", i % 2 == 0)}); break;
            case 3: (void)b.reconfigure(cfg_b); break;  // unchanged: nothing reset
            case 4: (void)b.advertised(std::nullopt, std::nullopt); break;
          }
        }
      });
    }
    // A's rules change all the time: B's sink gets a batch per change.
    const auto until = std::chrono::steady_clock::now() + 1500ms;
    for (uint32_t i = 0; std::chrono::steady_clock::now() < until; ++i) {
      std::vector<LocalRule> rules;
      for (uint32_t k = 0; k < 50; ++k) {
        if ((i + k) % 3 == 0) continue;
        LocalRule r = rule("192.0.2.0/24", "2001:db8:a::/96", true);
        r.prefix = net::Ipv4Prefix{net::Ipv4Addr{0x0A000000u | (k << 8)}, 24};
        rules.push_back(r);
      }
      a.set_local_rules(rules);
      std::this_thread::sleep_for(5ms);
    }
    b.stop();  // while the hammers still call in (main stops it after the control server)
    stop_hammer = true;
    for (auto& h : hammers) h.join();
    a.stop();
  }
  done = true;
  watchdog.join();
  EXPECT_GT(batches.load(), 10u) << "the sessions exchanged routes";
}

}  // namespace
