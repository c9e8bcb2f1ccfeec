// Role compositions (src/pipeline): counters per verdict and the SIIT-DC
// Edge Relay security rules of RFC 7756 section 6.
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "config/loader.h"
#include "support/fragments.h"
#include "support/packet_builder.h"

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
  return {*pipeline::parse_role(s.daemon.role), s.siit_dc.ingress_filter, s.siit_dc.drop_own_service_sources, {}};
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
  // nullopt for a name that is not a counter, so a typo fails the check.
  std::optional<uint64_t> get(const char* name) { return counters.totals().get(name); }
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
  auto r = pipeline::process(pipeline::Env{s.xlat, siit, s.eamt}, in, *out, c, *ctx);
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
  auto r = pipeline::process(pipeline::Env{s.xlat, siit, s.eamt}, in, *out, c, *ctx);
  EXPECT_FALSE(r.emitted());
  EXPECT_EQ(r.verdict.reason, core::Drop::kBadIpv4Checksum);
  EXPECT_EQ(get("drop.bad_ipv4_checksum"), 1u);
  EXPECT_EQ(get("translated"), 0u);
}

TEST_F(Pipeline, NotIpIsCounted) {
  auto s = er_settings(false);
  Bytes junk = {0x50, 1, 2, 3};
  auto r = pipeline::process(pipeline::Env{s.xlat, role_of(s), s.eamt}, junk, *out, c, *ctx);
  EXPECT_EQ(r.pipeline_drop, pipeline::PipelineDrop::kNotIp);
  EXPECT_EQ(get("drop.not_ip"), 1u);
  EXPECT_EQ(pipeline::process(pipeline::Env{s.xlat, role_of(s), s.eamt}, Bytes{}, *out, c, *ctx).pipeline_drop,
            pipeline::PipelineDrop::kNotIp);
}

// RFC 7756 6, first paragraph: an IPv4 source without an EAM would leave the
// BR spoofed; with ingress filtering the ER drops it.
TEST_F(Pipeline, ErIngressFilterDropsUnmappedIpv4Source) {
  auto s = er_settings(true);
  auto r =
      pipeline::process(pipeline::Env{s.xlat, role_of(s), s.eamt}, udp4("192.0.2.99", "198.51.100.7"), *out, c, *ctx);
  EXPECT_EQ(r.pipeline_drop, pipeline::PipelineDrop::kErIngressFilter);
  EXPECT_EQ(out->count, 0u);
  EXPECT_EQ(get("drop.er_ingress_filter"), 1u);
  EXPECT_EQ(get("packets_in.ipv4"), 1u);
  // The service address itself passes.
  r = pipeline::process(pipeline::Env{s.xlat, role_of(s), s.eamt}, udp4("192.0.2.1", "198.51.100.7"), *out, c, *ctx);
  EXPECT_TRUE(r.emitted());
  EXPECT_EQ(get("drop.er_ingress_filter"), 1u);
}

TEST_F(Pipeline, ErIngressFilterOffTranslatesWithPool6Source) {
  auto s = er_settings(false);
  auto r =
      pipeline::process(pipeline::Env{s.xlat, role_of(s), s.eamt}, udp4("192.0.2.99", "198.51.100.7"), *out, c, *ctx);
  ASSERT_TRUE(r.emitted());
  EXPECT_EQ(test::str6(out->packet(0), 8), "64:ff9b::c000:263");
}

// RFC 7756 6, second paragraph, case 1: source equal to a local IPv6 service address.
TEST_F(Pipeline, ErDropsIpv6SourcedFromOwnServiceAddress) {
  auto s = er_settings(false);
  auto r =
      pipeline::process(pipeline::Env{s.xlat, role_of(s), s.eamt}, udp6("2001:db8:a::", "2001:db8:a::"), *out, c, *ctx);
  EXPECT_EQ(r.pipeline_drop, pipeline::PipelineDrop::kErSpoofedServiceSource);
  EXPECT_EQ(get("drop.er_spoofed_service_source"), 1u);
  EXPECT_EQ(get("packets_in.ipv6"), 1u);
}

