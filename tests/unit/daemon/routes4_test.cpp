// The IPv4 route source of the PE's local rules (src/daemon/routes4.h):
//  - parse_route4 on rtnetlink messages built here byte by byte with the
//    kernel's structs (nlmsghdr, rtmsg, rtattr, rtnexthop), one case per
//    filter rule, plus malformed ones;
//  - Route4Table's set semantics against a naive reference (a multiset of
//    routes, presence = count > 0);
//  - Routes4Source against a real kernel, in a network namespace of its own
//    (root only): routes added and removed with ip(8), the batches checked
//    by content.
#include "daemon/routes4.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

namespace edge46 {
namespace daemon {
// gtest prints changes as "+192.0.2.0/25" / "-192.0.2.0/25".
void PrintTo(const Prefix4Change& c, std::ostream* os) {
  *os << (c.add ? "+" : "-") << net::to_string(c.prefix);
}
}  // namespace daemon

namespace {

using daemon::Prefix4Change;
using daemon::Route4Event;
using daemon::Routes4Filter;

constexpr uint32_t kEth = 3, kEth2 = 4, kTun = 9;

// One route message, laid out as the kernel lays it out: nlmsghdr, rtmsg,
// then rtattrs each padded to 4 bytes (RTA_ALIGN).
struct Msg {
  std::vector<uint32_t> words = std::vector<uint32_t>(256);  // 4-byte aligned storage

  Msg(uint16_t type, uint8_t family, const char* dst, uint8_t len, uint8_t proto = RTPROT_STATIC) {
    auto* h = nlh();
    h->nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
    h->nlmsg_type = type;
    rtmsg* r = rtm();
    r->rtm_family = family;
    r->rtm_dst_len = len;
    r->rtm_table = RT_TABLE_MAIN;
    r->rtm_protocol = proto;
    r->rtm_scope = RT_SCOPE_UNIVERSE;
    r->rtm_type = RTN_UNICAST;
    if (dst != nullptr) {
      uint8_t a[16];
      EXPECT_EQ(inet_pton(family, dst, a), 1) << dst;
      attr(RTA_DST, a, family == AF_INET6 ? 16 : 4);
    }
  }
  char* bytes() { return reinterpret_cast<char*>(words.data()); }
  nlmsghdr* nlh() { return reinterpret_cast<nlmsghdr*>(words.data()); }
  const nlmsghdr* nlh() const { return reinterpret_cast<const nlmsghdr*>(words.data()); }
  rtmsg* rtm() { return static_cast<rtmsg*>(NLMSG_DATA(nlh())); }
  Msg& attr(uint16_t type, const void* data, std::size_t n) {
    auto* a = reinterpret_cast<rtattr*>(bytes() + NLMSG_ALIGN(nlh()->nlmsg_len));
    a->rta_type = type;
    a->rta_len = static_cast<unsigned short>(RTA_LENGTH(n));
    std::memcpy(RTA_DATA(a), data, n);
    nlh()->nlmsg_len = NLMSG_ALIGN(nlh()->nlmsg_len) + RTA_ALIGN(a->rta_len);
    return *this;
  }
  Msg& u32(uint16_t type, uint32_t v) { return attr(type, &v, 4); }
  Msg& oif(uint32_t i) { return u32(RTA_OIF, i); }
  Msg& table(uint32_t t) { return u32(RTA_TABLE, t); }
  Msg& gateway(const char* g) {
    in_addr a;
    EXPECT_EQ(inet_pton(AF_INET, g, &a), 1);
    return attr(RTA_GATEWAY, &a, 4);
  }
  Msg& multipath(std::vector<uint32_t> ifindexes) {
    std::vector<char> b;
    for (uint32_t i : ifindexes) {
      rtnexthop nh{};
      nh.rtnh_len = sizeof nh;
      nh.rtnh_ifindex = static_cast<int>(i);
      const auto* p = reinterpret_cast<const char*>(&nh);
      b.insert(b.end(), p, p + sizeof nh);
    }
    return attr(RTA_MULTIPATH, b.data(), b.size());
  }
  Msg& type(uint8_t t) {
    rtm()->rtm_type = t;
    return *this;
  }
  std::optional<Route4Event> parse(const Routes4Filter& f = {}, std::vector<uint32_t> excluded = {}) const {
    return daemon::parse_route4(nlh(), f, excluded);
  }
};

Msg route(const char* dst, uint8_t len, uint8_t proto = RTPROT_STATIC, uint16_t type = RTM_NEWROUTE) {
  return Msg(type, AF_INET, dst, len, proto);
}

net::Ipv4Prefix p4(const char* s) {
  auto p = net::parse_ipv4_prefix(s);
  EXPECT_TRUE(p) << s;
  return *p;
}

TEST(ParseRoute4, StaticRouteInTheMainTable) {
  auto e = route("192.0.2.0", 25).oif(kEth).u32(RTA_PRIORITY, 100).parse();
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->add);
  EXPECT_FALSE(e->replace);
  EXPECT_EQ(e->prefix, p4("192.0.2.0/25"));
  EXPECT_EQ(e->table, 254u);
  EXPECT_EQ(e->protocol, RTPROT_STATIC);
  EXPECT_EQ(e->oif, kEth);
  EXPECT_EQ(e->priority, 100u);
  auto d = route("192.0.2.0", 25, RTPROT_STATIC, RTM_DELROUTE).oif(kEth).parse();
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->add);
  EXPECT_EQ(d->prefix, p4("192.0.2.0/25"));
}

