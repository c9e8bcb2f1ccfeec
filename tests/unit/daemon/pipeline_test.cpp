// Role compositions (src/pipeline): counters per verdict and the SIIT-DC
// Edge Relay security rules of RFC 7756 section 6.
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "../net/packet_builder.h"
#include "config/loader.h"

namespace edge46 {
namespace {

using test::a4;
using test::a6;
using test::Bytes;

// ER A of RFC 7756 Figure 5: {192.0.2.1, 2001:db8:a::}, pool6 64:ff9b::/96.
config::Settings er_settings(bool ingress_filter, bool drop_own = true) {
  std::string toml = R"(
[daemon]
role = "siit-dc-er"
[translator]
pool6 = "64:ff9b::/96"
[[eamt]]
ipv6 = "2001:db8:a::/128"
ipv4 = "192.0.2.1/32"
[siit-dc]
ingress-filter = )" + std::string(ingress_filter ? "true" : "false") +
                     "\ndrop-own-service-sources = " + (drop_own ? "true" : "false") + "\n";
  auto s = config::load_string(toml, "er.toml");
  EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
  return *s;
}

pipeline::RoleConfig role_of(const config::Settings& s) {
  return {*pipeline::parse_role(s.daemon.role), s.siit_dc.ingress_filter, s.siit_dc.drop_own_service_sources};
}

Bytes udp4(const char* src, const char* dst) {
  uint8_t data[4] = {1, 2, 3, 4};
  test::Ip4 h;
  h.src = a4(src);
  h.dst = a4(dst);
  h.proto = test::kUdp;
  return test::v4_packet(h, test::udp(1000, 2000, data));
}

Bytes udp6(const char* src, const char* dst) {
  uint8_t data[4] = {1, 2, 3, 4};
  test::Ip6 h;
  h.src = a6(src);
  h.dst = a6(dst);
  h.next = test::kUdp;
  return test::v6_packet(h, test::udp(1000, 2000, data));
}

struct Fixture : ::testing::Test {
  std::unique_ptr<xlat::Output> out = std::make_unique<xlat::Output>();
  pipeline::CounterSet counters{1};
  pipeline::Counters& c = counters.worker(0);
  std::unique_ptr<pipeline::WorkerContext> ctx = std::make_unique<pipeline::WorkerContext>();
  uint64_t get(const char* name) { return counters.totals().get(name); }
};

using Pipeline = Fixture;

TEST_F(Pipeline, RoleNames) {
  EXPECT_EQ(pipeline::parse_role("siit"), pipeline::Role::kSiit);
  EXPECT_EQ(pipeline::parse_role("siit-dc-br"), pipeline::Role::kSiitDcBr);
  EXPECT_EQ(pipeline::parse_role("siit-dc-er"), pipeline::Role::kSiitDcEr);
  EXPECT_FALSE(pipeline::parse_role("nat64"));
  EXPECT_EQ(pipeline::role_name(pipeline::Role::kSiitDcEr), "siit-dc-er");
}

TEST_F(Pipeline, SiitTranslatesAndCounts) {
  auto s = er_settings(false);
  pipeline::RoleConfig siit{};  // plain SIIT: no ER rules
  auto in = udp4("192.0.2.1", "198.51.100.7");
  auto r = pipeline::process(s.xlat, siit, in, *out, c, *ctx);
  ASSERT_TRUE(r.emitted());
  ASSERT_EQ(out->count, 1u);
  EXPECT_EQ(out->packets[0].family, xlat::Family::kV6);
  auto p = out->packet(0);
  EXPECT_EQ(test::str6(p, 8), "2001:db8:a::");
  EXPECT_EQ(test::str6(p, 24), "64:ff9b::c633:6407");
  EXPECT_EQ(get("packets_in.ipv4"), 1u);
  EXPECT_EQ(get("packets_out.ipv6"), 1u);
  EXPECT_EQ(get("bytes_in.ipv4"), in.size());
  EXPECT_EQ(get("bytes_out.ipv6"), in.size() + 20);
  EXPECT_EQ(get("translated"), 1u);
}

TEST_F(Pipeline, CoreDropIsCountedByName) {
  auto s = er_settings(false);
  pipeline::RoleConfig siit{};
  auto in = udp4("192.0.2.1", "198.51.100.7");
  in[10] ^= 0xff;  // break the IPv4 header checksum
  auto r = pipeline::process(s.xlat, siit, in, *out, c, *ctx);
  EXPECT_FALSE(r.emitted());
  EXPECT_EQ(r.verdict.reason, core::Drop::kBadIpv4Checksum);
  EXPECT_EQ(get("drop.bad_ipv4_checksum"), 1u);
  EXPECT_EQ(get("translated"), 0u);
}

TEST_F(Pipeline, NotIpIsCounted) {
  auto s = er_settings(false);
  Bytes junk = {0x50, 1, 2, 3};
  auto r = pipeline::process(s.xlat, role_of(s), junk, *out, c, *ctx);
  EXPECT_EQ(r.pipeline_drop, pipeline::PipelineDrop::kNotIp);
  EXPECT_EQ(get("drop.not_ip"), 1u);
  EXPECT_EQ(pipeline::process(s.xlat, role_of(s), Bytes{}, *out, c, *ctx).pipeline_drop,
            pipeline::PipelineDrop::kNotIp);
}

// RFC 7756 6, first paragraph: an IPv4 source without an EAM would leave the
// BR spoofed; with ingress filtering the ER drops it.
TEST_F(Pipeline, ErIngressFilterDropsUnmappedIpv4Source) {
  auto s = er_settings(true);
  auto r = pipeline::process(s.xlat, role_of(s), udp4("192.0.2.99", "198.51.100.7"), *out, c, *ctx);
  EXPECT_EQ(r.pipeline_drop, pipeline::PipelineDrop::kErIngressFilter);
  EXPECT_EQ(out->count, 0u);
  EXPECT_EQ(get("drop.er_ingress_filter"), 1u);
  EXPECT_EQ(get("packets_in.ipv4"), 1u);
  // The service address itself passes.
  r = pipeline::process(s.xlat, role_of(s), udp4("192.0.2.1", "198.51.100.7"), *out, c, *ctx);
  EXPECT_TRUE(r.emitted());
  EXPECT_EQ(get("drop.er_ingress_filter"), 1u);
}

TEST_F(Pipeline, ErIngressFilterOffTranslatesWithPool6Source) {
  auto s = er_settings(false);
  auto r = pipeline::process(s.xlat, role_of(s), udp4("192.0.2.99", "198.51.100.7"), *out, c, *ctx);
  ASSERT_TRUE(r.emitted());
  EXPECT_EQ(test::str6(out->packet(0), 8), "64:ff9b::c000:263");
}

// RFC 7756 6, second paragraph, case 1: source equal to a local IPv6 service address.
TEST_F(Pipeline, ErDropsIpv6SourcedFromOwnServiceAddress) {
  auto s = er_settings(false);
  auto r = pipeline::process(s.xlat, role_of(s), udp6("2001:db8:a::", "2001:db8:a::"), *out, c, *ctx);
  EXPECT_EQ(r.pipeline_drop, pipeline::PipelineDrop::kErSpoofedServiceSource);
  EXPECT_EQ(get("drop.er_spoofed_service_source"), 1u);
  EXPECT_EQ(get("packets_in.ipv6"), 1u);
}

// Case 2: the source translates (pool6) to a local IPv4 service address.
TEST_F(Pipeline, ErDropsIpv6SourceTranslatingToOwnIpv4ServiceAddress) {
  auto s = er_settings(false);
  auto r = pipeline::process(s.xlat, role_of(s), udp6("64:ff9b::192.0.2.1", "2001:db8:a::"), *out, c, *ctx);
  EXPECT_EQ(r.pipeline_drop, pipeline::PipelineDrop::kErSpoofedServiceSource);
}

TEST_F(Pipeline, ErPassesGenuineTraffic) {
  auto s = er_settings(true);
  auto r = pipeline::process(s.xlat, role_of(s), udp6("64:ff9b::203.0.113.5", "2001:db8:a::"), *out, c, *ctx);
  ASSERT_TRUE(r.emitted());
  auto p = out->packet(0);
  EXPECT_EQ(test::str4(p, 12), "203.0.113.5");  // the client's real address (RFC 7756 1)
  EXPECT_EQ(test::str4(p, 16), "192.0.2.1");
  EXPECT_EQ(get("drop.er_spoofed_service_source"), 0u);
}

TEST_F(Pipeline, ErRuleCanBeTurnedOff) {
  auto s = er_settings(false, false);
  auto r = pipeline::process(s.xlat, role_of(s), udp6("64:ff9b::192.0.2.1", "2001:db8:a::"), *out, c, *ctx);
  EXPECT_FALSE(r.pipeline_drop.has_value());
}

TEST_F(Pipeline, BrRoleHasNoErRules) {
  auto s = er_settings(true);
  pipeline::RoleConfig br{pipeline::Role::kSiitDcBr, true, true};
  EXPECT_FALSE(pipeline::er_check(s.xlat, br, xlat::Family::kV4, udp4("192.0.2.99", "198.51.100.7")));
  EXPECT_FALSE(pipeline::er_check(s.xlat, br, xlat::Family::kV6, udp6("2001:db8:a::", "2001:db8:a::")));
}

TEST(Counters, BlocksAreCacheLineAligned) {
  static_assert(alignof(pipeline::Counters) == 64);
  pipeline::CounterSet set(3);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(&set.worker(i)) % 64, 0u);
  }
}

