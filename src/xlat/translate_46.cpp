// IPv4 -> IPv6 (RFC 7915 section 4).
#include <algorithm>
#include <cstring>

#include "xlat/common.h"

namespace edge46::xlat {
namespace detail {
namespace {

using namespace net;

// RFC 7915 4.1: an unexpired Loose/Strict Source Route option.
bool has_unexpired_source_route(const Ipv4Packet& p) noexcept {
  const uint8_t* o = p.hdr + ipv4::kMinHeader;
  uint32_t n = p.ihl - static_cast<uint32_t>(ipv4::kMinHeader);
  uint32_t i = 0;
  while (i < n) {
    uint8_t type = o[i];
    if (type == 0) break;  // End of Option List
    if (type == 1) {       // No Operation
      ++i;
      continue;
    }
    if (i + 1 >= n) break;
    uint8_t len = o[i + 1];
    if (len < 2 || i + len > n) break;
    if ((type == 131 || type == 137) && len >= 3 && o[i + 2] <= len) return true;
    i += len;
  }
  return false;
}

uint8_t map_proto_46(uint8_t p) noexcept {
  return p == proto::kIcmp ? proto::kIcmp6 : p;
}

// IPv4 protocol numbers that would read as an IPv6 extension header or as
// ICMPv6 once copied into Next Header: translating them would let an IPv4
// host forge IPv6 header chains, so they are refused. AH (51) is one too,
// and its ICV covers the addresses the translator rewrites: it cannot
// survive translation either way.
bool protocol_translatable_46(uint8_t p) noexcept {
  return p != proto::kHopByHop && p != proto::kRouting && p != proto::kFragment && p != proto::kDestOpts &&
         p != proto::kAh && p != proto::kIcmp6;
}

// Updates a TCP/UDP checksum for the pseudo-header address change.
uint16_t l4_csum_46(uint16_t old, Ipv4Addr s4, Ipv4Addr d4, const Ipv6Addr& s6, const Ipv6Addr& d6) noexcept {
  uint64_t removed = csum_add_addr(csum_add_addr(0, s4), d4);
  uint64_t added = csum_add_addr(csum_add_addr(0, s6), d6);
  return csum_update(old, removed, added);
}

// RFC 7915 4.2 Figure 3: IPv4 Parameter Problem pointer -> IPv6 pointer.
bool map_pointer_46(uint8_t p4, uint32_t& p6) noexcept {
  switch (p4) {
    case 0: p6 = 0; return true;
    case 1: p6 = 1; return true;
    case 2:
    case 3: p6 = 4; return true;
    case 8: p6 = 7; return true;
    case 9: p6 = 6; return true;
    case 12:
    case 13:
    case 14:
    case 15: p6 = 8; return true;
    case 16:
    case 17:
    case 18:
    case 19: p6 = 24; return true;
    default: return false;
  }
}

// RFC 7915 4.2: the ICMPv6 type/code (and rest-of-header) for an ICMPv4 error.
struct ErrorMap {
  uint8_t type, code;
  uint32_t rest;
  bool force_remove_ie;
};
bool map_icmp_error_46(const Config& cfg, const uint8_t* ic, const Ipv4Packet& inner, ErrorMap& m) noexcept {
  uint8_t type = ic[icmp::kType], code = ic[icmp::kCode];
  m = ErrorMap{1, 0, 0, false};
  if (type == 3) {
    switch (code) {
      case 0:
      case 1:
      case 5:
      case 6:
      case 7:
      case 8:
      case 11:
      case 12: m.code = 0; return true;
      case 2:  // Protocol Unreachable -> Parameter Problem, pointer to Next Header
        m = ErrorMap{4, 1, 6, true};
        return true;
      case 3: m.code = 4; return true;
      case 4: {  // Fragmentation Needed -> Packet Too Big
        uint32_t mtu = load16(ic + 6);
        // RFC 1191 plateaus: the largest one below the offending packet's size.
        if (mtu == 0) mtu = plateau_below(cfg, inner.total_length);
        // RFC 7915 4.2: minimum(MTU + 20, IPv6 link MTU, IPv4 link MTU + 20),
        // "taking into account whether or not the packet in error includes a
        // Fragment Header": a quoted IPv4 fragment was an IPv6 packet with
        // one, 28 bytes larger than its IPv4 form.
        const uint32_t grow = inner.is_fragment() ? 28u : 20u;
        uint32_t v6 = std::min({mtu + grow, cfg.ipv6_mtu, cfg.ipv4_mtu + grow});
        m = ErrorMap{2, 0, std::max<uint32_t>(1280, v6), true};
        return true;
      }
      case 9:
      case 10:
      case 13:
      case 15: m.code = 1; return true;
      default: return false;  // 14 (host precedence violation) and unknown codes
    }
  }
  if (type == 11) {
    m = ErrorMap{3, code, 0, false};
    return true;
  }
  if (type == 12 && (code == 0 || code == 2)) {
    uint32_t p6 = 0;
    if (!map_pointer_46(ic[4], p6)) return false;
    m = ErrorMap{4, 0, p6, true};
    return true;
  }
  return false;
}

// Translates the packet quoted in an ICMPv4 error into o (IPv6 header, an
// optional Fragment header, then every remaining quoted byte, padding
// included). Returns the number of bytes written, or 0 with `why` set.
template <class M>
uint32_t translate_inner_46(const Config& cfg, const M& m, const Ipv4Packet& in, uint32_t quoted_len, bool hairpin,
                            uint8_t* o, Drop& why) noexcept {
  Ipv6Addr s6, d6;
  // The quoted packet travelled the other way: its source is the IPv6 node.
  if (!mapped(m.map_46(in.src, Side::kV6, Ask{true, true}, s6)) ||
      !mapped(m.map_46(in.dst, Side::kV4, Ask{!hairpin, true}, d6))) {
    why = Drop::kInnerNoMapping;
    return 0;
  }
  const bool frag = in.is_fragment();
  const uint32_t hdr = frag ? 48u : 40u;
  const uint8_t tc = cfg.zeroize_traffic_class ? 0 : in.tos;
  const auto plen = static_cast<uint16_t>(in.total_length - in.ihl + (frag ? 8u : 0u));
  const uint8_t p6 = map_proto_46(in.protocol);
  write_ipv6_header(o, tc, 0, plen, frag ? proto::kFragment : p6, in.ttl, s6, d6);
  if (frag) {
    uint8_t* f = o + 40;
    f[0] = p6;
    f[1] = 0;
    store16(f + 2, static_cast<uint16_t>(in.frag_offset | (in.mf ? 1u : 0u)));
    store32(f + 4, in.id);
  }
  const uint32_t copy = quoted_len - in.ihl;
  uint8_t* l4 = o + hdr;
  std::memcpy(l4, in.payload(), copy);
  if (in.frag_offset == 0) {
    if (in.protocol == proto::kTcp && copy >= tcp::kChecksum + 2) {
      store16(l4 + tcp::kChecksum, l4_csum_46(load16(l4 + tcp::kChecksum), in.src, in.dst, s6, d6));
    } else if (in.protocol == proto::kUdp && copy >= udp::kHeader && load16(l4 + udp::kChecksum) != 0) {
      store16(l4 + udp::kChecksum, l4_csum_46(load16(l4 + udp::kChecksum), in.src, in.dst, s6, d6));
    } else if (in.protocol == proto::kIcmp && copy >= 4) {
      uint8_t t = l4[0];
      if (is_icmp4_error(t)) {
        why = Drop::kNestedIcmpError;
        return 0;
      }
      uint8_t t6 = t == 8 ? 128 : t == 0 ? 129 : t;
      uint64_t removed = uint32_t{t} << 8;
      uint64_t added = (uint32_t{t6} << 8) + pseudo_header_sum6(s6, d6, proto::kIcmp6, in.total_length - in.ihl);
      l4[0] = t6;
      store16(l4 + 2, csum_update(load16(l4 + 2), removed, added));
    }
  }
  return hdr + copy;
}

// RFC 7915 4.2 (ICMPv4 error -> ICMPv6 error) with RFC 4884 handling as Jool
// does it: the extension is opaque, kept whole or dropped whole.
template <class M>
Verdict icmp_error_46(const Config& cfg, const M& m, WorkerState& ws, const Ipv4Packet& p, Output& out,
                      Opts46 opts) noexcept {
  const uint8_t* ic = p.payload();
  const uint32_t icmp_len = p.payload_length();
  if (csum_fold(csum_add_bytes(0, ic, icmp_len)) != 0xffff) return drop(Drop::kBadIcmpChecksum);

  const uint32_t body = icmp_len - 8;
  const uint32_t ipl = uint32_t{ic[5]} * 4u;
  uint32_t quoted = body, ie = 0;
  if (ipl != 0 && ipl != body) {
    if (ipl > body) return drop(Drop::kBadIcmpLength);
    quoted = ipl;
    ie = body - ipl;
  }
  Ipv4Packet inner;
  if (parse_ipv4_inner({ic + 8, quoted}, inner) != Drop::kNone || !protocol_translatable_46(inner.protocol)) {
    return drop(Drop::kBadInnerPacket);
  }

  ErrorMap em;
  if (!map_icmp_error_46(cfg, ic, inner, em)) return drop(Drop::kIcmpUntranslatable);

  // A reserved (martian) source: RFC 7915 4.1 says a translator SHOULD
  // silently drop a packet with an illegal source such as 0.0.0.0 or
  // 127.0.0.1 (RFC 1812 5.3.7; RFC 1122 3.2.1.3 forbids them as sources,
  // RFC 3927 2.7 169.254/16 beyond the link). Jool exempts ICMP errors;
  // edge46 does not: an RFC 6791 IPv6 source would launder a spoofed error.
  if (ipv4_reserved(p.src)) return drop(Drop::kReservedSource);

  // Outer addresses. In a hairpin, the source goes through pool6 unless it is
  // the quoted packet's destination (RFC 7757 4).
  Ipv6Addr s6, d6;
  // Both addresses of an ICMP error skip the denylist (as Jool does): the
  // error concerns traffic that was translated.
  if (!mapped(m.map_46(p.dst, Side::kV6, Ask{true, true}, d6))) return drop(Drop::kNoMappingDst);
  bool src_eam = !(opts.hairpin && p.src == inner.dst);
  if (!mapped(m.map_46(p.src, Side::kV4, Ask{src_eam, true}, s6)) && !rfc6791_v6(cfg, ws, s6)) {
    return drop(Drop::kNoMappingSrc);
  }
  if (opts.decrement_ttl && p.ttl <= 1) return drop(Drop::kTtlExceeded);  // never answer an error

  uint8_t* o = out.buffer.data();
  Drop why = Drop::kNone;
  const uint32_t op_out = translate_inner_46(cfg, m, inner, quoted, opts.hairpin, o + kIcmp6Error.hdrs(), why);
  if (op_out == 0) return drop(why);

  uint32_t attr = 0;
  const uint32_t total = assemble_rfc4884(kIcmp6Error, o, op_out, ic + 8 + quoted, ie, em.force_remove_ie, attr);

  const uint8_t tc = cfg.zeroize_traffic_class ? 0 : p.tos;
  const auto hlim = static_cast<uint8_t>(opts.decrement_ttl ? p.ttl - 1 : p.ttl);
  write_ipv6_header(o, tc, 0, static_cast<uint16_t>(total - 40), proto::kIcmp6, hlim, s6, d6);
  uint8_t* ic6 = o + 40;
  ic6[icmp::kType] = em.type;
  ic6[icmp::kCode] = em.code;
  store16(ic6 + icmp::kChecksum, 0);
  if (em.type == 1 || em.type == 3) {
    store32(ic6 + icmp::kRest, attr << 24);
  } else {
    store32(ic6 + icmp::kRest, em.rest);
  }
  uint64_t sum = pseudo_header_sum6(s6, d6, proto::kIcmp6, total - 40);
  store16(ic6 + icmp::kChecksum, csum_finish(csum_add_bytes(sum, ic6, total - 40)));
  emit(out, Family::kV6, 0, total);
  return Verdict{Outcome::kTranslated, Drop::kNone};
}

// Splits the staged IPv6 packet (header, Fragment header, payload) into
// fragments of at most `limit` bytes, packed into the emit region.
Verdict fragment_6(const uint8_t* staged, uint32_t len, uint32_t limit, Output& out) noexcept {
  const uint32_t chunk = (limit - 48) & ~7u;
  const uint32_t payload = len - 48;
  const uint32_t pieces = (payload + chunk - 1) / chunk;
  if (pieces > Output::kMaxPackets) return drop(Drop::kTooManyFragments);
  const uint16_t om = load16(staged + 40 + ipv6::kFragOffM);
  const uint32_t base = om & 0xfff8u;
  const bool last_mf = (om & 1u) != 0;
  std::size_t at = 0;
  for (uint32_t i = 0; i < pieces; ++i) {
    const uint32_t off = i * chunk;
    const uint32_t n = std::min(chunk, payload - off);
    const bool mf = i + 1 < pieces || last_mf;
    uint8_t* o = out.buffer.data() + at;
    std::memcpy(o, staged, 48);
    store16(o + ipv6::kPayloadLength, static_cast<uint16_t>(8 + n));
    store16(o + 40 + ipv6::kFragOffM, static_cast<uint16_t>((base + off) | (mf ? 1u : 0u)));
    std::memcpy(o + 48, staged + 48 + off, n);
    emit(out, Family::kV6, at, 48 + n);
    at += 48 + n;
  }
  return Verdict{Outcome::kTranslated, Drop::kNone};
}

}  // namespace

template <class M>
Verdict translate_46_impl(const Config& cfg, const M& m, WorkerState& ws, std::span<const uint8_t> in, Output& out,
                          Opts46 opts) noexcept {
  Ipv4Packet p;
  if (Drop d = parse_ipv4(in, p, true); d != Drop::kNone) return drop(d);
  if (m.hairpin_all_46()) opts.hairpin = true;
  const bool answer = opts.decrement_ttl;  // a hairpin's second pass never answers
  const std::span<const uint8_t> whole{p.hdr, p.total_length};
  const uint8_t* l4 = p.payload();
  const uint32_t l4_len = p.payload_length();
  const bool first = p.frag_offset == 0;
  if (!protocol_translatable_46(p.protocol)) return drop(Drop::kBadProtocol);

  if (p.protocol == proto::kIcmp) {
    if (p.is_fragment()) return drop(Drop::kFragmentedIcmp);
    if (l4_len < icmp::kHeader) return drop(Drop::kBadL4Header);
    if (is_icmp4_error(l4[icmp::kType])) return icmp_error_46(cfg, m, ws, p, out, opts);
  }

  Ipv6Addr s6, d6;
  if (Via v = m.map_46(p.dst, Side::kV6, Ask{true, false}, d6); !mapped(v)) {
    return drop(m.unmapped(v, Side::kV6, Drop::kNoMappingDst));
  }
  if (Via v = m.map_46(p.src, Side::kV4, Ask{!opts.hairpin, false}, s6); !mapped(v)) {
    return drop(m.unmapped(v, Side::kV4, Drop::kNoMappingSrc));
  }

  if (opts.decrement_ttl && p.ttl <= 1) {
    return answer ? icmp4_error(cfg, ws, out, Drop::kTtlExceeded, 11, 0, 0, whole, p) : drop(Drop::kTtlExceeded);
  }
  if (p.ihl > ipv4::kMinHeader && has_unexpired_source_route(p)) {
    return answer ? icmp4_error(cfg, ws, out, Drop::kSourceRoute, 3, 5, 0, whole, p) : drop(Drop::kSourceRoute);
  }

  // Transport checks that can refuse the packet.
  uint8_t icmp_type6 = 0;
  bool amend_udp = false;
  if (p.protocol == proto::kIcmp) {
    uint8_t t = l4[icmp::kType];
    if (t == 8) {
      icmp_type6 = 128;
    } else if (t == 0) {
      icmp_type6 = 129;
    } else {
      return drop(Drop::kIcmpUntranslatable);
    }
  } else if (first && p.protocol == proto::kUdp) {
    if (l4_len < udp::kHeader) return drop(Drop::kBadL4Header);
    if (load16(l4 + udp::kChecksum) == 0) {
      // RFC 7915 4.5: a fragment cannot be amended; otherwise per configuration.
      if (p.is_fragment() || !cfg.amend_udp_checksum_zero) {
        return answer ? icmp4_error(cfg, ws, out, Drop::kUdpZeroChecksum, 3, 13, 0, whole, p)
                      : drop(Drop::kUdpZeroChecksum);
      }
      amend_udp = true;
    }
  } else if (first && p.protocol == proto::kTcp) {
    if (l4_len < tcp::kMinHeader) return drop(Drop::kBadL4Header);
  }

  // Sizes (RFC 7915 4 and 4.1, updated by RFC 8021: no atomic fragments).
  bool frag_hdr = p.is_fragment();
  const uint32_t whole_len = 40 + (frag_hdr ? 8 : 0) + l4_len;
  bool split = false;
  uint32_t limit = 0;
  if (p.df) {
    if (whole_len > cfg.ipv6_mtu) {
      // RFC 7915 4: the largest IPv4 packet that fits. A fragment gains a
      // Fragment header as well (20 + 8 bytes), so reporting MTU - 20 would
      // refuse the sender's obedient retry again: a PMTU black hole.
      uint32_t mtu = cfg.ipv6_mtu - (frag_hdr ? 28 : 20);
      return answer ? icmp4_error(cfg, ws, out, Drop::kFragNeeded, 3, 4, mtu & 0xffffu, whole, p)
                    : drop(Drop::kFragNeeded);
    }
  } else {
    limit = std::min(cfg.lowest_ipv6_mtu, cfg.ipv6_mtu);
    split = whole_len > limit;
  }
  if (split) frag_hdr = true;
  const uint32_t hdr_len = frag_hdr ? 48 : 40;
  const uint32_t out_len = hdr_len + l4_len;

  uint8_t* o = out.buffer.data() + (split ? kStagingOffset : 0);
  const uint8_t tc = cfg.zeroize_traffic_class ? 0 : p.tos;
  const uint8_t next = map_proto_46(p.protocol);
  const auto hlim = static_cast<uint8_t>(opts.decrement_ttl ? p.ttl - 1 : p.ttl);
  write_ipv6_header(o, tc, 0, static_cast<uint16_t>(out_len - 40), frag_hdr ? proto::kFragment : next, hlim, s6, d6);
  if (frag_hdr) {
    uint8_t* f = o + 40;
    f[ipv6::kFragNext] = next;
    f[1] = 0;
    store16(f + ipv6::kFragOffM, static_cast<uint16_t>(p.frag_offset | (p.mf ? 1u : 0u)));
    store32(f + ipv6::kFragId, p.id);
  }
  uint8_t* ol4 = o + hdr_len;
  std::memcpy(ol4, l4, l4_len);

  if (first) {
    if (p.protocol == proto::kTcp) {
      store16(ol4 + tcp::kChecksum, l4_csum_46(load16(ol4 + tcp::kChecksum), p.src, p.dst, s6, d6));
    } else if (p.protocol == proto::kUdp) {
      uint16_t c;
      if (amend_udp) {
        c = csum_finish(csum_add_bytes(pseudo_header_sum6(s6, d6, proto::kUdp, l4_len), ol4, l4_len));
      } else {
        c = l4_csum_46(load16(ol4 + udp::kChecksum), p.src, p.dst, s6, d6);
      }
      store16(ol4 + udp::kChecksum, c == 0 ? 0xffff : c);
    } else if (p.protocol == proto::kIcmp) {
      uint8_t t4 = ol4[icmp::kType];
      ol4[icmp::kType] = icmp_type6;
      uint64_t removed = uint32_t{t4} << 8;
      uint64_t added = (uint32_t{icmp_type6} << 8) + pseudo_header_sum6(s6, d6, proto::kIcmp6, l4_len);
      store16(ol4 + icmp::kChecksum, csum_update(load16(ol4 + icmp::kChecksum), removed, added));
    }
  }

  if (split) return fragment_6(o, out_len, limit, out);
  emit(out, Family::kV6, 0, out_len);
  return Verdict{Outcome::kTranslated, Drop::kNone};
}

}  // namespace detail

template <class M>
Verdict translate_46(const Config& cfg, const M& m, WorkerState& ws, std::span<const uint8_t> in,
                     Output& out) noexcept {
  out.count = 0;
  return detail::translate_46_impl(cfg, m, ws, in, out, detail::Opts46{false, true});
}

#define EDGE46_XLAT_DEFINE(M)                                                                                    \
  template Verdict detail::translate_46_impl<M>(const Config&, const M&, WorkerState&, std::span<const uint8_t>, \
                                                Output&, detail::Opts46) noexcept;                               \
  template Verdict translate_46<M>(const Config&, const M&, WorkerState&, std::span<const uint8_t>, Output&) noexcept;
EDGE46_XLAT_MAPPERS(EDGE46_XLAT_DEFINE)
#undef EDGE46_XLAT_DEFINE

}  // namespace edge46::xlat