TEST(ParseRoute4, HostBitsMaskedGatewayAndReplace) {
  auto m = route("198.51.100.77", 24).oif(kEth).gateway("203.0.113.1");
  m.nlh()->nlmsg_flags = NLM_F_REPLACE;
  auto e = m.parse();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->prefix, p4("198.51.100.0/24"));
  EXPECT_EQ(e->gateway, 0xcb007101u);
  EXPECT_TRUE(e->replace);
  // A /32 keeps every bit.
  e = route("198.51.100.77", 32).oif(kEth).parse();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->prefix, p4("198.51.100.77/32"));
}

// A replacement the filter refuses still tells that the routes under its
// key are gone (the kernel sends no RTM_DELROUTE for them).
TEST(ParseRoute4, RefusedReplacementWithdrawsItsKey) {
  auto into_tun = route("192.0.2.0", 24).oif(kTun).u32(RTA_PRIORITY, 7);
  into_tun.nlh()->nlmsg_flags = NLM_F_REPLACE;
  auto e = into_tun.parse({}, {kTun});
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->add);
  EXPECT_TRUE(e->replace);
  EXPECT_EQ(e->prefix, p4("192.0.2.0/24"));
  EXPECT_EQ(e->priority, 7u);
  auto blackhole = route("192.0.2.0", 24).type(RTN_BLACKHOLE);
  blackhole.nlh()->nlmsg_flags = NLM_F_REPLACE;
  e = blackhole.parse();
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->add);
  Routes4Filter bird;
  bird.protocols = {RTPROT_BIRD};
  auto stat = route("192.0.2.0", 24, RTPROT_STATIC).oif(kEth);
  stat.nlh()->nlmsg_flags = NLM_F_REPLACE;
  e = stat.parse(bird);
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->add);
  // Without NLM_F_REPLACE a refused route is nothing at all.
  EXPECT_FALSE(route("192.0.2.0", 24).oif(kTun).parse({}, {kTun}));
  // Nor is a replacement in a table not followed, or of a refused prefix.
  auto t100 = route("192.0.2.0", 24).oif(kTun);
  t100.nlh()->nlmsg_flags = NLM_F_REPLACE;
  t100.rtm()->rtm_table = 100;
  EXPECT_FALSE(t100.parse({}, {kTun}));
  auto lo = route("127.0.0.0", 8).type(RTN_BLACKHOLE);
  lo.nlh()->nlmsg_flags = NLM_F_REPLACE;
  EXPECT_FALSE(lo.parse());
}

TEST(ParseRoute4, OtherFamiliesAndMessagesAreRefused) {
  EXPECT_FALSE(Msg(RTM_NEWROUTE, AF_INET6, "2001:db8::", 32).oif(kEth).parse());
  auto mpls = route("192.0.2.0", 24).oif(kEth);
  mpls.rtm()->rtm_family = AF_MPLS;
  EXPECT_FALSE(mpls.parse());
  auto link = route("192.0.2.0", 24).oif(kEth);
  link.nlh()->nlmsg_type = RTM_NEWLINK;
  EXPECT_FALSE(link.parse());
  auto get = route("192.0.2.0", 24).oif(kEth);
  get.nlh()->nlmsg_type = RTM_GETROUTE;
  EXPECT_FALSE(get.parse());
}

TEST(ParseRoute4, ClonedEntriesAreRefused) {
  auto m = route("192.0.2.1", 32).oif(kEth);
  m.rtm()->rtm_flags = RTM_F_CLONED;
  EXPECT_FALSE(m.parse());
}

TEST(ParseRoute4, OnlyUnicastRoutes) {
  for (uint8_t t : {RTN_LOCAL, RTN_BROADCAST, RTN_ANYCAST, RTN_MULTICAST, RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT,
                    RTN_THROW, RTN_NAT, RTN_UNSPEC}) {
    EXPECT_FALSE(route("192.0.2.0", 24).oif(kEth).type(t).parse()) << int(t);
  }
  EXPECT_TRUE(route("192.0.2.0", 24).oif(kEth).type(RTN_UNICAST).parse());
}

TEST(ParseRoute4, OnlyTheListedTables) {
  EXPECT_FALSE([] {
    auto m = route("192.0.2.0", 24).oif(kEth);
    m.rtm()->rtm_table = 100;
    return m.parse();
  }());
  EXPECT_FALSE([] {
    auto m = route("192.0.2.0", 24).oif(kEth);
    m.rtm()->rtm_table = RT_TABLE_LOCAL;
    return m.parse();
  }());
  Routes4Filter f;
  f.tables = {254, 100, 1000};
  auto t100 = route("192.0.2.0", 24).oif(kEth);
  t100.rtm()->rtm_table = 100;
  auto e = t100.parse(f);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->table, 100u);
  // Ids above 255 come in RTA_TABLE, rtm_table then says RT_TABLE_COMPAT.
  auto big = route("192.0.2.0", 24).oif(kEth).table(1000);
  big.rtm()->rtm_table = RT_TABLE_COMPAT;
  e = big.parse(f);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->table, 1000u);
  EXPECT_FALSE(big.parse());  // not in the default {254}
  // RTA_TABLE wins over rtm_table.
  auto other = route("192.0.2.0", 24).oif(kEth).table(2000);
  EXPECT_FALSE(other.parse(f));
}

