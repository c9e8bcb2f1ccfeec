// The RIB of received rules (bgp/rib.h): policy steps, best path (RFC 4271
// 9.1.2.2, RFC 4456 9), authorization, max-prefix, stale routes, and the
// MR-DB changes. Updates are built by hand; every expected MrChange is
// written out from the rules in the header.
#include "bgp/rib.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>

namespace edge46::bgp {
namespace {

using mapping::MrTarget;
using RS = PathAttrs::RuleState;

constexpr uint32_t kLocalAs = 65000;
constexpr uint32_t kRouterId = 0x0A000001;  // 10.0.0.1

net::Ipv4Prefix p4(const char* s) {
  return *net::parse_ipv4_prefix(s);
}
net::Ipv6Prefix p6(const char* s) {
  return *net::parse_ipv6_prefix(s);
}

const net::Ipv6Prefix kX1 = p6("2001:db8:1::/48");
const net::Ipv6Prefix kX2 = p6("2001:db8:2::/48");
const net::Ipv6Prefix kX3 = p6("2001:db8:3::/48");

MrTarget target(const net::Ipv6Prefix& x, bool translate = false) {
  return MrTarget{mapping::Pool6{x, mapping::Pool6Layout::kLow32},
                  static_cast<uint8_t>(translate ? mapping::kModeTranslate : mapping::kModeEncapsulate)};
}
MrChange upsert(const char* p, const net::Ipv6Prefix& x, bool translate = false) {
  return MrChange{p4(p), target(x, translate)};
}
MrChange removal(const char* p) {
  return MrChange{p4(p), std::nullopt};
}

PathAttrs attrs(const net::Ipv6Prefix& x, std::vector<uint32_t> path = {}, bool translate = false) {
  PathAttrs a;
  if (!path.empty()) a.as_path = {AsSegment{2, path}};
  a.rule_state = RS::kPresent;
  a.rule.pref6 = x;
  a.rule.translate = translate;
  return a;
}

Update announce(std::vector<const char*> prefixes, const PathAttrs& a) {
  Update u;
  for (auto* p : prefixes) u.announced.push_back(p4(p));
  u.attrs = a;
  return u;
}
Update withdraw(std::vector<const char*> prefixes) {
  Update u;
  for (auto* p : prefixes) u.withdrawn.push_back(p4(p));
  return u;
}

net::Ipv6Addr addr6(const char* s) {
  return *net::parse_ipv6(s);
}

PeerPolicy ebgp(const char* name, uint32_t asn, const char* addr) {
  PeerPolicy p;
  p.name = name;
  p.asn = asn;
  p.address = addr6(addr);
  return p;
}
PeerPolicy ibgp(const char* name, const char* addr) {
  PeerPolicy p;
  p.name = name;
  p.asn = kLocalAs;
  p.ibgp = true;
  p.inside_domain = true;
  p.address = addr6(addr);
  return p;
}

class RibTest : public ::testing::Test {
 protected:
  RibTest() : rib_(cfg()) {}
  static RibConfig cfg() {
    RibConfig c;
    c.local_as = kLocalAs;
    c.router_id = kRouterId;
    c.layout = mapping::Pool6Layout::kLow32;
    return c;
  }
  // Applies and returns the changes.
  std::vector<MrChange> apply(PeerId id, const Update& u, ApplyResult* res = nullptr) {
    std::vector<MrChange> out;
    auto r = rib_.apply(id, u, out);
    if (res) *res = r;
    return out;
  }
  Reject reject_of(PeerId id, const char* p) {
    auto v = rib_.routes(id, p4(p), true);
    EXPECT_EQ(v.size(), 1u) << p;
    return v.empty() ? Reject::kNone : v[0].reject;
  }
  // The peer whose route is best for p (0 when none).
  PeerId best_of(const char* p) {
    for (const auto& r : rib_.routes(std::nullopt, p4(p), true)) {
      if (r.best) return r.peer;
    }
    return 0;
  }
  Rib rib_;
};

using Changes = std::vector<MrChange>;

TEST(RibNames, RejectAndMaxPrefixAction) {
  const char* want[] = {"", "no-rule", "malformed", "loop", "default-policy", "import-filter", "invalid", "max-prefix"};
  for (std::size_t i = 0; i < kRejectCount; ++i) EXPECT_EQ(reject_name(static_cast<Reject>(i)), want[i]);
  EXPECT_EQ(max_prefix_action_name(MaxPrefixAction::kWarn), "warn");
  EXPECT_EQ(max_prefix_action_name(MaxPrefixAction::kRefuse), "refuse");
  EXPECT_EQ(max_prefix_action_name(MaxPrefixAction::kTeardown), "teardown");
}

TEST_F(RibTest, AnnounceInstallsReannounceIsSilentWithdrawRemoves) {
  rib_.set_peer(1, ebgp("e1", 65001, "2001:db8::1"));
  EXPECT_EQ(apply(1, announce({"192.0.2.0/24", "198.51.100.0/24"}, attrs(kX1, {65001}, true))),
            (Changes{upsert("192.0.2.0/24", kX1, true), upsert("198.51.100.0/24", kX1, true)}));
  EXPECT_EQ(rib_.prefix_count(), 2u);
  EXPECT_EQ(rib_.route_count(), 2u);
  // Same target again (even with another path): nothing.
  EXPECT_EQ(apply(1, announce({"192.0.2.0/24"}, attrs(kX1, {65001, 65009}, true))), Changes{});
  // Another target: one upsert.
  EXPECT_EQ(apply(1, announce({"192.0.2.0/24"}, attrs(kX2, {65001}))), (Changes{upsert("192.0.2.0/24", kX2)}));
  // Withdraw one; withdrawing an unknown prefix changes nothing.
  EXPECT_EQ(apply(1, withdraw({"192.0.2.0/24", "203.0.113.0/24"})), (Changes{removal("192.0.2.0/24")}));
  EXPECT_EQ(rib_.prefix_count(), 1u);
  EXPECT_EQ(rib_.route_count(), 1u);
  const auto* c = rib_.counters(1);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->updates, 4u);
  EXPECT_EQ(c->announced, 4u);
  EXPECT_EQ(c->withdrawn, 2u);
  EXPECT_EQ(c->received, 1u);
  EXPECT_EQ(c->accepted, 1u);
  EXPECT_EQ(rib_.counters(99), nullptr);
}

TEST_F(RibTest, UnknownPeerIsIgnored) {
  ApplyResult r;
  EXPECT_EQ(apply(7, announce({"192.0.2.0/24"}, attrs(kX1, {65001})), &r), Changes{});
  EXPECT_EQ(rib_.route_count(), 0u);
  EXPECT_EQ(r.logs.size(), 1u);
}

// ---- best path, one tie-breaker at a time ----

class BestPath : public RibTest {
 protected:
  void SetUp() override {
    rib_.set_peer(2, ibgp("i2", "2001:db8::2"));
    rib_.set_peer(3, ibgp("i3", "2001:db8::3"));
    rib_.set_peer_router_id(2, 0x0A000002);
    rib_.set_peer_router_id(3, 0x0A000003);
  }
  // Announces a from peer 2 (X2) then b from peer 3 (X3); the winner's peer.
  PeerId race(PathAttrs a, PathAttrs b) {
    a.rule.pref6 = kX2;
    b.rule.pref6 = kX3;
    apply(2, announce({"192.0.2.0/24"}, a));
    auto ch = apply(3, announce({"192.0.2.0/24"}, b));
    const PeerId w = best_of("192.0.2.0/24");
    // A change exactly when peer 3 took over.
    EXPECT_EQ(ch, w == 3 ? Changes{upsert("192.0.2.0/24", kX3)} : Changes{});
    return w;
  }
};

TEST_F(BestPath, LocalPrefHigherWinsDefault100) {
  auto a = attrs(kX2, {65001, 65002, 65003}), b = attrs(kX3, {65001});
  a.local_pref = 200;  // longer path, but LOCAL_PREF comes first
  EXPECT_EQ(race(a, b), 2u);
}

TEST_F(BestPath, LocalPrefAbsentIs100) {
  auto a = attrs(kX2, {65001}), b = attrs(kX3, {65001, 65002});
  a.local_pref = 99;  // below the default 100 of b
  EXPECT_EQ(race(a, b), 3u);
}

TEST_F(BestPath, ShorterAsPathWins) {
  EXPECT_EQ(race(attrs(kX2, {65001, 65002}), attrs(kX3, {65001})), 3u);
}

TEST_F(BestPath, AsSetCountsOne) {
  // a: 65001 {65002 65003 65004} = 2; b: 65001 65002 65003 = 3.
  auto a = attrs(kX2, {65001});
  a.as_path.push_back(AsSegment{1, {65002, 65003, 65004}});
  auto b = attrs(kX3, {65001, 65002, 65003});
  EXPECT_EQ(race(a, b), 2u);
}

TEST_F(BestPath, LowerOriginWins) {
  auto a = attrs(kX2, {65001}), b = attrs(kX3, {65001});
  a.origin = 2;  // INCOMPLETE
  b.origin = 1;  // EGP
  EXPECT_EQ(race(a, b), 3u);
}

TEST_F(BestPath, LowerMedWinsFromSameNeighbourAs) {
  auto a = attrs(kX2, {65001, 65010}), b = attrs(kX3, {65001, 65020});
  a.med = 50;
  b.med = 10;
  // Router IDs favour peer 2; MED (same neighbour 65001) decides first.
  EXPECT_EQ(race(a, b), 3u);
}

TEST_F(BestPath, AbsentMedIsZero) {
  auto a = attrs(kX2, {65001}), b = attrs(kX3, {65001});
  b.med = 1;
  EXPECT_EQ(race(a, b), 2u);
  // And the other way round, so the router ID is not what decided.
  auto c = attrs(kX2, {65001}), d = attrs(kX3, {65001});
  c.med = 1;
  EXPECT_EQ(race(c, d), 3u);
}

TEST_F(BestPath, MedIgnoredBetweenDifferentNeighbourAses) {
  auto a = attrs(kX2, {65001}), b = attrs(kX3, {65002});
  a.med = 50;
  b.med = 10;
  // Not compared: the router ID decides (peer 2 has the lower one).
  EXPECT_EQ(race(a, b), 2u);
}

TEST_F(BestPath, EbgpOverIbgp) {
  rib_.set_peer(4, ebgp("e4", 65004, "2001:db8::4"));
  rib_.set_peer_router_id(4, 0x0A0000FF);  // highest router ID, still wins
  apply(2, announce({"192.0.2.0/24"}, attrs(kX2, {65004})));
  EXPECT_EQ(apply(4, announce({"192.0.2.0/24"}, attrs(kX3, {65004}))), (Changes{upsert("192.0.2.0/24", kX3)}));
  EXPECT_EQ(best_of("192.0.2.0/24"), 4u);
}

TEST_F(BestPath, LowerRouterIdWins) {
  rib_.set_peer_router_id(2, 0x0A000009);
  EXPECT_EQ(race(attrs(kX2, {65001}), attrs(kX3, {65001})), 3u);
}

TEST_F(BestPath, OriginatorIdStandsInForRouterId) {
  auto a = attrs(kX2, {65001}), b = attrs(kX3, {65001});
  // Peer 2's own ID (10.0.0.2) is lower, but its route names originator
  // 10.0.0.50; peer 3's names 10.0.0.40.
  a.originator_id = 0x0A000032;
  b.originator_id = 0x0A000028;
  EXPECT_EQ(race(a, b), 3u);
}

TEST_F(BestPath, ShorterClusterListWins) {
  auto a = attrs(kX2, {65001}), b = attrs(kX3, {65001});
  a.originator_id = b.originator_id = 0x0A000063;  // equal router IDs
  a.cluster_list = {1, 2};
  b.cluster_list = {3};
  EXPECT_EQ(race(a, b), 3u);
}

TEST_F(BestPath, LowestPeerAddressLast) {
  rib_.set_peer(2, ibgp("i2", "2001:db8::20"));
  rib_.set_peer(3, ibgp("i3", "2001:db8::3"));
  rib_.set_peer_router_id(2, 7);
  rib_.set_peer_router_id(3, 7);
  EXPECT_EQ(race(attrs(kX2, {65001}), attrs(kX3, {65001})), 3u);
}

TEST_F(BestPath, LocalPrefFromEbgpIsIgnored) {
  // RFC 4271 5.1.5: an eBGP peer's LOCAL_PREF does not count.
  rib_.set_peer(4, ebgp("e4", 65004, "2001:db8::4"));
  rib_.set_peer(5, ebgp("e5", 65005, "2001:db8::5"));
  rib_.set_peer_router_id(4, 4);
  rib_.set_peer_router_id(5, 5);
  auto a = attrs(kX2, {65004, 65009}), b = attrs(kX3, {65005});
  a.local_pref = 500;
  apply(4, announce({"192.0.2.0/24"}, a));
  apply(5, announce({"192.0.2.0/24"}, b));
  EXPECT_EQ(best_of("192.0.2.0/24"), 5u);  // shorter path
}

TEST_F(BestPath, WithdrawingBestPromotesSecondWithOneUpsert) {
  auto a = attrs(kX2, {65001}), b = attrs(kX3, {65001, 65002});
  apply(2, announce({"192.0.2.0/24"}, a));
  EXPECT_EQ(apply(3, announce({"192.0.2.0/24"}, b)), Changes{});
  EXPECT_EQ(apply(2, withdraw({"192.0.2.0/24"})), (Changes{upsert("192.0.2.0/24", kX3)}));
  EXPECT_EQ(best_of("192.0.2.0/24"), 3u);
  EXPECT_EQ(apply(3, withdraw({"192.0.2.0/24"})), (Changes{removal("192.0.2.0/24")}));
  EXPECT_EQ(rib_.prefix_count(), 0u);
  EXPECT_EQ(rib_.route_count(), 0u);
}

TEST_F(BestPath, NewBestWithSameTargetIsSilent) {
  auto a = attrs(kX2, {65001, 65002}), b = attrs(kX2, {65001});
  apply(2, announce({"192.0.2.0/24"}, a));
  EXPECT_EQ(apply(3, announce({"192.0.2.0/24"}, b)), Changes{});
  EXPECT_EQ(best_of("192.0.2.0/24"), 3u);
  EXPECT_EQ(apply(3, withdraw({"192.0.2.0/24"})), Changes{});
  EXPECT_EQ(best_of("192.0.2.0/24"), 2u);
}

// ---- loops ----

TEST_F(RibTest, LoopsRejected) {
  rib_.set_peer(2, ibgp("i2", "2001:db8::2"));
  rib_.set_peer(1, ebgp("e1", 65001, "2001:db8::1"));
  auto a = attrs(kX1, {65001});
  a.originator_id = kRouterId;
  EXPECT_EQ(apply(2, announce({"192.0.2.0/24"}, a)), Changes{});
  EXPECT_EQ(reject_of(2, "192.0.2.0/24"), Reject::kLoop);
  auto b = attrs(kX1, {65001});
  b.originator_id = 0x0A000063;
  b.cluster_list = {5, kRouterId};
  EXPECT_EQ(apply(2, announce({"192.0.2.64/26"}, b)), Changes{});
  EXPECT_EQ(reject_of(2, "192.0.2.64/26"), Reject::kLoop);
  // Our AS in an eBGP path, in a set too.
  EXPECT_EQ(apply(1, announce({"198.51.100.0/24"}, attrs(kX1, {65001, kLocalAs, 65003}))), Changes{});
  EXPECT_EQ(reject_of(1, "198.51.100.0/24"), Reject::kLoop);
  auto c = attrs(kX1, {65001});
  c.as_path.push_back(AsSegment{1, {65007, kLocalAs}});
  apply(1, announce({"198.51.100.128/25"}, c));
  EXPECT_EQ(reject_of(1, "198.51.100.128/25"), Reject::kLoop);
  // Our AS in the path of an iBGP route is not checked (the header limits
  // the AS_PATH check to eBGP routes).
  EXPECT_EQ(apply(2, announce({"203.0.113.0/24"}, attrs(kX1, {kLocalAs}))), (Changes{upsert("203.0.113.0/24", kX1)}));
  EXPECT_EQ(rib_.counters(2)->rejected[static_cast<std::size_t>(Reject::kLoop)], 2u);
  EXPECT_EQ(rib_.counters(1)->rejected[static_cast<std::size_t>(Reject::kLoop)], 2u);
  // Rejected routes are held (received) but not accepted.
  EXPECT_EQ(rib_.counters(2)->received, 3u);
  EXPECT_EQ(rib_.counters(2)->accepted, 1u);
  EXPECT_EQ(rib_.prefix_count(), 1u);
  EXPECT_EQ(rib_.route_count(), 5u);
}

// ---- the default rule (framework 7.2) ----

PathAttrs default_attrs(const net::Ipv6Prefix& x, std::vector<uint32_t> path) {
  auto a = attrs(x, path);
  a.rule.is_default = true;
  return a;
}

TEST_F(RibTest, DefaultRuleFromEbgpNeedsAcceptDefault) {
  rib_.set_peer(1, ebgp("e1", 65001, "2001:db8::1"));
  EXPECT_EQ(apply(1, announce({"0.0.0.0/0"}, default_attrs(kX1, {65001}))), Changes{});
  EXPECT_EQ(reject_of(1, "0.0.0.0/0"), Reject::kDefaultPolicy);
  auto pol = ebgp("e1", 65001, "2001:db8::1");
  pol.accept_default = true;
  rib_.set_peer(1, pol);
  EXPECT_EQ(apply(1, announce({"0.0.0.0/0"}, default_attrs(kX1, {65001}))), (Changes{upsert("0.0.0.0/0", kX1)}));
  EXPECT_EQ(rib_.counters(1)->rejected[static_cast<std::size_t>(Reject::kDefaultPolicy)], 1u);
}

TEST_F(RibTest, DefaultRuleFromIbgpNeedsInsideDomain) {
  auto out = ibgp("i2", "2001:db8::2");
  out.inside_domain = false;
  rib_.set_peer(2, out);
  rib_.set_peer(3, ibgp("i3", "2001:db8::3"));
  EXPECT_EQ(apply(2, announce({"0.0.0.0/0"}, default_attrs(kX2, {}))), Changes{});
  EXPECT_EQ(reject_of(2, "0.0.0.0/0"), Reject::kDefaultPolicy);
  EXPECT_EQ(apply(3, announce({"0.0.0.0/0"}, default_attrs(kX3, {}))), (Changes{upsert("0.0.0.0/0", kX3)}));
}

TEST_F(RibTest, FlagDMismatchIsMalformedAndWithdraws) {
  rib_.set_peer(2, ibgp("i2", "2001:db8::2"));
  // Earlier good routes for both prefixes.
  apply(2, announce({"0.0.0.0/0"}, default_attrs(kX2, {})));
  apply(2, announce({"192.0.2.0/24"}, attrs(kX2, {})));
  ASSERT_EQ(rib_.route_count(), 2u);
  // D set on 192.0.2.0/24: that route goes, nothing kept, one log line.
  ApplyResult r;
  EXPECT_EQ(apply(2, announce({"192.0.2.0/24"}, default_attrs(kX3, {})), &r), (Changes{removal("192.0.2.0/24")}));
  ASSERT_EQ(r.logs.size(), 1u);
  EXPECT_NE(r.logs[0].find("i2"), std::string::npos);
  EXPECT_NE(r.logs[0].find("192.0.2.0/24"), std::string::npos);
  // D clear on 0.0.0.0/0.
  EXPECT_EQ(apply(2, announce({"0.0.0.0/0"}, attrs(kX3, {}))), (Changes{removal("0.0.0.0/0")}));
  EXPECT_EQ(rib_.route_count(), 0u);
  EXPECT_TRUE(rib_.routes(2, std::nullopt).empty());
  EXPECT_EQ(rib_.counters(2)->rejected[static_cast<std::size_t>(Reject::kMalformed)], 2u);
}

// ---- malformed, no rule ----

TEST_F(RibTest, MalformedRuleIsTreatAsWithdraw) {
  rib_.set_peer(1, ebgp("e1", 65001, "2001:db8::1"));
  apply(1, announce({"192.0.2.0/24", "198.51.100.0/24"}, attrs(kX1, {65001})));
  auto bad = attrs(kX1, {65001});
  bad.rule_state = RS::kMalformed;
  bad.rule_error = "Pref6 length 129";
  ApplyResult r;
  EXPECT_EQ(apply(1, announce({"192.0.2.0/24", "203.0.113.0/24"}, bad), &r), (Changes{removal("192.0.2.0/24")}));
  ASSERT_EQ(r.logs.size(), 1u);
  EXPECT_NE(r.logs[0].find("e1"), std::string::npos);
  EXPECT_NE(r.logs[0].find("192.0.2.0/24"), std::string::npos);
  EXPECT_NE(r.logs[0].find("Pref6 length 129"), std::string::npos);
  EXPECT_EQ(rib_.route_count(), 1u);  // only 198.51.100.0/24 left
  const auto* c = rib_.counters(1);
  EXPECT_EQ(c->rejected[static_cast<std::size_t>(Reject::kMalformed)], 2u);
  EXPECT_EQ(c->withdrawn, 2u);
  EXPECT_EQ(c->announced, 4u);

  Update u = announce({"198.51.100.0/24"}, attrs(kX1, {65001}));
  u.treat_as_withdraw = true;
  u.error = "bad ORIGIN";
  EXPECT_EQ(apply(1, u, &r), (Changes{removal("198.51.100.0/24")}));
  ASSERT_EQ(r.logs.size(), 1u);
  EXPECT_NE(r.logs[0].find("bad ORIGIN"), std::string::npos);
  EXPECT_EQ(rib_.route_count(), 0u);
}

TEST_F(RibTest, NoRuleKeptAsRejected) {
  rib_.set_peer(1, ebgp("e1", 65001, "2001:db8::1"));
  apply(1, announce({"192.0.2.0/24"}, attrs(kX1, {65001})));
  PathAttrs plain;
  plain.as_path = {AsSegment{2, {65001}}};
  // The new route without a rule replaces the old: the rule goes.
  EXPECT_EQ(apply(1, announce({"192.0.2.0/24"}, plain)), (Changes{removal("192.0.2.0/24")}));
  auto v = rib_.routes(1, std::nullopt);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].reject, Reject::kNoRule);
  EXPECT_FALSE(v[0].best);
  EXPECT_EQ(v[0].peer_name, "e1");
  EXPECT_EQ(rib_.counters(1)->received, 1u);
  EXPECT_EQ(rib_.counters(1)->accepted, 0u);
  EXPECT_EQ(rib_.counters(1)->rejected[static_cast<std::size_t>(Reject::kNoRule)], 1u);
}