// Case 2: the source translates (pool6) to a local IPv4 service address.
TEST_F(Pipeline, ErDropsIpv6SourceTranslatingToOwnIpv4ServiceAddress) {
  auto s = er_settings(false);
  auto r = pipeline::process(pipeline::Env{s.xlat, role_of(s), s.eamt}, udp6("64:ff9b::192.0.2.1", "2001:db8:a::"),
                             *out, c, *ctx);
  EXPECT_EQ(r.pipeline_drop, pipeline::PipelineDrop::kErSpoofedServiceSource);
}

TEST_F(Pipeline, ErPassesGenuineTraffic) {
  auto s = er_settings(true);
  auto r = pipeline::process(pipeline::Env{s.xlat, role_of(s), s.eamt}, udp6("64:ff9b::203.0.113.5", "2001:db8:a::"),
                             *out, c, *ctx);
  ASSERT_TRUE(r.emitted());
  auto p = out->packet(0);
  EXPECT_EQ(test::str4(p, 12), "203.0.113.5");  // the client's real address (RFC 7756 1)
  EXPECT_EQ(test::str4(p, 16), "192.0.2.1");
  EXPECT_EQ(get("drop.er_spoofed_service_source"), 0u);
}

// With drop-own-service-sources off (an ER carrying the extra EAMs of RFC
// 7756 5.2), the packet of case 2 above is translated like any other.
TEST_F(Pipeline, ErRuleCanBeTurnedOff) {
  auto s = er_settings(false, false);
  auto r = pipeline::process(pipeline::Env{s.xlat, role_of(s), s.eamt}, udp6("64:ff9b::192.0.2.1", "2001:db8:a::"),
                             *out, c, *ctx);
  EXPECT_FALSE(r.pipeline_drop.has_value());
  EXPECT_EQ(r.verdict.outcome, xlat::Outcome::kTranslated);
  ASSERT_TRUE(r.emitted());
  ASSERT_EQ(out->count, 1u);
  EXPECT_EQ(out->packets[0].family, xlat::Family::kV4);
  auto p = out->packet(0);
  ASSERT_GE(p.size(), 20u);
  EXPECT_EQ(p[0] >> 4, 4);
  EXPECT_EQ(test::str4(p, 12), "192.0.2.1");  // pool6 64:ff9b::/96 (RFC 6052)
  EXPECT_EQ(test::str4(p, 16), "192.0.2.1");  // EAM 2001:db8:a:: <-> 192.0.2.1
  EXPECT_EQ(get("translated"), 1u);
  EXPECT_EQ(get("drop.er_spoofed_service_source"), 0u);
}

TEST_F(Pipeline, BrRoleHasNoErRules) {
  auto s = er_settings(true);
  pipeline::RoleConfig br{pipeline::Role::kSiitDcBr, true, true, {}};
  EXPECT_FALSE(
      pipeline::er_check(pipeline::Env{s.xlat, br, s.eamt}, xlat::Family::kV4, udp4("192.0.2.99", "198.51.100.7")));
  EXPECT_FALSE(
      pipeline::er_check(pipeline::Env{s.xlat, br, s.eamt}, xlat::Family::kV6, udp6("2001:db8:a::", "2001:db8:a::")));
}

// A name that is not a counter has no value (not 0), so a check against a
// misspelt counter fails instead of passing.
TEST(Counters, UnknownNameHasNoValue) {
  pipeline::CounterSet set(1);
  auto tot = set.totals();
  EXPECT_FALSE(tot.get("drop.no_such_reason").has_value());
  EXPECT_FALSE(tot.get("").has_value());
  EXPECT_FALSE(tot.get("translate").has_value());
  ASSERT_TRUE(tot.get("translated").has_value());
  EXPECT_EQ(*tot.get("translated"), 0u);
  EXPECT_EQ(tot.get("drop.offload_bad_checksum_offsets"), 0u);
}

// --- fragmented ICMP (issue 7 item 12) and the ICMP error rate limit (item 9) ---

config::Settings siit_settings(const std::string& extra = "") {
  std::string toml = R"(
[translator]
pool6 = "64:ff9b::/96"
ipv4-address = "192.0.2.254"
ipv6-address = "2001:db8:ffff::1"
[[eamt]]
ipv6 = "2001:db8:a::/128"
ipv4 = "192.0.2.1/32"
)" + extra;
  auto s = config::load_string(toml, "siit.toml");
  EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
  return *s;
}