TEST(ParseRoute4, Protocols) {
  Routes4Filter bird;
  bird.protocols = {RTPROT_BIRD, RTPROT_BGP};
  EXPECT_TRUE(route("192.0.2.0", 24, RTPROT_BIRD).oif(kEth).parse(bird));
  EXPECT_TRUE(route("192.0.2.0", 24, RTPROT_BGP).oif(kEth).parse(bird));
  EXPECT_FALSE(route("192.0.2.0", 24, RTPROT_STATIC).oif(kEth).parse(bird));
  EXPECT_FALSE(route("192.0.2.0", 24, RTPROT_BOOT).oif(kEth).parse(bird));
  // Connected subnets follow include_connected, whatever the list.
  EXPECT_TRUE(route("192.0.2.0", 24, RTPROT_KERNEL).oif(kEth).parse(bird));
  bird.include_connected = false;
  EXPECT_FALSE(route("192.0.2.0", 24, RTPROT_KERNEL).oif(kEth).parse(bird));
  // The empty list: any protocol but ICMP redirects.
  Routes4Filter all;
  for (int p : {RTPROT_UNSPEC, RTPROT_BOOT, RTPROT_STATIC, RTPROT_ZEBRA, RTPROT_DHCP, RTPROT_OSPF, 250}) {
    EXPECT_TRUE(route("192.0.2.0", 24, static_cast<uint8_t>(p)).oif(kEth).parse(all)) << int(p);
  }
  EXPECT_FALSE(route("192.0.2.0", 24, RTPROT_REDIRECT).oif(kEth).parse(all));
  EXPECT_TRUE(route("192.0.2.0", 24, RTPROT_KERNEL).oif(kEth).parse(all));
  all.include_connected = false;
  EXPECT_FALSE(route("192.0.2.0", 24, RTPROT_KERNEL).oif(kEth).parse(all));
}

TEST(ParseRoute4, ProtocolNames) {
  const std::map<std::string, int> expect = {{"kernel", 2}, {"boot", 3},   {"static", 4},  {"zebra", 11},
                                             {"bird", 12},  {"dhcp", 16},  {"bgp", 186},   {"isis", 187},
                                             {"ospf", 188}, {"rip", 189},  {"0", 0},       {"255", 255},
                                             {"42", 42},    {"babel", 42}, {"redirect", 1}};
  for (const auto& [name, v] : expect) {
    auto r = daemon::parse_route_protocol(name);
    ASSERT_TRUE(r) << name << ": " << r.error();
    EXPECT_EQ(*r, v) << name;
  }
  for (const char* bad : {"", "256", "-1", "Bird", "bird ", "12x", "0x0c"}) {
    auto r = daemon::parse_route_protocol(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().find("route protocol"), std::string::npos) << r.error();
  }
}

TEST(ParseRoute4, NeverTheDefaultRoute) {
  EXPECT_FALSE(route(nullptr, 0).oif(kEth).gateway("192.0.2.1").parse());
  EXPECT_FALSE(route("0.0.0.0", 0).oif(kEth).gateway("192.0.2.1").parse());
  EXPECT_FALSE(route("10.0.0.0", 0).oif(kEth).parse());  // any dst with length 0
  // Half-default routes (a VPN's 0/1 + 128/1) are ordinary prefixes.
  EXPECT_TRUE(route("0.0.0.0", 1).oif(kEth).parse());
  EXPECT_TRUE(route("128.0.0.0", 1).oif(kEth).parse());
}

TEST(ParseRoute4, LoopbackMulticastAndLinkLocalAreRefused) {
  for (auto [dst, len] : std::vector<std::pair<const char*, uint8_t>>{{"127.0.0.0", 8},
                                                                      {"127.0.0.1", 32},
                                                                      {"127.1.0.0", 16},
                                                                      {"224.0.0.0", 4},
                                                                      {"224.0.0.0", 24},
                                                                      {"239.255.255.250", 32},
                                                                      {"169.254.0.0", 16},
                                                                      {"169.254.1.0", 24}}) {
    EXPECT_FALSE(route(dst, len).oif(kEth).parse()) << dst << "/" << int(len);
  }
  // Neighbours and covering prefixes are not inside them.
  for (auto [dst, len] : std::vector<std::pair<const char*, uint8_t>>{{"126.0.0.0", 8},
                                                                      {"128.0.0.0", 8},
                                                                      {"223.255.255.0", 24},
                                                                      {"240.0.0.0", 4},
                                                                      {"169.0.0.0", 8},
                                                                      {"169.255.0.0", 16},
                                                                      {"192.0.0.0", 2}}) {
    EXPECT_TRUE(route(dst, len).oif(kEth).parse()) << dst << "/" << int(len);
  }
}