// ---- import filter ----

TEST_F(RibTest, ImportFilter) {
  auto pol = ebgp("e1", 65001, "2001:db8::1");
  pol.import = *PrefixList::parse({"192.0.2.0/24 le 25"});
  rib_.set_peer(1, pol);
  EXPECT_EQ(
      apply(1, announce({"192.0.2.0/24", "192.0.2.0/26", "198.51.100.0/24", "192.0.2.128/25"}, attrs(kX1, {65001}))),
      (Changes{upsert("192.0.2.0/24", kX1), upsert("192.0.2.128/25", kX1)}));
  EXPECT_EQ(reject_of(1, "192.0.2.0/26"), Reject::kImportFilter);
  EXPECT_EQ(reject_of(1, "198.51.100.0/24"), Reject::kImportFilter);
  EXPECT_EQ(rib_.counters(1)->rejected[static_cast<std::size_t>(Reject::kImportFilter)], 2u);
}

// ---- authorization ----

std::shared_ptr<const Authorization> auth(const char* text) {
  auto a = Authorization::parse(text);
  EXPECT_TRUE(a) << a.error();
  return std::make_shared<const Authorization>(*a);
}

TEST_F(RibTest, AuthorizationStates) {
  rib_.set_peer(1, ebgp("e1", 65001, "2001:db8::1"));
  std::vector<MrChange> out;
  rib_.set_authorization(auth("192.0.2.0/24 maxlen 25 2001:db8:1::/48 as 65003\n"), out);
  EXPECT_TRUE(out.empty());
  // Valid: right Pref6, origin 65003, within maxlen.
  EXPECT_EQ(apply(1, announce({"192.0.2.0/24", "192.0.2.128/25"}, attrs(kX1, {65001, 65003}))),
            (Changes{upsert("192.0.2.0/24", kX1), upsert("192.0.2.128/25", kX1)}));
  // Invalid: wrong origin; past maxlen; wrong Pref6.
  EXPECT_EQ(apply(1, announce({"192.0.2.0/24"}, attrs(kX1, {65001, 65004}))), (Changes{removal("192.0.2.0/24")}));
  EXPECT_EQ(apply(1, announce({"192.0.2.0/26"}, attrs(kX1, {65001, 65003}))), Changes{});
  EXPECT_EQ(apply(1, announce({"192.0.2.128/25"}, attrs(kX2, {65001, 65003}))), (Changes{removal("192.0.2.128/25")}));
  // NotFound: accepted.
  EXPECT_EQ(apply(1, announce({"198.51.100.0/24"}, attrs(kX2, {65001}))), (Changes{upsert("198.51.100.0/24", kX2)}));
  auto v = rib_.routes(1, std::nullopt);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].prefix, p4("192.0.2.0/24"));
  EXPECT_EQ(v[0].validity, Validity::kInvalid);
  EXPECT_EQ(v[0].reject, Reject::kInvalid);
  EXPECT_EQ(v[1].prefix, p4("192.0.2.0/26"));
  EXPECT_EQ(v[1].validity, Validity::kInvalid);
  EXPECT_EQ(v[2].prefix, p4("192.0.2.128/25"));
  EXPECT_EQ(v[2].validity, Validity::kInvalid);
  EXPECT_EQ(v[3].validity, Validity::kNotFound);
  EXPECT_EQ(v[3].reject, Reject::kNone);
  EXPECT_EQ(rib_.counters(1)->rejected[static_cast<std::size_t>(Reject::kInvalid)], 3u);
}