std::unique_ptr<pipeline::WorkerContext> context_of(const config::Settings& s) {
  const auto& l = s.limits;
  return std::make_unique<pipeline::WorkerContext>(
      pipeline::ReassemblyLimits{l.reassembly_slots, l.reassembly_memory, l.reassembly_timeout_ms},
      pipeline::RateLimit{l.icmp_error_rate, l.icmp_error_burst});
}

test::Ip4 echo_hdr4() {
  test::Ip4 h;
  h.src = a4("198.51.100.7");
  h.dst = a4("192.0.2.1");
  h.proto = test::kIcmp;
  h.id = 0x4242;
  h.ttl = 61;
  return h;
}

test::Ip6 echo_hdr6() {
  test::Ip6 h;
  h.src = a6("2001:db8:a::");
  h.dst = a6("64:ff9b::198.51.100.7");
  h.next = test::kFrag;
  h.hlim = 63;
  return h;
}

using test::fragments4;
using test::fragments6;

// 4->6: a 3000-byte echo in three IPv4 fragments is reassembled, translated
// whole (one ICMPv6 checksum over the whole message and the pseudo-header)
// and fragmented to lowest-ipv6-mtu with the IPv4 Identification.
TEST_F(Pipeline, FragmentedEcho46IsReassembledTranslatedAndRefragmented) {
  auto s = siit_settings();
  ctx = context_of(s);
  auto seg4 = test::icmp(8, 0, 0x12340001, test::pattern(3000));
  test::fill_csum4(seg4, test::kIcmp, echo_hdr4().src, echo_hdr4().dst);
  auto frags = fragments4(echo_hdr4(), seg4, 1500);
  ASSERT_EQ(frags.size(), 3u);
  // Out of order: the last first.
  std::swap(frags[0], frags[2]);
  for (std::size_t i = 0; i + 1 < frags.size(); ++i) {
    auto r = pipeline::process(pipeline::Env{s.xlat, pipeline::RoleConfig{}, s.eamt}, frags[i], *out, c, *ctx);
    EXPECT_TRUE(r.held);
    EXPECT_FALSE(r.emitted());
    EXPECT_EQ(out->count, 0u);
  }
  auto r = pipeline::process(pipeline::Env{s.xlat, pipeline::RoleConfig{}, s.eamt}, frags.back(), *out, c, *ctx);
  ASSERT_TRUE(r.emitted()) << core::drop_name(r.verdict.reason);
  ASSERT_EQ(out->count, 3u);  // 3008 bytes in 1232-byte pieces

  auto seg6 = test::icmp(128, 0, 0x12340001, test::pattern(3000));
  test::fill_csum6(seg6, test::kIcmp6, a6("64:ff9b::198.51.100.7"), a6("2001:db8:a::"));
  Bytes joined;
  for (uint32_t k = 0; k < out->count; ++k) {
    auto p = out->packet(k);
    EXPECT_EQ(out->packets[k].family, xlat::Family::kV6);
    EXPECT_LE(p.size(), 1280u);
    EXPECT_EQ(p[6], test::kFrag);
    EXPECT_EQ(p[7], 60);  // TTL 61 - 1
    EXPECT_EQ(test::str6(p, 8), "64:ff9b::c633:6407");
    EXPECT_EQ(test::str6(p, 24), "2001:db8:a::");
    EXPECT_EQ(p[40], test::kIcmp6);
    EXPECT_EQ(test::get16(p, 42) & ~7u, joined.size());             // offset
    EXPECT_EQ((test::get16(p, 42) & 1u) != 0, k + 1 < out->count);  // M
    EXPECT_EQ(test::get32(p, 44), 0x4242u);                         // RFC 7915 4.1 Identification
    test::append(joined, p.subspan(48));
  }
  EXPECT_EQ(joined, seg6);
  EXPECT_EQ(get("reasm_held"), 2u);
  EXPECT_EQ(get("reassembled"), 1u);
  EXPECT_EQ(get("translated"), 1u);
  EXPECT_EQ(get("packets_in.ipv4"), 3u);
  EXPECT_EQ(get("packets_out.ipv6"), 3u);
  EXPECT_EQ(get("drop.fragmented_icmp"), 0u);
}