TEST(ParseRoute4, ExcludedPrefixesAndEverythingInside) {
  Routes4Filter f;
  f.exclude_prefixes = {p4("198.51.100.0/24"), p4("10.0.0.0/8")};
  EXPECT_FALSE(route("198.51.100.0", 24).oif(kEth).parse(f));
  EXPECT_FALSE(route("198.51.100.128", 25).oif(kEth).parse(f));
  EXPECT_FALSE(route("10.1.2.3", 32).oif(kEth).parse(f));
  EXPECT_TRUE(route("198.51.0.0", 16).oif(kEth).parse(f));  // covers it, is not inside
  EXPECT_TRUE(route("198.51.101.0", 24).oif(kEth).parse(f));
  EXPECT_TRUE(route("11.0.0.0", 8).oif(kEth).parse(f));
}

TEST(ParseRoute4, ExcludedDevices) {
  const std::vector<uint32_t> ex = {kTun};
  EXPECT_FALSE(route("192.0.2.0", 24).oif(kTun).parse({}, ex));
  EXPECT_TRUE(route("192.0.2.0", 24).oif(kEth).parse({}, ex));
  // Multipath: one next hop into the TUN is enough to refuse it.
  EXPECT_FALSE(route("192.0.2.0", 24).multipath({kEth, kTun}).parse({}, ex));
  auto e = route("192.0.2.0", 24).multipath({kEth, kEth2}).parse({}, ex);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->oif, 0u);
  EXPECT_NE(e->nexthops, 0u);
  auto other = route("192.0.2.0", 24).multipath({kEth, kEth + 10}).parse({}, ex);
  ASSERT_TRUE(other);
  EXPECT_NE(other->nexthops, e->nexthops);  // two multipath routes under one key stay apart
  // No device in the message (a nexthop object): not checked.
  EXPECT_TRUE(route("192.0.2.0", 24).u32(RTA_NH_ID, 5).parse({}, ex));
}

TEST(ParseRoute4, MalformedMessages) {
  // Shorter than nlmsghdr + rtmsg.
  auto short_hdr = route("192.0.2.0", 24).oif(kEth);
  short_hdr.nlh()->nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg)) - 4;
  EXPECT_FALSE(short_hdr.parse());
  // A length beyond 32.
  EXPECT_FALSE(route("192.0.2.0", 33).oif(kEth).parse());
  // A prefix without its destination.
  EXPECT_FALSE(route(nullptr, 24).oif(kEth).parse());
  // RTA_DST of the wrong size (an IPv6 address in an IPv4 route, 3 bytes).
  uint8_t a[16] = {192, 0, 2};
  EXPECT_FALSE(route(nullptr, 24).attr(RTA_DST, a, 16).oif(kEth).parse());
  EXPECT_FALSE(route(nullptr, 24).attr(RTA_DST, a, 3).oif(kEth).parse());
  // RTA_OIF of two bytes.
  uint16_t two = kTun;
  EXPECT_FALSE(route("192.0.2.0", 24).attr(RTA_OIF, &two, 2).parse({}, {kTun}));
  // An attribute cut short by nlmsg_len: the whole message goes, not just
  // the cut RTA_OIF (which would let a TUN route through).
  auto cut = route("192.0.2.0", 24).oif(kTun);
  cut.nlh()->nlmsg_len -= 4;
  EXPECT_FALSE(cut.parse({}, {kTun}));
  // An attribute whose rta_len runs past the message.
  auto runs_over = route("192.0.2.0", 24).oif(kEth);
  reinterpret_cast<rtattr*>(runs_over.bytes() + NLMSG_LENGTH(sizeof(rtmsg)))->rta_len = 200;
  EXPECT_FALSE(runs_over.parse());
  // nlmsg_len not a multiple of 4.
  auto odd = route("192.0.2.0", 24).oif(kEth);
  odd.nlh()->nlmsg_len += 1;
  EXPECT_FALSE(odd.parse());
  // A multipath next hop longer than the attribute: the route stays (the
  // walk stops), but the cut hop cannot be an excluded device.
  rtnexthop nh{};
  nh.rtnh_len = 64;
  nh.rtnh_ifindex = kTun;
  EXPECT_TRUE(route("192.0.2.0", 24).attr(RTA_MULTIPATH, &nh, sizeof nh).parse({}, {kEth}));
  // The well-formed base message passes (the cases above fail for their reason).
  EXPECT_TRUE(route("192.0.2.0", 24).oif(kEth).parse({}, {kTun}));
}

// --- the set semantics ------------------------------------------------------

Route4Event ev(bool add, const char* prefix, uint32_t table = 254, uint32_t oif = kEth, uint32_t metric = 0) {
  Route4Event e;
  e.add = add;
  e.prefix = p4(prefix);
  e.table = table;
  e.oif = oif;
  e.priority = metric;
  return e;
}

std::vector<Prefix4Change> changes(std::initializer_list<std::pair<bool, const char*>> l) {
  std::vector<Prefix4Change> v;
  for (auto [add, p] : l) {
    v.push_back({add, p4(p)});
  }
  return v;
}