TEST_F(RibTest, InvalidAcceptedWhenRejectInvalidOff) {
  RibConfig c = cfg();
  c.reject_invalid = false;
  Rib rib(c);
  rib.set_peer(1, ebgp("e1", 65001, "2001:db8::1"));
  std::vector<MrChange> out;
  rib.set_authorization(auth("192.0.2.0/24 2001:db8:1::/48\n"), out);
  rib.apply(1, announce({"192.0.2.0/24"}, attrs(kX2, {65001})), out);
  EXPECT_EQ(out, (Changes{upsert("192.0.2.0/24", kX2)}));
  auto v = rib.routes(1, p4("192.0.2.0/24"), true);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].validity, Validity::kInvalid);
  EXPECT_EQ(v[0].reject, Reject::kNone);
  EXPECT_TRUE(v[0].best);
}

TEST_F(RibTest, IbgpEmptyPathOriginIsLocalAs) {
  rib_.set_peer(2, ibgp("i2", "2001:db8::2"));
  std::vector<MrChange> out;
  rib_.set_authorization(auth("192.0.2.0/24 2001:db8:2::/48 as 65000\n"
                              "198.51.100.0/24 2001:db8:2::/48 as 65001\n"),
                         out);
  // Empty AS_PATH from iBGP: origin = our AS 65000.
  EXPECT_EQ(apply(2, announce({"192.0.2.0/24", "198.51.100.0/24"}, attrs(kX2, {}))),
            (Changes{upsert("192.0.2.0/24", kX2)}));
  EXPECT_EQ(rib_.routes(2, p4("192.0.2.0/24"), true)[0].validity, Validity::kValid);
  EXPECT_EQ(reject_of(2, "198.51.100.0/24"), Reject::kInvalid);
}