// 6->4: the reassembled message leaves DF clear (RFC 7915 5.1: it arrived
// as fragments) in fragments that fit ipv4-mtu, with the low 16 bits of the
// Fragment header's Identification.
TEST_F(Pipeline, FragmentedEcho64IsReassembledTranslatedAndSplitToIpv4Mtu) {
  auto s = siit_settings();
  ctx = context_of(s);
  auto seg6 = test::icmp(128, 0, 0x56780002, test::pattern(3000, 5));
  test::fill_csum6(seg6, test::kIcmp6, echo_hdr6().src, echo_hdr6().dst);
  auto frags = fragments6(echo_hdr6(), seg6, 1280, 0xabcdef01);
  ASSERT_EQ(frags.size(), 3u);
  pipeline::Result r;
  for (const auto& f : frags) {
    r = pipeline::process(pipeline::Env{s.xlat, pipeline::RoleConfig{}, s.eamt}, f, *out, c, *ctx);
  }
  ASSERT_TRUE(r.emitted()) << core::drop_name(r.verdict.reason);
  ASSERT_EQ(out->count, 3u);  // 3028 bytes in 1500-byte packets

  auto seg4 = test::icmp(8, 0, 0x56780002, test::pattern(3000, 5));
  test::fill_csum4(seg4, test::kIcmp, a4("192.0.2.1"), a4("198.51.100.7"));
  Bytes joined;
  for (uint32_t k = 0; k < out->count; ++k) {
    auto p = out->packet(k);
    EXPECT_EQ(out->packets[k].family, xlat::Family::kV4);
    EXPECT_LE(p.size(), 1500u);
    EXPECT_TRUE(test::ipv4_header_valid(p));
    EXPECT_EQ(test::get16(p, 2), p.size());
    EXPECT_EQ(test::get16(p, 4), 0xef01u);
    const uint16_t ff = test::get16(p, 6);
    EXPECT_EQ(ff & 0x4000u, 0u);  // DF clear
    EXPECT_EQ((ff & 0x2000u) != 0, k + 1 < out->count);
    EXPECT_EQ((ff & 0x1fffu) * 8u, joined.size());
    EXPECT_EQ(p[8], 62);
    EXPECT_EQ(p[9], test::kIcmp);
    EXPECT_EQ(test::str4(p, 12), "192.0.2.1");
    EXPECT_EQ(test::str4(p, 16), "198.51.100.7");
    test::append(joined, p.subspan(20));
  }
  EXPECT_EQ(joined, seg4);
  EXPECT_EQ(get("reassembled"), 1u);
  EXPECT_EQ(get("packets_out.ipv4"), 3u);
}

// A reassembled message that fits the IPv4 MTU leaves as one packet.
TEST_F(Pipeline, SmallFragmentedEcho64LeavesWhole) {
  auto s = siit_settings();
  ctx = context_of(s);
  auto seg6 = test::icmp(128, 0, 7, test::pattern(1300));
  test::fill_csum6(seg6, test::kIcmp6, echo_hdr6().src, echo_hdr6().dst);
  pipeline::Result r;
  for (const auto& f : fragments6(echo_hdr6(), seg6, 1280, 0x10002)) {
    r = pipeline::process(pipeline::Env{s.xlat, pipeline::RoleConfig{}, s.eamt}, f, *out, c, *ctx);
  }
  ASSERT_TRUE(r.emitted());
  ASSERT_EQ(out->count, 1u);
  auto seg4 = test::icmp(8, 0, 7, test::pattern(1300));
  test::fill_csum4(seg4, test::kIcmp, a4("192.0.2.1"), a4("198.51.100.7"));
  test::Ip4 h;
  h.src = a4("192.0.2.1");
  h.dst = a4("198.51.100.7");
  h.proto = test::kIcmp;
  h.id = 0x0002;
  h.ttl = 62;
  auto p = out->packet(0);
  EXPECT_EQ(Bytes(p.begin(), p.end()), test::ipv4(h, seg4));
}

TEST_F(Pipeline, UdpFragmentsAreStillTranslatedOneByOne) {
  auto s = siit_settings();
  ctx = context_of(s);
  test::Ip4 h = echo_hdr4();
  h.proto = test::kUdp;
  auto seg = test::udp(1000, 2000, test::pattern(3000));
  test::fill_csum4(seg, test::kUdp, h.src, h.dst);
  for (const auto& f : fragments4(h, seg, 1500)) {
    auto r = pipeline::process(pipeline::Env{s.xlat, pipeline::RoleConfig{}, s.eamt}, f, *out, c, *ctx);
    EXPECT_TRUE(r.emitted());
  }
  EXPECT_EQ(get("translated"), 3u);
  EXPECT_EQ(get("reasm_held"), 0u);
}