TEST(Route4Table, AddedOnFirstRouteRemovedWithTheLast) {
  daemon::Route4Table t;
  t.apply(ev(true, "192.0.2.0/25"));
  EXPECT_EQ(t.take_changes(), changes({{true, "192.0.2.0/25"}}));
  t.apply(ev(true, "192.0.2.0/25", 100));            // another table
  t.apply(ev(true, "192.0.2.0/25", 254, kEth, 50));  // another metric
  t.apply(ev(true, "192.0.2.0/25", 254, kEth2));     // another device (ip route append)
  EXPECT_TRUE(t.take_changes().empty());
  EXPECT_EQ(t.routes(), 4u);
  EXPECT_EQ(t.size(), 1u);
  t.apply(ev(false, "192.0.2.0/25"));
  t.apply(ev(false, "192.0.2.0/25", 100));
  t.apply(ev(false, "192.0.2.0/25", 254, kEth, 50));
  EXPECT_TRUE(t.take_changes().empty());
  t.apply(ev(false, "192.0.2.0/25", 254, kEth2));
  EXPECT_EQ(t.take_changes(), changes({{false, "192.0.2.0/25"}}));
  EXPECT_EQ(t.routes(), 0u);
}

TEST(Route4Table, ReplayedNotificationsAreIdempotent) {
  daemon::Route4Table t;
  t.apply(ev(true, "192.0.2.0/25"));
  t.apply(ev(true, "192.0.2.0/25"));
  EXPECT_EQ(t.routes(), 1u);
  t.apply(ev(false, "192.0.2.0/25"));
  EXPECT_EQ(t.take_changes(), changes({}));  // added and removed within one batch
  t.apply(ev(false, "192.0.2.0/25"));        // unknown: nothing
  t.apply(ev(false, "198.51.100.0/24"));
  EXPECT_TRUE(t.take_changes().empty());
  EXPECT_EQ(t.size(), 0u);
}

TEST(Route4Table, BatchesAreNetAndSorted) {
  daemon::Route4Table t;
  t.apply(ev(true, "203.0.113.0/24"));
  t.apply(ev(true, "192.0.2.0/24"));
  t.apply(ev(true, "192.0.2.0/25"));
  EXPECT_EQ(t.take_changes(), changes({{true, "192.0.2.0/24"}, {true, "192.0.2.0/25"}, {true, "203.0.113.0/24"}}));
  // Removed then added again within a batch: no change.
  t.apply(ev(false, "203.0.113.0/24"));
  t.apply(ev(true, "203.0.113.0/24", 254, kEth2));
  t.apply(ev(false, "192.0.2.0/25"));
  EXPECT_EQ(t.take_changes(), changes({{false, "192.0.2.0/25"}}));
  EXPECT_EQ(t.prefixes(), (std::vector<net::Ipv4Prefix>{p4("192.0.2.0/24"), p4("203.0.113.0/24")}));
}

TEST(Route4Table, ReplaceTakesThePlaceOfTheRoutesUnderItsKey) {
  daemon::Route4Table t;
  t.apply(ev(true, "192.0.2.0/24", 254, kEth));
  t.apply(ev(true, "192.0.2.0/24", 254, kEth2));     // appended under the same key
  t.apply(ev(true, "192.0.2.0/24", 254, kEth, 10));  // another metric: another key
  auto r = ev(true, "192.0.2.0/24", 254, kTun + 1);
  r.replace = true;
  t.apply(r);
  EXPECT_EQ(t.routes(), 2u);
  t.apply(ev(false, "192.0.2.0/24", 254, kEth, 10));
  EXPECT_EQ(t.take_changes(), changes({{true, "192.0.2.0/24"}}));
  t.apply(ev(false, "192.0.2.0/24", 254, kTun + 1));
  EXPECT_EQ(t.take_changes(), changes({{false, "192.0.2.0/24"}}));
  // A withdrawal of the key (a refused replacement) takes every route under it.
  t.apply(ev(true, "192.0.2.0/24", 254, kEth));
  t.apply(ev(true, "192.0.2.0/24", 254, kEth2));
  (void)t.take_changes();
  auto w = ev(false, "192.0.2.0/24", 254, kTun);
  w.replace = true;
  t.apply(w);
  EXPECT_EQ(t.take_changes(), changes({{false, "192.0.2.0/24"}}));
  EXPECT_EQ(t.routes(), 0u);
  t.apply(w);  // replayed: nothing left to take
  EXPECT_TRUE(t.take_changes().empty());
  // A replace under an unknown key is an add.
  r.prefix = p4("198.51.100.0/24");
  t.apply(r);
  EXPECT_EQ(t.take_changes(), changes({{true, "198.51.100.0/24"}}));
}

TEST(Route4Table, ReplaceAllDeliversOnlyTheDifference) {
  daemon::Route4Table t;
  t.apply(ev(true, "192.0.2.0/24"));
  t.apply(ev(true, "198.51.100.0/24"));
  t.apply(ev(true, "203.0.113.0/24"));
  (void)t.take_changes();
  t.apply(ev(true, "10.0.0.0/8"));  // pending, and gone again in the dump
  daemon::Route4Table fresh;
  fresh.track_changes(false);                     // as a dump fills it
  fresh.apply(ev(true, "198.51.100.0/24", 100));  // same prefix, another route
  fresh.apply(ev(true, "203.0.113.0/24"));
  fresh.apply(ev(true, "203.0.113.0/25"));
  t.replace_all(std::move(fresh));
  EXPECT_EQ(t.take_changes(), changes({{false, "192.0.2.0/24"}, {true, "203.0.113.0/25"}}));
  // An untracked table hands out nothing itself.
  daemon::Route4Table quiet;
  quiet.track_changes(false);
  quiet.apply(ev(true, "192.0.2.0/24"));
  EXPECT_TRUE(quiet.take_changes().empty());
  EXPECT_EQ(quiet.size(), 1u);
  EXPECT_EQ(t.routes(), 3u);
  EXPECT_EQ(t.prefixes(),
            (std::vector<net::Ipv4Prefix>{p4("198.51.100.0/24"), p4("203.0.113.0/24"), p4("203.0.113.0/25")}));
}