TEST_F(RibTest, SetAuthorizationRevalidatesInstallsAndRemoves) {
  rib_.set_peer(1, ebgp("e1", 65001, "2001:db8::1"));
  rib_.set_peer(2, ibgp("i2", "2001:db8::2"));
  // No authorization: everything NotFound and accepted. Peer 1 (eBGP) best
  // for 192.0.2.0/24 with X1, peer 2 second with X2.
  apply(1, announce({"192.0.2.0/24", "198.51.100.0/24"}, attrs(kX1, {65001})));
  apply(2, announce({"192.0.2.0/24"}, attrs(kX2, {65001})));
  ASSERT_EQ(best_of("192.0.2.0/24"), 1u);
  // X2 authorized for 192.0.2.0/24 only: peer 1's route Invalid, peer 2 takes
  // over; 198.51.100.0/24 stays NotFound.
  std::vector<MrChange> out;
  rib_.set_authorization(auth("192.0.2.0/24 2001:db8:2::/48\n"), out);
  EXPECT_EQ(out, (Changes{upsert("192.0.2.0/24", kX2)}));
  EXPECT_EQ(best_of("192.0.2.0/24"), 2u);
  // 198.51.100.0/24 authorized for X3 only: peer 1's route (X1), its only
  // one, turns Invalid and the rule is removed.
  out.clear();
  rib_.set_authorization(auth("192.0.2.0/24 2001:db8:2::/48\n198.51.100.0/24 2001:db8:3::/48\n"), out);
  EXPECT_EQ(out, (Changes{removal("198.51.100.0/24")}));
  EXPECT_EQ(rib_.counters(1)->accepted, 0u);
  // Back to none: every route NotFound, peer 1 best again and reinstalled.
  out.clear();
  rib_.set_authorization(nullptr, out);
  std::sort(out.begin(), out.end(),
            [](const MrChange& a, const MrChange& b) { return a.prefix.addr.value < b.prefix.addr.value; });
  EXPECT_EQ(out, (Changes{upsert("192.0.2.0/24", kX1), upsert("198.51.100.0/24", kX1)}));
  EXPECT_EQ(rib_.counters(1)->accepted, 2u);
  EXPECT_EQ(rib_.prefix_count(), 2u);
}

