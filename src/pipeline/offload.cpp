#include "pipeline/offload.h"

#include <cstring>

#include "net/bytes.h"
#include "net/checksum.h"
#include "net/headers.h"

namespace edge46::pipeline {
namespace {

using net::load16;
using net::load32;
using net::store16;
using net::store32;

// The layout of a TCP super-packet we can translate once.
struct TcpLayout {
  xlat::Family family;
  uint32_t l3 = 0;   // IP header length
  uint32_t thl = 0;  // TCP header length
  uint32_t payload = 0;
  uint32_t hl() const noexcept { return l3 + thl; }
};

bool tcp_layout(std::span<const uint8_t> p, const VnetHdr& h, TcpLayout& t) noexcept {
  if (p.size() < 20) return false;
  const uint8_t base = h.gso_type & static_cast<uint8_t>(~kGsoEcn);
  if ((p[0] >> 4) == 4 && base == kGsoTcpV4) {
    t.family = xlat::Family::kV4;
    t.l3 = (p[0] & 0x0fu) * 4u;
    if (t.l3 < 20 || p[net::ipv4::kProtocol] != net::proto::kTcp) return false;
    uint16_t ff = load16(p.data() + net::ipv4::kFlagsFragOff);
    if ((ff & (net::ipv4::kFlagMf | net::ipv4::kFragOffMask)) != 0) return false;
  } else if ((p[0] >> 4) == 6 && base == kGsoTcpV6) {
    t.family = xlat::Family::kV6;
    t.l3 = 40;
    if (p.size() < 40 || p[net::ipv6::kNextHeader] != net::proto::kTcp) return false;
  } else {
    return false;
  }
  if (h.csum_start != t.l3 || p.size() < t.l3 + 20u) return false;
  t.thl = (p[t.l3 + 12] >> 4) * 4u;
  if (t.thl < 20 || p.size() < t.hl()) return false;
  t.payload = static_cast<uint32_t>(p.size()) - t.hl();
  return h.gso_size != 0;
}

uint64_t pseudo_sum(std::span<const uint8_t> p, xlat::Family f, uint32_t l4len) noexcept {
  if (f == xlat::Family::kV4) {
    return net::pseudo_header_sum4(net::read_ipv4(p.data() + net::ipv4::kSrc),
                                   net::read_ipv4(p.data() + net::ipv4::kDst), net::proto::kTcp, l4len);
  }
  return net::pseudo_header_sum6(net::read_ipv6(p.data() + net::ipv6::kSrc), net::read_ipv6(p.data() + net::ipv6::kDst),
                                 net::proto::kTcp, l4len);
}

// Sets the IP length fields of a packet of `total` bytes with an l3-byte header.
void set_ip_length(uint8_t* p, xlat::Family f, uint32_t l3, uint32_t total) noexcept {
  if (f == xlat::Family::kV4) {
    store16(p + net::ipv4::kTotalLength, static_cast<uint16_t>(total));
    store16(p + net::ipv4::kChecksum, 0);
    store16(p + net::ipv4::kChecksum, net::ipv4_header_checksum(p, l3));
  } else {
    store16(p + net::ipv6::kPayloadLength, static_cast<uint16_t>(total - 40));
  }
}

// Builds segment i (0-based) of a TCP super-packet in area.seg, with a full
// checksum. Returns its length.
uint32_t build_segment(std::span<const uint8_t> p, const TcpLayout& t, uint16_t mss, uint32_t i,
                       OffloadArea& a) noexcept {
  const uint32_t off = i * mss;
  const uint32_t len = std::min<uint32_t>(mss, t.payload - off);
  const bool last = off + len == t.payload;
  uint8_t* s = a.seg.data();
  std::memcpy(s, p.data(), t.hl());
  std::memcpy(s + t.hl(), p.data() + t.hl() + off, len);
  const uint32_t total = t.hl() + len;
  uint8_t* th = s + t.l3;
  store32(th + 4, load32(th + 4) + off);  // sequence number
  uint8_t flags = th[13];
  if (i != 0) flags &= static_cast<uint8_t>(~0x80u);  // CWR only on the first segment
  if (!last) flags &= static_cast<uint8_t>(~0x09u);   // FIN and PSH only on the last
  th[13] = flags;
  if (t.family == xlat::Family::kV4) {
    store16(s + net::ipv4::kId, static_cast<uint16_t>(load16(s + net::ipv4::kId) + i));
  }
  set_ip_length(s, t.family, t.l3, total);
  store16(th + net::tcp::kChecksum, 0);
  uint64_t sum = pseudo_sum({s, total}, t.family, t.thl + len);
  sum = net::csum_add_bytes(sum, th, t.thl + len);
  store16(th + net::tcp::kChecksum, net::csum_finish(sum));
  return total;
}

// Copies the current outputs of area.out into the stage and records them.
void stage_outputs(OffloadArea& a, Counters& c) noexcept {
  for (uint32_t k = 0; k < a.out.count; ++k) {
    auto pk = a.out.packet(k);
    if (a.count >= OffloadArea::kMaxEmissions || a.stage_used + pk.size() > a.stage.size()) {
      c.drop(PipelineDrop::kOffloadStageFull);
      continue;
    }
    std::memcpy(a.stage.data() + a.stage_used, pk.data(), pk.size());
    a.em[a.count++] = Emission{{}, {a.stage.data() + a.stage_used, pk.size()}, {}};
    a.stage_used += pk.size();
  }
}

void emit_outputs(OffloadArea& a) noexcept {
  for (uint32_t k = 0; k < a.out.count && a.count < OffloadArea::kMaxEmissions; ++k) {
    a.em[a.count++] = Emission{{}, a.out.packet(k), {}};
  }
}

// The plain path for one packet with a complete checksum.
void process_plain(const Env& env, std::span<const uint8_t> pkt, OffloadArea& a, Counters& c,
                   WorkerContext& ctx) noexcept {
  auto res = process(env, pkt, a.out, c, ctx);
  if (res.emitted()) emit_outputs(a);
}

// Where a partial checksum of this packet must be completed: csum_start at
// the TCP or UDP header and csum_offset at its checksum field (virtio 1.1
// 5.1.6.2; the kernel's skb_checksum_help). The kernel asks only for those
// two (TUN_F_CSUM); a fragment never carries a partial checksum, because the
// checksum covers the whole datagram. Returns false for anything else.
bool checksum_offsets_valid(std::span<const uint8_t> pkt, uint16_t csum_start, uint16_t csum_offset) noexcept {
  uint32_t l4 = 0;
  uint8_t proto = 0;
  uint32_t end = 0;  // bytes of the packet per its header (link padding excluded)
  if (!pkt.empty() && (pkt[0] >> 4) == 4) {
    net::Ipv4Packet p{};
    if (net::parse_ipv4(pkt, p, false) != core::Drop::kNone || p.is_fragment()) return false;
    l4 = p.ihl;
    proto = p.protocol;
    end = p.total_length;
  } else if (!pkt.empty() && (pkt[0] >> 4) == 6) {
    net::Ipv6Packet p{};
    if (net::parse_ipv6(pkt, p) != core::Drop::kNone || p.has_frag) return false;
    l4 = p.l4_offset;
    proto = p.protocol;
    end = static_cast<uint32_t>(net::ipv6::kHeader) + p.payload_length;
  } else {
    return false;
  }
  std::size_t field = 0;
  if (proto == net::proto::kTcp) {
    field = net::tcp::kChecksum;
  } else if (proto == net::proto::kUdp) {
    field = net::udp::kChecksum;
  } else {
    return false;
  }
  return csum_start == l4 && csum_offset == field && l4 + field + 2u <= end;
}

}  // namespace

bool complete_checksum(std::span<uint8_t> pkt, uint16_t csum_start, uint16_t csum_offset) noexcept {
  if (static_cast<std::size_t>(csum_start) + csum_offset + 2u > pkt.size()) return false;
  uint8_t* field = pkt.data() + csum_start + csum_offset;
  // The field holds the pseudo-header sum; summing it with the data gives the
  // full sum (RFC 1071), whose complement is the checksum.
  uint64_t sum = net::csum_add_bytes(0, pkt.data() + csum_start, pkt.size() - csum_start);
  // A result of 0 is sent as 0xffff, as the kernel does (CSUM_MANGLED_0):
  // the same value in one's complement, and for UDP 0 would mean "no
  // checksum" (RFC 768), which 4->6 translation refuses.
  const uint16_t csum = net::csum_finish(sum);
  store16(field, csum == 0 ? uint16_t{0xffff} : csum);
  return true;
}

void process_vnet(const Env& env, std::span<uint8_t> frame, OffloadArea& a, Counters& c, WorkerContext& ctx) noexcept {
  a.count = 0;
  a.stage_used = 0;
  a.out.count = 0;
  if (frame.size() < sizeof(VnetHdr)) {
    c.drop(PipelineDrop::kNotIp);
    return;
  }
  VnetHdr h;
  std::memcpy(&h, frame.data(), sizeof h);
  auto pkt = frame.subspan(sizeof h);

  // A partial checksum we cannot place would be completed over the wrong
  // bytes (or outside the packet) and the packet would leave with a wrong
  // checksum: dropped under its own name, before anything else reads it.
  if ((h.flags & kVnetNeedsCsum) != 0 && !checksum_offsets_valid(pkt, h.csum_start, h.csum_offset)) {
    if (auto fam = classify(pkt)) {
      const std::size_t fi = *fam == xlat::Family::kV4 ? kV4 : kV6;
      c.packets_in[fi].add();
      c.bytes_in[fi].add(pkt.size());
    }
    c.drop(PipelineDrop::kOffloadBadChecksumOffsets);
    return;
  }

  TcpLayout t{};
  const bool gso = h.gso_type != kGsoNone && tcp_layout(pkt, h, t) && t.payload > h.gso_size;
  if (!gso) {
    // Not a super-packet we translate once (no GSO, one segment's worth, or a
    // GSO type we did not negotiate): one packet through the ordinary path,
    // where the core applies the usual size rules.
    if ((h.flags & kVnetNeedsCsum) != 0) {
      complete_checksum(pkt, h.csum_start, h.csum_offset);  // offsets checked above
    }
    process_plain(env, pkt, a, c, ctx);
    return;
  }

  c.gso_in.add();
  const uint32_t nseg = (t.payload + h.gso_size - 1) / h.gso_size;
  c.gso_segments_in.add(nseg);

  // Segment 0 through the role pipeline.
  uint32_t len0 = build_segment(pkt, t, h.gso_size, 0, a);
  auto res = process(env, {a.seg.data(), len0}, a.out, c, ctx);
  bool whole = false;
  if (res.emitted() && res.verdict.outcome != xlat::Outcome::kIcmpError && a.out.count == 1) {
    const auto& e = a.out.packets[0];
    auto o = a.out.packet(0);
    uint32_t ol3 = 0;
    if (e.family == xlat::Family::kV4 && o.size() >= 20 && (o[0] >> 4) == 4) {
      uint16_t ff = load16(o.data() + net::ipv4::kFlagsFragOff);
      if ((ff & (net::ipv4::kFlagMf | net::ipv4::kFragOffMask)) == 0 && o[net::ipv4::kProtocol] == net::proto::kTcp) {
        ol3 = (o[0] & 0x0fu) * 4u;
      }
    } else if (e.family == xlat::Family::kV6 && o.size() >= 40 && (o[0] >> 4) == 6 &&
               o[net::ipv6::kNextHeader] == net::proto::kTcp) {
      ol3 = 40;
    }
    const uint32_t ohl = ol3 + t.thl;
    const bool fits = e.family == xlat::Family::kV6 || ohl + t.payload <= 65535u;
    if (ol3 != 0 && fits && o.size() == ohl + h.gso_size && ohl <= a.head.size()) {
      // Headers of the translated first segment, stretched to the whole
      // super-packet; payload written straight from the input.
      uint8_t* hd = a.head.data();
      std::memcpy(hd, o.data(), ohl);
      const uint32_t total = ohl + t.payload;
      set_ip_length(hd, e.family, ol3, total);
      uint8_t* th = hd + ol3;
      // Restore the super-packet's flags (segment 0 had FIN/PSH cleared).
      th[13] = pkt[t.l3 + 13];
      uint64_t ps = pseudo_sum({hd, ohl}, e.family, t.thl + t.payload);
      store16(th + net::tcp::kChecksum, net::csum_fold(ps));
      VnetHdr vh;
      vh.flags = kVnetNeedsCsum;
      vh.gso_type =
          static_cast<uint8_t>((e.family == xlat::Family::kV4 ? kGsoTcpV4 : kGsoTcpV6) | (h.gso_type & kGsoEcn));
      vh.gso_size = h.gso_size;
      vh.hdr_len = static_cast<uint16_t>(ohl);
      vh.csum_start = static_cast<uint16_t>(ol3);
      vh.csum_offset = static_cast<uint16_t>(net::tcp::kChecksum);
      a.em[a.count++] = Emission{vh, {hd, ohl}, pkt.subspan(t.hl())};
      // The first segment was counted as one packet of gso_size; account
      // for the rest of the bytes.
      c.bytes_in[t.family == xlat::Family::kV4 ? kV4 : kV6].add(t.payload - h.gso_size);
      c.bytes_out[e.family == xlat::Family::kV4 ? kV4 : kV6].add(t.payload - h.gso_size);
      c.gso_out.add();
      whole = true;
    }
  }
  if (whole) return;

  // Segment 0 became something else (ICMP error, drop, fragments): keep its
  // result and cut the rest in software.
  if (res.emitted()) stage_outputs(a, c);
  for (uint32_t i = 1; i < nseg; ++i) {
    uint32_t len = build_segment(pkt, t, h.gso_size, i, a);
    auto ri = process(env, {a.seg.data(), len}, a.out, c, ctx);
    if (ri.emitted()) stage_outputs(a, c);
  }
}

}  // namespace edge46::pipeline