TEST(Route4Table, UsesDevice) {
  daemon::Route4Table t;
  EXPECT_FALSE(t.uses_device(kEth));
  t.apply(ev(true, "192.0.2.0/24", 254, kEth));
  t.apply(ev(true, "192.0.2.0/24", 254, kEth2));
  EXPECT_TRUE(t.uses_device(kEth));
  EXPECT_TRUE(t.uses_device(kEth2));
  EXPECT_FALSE(t.uses_device(kTun));
  t.apply(ev(false, "192.0.2.0/24", 254, kEth));
  EXPECT_FALSE(t.uses_device(kEth));
  // A replace moves the key's routes to its device.
  auto r = ev(true, "192.0.2.0/24", 254, kTun);
  r.replace = true;
  t.apply(r);
  EXPECT_FALSE(t.uses_device(kEth2));
  EXPECT_TRUE(t.uses_device(kTun));
  // A route without a device (multipath) might use any.
  t.apply(ev(true, "198.51.100.0/24", 254, 0));
  EXPECT_TRUE(t.uses_device(kEth));
  daemon::Route4Table fresh;
  fresh.apply(ev(true, "203.0.113.0/24", 254, kEth2));
  t.replace_all(std::move(fresh));
  EXPECT_FALSE(t.uses_device(kEth));
  EXPECT_FALSE(t.uses_device(kTun));
  EXPECT_TRUE(t.uses_device(kEth2));
}

// Random events over a small universe against a naive model: the set of
// distinct routes (key + next hop); a prefix is present while one of its
// routes is. Each batch must be exactly the presence difference.
TEST(Route4Table, MatchesANaiveModel) {
  std::mt19937 rng(8);
  const char* prefixes[] = {"192.0.2.0/24", "192.0.2.0/25", "198.51.100.0/24", "203.0.113.7/32"};
  using R = std::tuple<int, uint32_t, uint32_t, uint32_t>;  // prefix index, table, metric, oif
  std::set<R> model;
  auto present = [&model] {
    std::set<int> s;
    for (const auto& r : model) {
      s.insert(std::get<0>(r));
    }
    return s;
  };
  daemon::Route4Table t;
  std::set<int> before;
  for (int step = 0; step < 20000; ++step) {
    const int pi = static_cast<int>(rng() % 4);
    const uint32_t table = rng() % 2 ? 254 : 100, metric = rng() % 2, oif = 1 + rng() % 2;
    const bool add = rng() % 2;
    t.apply(ev(add, prefixes[pi], table, oif, metric));
    if (add) {
      model.insert({pi, table, metric, oif});
    } else {
      model.erase({pi, table, metric, oif});
    }
    if (rng() % 5 == 0) {
      const auto after = present();
      std::vector<Prefix4Change> want;
      for (int i = 0; i < 4; ++i) {
        if (before.contains(i) != after.contains(i)) {
          want.push_back({after.contains(i), p4(prefixes[i])});
        }
      }
      std::sort(want.begin(), want.end(), [](const Prefix4Change& a, const Prefix4Change& b) {
        return std::pair(a.prefix.addr.value, a.prefix.len) < std::pair(b.prefix.addr.value, b.prefix.len);
      });
      ASSERT_EQ(t.take_changes(), want) << "step " << step;
      ASSERT_EQ(t.routes(), model.size());
      before = after;
    }
  }
}

// --- against the kernel -----------------------------------------------------

// The batches the source hands out, and a wait for a condition on all of
// them seen so far.
struct Collector {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::vector<Prefix4Change>> batches;

  daemon::Routes4Source::Callback callback() {
    return [this](std::span<const Prefix4Change> b) {
      EXPECT_FALSE(b.empty());
      std::lock_guard lock(mu);
      batches.emplace_back(b.begin(), b.end());
      cv.notify_all();
    };
  }
  // Every change since the last take, once `done` holds on them (or after
  // 10 s: then what came, for the assertion to show).
  std::vector<Prefix4Change> take_until(const std::function<bool(const std::vector<Prefix4Change>&)>& done) {
    std::unique_lock lock(mu);
    std::vector<Prefix4Change> all;
    cv.wait_for(lock, std::chrono::seconds(10), [&] {
      all.clear();
      for (const auto& b : batches) {
        all.insert(all.end(), b.begin(), b.end());
      }
      return done(all);
    });
    batches.clear();
    // Sorted like a batch: the scenario below never changes one prefix
    // twice between two takes, so the order across batches says nothing.
    std::sort(all.begin(), all.end(), [](const Prefix4Change& a, const Prefix4Change& b) {
      return std::pair(a.prefix.addr.value, a.prefix.len) < std::pair(b.prefix.addr.value, b.prefix.len);
    });
    return all;
  }
  std::vector<Prefix4Change> take_until_has(const Prefix4Change& c) {
    return take_until([c](const auto& all) { return std::find(all.begin(), all.end(), c) != all.end(); });
  }
};