// ---- max-prefix ----

TEST_F(RibTest, MaxPrefixWarn) {
  auto pol = ebgp("e1", 65001, "2001:db8::1");
  pol.max_prefix = 2;
  rib_.set_peer(1, pol);
  ApplyResult r;
  auto ch = apply(1, announce({"10.0.0.0/24", "10.0.1.0/24"}, attrs(kX1, {65001})), &r);
  EXPECT_EQ(ch.size(), 2u);
  EXPECT_TRUE(r.logs.empty());
  EXPECT_FALSE(rib_.counters(1)->max_prefix_warned);
  ch = apply(1, announce({"10.0.2.0/24", "10.0.3.0/24"}, attrs(kX1, {65001})), &r);
  EXPECT_EQ(ch.size(), 2u);  // accepted anyway
  EXPECT_EQ(r.logs.size(), 1u);
  EXPECT_FALSE(r.teardown);
  EXPECT_TRUE(rib_.counters(1)->max_prefix_warned);
  apply(1, announce({"10.0.4.0/24"}, attrs(kX1, {65001})), &r);
  EXPECT_TRUE(r.logs.empty());  // once
  EXPECT_EQ(rib_.counters(1)->accepted, 5u);
  EXPECT_EQ(rib_.counters(1)->rejected[static_cast<std::size_t>(Reject::kMaxPrefix)], 0u);
}

