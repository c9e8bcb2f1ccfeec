// The loop guard (src/pipeline/loop_guard.h): a translation that the kernel
// would route straight back into our TUN is dropped as routing_loop; a
// packet addressed to the translator itself as to_own_address; everything
// else (6->4 translations, generated ICMP errors, no route information)
// passes.
#include "pipeline/loop_guard.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>

#include "config/loader.h"
#include "pipeline/pipeline.h"
#include "support/packet_builder.h"

namespace edge46 {
namespace {

using test::a4;
using test::a6;
using test::Bytes;

// Like the e2e topology: pool6 64:ff9b::/96, EAM 2001:db8:6::/120 <->
// 198.51.100.0/24, own addresses 192.0.2.254 / 2001:db8:ffff::1.
config::Settings settings() {
  auto s = config::load_string(R"(
[daemon]
role = "siit"
[translator]
pool6 = "64:ff9b::/96"
ipv4-address = "192.0.2.254"
ipv6-address = "2001:db8:ffff::1"
eam-hairpin-mode = "intrinsic"
[[eamt]]
ipv6 = "2001:db8:6::/120"
ipv4 = "198.51.100.0/24"
)",
                               "loop.toml");
  EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
  return *s;
}

Bytes udp4(const char* src, const char* dst, uint8_t ttl = 64) {
  uint8_t data[4] = {1, 2, 3, 4};
  test::Ip4 h;
  h.src = a4(src);
  h.dst = a4(dst);
  h.ttl = ttl;
  h.proto = test::kUdp;
  return test::v4_packet(h, test::udp(1000, 2000, data));
}

Bytes udp6(const char* src, const char* dst, uint8_t hop_limit = 64) {
  uint8_t data[4] = {1, 2, 3, 4};
  test::Ip6 h;
  h.src = a6(src);
  h.dst = a6(dst);
  h.hlim = hop_limit;
  h.next = test::kUdp;
  return test::v6_packet(h, test::udp(1000, 2000, data));
}

// routes.v6("64:ff9b::/96", true) ...: a TunRoutes with these IPv6 prefixes,
// true = routed into our TUN (only IPv6 routes are mirrored: only outputs
// that leave as IPv6 are checked).
struct Routes {
  pipeline::TunRoutes t;
  Routes& v6(const char* p, bool into_tun) {
    auto q = net::parse_ipv6_prefix(p);
    EXPECT_TRUE(q) << p;
    t.v6.insert(q->addr.to_u128(), q->len, into_tun);
    return *this;
  }
};

struct LoopGuard : ::testing::Test {
  config::Settings s = settings();
  std::unique_ptr<xlat::Output> out = std::make_unique<xlat::Output>();
  pipeline::CounterSet counters{1};
  pipeline::Counters& c = counters.worker(0);
  std::unique_ptr<pipeline::WorkerContext> ctx = std::make_unique<pipeline::WorkerContext>();
  std::optional<uint64_t> get(const char* name) { return counters.totals().get(name); }