TEST(Counters, WorkersAreSummedAndEveryDropReasonIsNamed) {
  pipeline::CounterSet set(2);
  std::vector<std::thread> t;
  for (std::size_t w = 0; w < 2; ++w) {
    t.emplace_back([&set, w] {
      for (int i = 0; i < 100000; ++i) {
        set.worker(w).translated.add();
      }
      set.worker(w).drop(core::Drop::kNoMappingDst);
    });
  }
  for (auto& x : t) x.join();
  auto tot = set.totals();
  EXPECT_EQ(tot.get("translated"), 200000u);
  EXPECT_EQ(tot.get("drop.no_mapping_dst"), 2u);
  for (std::size_t d = 1; d < core::kDropCount; ++d) {
    auto name = "drop." + std::string(core::drop_name(static_cast<core::Drop>(d)));
    bool found = false;
    for (const auto& [n, v] : tot.values) found = found || n == name;
    EXPECT_TRUE(found) << name;
    EXPECT_FALSE(pipeline::counter_help(name).empty());
  }
  for (auto n : {"drop.er_ingress_filter", "drop.er_spoofed_service_source", "icmp_errors", "hairpinned"}) {
    bool found = false;
    for (const auto& [k, v] : tot.values) found = found || k == n;
    EXPECT_TRUE(found) << n;
  }
}

}  // namespace
}  // namespace edge46