TEST_F(RibTest, MaxPrefixRefuse) {
  auto pol = ebgp("e1", 65001, "2001:db8::1");
  pol.max_prefix = 2;
  pol.max_prefix_action = MaxPrefixAction::kRefuse;
  rib_.set_peer(1, pol);
  ApplyResult r;
  EXPECT_EQ(apply(1, announce({"10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"}, attrs(kX1, {65001})), &r),
            (Changes{upsert("10.0.0.0/24", kX1), upsert("10.0.1.0/24", kX1)}));
  EXPECT_FALSE(r.teardown);
  EXPECT_EQ(reject_of(1, "10.0.2.0/24"), Reject::kMaxPrefix);
  // A replacement of an accepted prefix is not a new one.
  EXPECT_EQ(apply(1, announce({"10.0.1.0/24"}, attrs(kX2, {65001}))), (Changes{upsert("10.0.1.0/24", kX2)}));
  // After a withdrawal there is room again; the refused prefix is new.
  apply(1, withdraw({"10.0.0.0/24"}));
  EXPECT_EQ(apply(1, announce({"10.0.2.0/24", "10.0.3.0/24"}, attrs(kX1, {65001}))),
            (Changes{upsert("10.0.2.0/24", kX1)}));
  EXPECT_EQ(reject_of(1, "10.0.3.0/24"), Reject::kMaxPrefix);
  EXPECT_EQ(rib_.counters(1)->accepted, 2u);
  EXPECT_EQ(rib_.counters(1)->rejected[static_cast<std::size_t>(Reject::kMaxPrefix)], 2u);
}

