// The route mirror (src/daemon/tun_routes.h) on crafted rtnetlink messages:
// which IPv6 routes count as "into the TUN", the lookup table built from
// them answers as the kernel's longest-prefix match in its main table, and
// a route dump that fails half-way yields no partial set.
#include "daemon/tun_routes.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

namespace edge46 {
namespace {

constexpr int kTun = 7, kOther = 3;

// One RTM_NEWROUTE/RTM_DELROUTE message, built field by field.
struct Msg {
  // Copyable: the header and the rtmsg are found in buf, not remembered.
  std::vector<char> buf = std::vector<char>(MNL_SOCKET_BUFFER_SIZE);

  Msg(uint16_t type, uint8_t family, const char* dst, uint8_t len) {
    nlmsghdr* h = mnl_nlmsg_put_header(buf.data());
    h->nlmsg_type = type;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(rtmsg)));
    rtm->rtm_family = family;
    rtm->rtm_dst_len = len;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_type = RTN_UNICAST;
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_scope = RT_SCOPE_LINK;
    if (dst != nullptr) {
      uint8_t a[16];
      EXPECT_EQ(inet_pton(family, dst, a), 1) << dst;
      mnl_attr_put(h, RTA_DST, family == AF_INET6 ? 16 : 4, a);
    }
  }
  nlmsghdr* nlh() { return reinterpret_cast<nlmsghdr*>(buf.data()); }
  const nlmsghdr* nlh() const { return reinterpret_cast<const nlmsghdr*>(buf.data()); }
  rtmsg* rtm() { return static_cast<rtmsg*>(mnl_nlmsg_get_payload(nlh())); }
  Msg& oif(uint32_t i) {
    mnl_attr_put_u32(nlh(), RTA_OIF, i);
    return *this;
  }
  Msg& u32(uint16_t attr, uint32_t v) {
    mnl_attr_put_u32(nlh(), attr, v);
    return *this;
  }
  std::optional<daemon::RouteEvent> parse() const { return daemon::parse_route_message(nlh(), kTun); }
};

Msg route6(const char* dst, uint8_t len, uint16_t type = RTM_NEWROUTE) {
  return Msg(type, AF_INET6, dst, len);
}
Msg route4(const char* dst, uint8_t len, uint16_t type = RTM_NEWROUTE) {
  return Msg(type, AF_INET, dst, len);
}

net::u128 v6(const char* s) {
  return net::parse_ipv6(s)->to_u128();
}

TEST(RouteMessage, Ipv6RouteIntoTheTun) {
  auto e = route6("64:ff9b::", 96).oif(kTun).u32(RTA_PRIORITY, 1024).parse();
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->add);
  EXPECT_TRUE(e->prefix == v6("64:ff9b::"));
  EXPECT_EQ(e->len, 96);
  EXPECT_EQ(e->priority, 1024u);
  EXPECT_TRUE(e->into_tun);
}

TEST(RouteMessage, RouteElsewhereAndDeletion) {
  auto e = route6("2001:db8::", 32).oif(kOther).parse();
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->prefix == v6("2001:db8::"));
  EXPECT_FALSE(e->into_tun);
  e = route6("2001:db8::", 32, RTM_DELROUTE).oif(kTun).parse();
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->add);
  EXPECT_TRUE(e->into_tun);
}

// The loop guard checks only outputs that leave as IPv6: IPv4 routes are not
// mirrored (a full IPv4 table is about a million routes).
TEST(RouteMessage, Ipv4RoutesAreNotMirrored) {
  EXPECT_FALSE(route4("198.51.100.0", 24).oif(kTun).parse());
  EXPECT_FALSE(route4(nullptr, 0).oif(kOther).parse());
  EXPECT_FALSE(route4("198.51.100.0", 24, RTM_DELROUTE).oif(kTun).parse());
}

TEST(RouteMessage, HostBitsAreMaskedAndDefaultRouteHasNoDst) {
  auto e = route6("64:ff9b::c633:6407", 96).oif(kTun).parse();
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->prefix == v6("64:ff9b::"));
  e = route6(nullptr, 0).oif(kTun).parse();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->len, 0);
  EXPECT_TRUE(e->prefix == 0);
  // A non-zero length without RTA_DST is malformed.
  EXPECT_FALSE(route6(nullptr, 64).oif(kTun).parse());
}

TEST(RouteMessage, OnlyTheMainTable) {
  auto local = route6("64:ff9b::", 96).oif(kTun);
  local.rtm()->rtm_table = RT_TABLE_LOCAL;
  EXPECT_FALSE(local.parse());
  // Table ids above 255 are in RTA_TABLE; rtm_table then says RT_TABLE_COMPAT.
  auto big = route6("64:ff9b::", 96).oif(kTun).u32(RTA_TABLE, 1000);
  big.rtm()->rtm_table = RT_TABLE_COMPAT;
  EXPECT_FALSE(big.parse());
  auto main = route6("64:ff9b::", 96).oif(kTun).u32(RTA_TABLE, RT_TABLE_MAIN);
  main.rtm()->rtm_table = RT_TABLE_COMPAT;
  EXPECT_TRUE(main.parse());
}

