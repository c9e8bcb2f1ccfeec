// RFC 2473 IPv4-in-IPv6 tunnel step. The decisions and their RFC sections
// are listed in encap.h; the comments here give the reasons in place.
#include "xlat/encap.h"

#include <algorithm>
#include <cstring>

#include "xlat/common.h"

namespace edge46::xlat {
namespace {

using core::Drop;
using detail::drop;
using detail::emit;
using namespace net;

constexpr uint8_t kIpv4InIpv6 = 4;      // RFC 2473 3: Next Header of a tunnelled IPv4 packet
constexpr uint32_t kMinIpv4Mtu = 68;    // RFC 791: every IPv4 link carries 68 bytes unfragmented
constexpr uint32_t kMinIpv6Mtu = 1280;  // RFC 8200 5
constexpr uint32_t kOuterHeader = static_cast<uint32_t>(ipv6::kHeader);

// --- flow label (RFC 6438) ----------------------------------------------------

// splitmix64's finalizer: a cheap full-avalanche mix of 64 bits.
inline uint64_t mix64(uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

// Transports whose first 4 bytes are the source and destination ports.
inline bool has_ports(uint8_t protocol) noexcept {
  return protocol == proto::kTcp || protocol == proto::kUdp || protocol == 33 /* DCCP */ ||
         protocol == 132 /* SCTP */ || protocol == 136 /* UDP-Lite */;
}

// RFC 6438 2/3: the label is a function of the inner flow only, so every
// packet of a flow takes the same ECMP/LAG path across the core, and is
// never 0 (RFC 6437 2: 0 means "no label"). A fragment has no ports in view
// (and the first fragment must not differ from the others), so fragments
// hash addresses and protocol only.
uint32_t flow_label(const Ipv4Packet& p) noexcept {
  uint32_t ports = 0;
  if (!p.is_fragment() && has_ports(p.protocol) && p.payload_length() >= 4) ports = load32(p.payload());
  uint64_t h = mix64((uint64_t{p.src.value} << 32 | p.dst.value) ^ 0x6564676534366661ull);
  h = mix64(h ^ (uint64_t{p.protocol} << 32 | ports));
  const auto label = static_cast<uint32_t>(h >> 44);  // the top 20 bits
  return label != 0 ? label : 1;
}

// --- inner header edits ----------------------------------------------------------

// Rewrites TOS and TTL of the IPv4 header at h, updating its checksum
// incrementally (RFC 1624 eqn. 3) over the two 16-bit words that change.
void set_tos_ttl(uint8_t* h, uint8_t tos, uint8_t ttl) noexcept {
  const uint64_t removed = uint64_t{load16(h)} + load16(h + ipv4::kTtl);
  h[ipv4::kTos] = tos;
  h[ipv4::kTtl] = ttl;
  const uint64_t added = uint64_t{load16(h)} + load16(h + ipv4::kTtl);
  store16(h + ipv4::kChecksum, csum_update(load16(h + ipv4::kChecksum), removed, added));
}

// RFC 791 3.2: the options of later fragments are those whose copied flag
// (the high bit of the type) is set; NOP and End of Option List are not
// copied. Writes them to o, padded with End of Option List to a multiple of
// 4, and returns the length. A malformed option ends the walk: nothing
// after it is copied.
uint32_t copied_options(const Ipv4Packet& p, uint8_t* o) noexcept {
  const uint8_t* opt = p.hdr + ipv4::kMinHeader;
  const uint32_t n = p.ihl - static_cast<uint32_t>(ipv4::kMinHeader);
  uint32_t i = 0, k = 0;
  while (i < n) {
    const uint8_t type = opt[i];
    if (type == 0) break;  // End of Option List
    if (type == 1) {       // No Operation
      ++i;
      continue;
    }
    if (i + 1 >= n) break;
    const uint8_t len = opt[i + 1];
    if (len < 2 || i + len > n) break;
    if ((type & 0x80) != 0) {
      std::memcpy(o + k, opt + i, len);
      k += len;
    }
    i += len;
  }
  while ((k & 3u) != 0) o[k++] = 0;
  return k;
}

// --- encapsulation ------------------------------------------------------------------

// RFC 791 3.2 fragmentation of the inner packet to pieces of at most `mtu`
// bytes, each wrapped in its own outer header (RFC 4459 3: the inner packet
// is fragmented, never the tunnel packet). The pieces are packed into the
// emit region: at most 64 pieces of one <= 65535-byte packet, each with at
// most 60 + 40 bytes of headers, stay under 72 KiB.
Verdict fragment_and_encapsulate(const EncapParams& prm, const Ipv4Packet& ip, uint32_t mtu, uint32_t label,
                                 Output& out) noexcept {
  const uint8_t* data = ip.payload();
  const uint32_t data_len = ip.payload_length();
  // A fragment that already reaches past the largest datagram cannot be cut
  // into offsets that fit the 13-bit field.
  if (ip.frag_offset + data_len > 0xffffu) return drop(Drop::kBadTotalLength);
  uint8_t later_opts[40];
  const uint32_t later_opt_len = copied_options(ip, later_opts);
  const auto ttl = static_cast<uint8_t>(ip.ttl - 1);
  std::size_t at = 0;
  uint32_t off = 0;
  for (bool first = true; off < data_len; first = false) {
    if (out.count == Output::kMaxPackets) {
      out.count = 0;
      return drop(Drop::kTooManyFragments);
    }
    const uint32_t hl = first ? ip.ihl : static_cast<uint32_t>(ipv4::kMinHeader) + later_opt_len;
    // hl <= 60 and mtu >= 68: every piece carries at least 8 bytes.
    const uint32_t n = std::min((mtu - hl) & ~7u, data_len - off);
    const bool more = off + n < data_len || ip.mf;
    uint8_t* o = out.buffer.data() + at;
    uint8_t* h = o + kOuterHeader;
    if (first) {
      std::memcpy(h, ip.hdr, ip.ihl);
    } else {
      std::memcpy(h, ip.hdr, ipv4::kMinHeader);
      std::memcpy(h + ipv4::kMinHeader, later_opts, later_opt_len);
      h[ipv4::kVersionIhl] = static_cast<uint8_t>(0x40 | (hl / 4));
    }
    store16(h + ipv4::kTotalLength, static_cast<uint16_t>(hl + n));
    // DF is clear (a DF packet is never cut); MF on every piece but the last,
    // and on the last too when the original was itself a non-last fragment.
    store16(h + ipv4::kFlagsFragOff, static_cast<uint16_t>(((ip.frag_offset + off) / 8) | (more ? ipv4::kFlagMf : 0)));
    h[ipv4::kTtl] = ttl;
    store16(h + ipv4::kChecksum, 0);
    store16(h + ipv4::kChecksum, ipv4_header_checksum(h, hl));
    std::memcpy(h + hl, data + off, n);
    detail::write_ipv6_header(o, ip.tos, label, static_cast<uint16_t>(hl + n), kIpv4InIpv6, prm.hop_limit, prm.src,
                              prm.dst);
    emit(out, Family::kV6, at, kOuterHeader + hl + n);
    at += kOuterHeader + hl + n;
    off += n;
  }
  return Verdict{Outcome::kEncapsulated, Drop::kNone};
}

// --- decapsulation --------------------------------------------------------------------

// RFC 6040 4.2 Figure 4, indexed [inner][outer] by ECN codepoint (0 Not-ECT,
// 1 ECT(1), 2 ECT(0), 3 CE); kDropEcn: the packet is dropped.
constexpr uint8_t kDropEcn = 0xff;
constexpr uint8_t kDecapEcn[4][4] = {
    {0, 0, 0, kDropEcn},  // inner Not-ECT
    {1, 1, 1, 3},         // inner ECT(1)
    {2, 1, 2, 3},         // inner ECT(0): ECT(1) outside wins (RFC 6040 changed this cell from RFC 4301)
    {3, 3, 3, 3},         // inner CE
};

}  // namespace

Verdict encapsulate_46(const Config& cfg, WorkerState& ws, const EncapParams& prm, std::span<const uint8_t> in,
                       Output& out) noexcept {
  out.count = 0;
  Ipv4Packet ip;
  if (Drop d = parse_ipv4(in, ip, true); d != Drop::kNone) return drop(d);
  const std::span<const uint8_t> whole{ip.hdr, ip.total_length};
  // RFC 1812 5.3.1: the PE forwards the inner packet as a router onto the
  // tunnel link, so the TTL is checked and decremented here.
  if (ip.ttl <= 1) return detail::icmp4_error(cfg, ws, out, Drop::kTtlExceeded, 11, 0, 0, whole, ip);
  const uint32_t mtu = std::max(prm.tunnel_mtu, kMinIpv4Mtu);
  const uint32_t label = flow_label(ip);
  if (ip.total_length > mtu) {
    // RFC 1191 4: Fragmentation Needed with the next-hop MTU, here the
    // tunnel's (mtu < total_length <= 65535, so it fits the 16-bit field).
    if (ip.df) return detail::icmp4_error(cfg, ws, out, Drop::kFragNeeded, 3, 4, mtu, whole, ip);
    return fragment_and_encapsulate(prm, ip, mtu, label, out);
  }
  uint8_t* o = out.buffer.data();
  // RFC 2473 3.1 / 5: Traffic Class from the inner TOS (RFC 6040 4.1 normal
  // mode copies ECN as well), Payload Length = the inner packet, Next
  // Header 4, the caller's Hop Limit and addresses.
  detail::write_ipv6_header(o, ip.tos, label, static_cast<uint16_t>(ip.total_length), kIpv4InIpv6, prm.hop_limit,
                            prm.src, prm.dst);
  std::memcpy(o + kOuterHeader, ip.hdr, ip.total_length);
  set_tos_ttl(o + kOuterHeader, ip.tos, static_cast<uint8_t>(ip.ttl - 1));
  emit(out, Family::kV6, 0, kOuterHeader + ip.total_length);
  return Verdict{Outcome::kEncapsulated, Drop::kNone};
}

Verdict decapsulate_64(const Config& cfg, WorkerState& ws, const DecapExpect& expect, std::span<const uint8_t> in,
                       Output& out) noexcept {
  out.count = 0;
  Ipv6Packet o6;
  if (Drop d = parse_ipv6(in, o6); d != Drop::kNone) return drop(d);
  // We never fragment the tunnel packet and offer no reassembly: a fragment
  // is either forged or from an entry point we cannot serve. An atomic
  // fragment (offset 0, M 0) is a whole packet (RFC 6946 4).
  if (o6.is_fragment()) return drop(Drop::kDecapFragmented);
  // A Routing header with segments left names a further hop: not ours yet.
  if (o6.segments_left_offset != 0) return drop(Drop::kSegmentsLeft);
  if (o6.protocol != kIpv4InIpv6 || o6.ext_after_frag) return drop(Drop::kDecapNot4in6);

  const std::span<const uint8_t> inner{o6.l4(), o6.l4_length()};
  Ipv4Packet ip;
  if (parse_ipv4(inner, ip, true) != Drop::kNone || ip.total_length != inner.size()) {
    return drop(Drop::kDecapBadInner);
  }
  // Framework 7.1: the outer addresses were derived from the inner ones at
  // the ingress; a packet whose inner addresses disagree was forged inside
  // the core (or by a PE that does not own the source).
  if (ip.src != expect.src || ip.dst != expect.dst) return drop(Drop::kDecapAddressMismatch);

  const uint8_t ecn = kDecapEcn[ip.tos & 3u][o6.traffic_class & 3u];
  if (ecn == kDropEcn) return drop(Drop::kDecapEcnCeNotEct);
  // RFC 2473 3.3 + RFC 1812 5.3.1: the exit point forwards the inner packet
  // as a router; its Time Exceeded goes to the inner source.
  if (ip.ttl <= 1) return detail::icmp4_error(cfg, ws, out, Drop::kTtlExceeded, 11, 0, 0, inner, ip);

  uint8_t* o = out.buffer.data();
  std::memcpy(o, ip.hdr, ip.total_length);
  set_tos_ttl(o, static_cast<uint8_t>((ip.tos & 0xfcu) | ecn), static_cast<uint8_t>(ip.ttl - 1));
  emit(out, Family::kV4, 0, ip.total_length);
  return Verdict{Outcome::kDecapsulated, Drop::kNone};
}

Verdict tunnel_icmp6_error(const Config& cfg, WorkerState& ws, std::span<const uint8_t> in, Output& out,
                           TunnelError& learned) noexcept {
  out.count = 0;
  learned = TunnelError{};
  Ipv6Packet e;
  if (Drop d = parse_ipv6(in, e); d != Drop::kNone) return drop(d);
  if (e.protocol != proto::kIcmp6 || e.ext_after_frag) return drop(Drop::kBadProtocol);
  if (e.is_fragment()) return drop(Drop::kFragmentedIcmp);
  const uint8_t* ic = e.l4();
  const uint32_t icmp_len = e.l4_length();
  if (icmp_len < icmp::kHeader) return drop(Drop::kBadL4Header);
  if (!detail::is_icmp6_error(ic[icmp::kType])) return drop(Drop::kTunnelErrorNotRelayed);
  if (csum_fold(csum_add_bytes(pseudo_header_sum6(e.src, e.dst, proto::kIcmp6, icmp_len), ic, icmp_len)) != 0xffff) {
    return drop(Drop::kBadIcmpChecksum);
  }

  // RFC 4884: Destination Unreachable and Time Exceeded may carry a length
  // attribute (in 8-byte units) ending the quote before an extension
  // structure, which is not relayed.
  uint32_t quoted = icmp_len - static_cast<uint32_t>(icmp::kHeader);
  const uint8_t type = ic[icmp::kType], code = ic[icmp::kCode];
  if ((type == 1 || type == 3) && ic[4] != 0) {
    const uint32_t attr = uint32_t{ic[4]} * 8u;
    if (attr > quoted) return drop(Drop::kBadIcmpLength);
    quoted = attr;
  }
  // The quoted tunnel packet: our outer header (possibly cut) and at least
  // the inner IPv4 header. We never fragment the outer, so a quoted fragment
  // is not one of ours.
  Ipv6Packet q;
  if (parse_ipv6_inner({ic + icmp::kHeader, quoted}, q) != Drop::kNone || q.protocol != kIpv4InIpv6 ||
      q.ext_after_frag || q.is_fragment()) {
    return drop(Drop::kBadInnerPacket);
  }
  Ipv4Packet ip;
  if (parse_ipv4_inner({q.l4(), q.l4_avail()}, ip) != Drop::kNone) return drop(Drop::kBadInnerPacket);

  // RFC 2473 8.3 (table in encap.h).
  uint8_t type4 = 3, code4 = 1;
  uint32_t rest4 = 0;
  switch (type) {
    case 1:  // Destination Unreachable, any code
    case 4:  // Parameter Problem, any code: a fault in the tunnel header
      break;
    case 3:  // Time Exceeded: the outer Hop Limit ran out; reassembly time cannot concern us
      if (code != 0) return drop(Drop::kTunnelErrorNotRelayed);
      break;
    case 2: {  // Packet Too Big
      // RFC 8201 4: an IPv6 path MTU is never below 1280, whatever the
      // message says; a report not below the quoted packet's size is not
      // credible (the packet fitted).
      const uint32_t m = std::max(load32(ic + icmp::kRest), kMinIpv6Mtu);
      if (m >= kOuterHeader + q.payload_length) return drop(Drop::kTunnelErrorNotRelayed);
      learned.pmtu = true;
      learned.egress = q.dst;
      learned.mtu = std::min(m - kOuterHeader, uint32_t{0xffff});
      // RFC 1191 4: only a DF packet is answered with Fragmentation Needed;
      // a DF-clear one is fragmented to the new tunnel MTU from now on.
      if (!ip.df) return drop(Drop::kTunnelPtbDfClear);
      code4 = 4;
      rest4 = learned.mtu;
      break;
    }
    default: return drop(Drop::kTunnelErrorNotRelayed);
  }
  if (!cfg.own_ipv4) return drop(Drop::kTunnelErrorNoOwnIpv4);
  // RFC 1812 4.3.2.7: never about an ICMP error, a non-first fragment, or a
  // multicast/broadcast exchange.
  if (!detail::may_answer_ipv4(ip)) return drop(Drop::kTunnelErrorNotRelayed);
  const Verdict v =
      detail::icmp4_error(cfg, ws, out, Drop::kTunnelErrorNotRelayed, type4, code4, rest4, {ip.hdr, ip.avail}, ip);
  if (v.outcome != Outcome::kIcmpError) return v;
  return Verdict{Outcome::kTranslated, Drop::kNone};
}

bool quotes_encapsulated(std::span<const uint8_t> in) noexcept {
  Ipv6Packet e;
  if (parse_ipv6(in, e) != Drop::kNone || e.protocol != proto::kIcmp6 || e.ext_after_frag || e.is_fragment()) {
    return false;
  }
  if (e.l4_length() < icmp::kHeader + ipv6::kHeader || !detail::is_icmp6_error(e.l4()[icmp::kType])) return false;
  Ipv6Packet q;
  return parse_ipv6_inner({e.l4() + icmp::kHeader, e.l4_length() - icmp::kHeader}, q) == Drop::kNone &&
         q.protocol == kIpv4InIpv6 && !q.ext_after_frag;
}

}  // namespace edge46::xlat