TEST_F(RibTest, MaxPrefixTeardown) {
  auto pol = ebgp("e1", 65001, "2001:db8::1");
  pol.max_prefix = 1;
  pol.max_prefix_action = MaxPrefixAction::kTeardown;
  rib_.set_peer(1, pol);
  ApplyResult r;
  EXPECT_EQ(apply(1, announce({"10.0.0.0/24"}, attrs(kX1, {65001})), &r), (Changes{upsert("10.0.0.0/24", kX1)}));
  EXPECT_FALSE(r.teardown);
  EXPECT_EQ(apply(1, announce({"10.0.1.0/24"}, attrs(kX1, {65001})), &r), Changes{});
  EXPECT_TRUE(r.teardown);
  EXPECT_EQ(reject_of(1, "10.0.1.0/24"), Reject::kMaxPrefix);
}

// ---- stale routes ----

TEST_F(RibTest, StaleKeepRefreshFlush) {
  rib_.set_peer(1, ebgp("e1", 65001, "2001:db8::1"));
  apply(1, announce({"10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"}, attrs(kX1, {65001})));
  std::vector<MrChange> out;
  rib_.peer_down(1, true, out);
  EXPECT_TRUE(out.empty());  // still installed
  EXPECT_EQ(rib_.counters(1)->stale, 3u);
  EXPECT_EQ(rib_.prefix_count(), 3u);
  EXPECT_TRUE(rib_.routes(1, p4("10.0.0.0/24"), true)[0].stale);
  EXPECT_TRUE(rib_.routes(1, p4("10.0.0.0/24"), true)[0].best);
  // Re-announced: fresh again, same target, no change.
  EXPECT_EQ(apply(1, announce({"10.0.1.0/24"}, attrs(kX1, {65001}))), Changes{});
  EXPECT_FALSE(rib_.routes(1, p4("10.0.1.0/24"), true)[0].stale);
  EXPECT_EQ(rib_.counters(1)->stale, 2u);
  // flush removes the two still stale.
  rib_.flush_stale(1, out);
  std::sort(out.begin(), out.end(),
            [](const MrChange& a, const MrChange& b) { return a.prefix.addr.value < b.prefix.addr.value; });
  EXPECT_EQ(out, (Changes{removal("10.0.0.0/24"), removal("10.0.2.0/24")}));
  EXPECT_EQ(rib_.counters(1)->stale, 0u);
  EXPECT_EQ(rib_.counters(1)->received, 1u);
}

TEST_F(RibTest, EndOfRibFlushesStale) {
  rib_.set_peer(1, ebgp("e1", 65001, "2001:db8::1"));
  apply(1, announce({"10.0.0.0/24", "10.0.1.0/24"}, attrs(kX1, {65001})));
  std::vector<MrChange> out;
  rib_.peer_down(1, true, out);
  Update u = announce({"10.0.1.0/24"}, attrs(kX1, {65001}));
  apply(1, u);
  Update eor;
  eor.end_of_rib = true;
  EXPECT_EQ(apply(1, eor), (Changes{removal("10.0.0.0/24")}));
}

TEST_F(RibTest, StaleRouteStillCompetes) {
  rib_.set_peer(1, ebgp("e1", 65001, "2001:db8::1"));
  rib_.set_peer(2, ibgp("i2", "2001:db8::2"));
  apply(1, announce({"10.0.0.0/24"}, attrs(kX1, {65001})));
  apply(2, announce({"10.0.0.0/24"}, attrs(kX2, {65001})));
  std::vector<MrChange> out;
  rib_.peer_down(1, true, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(best_of("10.0.0.0/24"), 1u);  // stale eBGP still beats iBGP
  rib_.flush_stale(1, out);
  EXPECT_EQ(out, (Changes{upsert("10.0.0.0/24", kX2)}));
}

TEST_F(RibTest, PeerDownWithoutKeepRemovesAndRemovePeer) {
  rib_.set_peer(1, ebgp("e1", 65001, "2001:db8::1"));
  rib_.set_peer(2, ebgp("e2", 65002, "2001:db8::2"));
  apply(1, announce({"10.0.0.0/24", "10.0.1.0/24"}, attrs(kX1, {65001})));
  apply(2, announce({"10.0.5.0/24"}, attrs(kX2, {65002})));
  std::vector<MrChange> out;
  rib_.peer_down(1, false, out);
  std::sort(out.begin(), out.end(),
            [](const MrChange& a, const MrChange& b) { return a.prefix.addr.value < b.prefix.addr.value; });
  EXPECT_EQ(out, (Changes{removal("10.0.0.0/24"), removal("10.0.1.0/24")}));
  EXPECT_EQ(rib_.counters(1)->received, 0u);
  out.clear();
  rib_.remove_peer(2, out);
  EXPECT_EQ(out, (Changes{removal("10.0.5.0/24")}));
  EXPECT_EQ(rib_.counters(2), nullptr);
  EXPECT_EQ(rib_.route_count(), 0u);
  EXPECT_EQ(rib_.prefix_count(), 0u);
}

// ---- routes() ----

TEST_F(RibTest, RoutesFiltersAndOrder) {
  rib_.set_peer(1, ebgp("e1", 65001, "2001:db8::1"));
  rib_.set_peer(2, ebgp("e2", 65002, "2001:db8::2"));
  apply(2, announce({"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.0.2.0/24"}, attrs(kX2, {65002})));
  apply(1, announce({"10.1.0.0/16", "10.1.2.128/25"}, attrs(kX1, {65001})));
  auto all = rib_.routes(std::nullopt, std::nullopt);
  std::vector<std::pair<std::string, PeerId>> got;
  for (const auto& r : all) got.emplace_back(net::to_string(r.prefix), r.peer);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, PeerId>>{{"10.0.0.0/8", 2},
                                                              {"10.1.0.0/16", 1},
                                                              {"10.1.0.0/16", 2},
                                                              {"10.1.2.0/24", 2},
                                                              {"10.1.2.128/25", 1},
                                                              {"192.0.2.0/24", 2}}));
  EXPECT_EQ(rib_.routes(1, std::nullopt).size(), 2u);
  EXPECT_EQ(rib_.routes(std::nullopt, p4("10.1.0.0/16"), true).size(), 2u);
  EXPECT_EQ(rib_.routes(2, p4("10.1.0.0/16"), true).size(), 1u);
  // Not exact: covering (10/8, 10.1/16 x2) and inside (10.1.2/24, 10.1.2.128/25).
  EXPECT_EQ(rib_.routes(std::nullopt, p4("10.1.2.0/24")).size(), 5u);
  EXPECT_EQ(rib_.routes(std::nullopt, p4("10.1.2.0/24"), true).size(), 1u);
  EXPECT_TRUE(rib_.routes(std::nullopt, p4("172.16.0.0/12")).empty());
  // Attributes are shown as received.
  auto one = rib_.routes(1, p4("10.1.2.128/25"), true);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].attrs.as_path, (std::vector<AsSegment>{AsSegment{2, {65001}}}));
  EXPECT_EQ(one[0].attrs.rule.pref6, kX1);
}