TEST(RouteMessage, RouteTypes) {
  auto cloned = route6("64:ff9b::1", 128).oif(kTun);
  cloned.rtm()->rtm_flags = RTM_F_CLONED;
  EXPECT_FALSE(cloned.parse());
  auto local = route6("64:ff9b::c633:6401", 128).oif(kTun);
  local.rtm()->rtm_type = RTN_LOCAL;
  EXPECT_FALSE(local.parse());
  // A blackhole wins over a shorter TUN route: kept, not into the TUN.
  auto bh = route6("64:ff9b::c633:6407", 128);
  bh.rtm()->rtm_type = RTN_BLACKHOLE;
  auto e = bh.parse();
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->into_tun);
  // Even if it names the device.
  auto un = route6("64:ff9b::c633:6407", 128).oif(kTun);
  un.rtm()->rtm_type = RTN_UNREACHABLE;
  ASSERT_TRUE(un.parse());
  EXPECT_FALSE(un.parse()->into_tun);
}

TEST(RouteMessage, MultipathNextHopIntoTheTun) {
  for (int second : {kTun, kOther}) {
    auto m = route6("2001:db8::", 32);
    nlattr* mp = mnl_attr_nest_start(m.nlh(), RTA_MULTIPATH);
    for (int ifindex : {kOther, second}) {
      auto* nh = static_cast<rtnexthop*>(mnl_nlmsg_get_payload_tail(m.nlh()));
      m.nlh()->nlmsg_len += MNL_ALIGN(sizeof(rtnexthop));
      nh->rtnh_len = sizeof(rtnexthop);
      nh->rtnh_ifindex = ifindex;
    }
    mnl_attr_nest_end(m.nlh(), mp);
    auto e = m.parse();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->into_tun, second == kTun);
  }
}

TEST(RouteMessage, MalformedAndOtherMessagesAreIgnored) {
  auto wrong_len = route6(nullptr, 24).oif(kTun);
  uint8_t a[4] = {};
  mnl_attr_put(wrong_len.nlh(), RTA_DST, 4, a);  // IPv4-sized RTA_DST in an IPv6 route
  EXPECT_FALSE(wrong_len.parse());
  EXPECT_FALSE(route6("64:ff9b::", 129).oif(kTun).parse());
  auto truncated = route6("64:ff9b::", 96).oif(kTun);
  truncated.nlh()->nlmsg_len = static_cast<uint32_t>(mnl_nlmsg_size(sizeof(rtmsg)) - 4);
  EXPECT_FALSE(truncated.parse());
  auto link = route6("64:ff9b::", 96).oif(kTun);
  link.nlh()->nlmsg_type = RTM_NEWLINK;
  EXPECT_FALSE(link.parse());
  auto mpls = route6("64:ff9b::", 96).oif(kTun);
  mpls.rtm()->rtm_family = AF_MPLS;
  EXPECT_FALSE(mpls.parse());
}

void apply(daemon::RouteSet& s, Msg m) {
  auto e = m.parse();
  ASSERT_TRUE(e);
  s.apply(*e);
}

bool into6(const pipeline::TunRoutes& t, const char* a) {
  return t.into_tun(*net::parse_ipv6(a));
}

TEST(RouteSet, LongestMatchAsTheKernel) {
  daemon::RouteSet s;
  apply(s, route6("64:ff9b::", 96).oif(kTun));
  apply(s, route6(nullptr, 0).oif(kOther));                 // default route elsewhere
  apply(s, route6("2001:db8::", 32).oif(kOther));           // elsewhere, outside the TUN route
  apply(s, route6("64:ff9b::c633:6400", 120).oif(kOther));  // elsewhere, inside
  apply(s, route6("64:ff9b::c633:6407", 128).oif(kTun));    // back into the TUN, inside that
  auto t = s.build();
  EXPECT_TRUE(into6(*t, "64:ff9b::c000:202"));
  EXPECT_FALSE(into6(*t, "64:ff9b::c633:6408"));
  EXPECT_TRUE(into6(*t, "64:ff9b::c633:6407"));
  EXPECT_FALSE(into6(*t, "2001:db8::1"));
  EXPECT_FALSE(into6(*t, "2001:db9::1"));
  // Routes elsewhere outside every TUN route are left out of the table.
  EXPECT_EQ(t->v6.size(), 3u);
  EXPECT_EQ(daemon::routes_into_tun(*t), 2u);

  apply(s, route6("64:ff9b::", 96, RTM_DELROUTE).oif(kTun));
  t = s.build();
  EXPECT_FALSE(into6(*t, "64:ff9b::c000:202"));
  EXPECT_TRUE(into6(*t, "64:ff9b::c633:6407"));
  EXPECT_EQ(daemon::routes_into_tun(*t), 1u);
}

