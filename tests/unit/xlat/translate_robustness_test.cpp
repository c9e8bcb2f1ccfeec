// Robustness: 200k seeded random and mutated packets through translate() in
// both directions under several configurations. Nothing may crash, every
// emitted packet must lie inside the Output buffer and parse cleanly with
// its header length equal to its emitted length, and the input must stay
// intact.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "net/headers.h"
#include "unit/xlat/xlat_fixture.h"

namespace edge46::xlat {
namespace {

using namespace test_support;  // NOLINT

std::vector<Config> configs() {
  std::vector<Config> cs;
  cs.push_back(base_config());
  Config c = base_config();
  c.hairpin = HairpinMode::kOff;
  c.amend_udp_checksum_zero = true;
  c.zeroize_traffic_class = true;
  cs.push_back(c);
  c = base_config();
  c.hairpin = HairpinMode::kSimple;
  c.lowest_ipv6_mtu = 1500;
  c.ipv4_mtu = 576;
  c.rfc6791v4 = net::Ipv4Prefix{ip4("203.0.113.0"), 28};
  c.rfc6791v6 = net::Ipv6Prefix{ip6("2001:db8:6791::"), 64};
  cs.push_back(c);
  c = base_config();
  mapping::Pool6 p;
  p.prefix = net::Ipv6Prefix{ip6("2001:db8:100::"), 40};
  p.layout = mapping::Pool6Layout::kLow32;
  c.pool6 = p;
  c.own_ipv4.reset();
  c.own_ipv6.reset();
  c.ipv6_mtu = 1280;
  cs.push_back(c);
  c = base_config();
  c.pool6.reset();  // EAM only
  c.override_tos = true;
  c.tos = 0x20;
  cs.push_back(c);
  for (auto& x : cs) EXPECT_EQ(x.validate(), "");
  return cs;
}

class Fuzzer {
 public:
  explicit Fuzzer(uint64_t seed) : rng_(seed) {}

  uint32_t r(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  Bytes data(std::size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng_());
    return b;
  }
  std::size_t small_len() { return r(8) == 0 ? r(2000) : r(120); }

  uint32_t addr4() {
    const char* pool[] = {kHost4, kServer4, "192.0.2.77", "203.0.113.1", "127.0.0.1", "224.0.0.1", "0.0.0.0"};
    return r(6) == 0 ? static_cast<uint32_t>(rng_()) : a4(pool[r(7)]);
  }
  V6 addr6() {
    const char* pool[] = {kServer6,  kHost4As6, "2001:db8::ff",     "64:ff9b::c000:221",      "2001:db8:100::c000:221",
                          "ff02::1", "::",      "2001:db8:9999::1", "2001:db8:100::c633:640a"};
    if (r(6) == 0) {
      V6 a;
      for (auto& x : a) x = static_cast<uint8_t>(rng_());
      return a;
    }
    return a6(pool[r(9)]);
  }

  Bytes seg4(uint8_t proto, int depth) {
    switch (proto) {
      case kUdp: return udp(static_cast<uint16_t>(rng_()), 53, data(small_len()));
      case kTcp: return tcp(80, static_cast<uint16_t>(rng_()), 1, data(small_len()));
      default: {
        const uint8_t types[] = {8, 0, 3, 11, 12, 13, 5};
        uint8_t t = types[r(7)];
        if ((t == 3 || t == 11 || t == 12) && depth == 0) {
          Bytes inner = v4(1);
          if (r(2)) inner.resize(std::min<std::size_t>(inner.size(), 28 + r(40)));
          return icmp(t, static_cast<uint8_t>(r(16)), static_cast<uint32_t>(rng_()) & (r(2) ? 0xff00ffffu : ~0u),
                      inner);
        }
        return icmp(t, 0, static_cast<uint32_t>(rng_()), data(small_len()));
      }
    }
  }
  Bytes v4(int depth = 0) {
    Ip4 h;
    const uint8_t ps[] = {kUdp, kTcp, kIcmp, 47};
    h.proto = ps[r(4)];
    h.src = addr4();
    h.dst = addr4();
    h.ttl = static_cast<uint8_t>(r(4) == 0 ? r(3) : 64);
    h.tos = static_cast<uint8_t>(rng_());
    h.df = r(2);
    h.mf = r(6) == 0;
    h.frag_off = static_cast<uint16_t>(r(6) == 0 ? 8 * r(200) : 0);
    if (r(8) == 0) h.options = {131, 7, static_cast<uint8_t>(4 + 4 * r(2)), 1, 2, 3, 4, 0};
    Bytes seg = seg4(h.proto, depth);
    if (h.proto == kUdp && r(5) == 0) return ipv4(h, seg);  // zero UDP checksum
    return v4_packet(h, seg);
  }