TEST_F(Pipeline, ReassemblyOffKeepsDroppingFragmentedIcmp) {
  auto s = siit_settings("[limits]\nreassembly-slots = 0\n");
  ctx = context_of(s);
  auto seg4 = test::icmp(8, 0, 1, test::pattern(2000));
  test::fill_csum4(seg4, test::kIcmp, echo_hdr4().src, echo_hdr4().dst);
  auto r = pipeline::process(pipeline::Env{s.xlat, pipeline::RoleConfig{}, s.eamt},
                             fragments4(echo_hdr4(), seg4, 1500)[0], *out, c, *ctx);
  EXPECT_EQ(r.verdict.reason, core::Drop::kFragmentedIcmp);
  EXPECT_EQ(get("drop.fragmented_icmp"), 1u);
}

TEST_F(Pipeline, ReassemblyFailuresAreCountedByName) {
  auto s = siit_settings("[limits]\nreassembly-timeout-ms = 1000\n");
  ctx = context_of(s);
  auto seg6 = test::icmp(128, 0, 1, test::pattern(3000));
  test::fill_csum6(seg6, test::kIcmp6, echo_hdr6().src, echo_hdr6().dst);
  auto f6 = fragments6(echo_hdr6(), seg6, 1280, 99);
  ctx->now_ns = 1'000'000'000;
  EXPECT_TRUE(pipeline::process(pipeline::Env{s.xlat, pipeline::RoleConfig{}, s.eamt}, f6[0], *out, c, *ctx).held);
  // Overlap (RFC 5722) on another datagram.
  auto g6 = fragments6(echo_hdr6(), seg6, 1280, 100);
  EXPECT_TRUE(pipeline::process(pipeline::Env{s.xlat, pipeline::RoleConfig{}, s.eamt}, g6[0], *out, c, *ctx).held);
  auto bad = g6[1];
  test::put16(bad, 42, static_cast<uint16_t>(test::get16(bad, 42) - 8));  // 8 bytes early
  auto r = pipeline::process(pipeline::Env{s.xlat, pipeline::RoleConfig{}, s.eamt}, bad, *out, c, *ctx);
  EXPECT_EQ(r.pipeline_drop, pipeline::PipelineDrop::kReasmOverlap);
  EXPECT_EQ(get("drop.reasm_overlap"), 1u);
  // The first datagram's time runs out; noticed at the next ICMP fragment.
  ctx->now_ns = 2'000'000'000;
  EXPECT_TRUE(pipeline::process(pipeline::Env{s.xlat, pipeline::RoleConfig{}, s.eamt}, g6[2], *out, c, *ctx).held);
  EXPECT_EQ(get("drop.reasm_timeout"), 1u);
  EXPECT_EQ(ctx->reassembly.slots_in_use(), 1u);  // g6[2]'s new, headless datagram
}

// An ICMPv6 echo of 65520 bytes fits an IPv6 Payload Length (8 + 65520 <=
// 65535) but its translation (20 + 65520) no IPv4 Total Length: the
// reassembler refuses it by name instead of handing the translator a packet
// it can only call malformed.
TEST_F(Pipeline, ReassembledIcmpv6TooBigForIpv4IsReasmTooBig) {
  auto s = siit_settings("[limits]\nreassembly-memory = 1048576\n");
  ctx = context_of(s);
  auto seg6 = test::icmp(128, 0, 1, test::pattern(65520 - 8));
  test::fill_csum6(seg6, test::kIcmp6, echo_hdr6().src, echo_hdr6().dst);
  auto f6 = fragments6(echo_hdr6(), seg6, 1280, 77);
  ASSERT_LE(f6.size(), 64u);
  pipeline::Result r;
  for (const auto& f : f6) {
    r = pipeline::process(pipeline::Env{s.xlat, pipeline::RoleConfig{}, s.eamt}, f, *out, c, *ctx);
    if (!r.held) break;
  }
  EXPECT_FALSE(r.emitted());
  EXPECT_EQ(r.pipeline_drop, pipeline::PipelineDrop::kReasmTooBig);
  EXPECT_EQ(get("drop.reasm_too_big"), 1u);
  EXPECT_EQ(get("drop.bad_payload_length"), 0u);
  EXPECT_EQ(get("reassembled"), 0u);
}

