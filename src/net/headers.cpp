#include "net/headers.h"

#include "net/checksum.h"

namespace edge46::net {

using core::Drop;

namespace {

Drop parse_ipv4_common(std::span<const uint8_t> in, Ipv4Packet& out) noexcept {
  if (in.size() < ipv4::kMinHeader) return Drop::kTruncated;
  const uint8_t* p = in.data();
  if ((p[ipv4::kVersionIhl] >> 4) != 4) return Drop::kBadVersion;
  uint32_t ihl = (p[ipv4::kVersionIhl] & 0x0fu) * 4u;
  if (ihl < ipv4::kMinHeader) return Drop::kBadIhl;
  if (ihl > in.size()) return Drop::kTruncated;
  out.hdr = p;
  out.ihl = ihl;
  out.avail = 0;
  out.total_length = load16(p + ipv4::kTotalLength);
  if (out.total_length < ihl) return Drop::kBadTotalLength;
  out.tos = p[ipv4::kTos];
  out.ttl = p[ipv4::kTtl];
  out.protocol = p[ipv4::kProtocol];
  out.id = load16(p + ipv4::kId);
  uint16_t ff = load16(p + ipv4::kFlagsFragOff);
  out.df = (ff & ipv4::kFlagDf) != 0;
  out.mf = (ff & ipv4::kFlagMf) != 0;
  out.frag_offset = uint32_t{static_cast<uint16_t>(ff & ipv4::kFragOffMask)} * 8u;
  out.src = read_ipv4(p + ipv4::kSrc);
  out.dst = read_ipv4(p + ipv4::kDst);
  return Drop::kNone;
}

// Walks the extension header chain starting at `next` / `off`.
Drop walk_ipv6_chain(const uint8_t* p, uint32_t end, Ipv6Packet& out) noexcept {
  uint8_t next = p[ipv6::kNextHeader];
  uint32_t off = static_cast<uint32_t>(ipv6::kHeader);
  unsigned count = 0;
  bool first = true;
  for (;;) {
    bool is_ext = next == proto::kHopByHop || next == proto::kRouting || next == proto::kDestOpts ||
                  next == proto::kAh || next == proto::kFragment;
    if (is_ext && out.has_frag) {
      // Jool answers these with ICMPv6 1/1; the rest of the chain is moot.
      out.ext_after_frag = true;
      out.protocol = next;
      out.l4_offset = off;
      return Drop::kNone;
    }
    switch (next) {
      case proto::kHopByHop:
        if (!first) return Drop::kBadExtHeader;  // RFC 8200 4.1: only right after the header
        [[fallthrough]];
      case proto::kRouting:
      case proto::kDestOpts:
      case proto::kAh: {
        if (off + 2 > end) return Drop::kBadExtHeader;
        uint32_t len = next == proto::kAh ? (uint32_t{p[off + 1]} + 2u) * 4u : (uint32_t{p[off + 1]} + 1u) * 8u;
        if (off + len > end) return Drop::kBadExtHeader;
        if (next == proto::kRouting && p[off + 3] != 0 && out.segments_left_offset == 0) {
          out.segments_left_offset = off + 3;
        }
        next = p[off];
        off += len;
        break;
      }
      case proto::kFragment: {
        if (off + ipv6::kFragHeader > end) return Drop::kBadExtHeader;
        out.has_frag = true;
        out.frag_header_offset = off;
        uint16_t om = load16(p + off + ipv6::kFragOffM);
        out.frag_offset = uint32_t{static_cast<uint16_t>(om & 0xfff8u)};
        out.mf = (om & 1u) != 0;
        out.frag_id = load32(p + off + ipv6::kFragId);
        next = p[off + ipv6::kFragNext];
        off += static_cast<uint32_t>(ipv6::kFragHeader);
        if (out.frag_offset != 0) {
          // Non-first fragment: what follows is opaque payload.
          out.protocol = next;
          out.l4_offset = off;
          return Drop::kNone;
        }
        break;
      }
      default:
        out.protocol = next;
        out.l4_offset = off;
        return Drop::kNone;
    }
    first = false;
    if (++count > kMaxExtHeaders) return Drop::kTooManyExtHeaders;
  }
}

Drop parse_ipv6_common(std::span<const uint8_t> in, Ipv6Packet& out) noexcept {
  if (in.size() < ipv6::kHeader) return Drop::kTruncated;
  const uint8_t* p = in.data();
  if ((p[0] >> 4) != 6) return Drop::kBadVersion;
  out.hdr = p;
  uint32_t vtf = load32(p);
  out.traffic_class = static_cast<uint8_t>(vtf >> 20);
  out.flow_label = vtf & 0xfffffu;
  out.payload_length = load16(p + ipv6::kPayloadLength);
  out.hop_limit = p[ipv6::kHopLimit];
  out.src = read_ipv6(p + ipv6::kSrc);
  out.dst = read_ipv6(p + ipv6::kDst);
  out.avail = 0;
  out.protocol = 0;
  out.l4_offset = 0;
  out.has_frag = false;
  out.frag_header_offset = 0;
  out.frag_id = 0;
  out.frag_offset = 0;
  out.mf = false;
  out.segments_left_offset = 0;
  out.ext_after_frag = false;
  return Drop::kNone;
}

}  // namespace

Drop parse_ipv4(std::span<const uint8_t> in, Ipv4Packet& out, bool verify_checksum) noexcept {
  if (Drop d = parse_ipv4_common(in, out); d != Drop::kNone) return d;
  if (out.total_length > in.size()) return Drop::kTruncated;
  out.avail = out.total_length;
  if (verify_checksum && ipv4_header_checksum(out.hdr, out.ihl) != load16(out.hdr + ipv4::kChecksum)) {
    return Drop::kBadIpv4Checksum;
  }
  return Drop::kNone;
}

Drop parse_ipv4_inner(std::span<const uint8_t> in, Ipv4Packet& out) noexcept {
  if (Drop d = parse_ipv4_common(in, out); d != Drop::kNone) return d;
  out.avail = static_cast<uint32_t>(std::min<std::size_t>(in.size(), out.total_length));
  return Drop::kNone;
}

Drop parse_ipv6(std::span<const uint8_t> in, Ipv6Packet& out) noexcept {
  if (Drop d = parse_ipv6_common(in, out); d != Drop::kNone) return d;
  // Payload length 0 with a Hop-by-Hop header is a jumbogram (RFC 2675),
  // which no IPv4 packet can carry; 0 otherwise is just an empty payload.
  if (out.payload_length == 0 && out.hdr[ipv6::kNextHeader] == proto::kHopByHop) return Drop::kBadPayloadLength;
  if (ipv6::kHeader + out.payload_length > in.size()) return Drop::kTruncated;
  out.avail = static_cast<uint32_t>(ipv6::kHeader) + out.payload_length;
  return walk_ipv6_chain(out.hdr, out.avail, out);
}

Drop parse_ipv6_inner(std::span<const uint8_t> in, Ipv6Packet& out) noexcept {
  if (Drop d = parse_ipv6_common(in, out); d != Drop::kNone) return d;
  out.avail = static_cast<uint32_t>(std::min<std::size_t>(in.size(), ipv6::kHeader + out.payload_length));
  return walk_ipv6_chain(out.hdr, out.avail, out);
}

}  // namespace edge46::net