  Bytes ext_chain(uint8_t last) {
    Bytes c;
    unsigned n = r(4);
    uint8_t next = last;
    // Build from the back so each header names the next.
    std::vector<Bytes> hs;
    for (unsigned i = 0; i < n; ++i) {
      const uint8_t kinds[] = {kDestOpts, kRouting, kFrag, kHbh};
      uint8_t k = kinds[r(4)];
      Bytes h = k == kFrag      ? frag_header(next, static_cast<uint16_t>(r(3) == 0 ? 8 * r(100) : 0), r(2), 99)
                : k == kRouting ? routing_header(next, static_cast<uint8_t>(r(3) == 0 ? 1 : 0))
                                : ext_header(next, static_cast<uint8_t>(r(2)));
      hs.insert(hs.begin(), h);
      next = k;
    }
    first_ = next;
    for (auto& h : hs) append(c, h);
    return c;
  }

  Bytes v6(int depth = 0) {
    Ip6 h;
    const uint8_t ps[] = {kUdp, kTcp, kIcmp6, 47};
    uint8_t proto = ps[r(4)];
    h.src = addr6();
    h.dst = addr6();
    h.hlim = static_cast<uint8_t>(r(4) == 0 ? r(3) : 64);
    h.tc = static_cast<uint8_t>(rng_());
    Bytes seg;
    if (proto == kIcmp6) {
      const uint8_t types[] = {128, 129, 1, 2, 3, 4, 135};
      uint8_t t = types[r(7)];
      if (t < 128 && depth == 0) {
        Bytes inner = v6(1);
        if (r(2)) inner.resize(std::min<std::size_t>(inner.size(), 48 + r(40)));
        seg = icmp(t, static_cast<uint8_t>(r(5)), r(2) ? static_cast<uint32_t>(rng_()) : r(1500), inner);
      } else {
        seg = icmp(t, 0, static_cast<uint32_t>(rng_()), data(small_len()));
      }
    } else {
      seg = seg4(proto == 47 ? 47 : proto, 1);
    }
    if (proto != 47) fill_csum6(seg, proto, h.src, h.dst);
    Bytes pl = ext_chain(proto);
    h.next = first_;
    append(pl, seg);
    return ipv6(h, pl);
  }

  // Mutations that keep some packets deep enough to reach the later steps.
  void mutate(Bytes& b, bool is_v4) {
    switch (r(8)) {
      case 0:
      case 6:
      case 7: return;  // as built
      case 1: {        // flip bytes
        unsigned n = 1 + r(4);
        for (unsigned i = 0; i < n && !b.empty(); ++i)
          b[r(static_cast<uint32_t>(b.size()))] ^= static_cast<uint8_t>(1 + r(255));
        break;
      }
      case 2:  // truncate
        b.resize(r(static_cast<uint32_t>(b.size() + 1)));
        break;
      case 3: {  // append junk
        Bytes j = data(r(64));
        append(b, j);
        break;
      }
      case 4: {  // flip a byte in the first 64 (headers)
        if (!b.empty()) b[r(static_cast<uint32_t>(std::min<std::size_t>(b.size(), 64)))] = static_cast<uint8_t>(rng_());
        break;
      }
      case 5:
        b = data(r(200));
        if (!b.empty()) b[0] = static_cast<uint8_t>((is_v4 ? 0x40 : 0x60) | (b[0] & 0x0f));
        return;
    }
    // Often repair the IPv4 header checksum so the mutation reaches further.
    if (is_v4 && r(2) && b.size() >= 20 && (b[0] >> 4) == 4 && ihl_of(b) >= 20 && ihl_of(b) <= b.size()) {
      refresh_ipv4_checksum(b);
    }
  }