// ---- a randomized run against a naive model of best-path by peer address ----

TEST_F(RibTest, ManyPrefixesAgainstNaiveModel) {
  // Three iBGP peers whose routes differ only in LOCAL_PREF: the model picks
  // the highest LOCAL_PREF, then the lowest router ID (= peer id here).
  for (PeerId id = 1; id <= 3; ++id) {
    rib_.set_peer(id, ibgp(("i" + std::to_string(id)).c_str(), ("2001:db8::" + std::to_string(id)).c_str()));
    rib_.set_peer_router_id(id, id);
  }
  std::map<std::pair<uint32_t, PeerId>, uint32_t> model;  // (prefix index, peer) -> local_pref
  std::map<uint32_t, MrTarget> installed;
  uint32_t seed = 99;
  auto rnd = [&] { return seed = seed * 1664525u + 1013904223u, seed >> 8; };
  auto prefix_of = [](uint32_t i) { return net::Ipv4Prefix{net::Ipv4Addr{0x0A000000u | (i << 8)}, 24}; };
  const net::Ipv6Prefix xs[3] = {kX1, kX2, kX3};
  for (int step = 0; step < 20000; ++step) {
    const PeerId peer = 1 + rnd() % 3;
    const uint32_t i = rnd() % 500;
    Update u;
    if (rnd() % 3 == 0) {
      u.withdrawn.push_back(prefix_of(i));
      model.erase({i, peer});
    } else {
      const uint32_t lp = 100 + rnd() % 3;
      u.announced.push_back(prefix_of(i));
      u.attrs = attrs(xs[lp - 100], {});
      u.attrs.local_pref = lp;
      model[{i, peer}] = lp;
    }
    std::vector<MrChange> out;
    rib_.apply(peer, u, out);
    for (const auto& c : out) {
      const uint32_t k = (c.prefix.addr.value >> 8) & 0xffff;
      if (c.target) {
        EXPECT_NE(installed[k], *c.target) << "upsert without a change";
        installed[k] = *c.target;
      } else {
        EXPECT_TRUE(installed.count(k));
        installed.erase(k);
      }
    }
    // The model's installed target for i.
    std::optional<MrTarget> want;
    uint32_t best_lp = 0;
    for (PeerId p = 1; p <= 3; ++p) {
      auto it = model.find({i, p});
      if (it != model.end() && it->second > best_lp) best_lp = it->second, want = target(xs[it->second - 100]);
    }
    auto have = installed.find(i);
    ASSERT_EQ(have == installed.end() ? std::nullopt : std::optional<MrTarget>(have->second), want) << step;
  }
  std::size_t with_route = 0;
  for (uint32_t i = 0; i < 500; ++i) {
    for (PeerId p = 1; p <= 3; ++p) with_route += model.count({i, p});
  }
  EXPECT_EQ(rib_.route_count(), with_route);
  EXPECT_EQ(rib_.prefix_count(), installed.size());
}

// A peer controls every attribute it sends: attribute sets that differ only
// in a field the interning hash skipped (an unknown optional transitive
// attribute, kept as received; the link-local next hop) all landed in one
// hash chain, and each new route compared itself with every earlier set:
// quadratic. 20000 such routes took tens of seconds; linear, well under one.
TEST_F(RibTest, AttributeSetsDifferingOnlyInKeptUnknownAttributesInternInLinearTime) {
  Rib rib(cfg());
  rib.set_peer(1, ebgp("e1", 65001, "2001:db8::1"));
  std::vector<MrChange> out;
  constexpr uint32_t kN = 20000;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < kN; ++i) {
    PathAttrs a = attrs(kX1, {65001});
    a.other.push_back(RawAttr{0xC0, 200, {uint8_t(i >> 24), uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)}});
    if (i % 2) a.next_hop_link_local = net::Ipv6Addr::from_u128((net::u128{0xfe80} << 112) | i);
    Update u;
    u.announced.push_back(net::Ipv4Prefix{net::Ipv4Addr{0x0A000000u | (i << 8)}, 24});
    u.attrs = a;
    rib.apply(1, u, out);
  }
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(rib.prefix_count(), kN);
  EXPECT_LT(took, std::chrono::seconds(2)) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                                           << " ms for " << kN << " distinct attribute sets";
}

}  // namespace
}  // namespace edge46::bgp