// Same prefix, two metrics: the kernel uses the lowest.
TEST(RouteSet, LowestMetricWins) {
  daemon::RouteSet s;
  apply(s, route6("64:ff9b::", 96).oif(kOther).u32(RTA_PRIORITY, 200));
  apply(s, route6("64:ff9b::", 96).oif(kTun).u32(RTA_PRIORITY, 100));
  EXPECT_TRUE(into6(*s.build(), "64:ff9b::1"));
  apply(s, route6("64:ff9b::", 96, RTM_DELROUTE).oif(kTun).u32(RTA_PRIORITY, 100));
  EXPECT_FALSE(into6(*s.build(), "64:ff9b::1"));
  EXPECT_EQ(s.size(), 1u);
  // A replayed notification is idempotent.
  apply(s, route6("64:ff9b::", 96, RTM_DELROUTE).oif(kTun).u32(RTA_PRIORITY, 100));
  apply(s, route6("64:ff9b::", 96).oif(kOther).u32(RTA_PRIORITY, 200));
  EXPECT_EQ(s.size(), 1u);
}

// A dump answer as the kernel sends it: route messages with NLM_F_MULTI and
// the request's sequence number, spread over several receives, ended by
// NLMSG_DONE. recv() hands out one buffer per call, then fails with
// fail_errno (or returns 0 for 0).
struct DumpAnswer {
  static constexpr uint32_t kSeq = 5;
  std::deque<std::vector<char>> chunks;
  int fail_errno = ENOBUFS;

  DumpAnswer& chunk(std::vector<Msg> msgs, bool done = false) {
    std::vector<char> c;
    auto put = [&c](const nlmsghdr* h) {
      const auto* p = reinterpret_cast<const char*>(h);
      c.insert(c.end(), p, p + h->nlmsg_len);
      c.resize(MNL_ALIGN(c.size()));
    };
    for (auto& m : msgs) {
      m.nlh()->nlmsg_seq = kSeq;
      m.nlh()->nlmsg_flags = NLM_F_MULTI;
      put(m.nlh());
    }
    if (done) {
      std::vector<char> b(MNL_SOCKET_BUFFER_SIZE);
      nlmsghdr* h = mnl_nlmsg_put_header(b.data());
      h->nlmsg_type = NLMSG_DONE;
      h->nlmsg_flags = NLM_F_MULTI;
      h->nlmsg_seq = kSeq;
      int zero = 0;
      mnl_nlmsg_put_extra_header(h, sizeof zero);
      put(h);
    }
    chunks.push_back(std::move(c));
    return *this;
  }
  daemon::DumpRecv recv() {
    return [this](char* buf, std::size_t size) -> ssize_t {
      if (chunks.empty()) {
        if (fail_errno == 0) {
          return 0;
        }
        errno = fail_errno;
        return -1;
      }
      auto c = std::move(chunks.front());
      chunks.pop_front();
      EXPECT_LE(c.size(), size);
      std::memcpy(buf, c.data(), c.size());
      return static_cast<ssize_t>(c.size());
    };
  }
  tl::expected<daemon::RouteSet, std::string> read() { return daemon::read_route_dump(recv(), kSeq, 0, kTun); }
};

TEST(ReadRouteDump, CompleteAnswer) {
  DumpAnswer d;
  d.chunk({route6("64:ff9b::", 96).oif(kTun), route6(nullptr, 0).oif(kOther)})
      .chunk({route6("64:ff9b::c633:6400", 120).oif(kOther), route4("198.51.100.0", 24).oif(kTun)}, true);
  auto s = d.read();
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->size(), 3u);  // the IPv4 route is not mirrored
  auto t = s->build();
  EXPECT_TRUE(into6(*t, "64:ff9b::c000:202"));
  EXPECT_FALSE(into6(*t, "64:ff9b::c633:6401"));
}

// The reviewer's case: a refresh whose dump breaks off half-way (here after
// its first chunk) must not hand back the routes received so far; the
// mirror then keeps its last known set.
TEST(ReadRouteDump, BrokenAnswerIsAnErrorNotAPartialSet) {
  DumpAnswer receive_error;
  receive_error.chunk({route6("64:ff9b::", 96).oif(kTun)});
  auto s = receive_error.read();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find(std::strerror(ENOBUFS)), std::string::npos) << s.error();

  DumpAnswer eof;
  eof.fail_errno = 0;
  eof.chunk({route6("64:ff9b::", 96).oif(kTun)});
  EXPECT_FALSE(eof.read());

  // The kernel answers NLMSG_ERROR (here EBUSY) in the middle of the dump.
  DumpAnswer kernel_error;
  kernel_error.chunk({route6("64:ff9b::", 96).oif(kTun)});
  std::vector<char> b(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* h = mnl_nlmsg_put_header(b.data());
  h->nlmsg_type = NLMSG_ERROR;
  h->nlmsg_seq = DumpAnswer::kSeq;
  auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_put_extra_header(h, sizeof(nlmsgerr)));
  err->error = -EBUSY;
  kernel_error.chunks.emplace_back(b.data(), b.data() + h->nlmsg_len);
  auto k = kernel_error.read();
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().find(std::strerror(EBUSY)), std::string::npos) << k.error();
}

}  // namespace
}  // namespace edge46