  pipeline::Result run(const Routes* r, const Bytes& in) {
    pipeline::RoleConfig role{};
    return pipeline::process(pipeline::Env{s.xlat, role, s.eamt, r != nullptr ? &r->t : nullptr}, in, *out, c, *ctx);
  }
};

// The issue's case: an IPv4 destination no EAM maps is translated through
// pool6, and its pool6 image is routed into the TUN (tests/e2e/lib.sh routes
// 64:ff9b::/96 there): the translation would come straight back.
TEST_F(LoopGuard, Translation46IntoOwnTunIsDropped) {
  Routes r;
  r.v6("64:ff9b::/96", true).v6("::/0", false);
  auto res = run(&r, udp4("192.0.2.2", "203.0.113.7"));
  EXPECT_FALSE(res.emitted());
  EXPECT_EQ(res.verdict.outcome, xlat::Outcome::kDropped);
  EXPECT_EQ(res.verdict.reason, core::Drop::kRoutingLoop);
  EXPECT_EQ(out->count, 0u);
  EXPECT_EQ(get("drop.routing_loop"), 1u);
  EXPECT_EQ(get("translated"), 0u);
  EXPECT_EQ(get("packets_out.ipv6"), 0u);
  EXPECT_EQ(get("packets_in.ipv4"), 1u);
}

TEST_F(LoopGuard, NoRouteInformationNoCheck) {
  auto res = run(nullptr, udp4("192.0.2.2", "203.0.113.7"));
  ASSERT_TRUE(res.emitted());
  EXPECT_EQ(test::str6(out->packet(0), 24), "64:ff9b::cb00:7107");
  EXPECT_EQ(get("translated"), 1u);
  EXPECT_EQ(get("drop.routing_loop"), 0u);
}

// The kernel prefers the longest match: a more specific route elsewhere (a
// blackhole, a route out of another device) inside the TUN route wins.
TEST_F(LoopGuard, MoreSpecificRouteElsewhereWins) {
  Routes r;
  r.v6("64:ff9b::/96", true).v6("64:ff9b::cb00:7100/120", false);
  EXPECT_TRUE(run(&r, udp4("192.0.2.2", "203.0.113.7")).emitted());
  EXPECT_FALSE(run(&r, udp4("192.0.2.2", "203.0.114.7")).emitted());
  EXPECT_EQ(get("translated"), 1u);
  EXPECT_EQ(get("drop.routing_loop"), 1u);
}

// An SIIT-DC Edge Relay: pool6 is routed away towards the Border Relay.
TEST_F(LoopGuard, Pool6RoutedElsewhereIsTranslated) {
  Routes r;
  r.v6("2001:db8:6::/120", true);  // only EAM space into the TUN
  auto res = run(&r, udp4("192.0.2.2", "203.0.113.7"));
  ASSERT_TRUE(res.emitted());
  EXPECT_EQ(get("translated"), 1u);
}

TEST_F(LoopGuard, EamDestinationRoutedIntoTunIsDropped) {
  Routes r;
  r.v6("2001:db8:6::2/128", true).v6("64:ff9b::/96", true);
  EXPECT_EQ(run(&r, udp4("192.0.2.2", "198.51.100.2")).verdict.reason, core::Drop::kRoutingLoop);
  // Another host of the same EAM is reached (its address is not routed back).
  EXPECT_TRUE(run(&r, udp4("192.0.2.2", "198.51.100.3")).emitted());
  EXPECT_EQ(get("drop.routing_loop"), 1u);
  EXPECT_EQ(get("translated"), 1u);
}

// A 6->4 translation is never checked, even when its IPv4 destination is
// routed into the TUN (no IPv4 routes are mirrored; here every IPv6
// destination is routed there): one more pass is the simple hairpin through
// routing of RFC 7757 4.1, and its 4->6 pass is checked.
TEST_F(LoopGuard, Translation64IntoTunIsNotChecked) {
  Routes r;
  r.v6("::/0", true);
  auto res = run(&r, udp6("2001:db8:6::2", "64:ff9b::cb00:7107"));
  ASSERT_TRUE(res.emitted());
  EXPECT_EQ(res.verdict.outcome, xlat::Outcome::kTranslated);
  EXPECT_EQ(out->packets[0].family, xlat::Family::kV4);
  EXPECT_EQ(get("translated"), 1u);
  EXPECT_EQ(get("drop.routing_loop"), 0u);
}

// RFC 7757 4.2.2: h6 reaches another IPv6 host by its EAM address through
// pool6; the hairpinned packet leaves as IPv6. Routed back into the TUN it
// would be hairpinned again, forever.
TEST_F(LoopGuard, HairpinIntoTunIsDropped) {
  const auto in = udp6("2001:db8:6::2", "64:ff9b::c633:6403");  // 198.51.100.3 = 2001:db8:6::3
  Routes away;
  away.v6("64:ff9b::/96", true);
  auto res = run(&away, in);
  ASSERT_TRUE(res.emitted());
  ASSERT_EQ(res.verdict.outcome, xlat::Outcome::kHairpinned);
  EXPECT_EQ(test::str6(out->packet(0), 24), "2001:db8:6::3");
  Routes back;
  back.v6("2001:db8:6::3/128", true);
  res = run(&back, in);
  EXPECT_EQ(res.verdict.reason, core::Drop::kRoutingLoop);
  EXPECT_EQ(out->count, 0u);
  EXPECT_EQ(get("hairpinned"), 1u);
  EXPECT_EQ(get("drop.routing_loop"), 1u);
}

// A translator-generated ICMP error is not checked: no error is sent about an
// error, so it cannot repeat in a cycle. Here a Hop Limit 1 packet from a
// pool6 source routed into the TUN: the Time Exceeded goes back to it.
TEST_F(LoopGuard, GeneratedIcmpErrorIsNotChecked) {
  Routes r;
  r.v6("::/0", true);
  auto res = run(&r, udp6("64:ff9b::c000:202", "64:ff9b::cb00:7107", 1));
  ASSERT_TRUE(res.emitted());
  EXPECT_EQ(res.verdict.outcome, xlat::Outcome::kIcmpError);
  EXPECT_EQ(out->packets[0].family, xlat::Family::kV6);
  res = run(&r, udp4("192.0.2.2", "203.0.113.7", 1));
  ASSERT_TRUE(res.emitted());
  EXPECT_EQ(res.verdict.outcome, xlat::Outcome::kIcmpError);
  EXPECT_EQ(get("icmp_errors"), 2u);
  EXPECT_EQ(get("drop.routing_loop"), 0u);
}

// A packet to the translator's own address is for the translator, not for
// the host the pool maps that address to; dropped with or without routes.
TEST_F(LoopGuard, OwnIpv4AddressIsDropped) {
  Routes r;
  r.v6("2001:db8:6::/120", true);
  for (const Routes* routes : std::array<const Routes*, 2>{nullptr, &r}) {
    auto res = run(routes, udp4("192.0.2.2", "192.0.2.254"));
    EXPECT_FALSE(res.emitted());
    EXPECT_EQ(res.verdict.reason, core::Drop::kToOwnAddress);
    EXPECT_EQ(out->count, 0u);
  }
  EXPECT_EQ(get("drop.to_own_address"), 2u);
  EXPECT_EQ(get("translated"), 0u);
  // Its neighbour is translated.
  EXPECT_TRUE(run(nullptr, udp4("192.0.2.2", "192.0.2.253")).emitted());
}

TEST_F(LoopGuard, OwnIpv6AddressIsDropped) {
  // Only translatable when the own address lies in pool6.
  s.xlat.own_ipv6 = net::parse_ipv6("64:ff9b::c000:2fe");
  auto res = run(nullptr, udp6("2001:db8:6::2", "64:ff9b::c000:2fe"));
  EXPECT_EQ(res.verdict.reason, core::Drop::kToOwnAddress);
  EXPECT_TRUE(run(nullptr, udp6("2001:db8:6::2", "64:ff9b::c000:2fd")).emitted());
  EXPECT_EQ(get("drop.to_own_address"), 1u);
  EXPECT_EQ(get("translated"), 1u);
}

}  // namespace
}  // namespace edge46