 private:
  std::mt19937_64 rng_;
  uint8_t first_ = 0;
};

void check_output(const Verdict& v, Family ingress, const Output& out, std::size_t& emitted) {
  ASSERT_LE(out.count, Output::kMaxPackets);
  if (v.outcome == Outcome::kDropped) {
    ASSERT_EQ(out.count, 0u);
    ASSERT_NE(v.reason, Drop::kNone);
    return;
  }
  ASSERT_GE(out.count, 1u);
  if (v.outcome == Outcome::kIcmpError) {
    ASSERT_EQ(out.count, 1u);
    ASSERT_NE(v.reason, Drop::kNone);
  } else {
    ASSERT_EQ(v.reason, Drop::kNone);
  }
  const Family other = ingress == Family::kV4 ? Family::kV6 : Family::kV4;
  const Family want = v.outcome == Outcome::kTranslated ? other : ingress;
  for (uint32_t i = 0; i < out.count; ++i) {
    const Emitted& e = out.packets[i];
    ASSERT_EQ(e.family, want);
    ASSERT_LE(uint64_t{e.offset} + e.length, Output::kBufferSize);
    auto p = out.packet(i);
    if (e.family == Family::kV4) {
      net::Ipv4Packet q;
      ASSERT_EQ(net::parse_ipv4(p, q, true), Drop::kNone);
      ASSERT_EQ(q.total_length, e.length);
    } else {
      net::Ipv6Packet q;
      ASSERT_EQ(net::parse_ipv6(p, q), Drop::kNone);
      ASSERT_EQ(40u + q.payload_length, e.length);
    }
    ++emitted;
  }
}

TEST(Robustness, RandomAndMutatedPackets) {
  const std::vector<Config> cs = configs();
  auto out = std::make_unique<Output>();
  const mapping::Eamt eamt = base_eamt();
  WorkerState ws;
  Fuzzer f(0xed9e46);
  std::size_t emitted = 0, translated = 0, dropped = 0;
  std::set<Drop> reasons;
  constexpr int kPackets = 200000;
  for (int i = 0; i < kPackets; ++i) {
    const Config& cfg = cs[static_cast<std::size_t>(i) % cs.size()];
    const bool v4 = (i / static_cast<int>(cs.size())) % 2 == 0;
    Bytes in = v4 ? f.v4() : f.v6();
    f.mutate(in, v4);
    const Bytes copy = in;
    const Family ingress = v4 ? Family::kV4 : Family::kV6;
    Verdict v = translate(cfg, eamt, ws, ingress, {in.data(), in.size()}, *out);
    ASSERT_EQ(in, copy) << "input modified, packet " << i;
    check_output(v, ingress, *out, emitted);
    if (HasFatalFailure()) {
      ADD_FAILURE() << "packet " << i << " (" << (v4 ? "v4" : "v6") << ", config " << i % cs.size() << ") outcome "
                    << int(v.outcome) << " reason " << core::drop_name(v.reason);
      return;
    }
    reasons.insert(v.reason);
    if (v.outcome == Outcome::kDropped) {
      ++dropped;
    } else {
      ++translated;
    }
  }
  // The generator must exercise both sides of the verdict, or it tests nothing.
  EXPECT_GT(translated, static_cast<std::size_t>(kPackets / 10));
  EXPECT_GT(dropped, static_cast<std::size_t>(kPackets / 10));
  EXPECT_GE(emitted, translated);
  EXPECT_GE(reasons.size(), 20u);
  std::string seen;
  for (Drop d : reasons) seen += std::string(core::drop_name(d)) + " ";
  RecordProperty("reasons_seen", seen);
}

}  // namespace
}  // namespace edge46::xlat

namespace edge46::xlat {
namespace {

TEST(DropTable, NamesAreUniqueSnakeCaseAndDescribed) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < core::kDropCount; ++i) {
    auto d = static_cast<core::Drop>(i);
    std::string n(core::drop_name(d));
    ASSERT_FALSE(n.empty());
    for (char c : n) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') << n;
    EXPECT_TRUE(names.insert(n).second) << "duplicate " << n;
    EXPECT_FALSE(core::drop_description(d).empty()) << n;
  }
  EXPECT_EQ(core::drop_name(core::Drop::kNone), "none");
  EXPECT_EQ(core::drop_name(core::Drop::kCount), "unknown");
}

}  // namespace
}  // namespace edge46::xlat