void sh(const std::string& cmd) {
  ASSERT_EQ(std::system((cmd + " 2>&1").c_str()), 0) << cmd;
}

// Runs in a thread of its own that leaves for a fresh network namespace:
// the source's thread and the ip(8) children inherit it, the rest of the
// test process stays where it was.
void kernel_scenario() {
  ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
  // This kernel has no dummy links: a veth pair, and a TUN as the excluded
  // device (the daemon's own).
  sh("ip link add name veth0 type veth peer name veth0p && ip link set veth0 up");
  sh("ip tuntap add dev tun-ex mode tun && ip link set tun-ex up");
  sh("ip addr add 198.51.100.1/24 dev veth0");  // a connected route, proto kernel
  sh("ip route add 203.0.113.0/24 dev veth0 proto static");
  sh("ip route add 198.18.0.0/15 dev tun-ex proto static");  // into the excluded device
  sh("ip route add default via 198.51.100.254");             // never a block
  sh("ip route add blackhole 203.0.113.128/25");
  sh("ip route add 192.0.2.64/26 dev veth0 table 200");  // a table not followed

  Routes4Filter f;
  f.tables = {254, 100};
  f.exclude_devices = {"tun-ex", "late0"};
  f.exclude_prefixes = {p4("10.0.0.0/8")};
  Collector c;
  daemon::Routes4Source src;
  auto started = src.start(f, c.callback());
  ASSERT_TRUE(started) << started.error();
  // The first batch came in start(): the dump.
  EXPECT_EQ(c.take_until([](const auto&) { return true; }),
            changes({{true, "198.51.100.0/24"}, {true, "203.0.113.0/24"}}));
  EXPECT_EQ(src.snapshot(), (std::vector<net::Ipv4Prefix>{p4("198.51.100.0/24"), p4("203.0.113.0/24")}));

  sh("ip route add 192.0.2.0/25 dev veth0 proto static");
  EXPECT_EQ(c.take_until_has({true, p4("192.0.2.0/25")}), changes({{true, "192.0.2.0/25"}}));

  // The same prefix in another followed table: no change. Each step that
  // must change nothing is followed by a marker route, and the changes up to
  // the marker must be the marker alone.
  sh("ip route add 192.0.2.0/25 dev veth0 table 100 proto bird");
  sh("ip route add 10.1.0.0/16 dev veth0 proto static");     // excluded prefix
  sh("ip route add 192.0.2.64/26 dev tun-ex proto static");  // excluded device
  sh("ip route add 192.0.2.96/27 dev veth0 table 200");      // table not followed
  sh("ip route add 192.0.2.128/25 dev veth0 proto bird");    // the marker
  EXPECT_EQ(c.take_until_has({true, p4("192.0.2.128/25")}), changes({{true, "192.0.2.128/25"}}));

  // Removing one of the two routes of 192.0.2.0/25: still there.
  sh("ip route del 192.0.2.0/25 table main");
  sh("ip route add 192.0.2.4/32 dev veth0 proto static");  // marker
  EXPECT_EQ(c.take_until_has({true, p4("192.0.2.4/32")}), changes({{true, "192.0.2.4/32"}}));
  sh("ip route del 192.0.2.0/25 table 100");
  EXPECT_EQ(c.take_until_has({false, p4("192.0.2.0/25")}), changes({{false, "192.0.2.0/25"}}));

  // A replace moves a route into the excluded device: the prefix goes.
  sh("ip route replace 192.0.2.4/32 dev tun-ex proto static");  // now out of the excluded device
  sh("ip route add 192.0.2.5/32 dev veth0 proto static");       // marker
  auto moved = c.take_until_has({true, p4("192.0.2.5/32")});
  // The kernel announces the replacement only; the route out of tun-ex is
  // refused, and the old one went with NLM_F_REPLACE.
  EXPECT_EQ(moved, changes({{false, "192.0.2.4/32"}, {true, "192.0.2.5/32"}}));

  // Removing a device's last address takes its routes, and the kernel
  // announces only some of the deletions: the route through a gateway goes
  // silently (fib_disable_ip). The address event brings a fresh dump.
  sh("ip link add name veth1 type veth peer name veth1p && ip link set veth1 up");
  sh("ip addr add 198.18.5.1/24 dev veth1");
  sh("ip route add 192.0.2.16/28 via 198.18.5.2 proto static");
  EXPECT_EQ(c.take_until_has({true, p4("192.0.2.16/28")}), changes({{true, "192.0.2.16/28"}, {true, "198.18.5.0/24"}}));
  uint64_t dumps = src.dumps();
  sh("ip addr del 198.18.5.1/24 dev veth1");
  EXPECT_EQ(c.take_until([](const auto& all) { return all.size() >= 2; }),
            changes({{false, "192.0.2.16/28"}, {false, "198.18.5.0/24"}}));
  EXPECT_GT(src.dumps(), dumps);

  // A device set down loses its routes silently too.
  sh("ip addr add 198.18.5.1/24 dev veth1 && ip route add 192.0.2.16/28 via 198.18.5.2 proto static");
  EXPECT_EQ(c.take_until_has({true, p4("192.0.2.16/28")}), changes({{true, "192.0.2.16/28"}, {true, "198.18.5.0/24"}}));
  dumps = src.dumps();
  sh("ip link set veth1 down");
  EXPECT_EQ(c.take_until([](const auto& all) { return all.size() >= 2; }),
            changes({{false, "192.0.2.16/28"}, {false, "198.18.5.0/24"}}));
  EXPECT_GT(src.dumps(), dumps);

  // Link events of devices without followed routes cost no dump.
  dumps = src.dumps();
  sh("ip link add name veth2 type veth peer name veth2p && ip link set veth2 up && ip link set veth2 down");
  sh("ip link del veth2");
  sh("ip route add 192.0.2.6/32 dev veth0 proto static");  // marker
  EXPECT_EQ(c.take_until_has({true, p4("192.0.2.6/32")}), changes({{true, "192.0.2.6/32"}}));
  EXPECT_EQ(src.dumps(), dumps);

  // A device created under an excluded name: its routes are not blocks,
  // whether they were read before or after the name was resolved again.
  sh("ip link add name late0 type veth peer name late0p && ip link set late0 up");
  sh("ip route add 192.0.2.7/32 dev late0 proto static");
  sh("ip route add 192.0.2.8/32 dev veth0 proto static");  // marker
  EXPECT_EQ(c.take_until_has({true, p4("192.0.2.8/32")}), changes({{true, "192.0.2.8/32"}}));
  EXPECT_GT(src.dumps(), dumps);

  // Deleting the device takes its routes without an RTM_DELROUTE for each:
  // the link event brings a fresh dump, and the difference.
  sh("ip link del veth0");
  auto gone = c.take_until([](const auto& all) { return all.size() >= 6; });
  EXPECT_EQ(gone, changes({{false, "192.0.2.5/32"},
                           {false, "192.0.2.6/32"},
                           {false, "192.0.2.8/32"},
                           {false, "192.0.2.128/25"},
                           {false, "198.51.100.0/24"},
                           {false, "203.0.113.0/24"}}));
  EXPECT_TRUE(src.snapshot().empty());
  EXPECT_NE(src.status().find("on (0 IPv4 blocks from 0 routes)"), std::string::npos) << src.status();
  src.stop();
  EXPECT_EQ(src.status(), "off");
  sh("ip link del tun-ex");  // a persistent TUN: not left to the namespace's end
}