// RFC 4443 2.4 (f), RFC 1812 4.3.2.8: generated errors are rate limited per
// worker and family; the packet's own reason is still counted.
TEST_F(Pipeline, GeneratedIcmpErrorsAreRateLimitedPerFamily) {
  auto s = siit_settings("[limits]\nicmp-error-rate = 10\nicmp-error-burst = 5\n");
  ctx = context_of(s);
  ctx->now_ns = 7'000'000'000;
  test::Ip4 h4;
  h4.src = a4("198.51.100.7");
  h4.dst = a4("192.0.2.1");
  h4.ttl = 1;
  auto ttl1_v4 = test::v4_packet(h4, test::udp(1, 2, test::pattern(10)));
  test::Ip6 h6;
  h6.src = a6("2001:db8:a::");
  h6.dst = a6("64:ff9b::198.51.100.7");
  h6.hlim = 1;
  auto ttl1_v6 = test::v6_packet(h6, test::udp(1, 2, test::pattern(10)));

  auto send = [&](const Bytes& pkt, int n) {
    int errors = 0;
    for (int i = 0; i < n; ++i) {
      auto r = pipeline::process(pipeline::Env{s.xlat, pipeline::RoleConfig{}, s.eamt}, pkt, *out, c, *ctx);
      EXPECT_EQ(r.verdict.reason, core::Drop::kTtlExceeded);
      if (r.emitted()) {
        EXPECT_EQ(r.verdict.outcome, xlat::Outcome::kIcmpError);
        EXPECT_EQ(out->count, 1u);
        ++errors;
      } else {
        EXPECT_EQ(r.pipeline_drop, pipeline::PipelineDrop::kIcmpErrorRateLimited);
        EXPECT_EQ(out->count, 0u);
      }
    }
    return errors;
  };
  EXPECT_EQ(send(ttl1_v4, 20), 5);  // the burst
  EXPECT_EQ(send(ttl1_v6, 20), 5);  // its own bucket
  EXPECT_EQ(get("icmp_errors"), 10u);
  EXPECT_EQ(get("drop.icmp_error_rate_limited"), 30u);
  EXPECT_EQ(get("drop.ttl_exceeded"), 40u);
  ctx->now_ns += 500'000'000;  // 10/s for 0.5 s
  EXPECT_EQ(send(ttl1_v4, 20), 5);
  ctx->now_ns += 60'000'000'000;  // refills to the burst only
  EXPECT_EQ(send(ttl1_v4, 20), 5);
}

TEST_F(Pipeline, TranslatedIcmpErrorsAreNotRateLimited) {
  auto s = siit_settings("[limits]\nicmp-error-rate = 1\nicmp-error-burst = 1\n");
  ctx = context_of(s);
  // An IPv4 router's Time Exceeded about a packet 192.0.2.1 sent.
  test::Ip4 inner;
  inner.src = a4("192.0.2.1");
  inner.dst = a4("198.51.100.7");
  inner.ttl = 1;
  auto quoted = test::v4_packet(inner, test::udp(1, 2, test::pattern(10)));
  test::Ip4 outer;
  outer.src = a4("198.51.100.9");
  outer.dst = a4("192.0.2.1");
  outer.proto = test::kIcmp;
  auto err = test::v4_packet(outer, test::icmp(11, 0, 0, quoted));
  // Empty the bucket with a generated error first.
  test::Ip4 h4 = inner;
  h4.src = a4("198.51.100.7");
  h4.dst = a4("192.0.2.1");
  EXPECT_TRUE(pipeline::process(pipeline::Env{s.xlat, pipeline::RoleConfig{}, s.eamt},
                                test::v4_packet(h4, test::udp(1, 2, {})), *out, c, *ctx)
                  .emitted());
  for (int i = 0; i < 10; ++i) {
    auto r = pipeline::process(pipeline::Env{s.xlat, pipeline::RoleConfig{}, s.eamt}, err, *out, c, *ctx);
    EXPECT_EQ(r.verdict.outcome, xlat::Outcome::kTranslated);
    EXPECT_TRUE(r.emitted());
  }
  EXPECT_EQ(get("drop.icmp_error_rate_limited"), 0u);
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
