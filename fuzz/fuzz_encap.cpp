// libFuzzer: the RFC 2473 tunnel step (xlat/encap.h), all entry points.
// Input = selector byte + MTU byte + packet.
//   selector bits 0-1  0: encapsulate_46, 1: decapsulate_64, 2-3: tunnel_icmp6_error (+ quotes_encapsulated)
//   selector bit 2     the PE has no own IPv4 address (no ICMPv4 can be sent)
//   selector bit 3     decap: expect the inner packet's own addresses (reaches past the anti-spoofing check)
//   MTU byte           tunnel MTU: 68, 576, 1240, 1460 or 16 * byte (may be below 68)
// Invariants: nothing written outside Output, emitted spans disjoint, every
// emitted packet parses with valid header and ICMP checksums, lengths agree,
// encapsulated pieces reassemble to the input's payload with TTL - 1 and one
// flow label, a decapsulated packet is the inner packet with TTL - 1, a
// relayed tunnel error is an ICMPv4 error of at most 576 bytes to the inner
// source, the input is left intact.
#include <cstring>
#include <vector>

#include "fuzz_common.h"
#include "xlat/encap.h"

using namespace edge46;

namespace {

const xlat::Config& config(bool own) {
  static const xlat::Config with = [] {
    xlat::Config c;
    c.own_ipv4 = net::parse_ipv4("192.0.2.254");
    return c;
  }();
  static const xlat::Config without{};
  return own ? with : without;
}

void check_spans(xlat::Verdict v, const xlat::Output& out) {
  EDGE46_FUZZ_CHECK(out.count <= xlat::Output::kMaxPackets, "count %u", out.count);
  if (v.outcome == xlat::Outcome::kDropped) {
    EDGE46_FUZZ_CHECK(out.count == 0, "dropped but %u packets emitted", out.count);
    EDGE46_FUZZ_CHECK(v.reason != core::Drop::kNone, "dropped without a reason");
    return;
  }
  EDGE46_FUZZ_CHECK(out.count >= 1, "outcome %d with nothing emitted", static_cast<int>(v.outcome));
  uint64_t prev_end = 0;
  for (uint32_t i = 0; i < out.count; ++i) {
    const xlat::Emitted& e = out.packets[i];
    EDGE46_FUZZ_CHECK(uint64_t{e.offset} + e.length <= xlat::Output::kBufferSize, "packet %u outside buffer", i);
    EDGE46_FUZZ_CHECK(e.offset >= prev_end, "packet %u overlaps the previous one", i);
    prev_end = uint64_t{e.offset} + e.length;
  }
}

// A generated or relayed ICMPv4 error: one IPv4 packet, <= 576 bytes, valid
// checksums, to `dst`.
void check_icmp4_error(const xlat::Output& out, net::Ipv4Addr dst) {
  EDGE46_FUZZ_CHECK(out.count == 1, "ICMPv4 error in %u packets", out.count);
  EDGE46_FUZZ_CHECK(out.packets[0].family == xlat::Family::kV4, "ICMPv4 error on the IPv6 side");
  net::Ipv4Packet p;
  EDGE46_FUZZ_CHECK(net::parse_ipv4(out.packet(0), p, true) == core::Drop::kNone, "ICMPv4 error does not parse");
  EDGE46_FUZZ_CHECK(p.total_length == out.packets[0].length, "length %u vs %u", p.total_length, out.packets[0].length);
  EDGE46_FUZZ_CHECK(p.total_length <= 576, "ICMPv4 error of %u bytes", p.total_length);
  EDGE46_FUZZ_CHECK(p.protocol == net::proto::kIcmp && p.payload_avail() >= 8, "not ICMP");
  EDGE46_FUZZ_CHECK(fuzz::icmp4_sum_ok(p.payload(), p.payload_avail()), "ICMPv4 error with a bad checksum");
  EDGE46_FUZZ_CHECK(p.payload()[0] == 3 || p.payload()[0] == 11 || p.payload()[0] == 12, "type %u", p.payload()[0]);
  EDGE46_FUZZ_CHECK(p.dst == dst, "ICMPv4 error to the wrong address");
}

void run_encap(bool own, uint32_t mtu, std::span<const uint8_t> in, xlat::Output& out) {
  xlat::EncapParams prm;
  prm.src = support::v6("2001:db8:1::c000:20a");
  prm.dst = support::v6("2001:db8:2::c633:6407");
  prm.hop_limit = 60;
  prm.tunnel_mtu = mtu;
  const xlat::Verdict v = xlat::encapsulate_46(config(own), fuzz::worker_state(), prm, in, out);
  check_spans(v, out);
  net::Ipv4Packet ip;
  const bool parsed = net::parse_ipv4(in, ip, true) == core::Drop::kNone;
  if (v.outcome == xlat::Outcome::kIcmpError) {
    EDGE46_FUZZ_CHECK(parsed && own, "ICMP error for an unparsed input or without an own address");
    check_icmp4_error(out, ip.src);
    return;
  }
  if (v.outcome == xlat::Outcome::kDropped) return;
  EDGE46_FUZZ_CHECK(v.outcome == xlat::Outcome::kEncapsulated && parsed, "outcome %d", static_cast<int>(v.outcome));
  const uint32_t limit = std::max<uint32_t>(mtu, 68);
  const uint32_t flow = net::load32(out.packet(0).data()) & 0xfffffu;
  EDGE46_FUZZ_CHECK(flow != 0, "flow label 0");
  uint32_t next_off = ip.frag_offset;
  for (uint32_t i = 0; i < out.count; ++i) {
    EDGE46_FUZZ_CHECK(out.packets[i].family == xlat::Family::kV6, "encapsulated packet on the IPv4 side");
    net::Ipv6Packet o6;
    EDGE46_FUZZ_CHECK(net::parse_ipv6(out.packet(i), o6) == core::Drop::kNone, "outer %u does not parse", i);
    EDGE46_FUZZ_CHECK(40u + o6.payload_length == out.packets[i].length, "outer length");
    EDGE46_FUZZ_CHECK(o6.protocol == 4 && o6.l4_offset == 40 && !o6.has_frag, "outer not plain 4in6");
    EDGE46_FUZZ_CHECK(o6.flow_label == flow, "pieces of one datagram with different labels");
    EDGE46_FUZZ_CHECK(o6.traffic_class == ip.tos && o6.hop_limit == 60, "outer TC/HL");
    EDGE46_FUZZ_CHECK(o6.src == prm.src && o6.dst == prm.dst, "outer addresses");
    net::Ipv4Packet f;
    EDGE46_FUZZ_CHECK(net::parse_ipv4({o6.l4(), o6.l4_length()}, f, true) == core::Drop::kNone, "inner %u", i);
    EDGE46_FUZZ_CHECK(f.total_length == o6.payload_length, "inner does not fill the outer");
    EDGE46_FUZZ_CHECK(out.count == 1 || f.total_length <= limit, "piece of %u > tunnel MTU %u", f.total_length, limit);
    EDGE46_FUZZ_CHECK(out.count == 1 || !ip.df, "a DF packet was cut");
    EDGE46_FUZZ_CHECK(f.ttl + 1 == ip.ttl, "TTL %u -> %u", ip.ttl, f.ttl);
    EDGE46_FUZZ_CHECK(f.id == ip.id && f.src == ip.src && f.dst == ip.dst && f.protocol == ip.protocol, "fields");
    EDGE46_FUZZ_CHECK(f.frag_offset == next_off, "piece %u at %u, expected %u", i, f.frag_offset, next_off);
    const uint32_t done = next_off - ip.frag_offset;
    EDGE46_FUZZ_CHECK(std::memcmp(f.payload(), ip.payload() + done, f.payload_length()) == 0, "piece %u data", i);
    next_off += f.payload_length();
    const bool last = i + 1 == out.count;
    EDGE46_FUZZ_CHECK(f.mf == (!last || ip.mf), "MF of piece %u", i);
    EDGE46_FUZZ_CHECK(last || (f.payload_length() & 7u) == 0, "piece %u not a multiple of 8", i);
  }
  EDGE46_FUZZ_CHECK(next_off - ip.frag_offset == ip.payload_length(), "pieces do not cover the payload");
}

void run_decap(bool own, bool match, std::span<const uint8_t> in, xlat::Output& out) {
  xlat::DecapExpect expect{support::v4("192.0.2.10"), support::v4("198.51.100.7")};
  net::Ipv6Packet o6;
  const bool outer_ok = net::parse_ipv6(in, o6) == core::Drop::kNone;
  net::Ipv4Packet inner{};
  const bool inner_ok = outer_ok && net::parse_ipv4_inner({o6.l4(), o6.l4_avail()}, inner) == core::Drop::kNone;
  if (match && inner_ok) expect = {inner.src, inner.dst};
  const xlat::Verdict v = xlat::decapsulate_64(config(own), fuzz::worker_state(), expect, in, out);
  check_spans(v, out);
  if (v.outcome == xlat::Outcome::kDropped) return;
  EDGE46_FUZZ_CHECK(inner_ok && o6.protocol == 4 && !o6.is_fragment(), "emitted for a non-4in6 input");
  if (v.outcome == xlat::Outcome::kIcmpError) {
    EDGE46_FUZZ_CHECK(own && inner.ttl <= 1, "decap ICMP error for TTL %u", inner.ttl);
    check_icmp4_error(out, inner.src);
    return;
  }
  EDGE46_FUZZ_CHECK(v.outcome == xlat::Outcome::kDecapsulated && out.count == 1, "outcome %d",
                    static_cast<int>(v.outcome));
  EDGE46_FUZZ_CHECK(out.packets[0].family == xlat::Family::kV4, "decapsulated packet on the IPv6 side");
  net::Ipv4Packet p;
  EDGE46_FUZZ_CHECK(net::parse_ipv4(out.packet(0), p, true) == core::Drop::kNone, "decapsulated does not parse");
  EDGE46_FUZZ_CHECK(p.total_length == out.packets[0].length && p.total_length == o6.l4_length(), "length");
  EDGE46_FUZZ_CHECK(p.src == expect.src && p.dst == expect.dst, "addresses");
  EDGE46_FUZZ_CHECK(p.ttl + 1 == inner.ttl, "TTL");
  EDGE46_FUZZ_CHECK((p.tos & 0xfc) == (inner.tos & 0xfc), "DSCP changed");
  EDGE46_FUZZ_CHECK(std::memcmp(p.hdr + 12, inner.hdr + 12, p.total_length - 12) == 0, "bytes after TTL changed");
}

void run_tunnel_error(bool own, std::span<const uint8_t> in, xlat::Output& out) {
  const bool quotes = xlat::quotes_encapsulated(in);
  xlat::TunnelError learned;
  const xlat::Verdict v = xlat::tunnel_icmp6_error(config(own), fuzz::worker_state(), in, out, learned);
  check_spans(v, out);
  if (learned.pmtu) {
    EDGE46_FUZZ_CHECK(learned.mtu >= 1240 && learned.mtu <= 65535, "learned MTU %u", learned.mtu);
    EDGE46_FUZZ_CHECK(quotes, "learned from an error that does not quote a 4in6 packet");
  }
  if (v.outcome == xlat::Outcome::kDropped) return;
  EDGE46_FUZZ_CHECK(v.outcome == xlat::Outcome::kTranslated && own, "outcome %d", static_cast<int>(v.outcome));
  EDGE46_FUZZ_CHECK(quotes, "relayed an error that does not quote a 4in6 packet");
  net::Ipv6Packet e, q;
  net::Ipv4Packet inner;
  EDGE46_FUZZ_CHECK(net::parse_ipv6(in, e) == core::Drop::kNone, "outer");
  EDGE46_FUZZ_CHECK(net::parse_ipv6_inner({e.l4() + 8, e.l4_length() - 8}, q) == core::Drop::kNone, "quote");
  EDGE46_FUZZ_CHECK(net::parse_ipv4_inner({q.l4(), q.l4_avail()}, inner) == core::Drop::kNone, "inner");
  check_icmp4_error(out, inner.src);
  const uint8_t* ic = out.packet(0).data() + 20;
  EDGE46_FUZZ_CHECK(ic[0] == 3 && (ic[1] == 1 || ic[1] == 4), "relayed as %u/%u", ic[0], ic[1]);
  EDGE46_FUZZ_CHECK(ic[1] != 4 || (learned.pmtu && net::load16(ic + 6) == learned.mtu), "Frag Needed MTU");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t sel = data[0];
  static constexpr uint32_t kMtus[4] = {68, 576, 1240, 1460};
  const uint32_t mtu = data[1] < 4 ? kMtus[data[1]] : uint32_t{data[1]} * 16u;
  const std::vector<uint8_t> copy(data + 2, data + size);
  const std::span<const uint8_t> in{data + 2, size - 2};
  xlat::Output& out = fuzz::output();
  const bool own = (sel & 4) == 0;
  switch (sel & 3) {
    case 0: run_encap(own, mtu, in, out); break;
    case 1: run_decap(own, (sel & 8) != 0, in, out); break;
    default: run_tunnel_error(own, in, out); break;
  }
  EDGE46_FUZZ_CHECK(in.empty() || std::memcmp(copy.data(), in.data(), in.size()) == 0, "input modified");
  return 0;
}