TEST(Routes4Source, FollowsTheKernelInANamespace) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root for a network namespace";
  }
  std::thread t(kernel_scenario);
  t.join();
}

// The callback holds the source's thread while 50000 routes arrive: the
// notifications overflow the socket (ENOBUFS), and the fresh dump that
// follows still brings every route.
TEST(Routes4Source, RecoversFromAnOverrun) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root for a network namespace";
  }
  std::thread t([] {
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    sh("ip link add name veth0 type veth peer name veth0p && ip link set veth0 up");
    constexpr int kRoutes = 50000;
    char path[] = "/tmp/routes4_test_XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    {
      std::string batch;
      for (int i = 0; i < kRoutes; ++i) {  // 198.18.0.0/15 (RFC 2544), /32s
        batch += "route add 198." + std::to_string(18 + (i >> 16)) + "." + std::to_string((i >> 8) & 255) + "." +
                 std::to_string(i & 255) + "/32 dev veth0 proto static\n";
      }
      ASSERT_EQ(::write(fd, batch.data(), batch.size()), static_cast<ssize_t>(batch.size()));
      ::close(fd);
    }
    std::mutex mu;
    std::condition_variable cv;
    bool held = true;
    std::set<std::pair<uint32_t, uint8_t>> present;
    daemon::Routes4Source src;
    auto started = src.start({}, [&](std::span<const Prefix4Change> b) {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return !held; });
      for (const auto& c : b) {
        if (c.add) {
          EXPECT_TRUE(present.insert({c.prefix.addr.value, c.prefix.len}).second);
        } else {
          EXPECT_EQ(present.erase({c.prefix.addr.value, c.prefix.len}), 1u);
        }
      }
      cv.notify_all();
    });
    ASSERT_TRUE(started) << started.error();
    const uint64_t dumps = src.dumps();
    sh("ip route add 192.0.2.0/24 dev veth0 proto static");  // the batch that holds the thread
    sh(std::string("ip -batch ") + path);
    ::unlink(path);
    {
      std::unique_lock lock(mu);
      held = false;
      cv.notify_all();
      cv.wait_for(lock, std::chrono::seconds(30), [&] { return present.size() == kRoutes + 1; });
      EXPECT_EQ(present.size(), static_cast<std::size_t>(kRoutes + 1));
    }
    EXPECT_GT(src.dumps(), dumps) << "no overrun: the socket buffer took " << kRoutes << " notifications";
    EXPECT_EQ(src.snapshot().size(), static_cast<std::size_t>(kRoutes + 1));
    src.stop();
  });
  t.join();
}

TEST(Routes4Source, StartTwiceIsAnError) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root for a network namespace";
  }
  std::thread t([] {
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0);
    daemon::Routes4Source src;
    ASSERT_TRUE(src.start({}, {}));
    auto again = src.start({}, {});
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().find("already started"), std::string::npos);
    EXPECT_TRUE(src.snapshot().empty());
  });
  t.join();
}

}  // namespace
}  // namespace edge46
