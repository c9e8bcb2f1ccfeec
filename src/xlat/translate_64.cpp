// IPv6 -> IPv4 (RFC 7915 section 5), and hairpinning (RFC 7757 section 4).
#include <algorithm>
#include <cstring>

#include "xlat/common.h"

namespace edge46::xlat {
namespace detail {
namespace {

using namespace net;

uint8_t map_proto_64(uint8_t p) noexcept {
  return p == proto::kIcmp6 ? proto::kIcmp : p;
}

uint16_t l4_csum_64(uint16_t old, const Ipv6Addr& s6, const Ipv6Addr& d6, Ipv4Addr s4, Ipv4Addr d4) noexcept {
  uint64_t removed = csum_add_addr(csum_add_addr(0, s6), d6);
  uint64_t added = csum_add_addr(csum_add_addr(0, s4), d4);
  return csum_update(old, removed, added);
}

// RFC 7915 5.2 Figure 6: IPv6 Parameter Problem pointer -> IPv4 pointer.
bool map_pointer_64(uint32_t p6, uint8_t& p4) noexcept {
  if (p6 == 0 || p6 == 1) {
    p4 = static_cast<uint8_t>(p6);
  } else if (p6 == 4 || p6 == 5) {
    p4 = 2;
  } else if (p6 == 6) {
    p4 = 9;
  } else if (p6 == 7) {
    p4 = 8;
  } else if (p6 >= 8 && p6 <= 23) {
    p4 = 12;
  } else if (p6 >= 24 && p6 <= 39) {
    p4 = 16;
  } else {
    return false;
  }
  return true;
}

// Is an Authentication Header among p's extension headers? (The chain up to
// l4_offset was validated by the parser; a non-first fragment's chain after
// its Fragment header is opaque.)
bool has_ah(const Ipv6Packet& p) noexcept {
  uint8_t next = p.hdr[ipv6::kNextHeader];
  uint32_t off = ipv6::kHeader;
  while (off < p.l4_offset) {
    if (next == proto::kAh) return true;
    if (off + 2 > p.avail) return false;
    const uint8_t* e = p.hdr + off;
    const uint32_t len =
        next == proto::kFragment ? static_cast<uint32_t>(ipv6::kFragHeader) : (uint32_t{e[1]} + 1u) * 8u;
    next = e[0];
    off += len;
  }
  return false;
}

// RFC 7915 5.2: the MTU of the Fragmentation Needed made from a Packet Too
// Big, minimum(MTU - 20, IPv4 link MTU, IPv6 link MTU - 20), "taking into
// account whether or not the packet in error includes a Fragment Header":
// with one, the IPv4 packet is 28 bytes smaller than its IPv6 form, not 20.
// An MTU below 1280 is no IPv6 link's (RFC 8200 5; 0 from a broken router):
// as RFC 7915 4.2 does for MTU 0 the other way, the largest RFC 1191 5
// plateau below the quoted packet's IPv4 length is used instead.
uint32_t frag_needed_mtu(const Config& cfg, uint32_t mtu6, const Ipv6Packet& inner) noexcept {
  const uint32_t shrink = inner.has_frag ? 28u : 20u;
  const uint32_t mtu4 = mtu6 >= 1280 ? mtu6 - shrink : plateau_below(cfg, 20 + inner.l4_length());
  const uint32_t link6 = cfg.ipv6_mtu > shrink ? cfg.ipv6_mtu - shrink : 68u;
  return std::min({mtu4, cfg.ipv4_mtu, link6, uint32_t{0xffff}});
}

struct ErrorMap {
  uint8_t type, code;
  uint32_t rest;    // ICMPv4 bytes 4-7 (without the RFC 4884 length)
  bool extensions;  // RFC 4884 applies (Destination Unreachable, Time Exceeded)
};

bool map_icmp_error_64(const uint8_t* ic, ErrorMap& m) noexcept {
  uint8_t type = ic[icmp::kType], code = ic[icmp::kCode];
  switch (type) {
    case 1:
      switch (code) {
        case 0:
        case 2:
        case 3: m = ErrorMap{3, 1, 0, true}; return true;
        case 1: m = ErrorMap{3, 10, 0, true}; return true;
        case 4: m = ErrorMap{3, 3, 0, true}; return true;
        default: return false;
      }
    case 2: m = ErrorMap{3, 4, 0, false}; return true;  // MTU: frag_needed_mtu()
    case 3: m = ErrorMap{11, code, 0, true}; return true;
    case 4:
      if (code == 0) {
        uint8_t p4 = 0;
        if (!map_pointer_64(load32(ic + 4), p4)) return false;
        m = ErrorMap{12, 0, uint32_t{p4} << 24, false};
        return true;
      }
      if (code == 1) {
        m = ErrorMap{3, 2, 0, false};
        return true;
      }
      return false;
    default: return false;
  }
}

// IPv4 flags/fragment-offset word and ID for a packet translated from p
// (RFC 7915 5.1): with a Fragment header, its ID's low bits and MF, DF
// clear; without, DF iff the IPv4 packet exceeds 1260 bytes.
void ipv4_id_flags(const Ipv6Packet& p, uint32_t ipv4_len, Ipv4Addr s4, Ipv4Addr d4, WorkerState& ws, uint16_t& id,
                   uint16_t& ff) noexcept {
  if (p.has_frag) {
    id = static_cast<uint16_t>(p.frag_id);
    ff = static_cast<uint16_t>((p.frag_offset / 8) | (p.mf ? ipv4::kFlagMf : 0));
  } else {
    id = next_ipv4_id(ws, s4, d4, map_proto_64(p.protocol));
    ff = ipv4_len > 1260 ? ipv4::kFlagDf : 0;
  }
}

// Translates the packet quoted in an ICMPv6 error into o. Returns bytes
// written (0 with `why` on failure); reports whether its source went through
// pool6 into an EAM-covered IPv4 address (intrinsic hairpin condition B).
template <class M>
uint32_t translate_inner_64(const Config& cfg, const M& m, const Ipv6Packet& in, uint32_t quoted_len, uint8_t* o,
                            bool& hairpin, Drop& why) noexcept {
  Ipv4Addr s4, d4;
  // The quoted packet travelled the other way: its source is on the IPv4 side.
  Via vs = m.map_64(in.src, Side::kV4, Ask{true, true}, s4);
  if (!mapped(vs) || !mapped(m.map_64(in.dst, Side::kV6, Ask{true, true}, d4))) {
    why = Drop::kInnerNoMapping;
    return 0;
  }
  hairpin = m.hairpin_64(vs, s4);
  const uint32_t l4_len = in.l4_length();
  uint16_t id = 0, ff = 0;
  if (in.has_frag) {
    id = static_cast<uint16_t>(in.frag_id);
    ff = static_cast<uint16_t>((in.frag_offset / 8) | (in.mf ? ipv4::kFlagMf : 0));
  } else if (20 + l4_len > 1260) {
    ff = ipv4::kFlagDf;
  }
  const uint8_t tos = cfg.override_tos ? cfg.tos : in.traffic_class;
  write_ipv4_header(o, tos, static_cast<uint16_t>(20 + l4_len), id, ff, in.hop_limit, map_proto_64(in.protocol), s4,
                    d4);
  const uint32_t copy = quoted_len - in.l4_offset;
  uint8_t* l4 = o + 20;
  std::memcpy(l4, in.l4(), copy);
  if (!in.has_frag || in.frag_offset == 0) {
    if (in.protocol == proto::kTcp && copy >= tcp::kChecksum + 2) {
      store16(l4 + tcp::kChecksum, l4_csum_64(load16(l4 + tcp::kChecksum), in.src, in.dst, s4, d4));
    } else if (in.protocol == proto::kUdp && copy >= udp::kHeader) {
      uint16_t c = l4_csum_64(load16(l4 + udp::kChecksum), in.src, in.dst, s4, d4);
      store16(l4 + udp::kChecksum, c == 0 ? 0xffff : c);
    } else if (in.protocol == proto::kIcmp6 && copy >= 4) {
      uint8_t t = l4[0];
      if (is_icmp6_error(t)) {
        why = Drop::kNestedIcmpError;
        return 0;
      }
      uint8_t t4 = t == 128 ? 8 : t == 129 ? 0 : t;
      uint64_t removed = (uint32_t{t} << 8) + pseudo_header_sum6(in.src, in.dst, proto::kIcmp6, l4_len);
      uint64_t added = uint32_t{t4} << 8;
      l4[0] = t4;
      uint16_t c = csum_update(load16(l4 + 2), removed, added);
      store16(l4 + 2, c == 0 ? 0xffff : c);  // as for an outer echo
    }
  }
  return 20 + copy;
}

// Splits the staged IPv4 packet (20-byte header, payload) into fragments of
// at most `mtu` bytes (RFC 791), packed into the emit region. Only for
// packets that leave with DF clear and no Fragment header (<= 1260 bytes, so
// only over an IPv4 link MTU below that).
Verdict fragment_4(const uint8_t* staged, uint32_t len, uint32_t mtu, Output& out) noexcept {
  const uint32_t chunk = (mtu - 20) & ~7u;
  const uint32_t payload = len - 20;
  if (chunk == 0) return drop(Drop::kPacketTooBig);
  const uint32_t pieces = (payload + chunk - 1) / chunk;
  if (pieces > Output::kMaxPackets) return drop(Drop::kTooManyFragments);
  std::size_t at = 0;
  for (uint32_t i = 0; i < pieces; ++i) {
    const uint32_t off = i * chunk;
    const uint32_t n = std::min(chunk, payload - off);
    const bool mf = i + 1 < pieces;
    uint8_t* o = out.buffer.data() + at;
    std::memcpy(o, staged, 20);
    store16(o + ipv4::kTotalLength, static_cast<uint16_t>(20 + n));
    store16(o + ipv4::kFlagsFragOff, static_cast<uint16_t>((off / 8) | (mf ? ipv4::kFlagMf : 0)));
    store16(o + ipv4::kChecksum, 0);
    store16(o + ipv4::kChecksum, ipv4_header_checksum(o, 20));
    std::memcpy(o + 20, staged + 20 + off, n);
    emit(out, Family::kV4, at, 20 + n);
    at += 20 + n;
  }
  return Verdict{Outcome::kTranslated, Drop::kNone};
}

template <class M>
Verdict finish_hairpin(const Config& cfg, const M& m, WorkerState& ws, const uint8_t* v4, uint32_t len,
                       Output& out) noexcept {
  Verdict v = translate_46_impl(cfg, m, ws, {v4, len}, out, Opts46{true, false});
  if (v.outcome == Outcome::kTranslated) v.outcome = Outcome::kHairpinned;
  return v;
}

// RFC 7915 5.2 (ICMPv6 error -> ICMPv4 error), RFC 4884 as Jool does it.
template <class M>
Verdict icmp_error_64(const Config& cfg, const M& mp, WorkerState& ws, const Ipv6Packet& p, Output& out) noexcept {
  if (p.is_fragment()) return drop(Drop::kFragmentedIcmp);
  const uint8_t* ic = p.l4();
  const uint32_t icmp_len = p.l4_length();
  if (icmp_len < icmp::kHeader) return drop(Drop::kBadL4Header);
  uint64_t vsum = pseudo_header_sum6(p.src, p.dst, proto::kIcmp6, icmp_len);
  if (csum_fold(csum_add_bytes(vsum, ic, icmp_len)) != 0xffff) return drop(Drop::kBadIcmpChecksum);

  ErrorMap m;
  if (!map_icmp_error_64(ic, m)) return drop(Drop::kIcmpUntranslatable);
  const uint32_t body = icmp_len - 8;
  const uint32_t ipl = m.extensions ? uint32_t{ic[4]} * 8u : 0u;
  uint32_t quoted = body, ie = 0;
  if (ipl != 0 && ipl != body) {
    if (ipl > body) return drop(Drop::kBadIcmpLength);
    quoted = ipl;
    ie = body - ipl;
  }
  Ipv6Packet inner;
  if (parse_ipv6_inner({ic + 8, quoted}, inner) != Drop::kNone || inner.ext_after_frag ||
      inner.protocol == proto::kIcmp || has_ah(inner)) {
    return drop(Drop::kBadInnerPacket);
  }
  if (m.type == 3 && m.code == 4) m.rest = frag_needed_mtu(cfg, load32(ic + 4), inner);

  Ipv4Addr s4, d4;
  if (!mapped(mp.map_64(p.dst, Side::kV4, Ask{true, true}, d4))) return drop(Drop::kNoMappingDst);
  // The source: its mapping, else an RFC 6791 address. A mapping onto a
  // reserved IPv4 address (a pool6 image of 127/8, 0/8, 224/4, 169.254/16,
  // 255.255.255.255) is no usable source either: RFC 1122 3.2.1.3 forbids
  // those as the source of any datagram, so the router gets an RFC 6791
  // address, or the error is dropped when there is none.
  if (Via v = mp.map_64(p.src, Side::kV6, Ask{true, true}, s4); !mapped(v) || ipv4_reserved(s4)) {
    if (!rfc6791_v4(cfg, ws, s4)) return drop(mapped(v) ? Drop::kReservedSource : Drop::kNoMappingSrc);
  }
  if (p.hop_limit <= 1) return drop(Drop::kTtlExceeded);  // never answer an error

  bool hairpin = false;
  Drop why = Drop::kNone;
  uint8_t* o = out.buffer.data() + kHairpinOffset;  // staged: may hairpin
  const uint32_t op_out = translate_inner_64(cfg, mp, inner, quoted, o + kIcmp4Error.hdrs(), hairpin, why);
  if (op_out == 0) return drop(why);

  uint32_t attr = 0;
  const uint32_t total = assemble_rfc4884(kIcmp4Error, o, op_out, ic + 8 + quoted, ie, false, attr);

  const uint8_t tos = cfg.override_tos ? cfg.tos : p.traffic_class;
  const uint16_t id = p.has_frag ? static_cast<uint16_t>(p.frag_id) : next_ipv4_id(ws, s4, d4, proto::kIcmp);
  write_ipv4_header(o, tos, static_cast<uint16_t>(total), id, 0, static_cast<uint8_t>(p.hop_limit - 1), proto::kIcmp,
                    s4, d4);
  uint8_t* ic4 = o + 20;
  ic4[icmp::kType] = m.type;
  ic4[icmp::kCode] = m.code;
  store16(ic4 + icmp::kChecksum, 0);
  store32(ic4 + icmp::kRest, m.rest | (m.extensions ? attr << 16 : 0u));
  store16(ic4 + icmp::kChecksum, csum_finish(csum_add_bytes(0, ic4, total - 20)));

  if (hairpin) return finish_hairpin(cfg, mp, ws, o, total, out);
  std::memcpy(out.buffer.data(), o, total);
  emit(out, Family::kV4, 0, total);
  return Verdict{Outcome::kTranslated, Drop::kNone};
}

}  // namespace
}  // namespace detail

template <class M>
Verdict translate_64(const Config& cfg, const M& mp, WorkerState& ws, std::span<const uint8_t> in,
                     Output& out) noexcept {
  using namespace detail;
  using namespace net;
  out.count = 0;
  Ipv6Packet p;
  if (Drop d = parse_ipv6(in, p); d != Drop::kNone) return drop(d);
  const std::span<const uint8_t> whole{p.hdr, p.avail};
  const bool first = !p.has_frag || p.frag_offset == 0;
  const uint8_t* l4 = p.l4();
  const uint32_t l4_len = p.l4_length();

  // ICMPv4 inside IPv6 would come out as a raw, unchecked ICMPv4 message.
  // AH would be stripped (it parses as an extension header) or, as RFC 7915
  // 5.1 has it, copied into Protocol where its ICV over the rewritten
  // addresses fails anyway; 4->6 refuses protocol 51, so 6->4 refuses it too.
  if (p.protocol == proto::kIcmp || has_ah(p)) return drop(Drop::kBadProtocol);
  if (p.protocol == proto::kIcmp6 && first && !p.ext_after_frag && l4_len >= 1 && is_icmp6_error(l4[0])) {
    return icmp_error_64(cfg, mp, ws, p, out);
  }

  Ipv4Addr s4, d4;
  const Via vd = mp.map_64(p.dst, Side::kV4, Ask{true, false}, d4);
  if (!mapped(vd)) return drop(mp.unmapped(vd, Side::kV4, Drop::kNoMappingDst));
  if (Via v = mp.map_64(p.src, Side::kV6, Ask{true, false}, s4); !mapped(v)) {
    return drop(mp.unmapped(v, Side::kV6, Drop::kNoMappingSrc));
  }

  if (p.ext_after_frag) return icmp6_error(cfg, out, Drop::kExtHeaderAfterFragment, 1, 1, 0, whole, p);
  if (p.segments_left_offset != 0) {
    return icmp6_error(cfg, out, Drop::kSegmentsLeft, 4, 0, p.segments_left_offset, whole, p);
  }
  if (p.hop_limit <= 1) return icmp6_error(cfg, out, Drop::kTtlExceeded, 3, 0, 0, whole, p);

  // RFC 7757 4.2.2 (intrinsic): a pool6 destination inside an EAM's IPv4
  // prefix is an IPv6 node; the packet goes straight back to IPv6.
  const bool hairpin = mp.hairpin_64(vd, d4);

  uint8_t icmp_type4 = 0;
  if (p.protocol == proto::kIcmp6) {
    if (p.is_fragment()) return drop(Drop::kFragmentedIcmp);
    if (l4_len < icmp::kHeader) return drop(Drop::kBadL4Header);
    if (l4[0] == 128) {
      icmp_type4 = 8;
    } else if (l4[0] == 129) {
      icmp_type4 = 0;
    } else {
      return drop(Drop::kIcmpUntranslatable);
    }
  } else if (first && p.protocol == proto::kUdp) {
    if (l4_len < udp::kHeader) return drop(Drop::kBadL4Header);
    // RFC 8200 8.1: a zero UDP checksum is invalid in IPv6 (the RFC 6935 /
    // 6936 exception is for tunnels whose endpoints agreed to it, not for
    // traffic through a translator). Computing one here would vouch for a
    // payload nobody checksummed, so the packet is dropped, as an IPv6
    // receiver would drop it.
    if (load16(l4 + udp::kChecksum) == 0) return drop(Drop::kUdp6ZeroChecksum);
  } else if (first && p.protocol == proto::kTcp && l4_len < tcp::kMinHeader) {
    return drop(Drop::kBadL4Header);
  }

  const uint32_t ipv4_len = 20 + l4_len;
  if (ipv4_len > 65535) return drop(Drop::kBadPayloadLength);
  uint16_t id = 0, ff = 0;
  ipv4_id_flags(p, ipv4_len, s4, d4, ws, id, ff);
  // RFC 7915 5.1: too big for the IPv4 link. A DF packet or an IPv6 fragment
  // gets Packet Too Big (MTU + 20, as Jool); a DF-clear whole packet (<= 1260
  // bytes, so only over a small IPv4 MTU) is fragmented here.
  bool split = false;
  if (!hairpin && ipv4_len > cfg.ipv4_mtu) {
    if ((ff & ipv4::kFlagDf) != 0 || (p.has_frag && !out.reassembled)) {
      uint32_t mtu = std::max<uint32_t>(1280, cfg.ipv4_mtu + 20);
      return icmp6_error(cfg, out, Drop::kPacketTooBig, 2, 0, mtu, whole, p);
    }
    split = true;
  }

  uint8_t* o = out.buffer.data() + (hairpin ? kHairpinOffset : split ? kStagingOffset : 0);
  const uint8_t tos = cfg.override_tos ? cfg.tos : p.traffic_class;
  write_ipv4_header(o, tos, static_cast<uint16_t>(ipv4_len), id, ff, static_cast<uint8_t>(p.hop_limit - 1),
                    map_proto_64(p.protocol), s4, d4);
  uint8_t* ol4 = o + 20;
  std::memcpy(ol4, l4, l4_len);
  if (first) {
    if (p.protocol == proto::kTcp) {
      store16(ol4 + tcp::kChecksum, l4_csum_64(load16(ol4 + tcp::kChecksum), p.src, p.dst, s4, d4));
    } else if (p.protocol == proto::kUdp) {
      uint16_t c = l4_csum_64(load16(ol4 + udp::kChecksum), p.src, p.dst, s4, d4);
      store16(ol4 + udp::kChecksum, c == 0 ? 0xffff : c);
    } else if (p.protocol == proto::kIcmp6) {
      uint8_t t6 = ol4[icmp::kType];
      ol4[icmp::kType] = icmp_type4;
      uint64_t removed = (uint32_t{t6} << 8) + pseudo_header_sum6(p.src, p.dst, proto::kIcmp6, l4_len);
      uint64_t added = uint32_t{icmp_type4} << 8;
      // ICMPv4 has no pseudo-header: an all-zero message (Echo Reply, id 0,
      // seq 0, no data) sums to 0 and only 0xffff checks. 0xffff is valid
      // wherever 0x0000 is, so the incremental result is never left at 0.
      uint16_t c = csum_update(load16(ol4 + icmp::kChecksum), removed, added);
      store16(ol4 + icmp::kChecksum, c == 0 ? 0xffff : c);
    }
  }
  if (hairpin) return finish_hairpin(cfg, mp, ws, o, ipv4_len, out);
  if (split) return fragment_4(o, ipv4_len, cfg.ipv4_mtu, out);
  emit(out, Family::kV4, 0, ipv4_len);
  return Verdict{Outcome::kTranslated, Drop::kNone};
}

#define EDGE46_XLAT_DEFINE(M) \
  template Verdict translate_64<M>(const Config&, const M&, WorkerState&, std::span<const uint8_t>, Output&) noexcept;
EDGE46_XLAT_MAPPERS(EDGE46_XLAT_DEFINE)
#undef EDGE46_XLAT_DEFINE

}  // namespace edge46::xlat
