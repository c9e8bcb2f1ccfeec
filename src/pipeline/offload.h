// The TUN offload path: packets that come with a virtio-net header
// (IFF_VNET_HDR + TUNSETOFFLOAD TUN_F_CSUM|TSO4|TSO6|TSO_ECN).
//
// What the kernel hands us, and what we do with it:
//  - a packet with a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM): the L4
//    checksum field holds only the pseudo-header sum. We complete it in
//    software (one pass over the segment), then translate as usual. The
//    offsets must name the packet's TCP or UDP checksum field (csum_start at
//    the transport header, csum_offset 16 or 6, no fragment); any other frame
//    is dropped as PipelineDrop::kOffloadBadChecksumOffsets, with nothing
//    emitted, since completing elsewhere would leave a wrong checksum.
//  - a TCP GSO super-packet (gso_type TCPV4/TCPV6, up to 64 KiB, gso_size =
//    MSS): translated once. We build the first segment (headers + gso_size
//    bytes, full checksum) and run it through the role pipeline; if the
//    result is one plain packet (no fragmentation), its headers become the
//    headers of the whole super-packet: lengths fixed, the TCP checksum field
//    set to the new pseudo-header sum (partial again), and the virtio-net
//    header rewritten: gso_type TCPV4 <-> TCPV6 (ECN bit kept), hdr_len and
//    csum_start moved by the header size difference, gso_size unchanged. The
//    kernel segments (or passes the super-packet on to a GSO-capable device)
//    after we write it. The payload is never copied: it is written from the
//    input buffer (writev).
//    Anything else the first segment turns into (an ICMP error such as Packet
//    Too Big because MSS + 20 exceeds the IPv6 MTU, a drop, fragments) is
//    emitted or counted exactly as for an ordinary packet, and the remaining
//    segments are cut in software and translated one by one, so the result
//    is always what per-segment translation would have produced.
//  - anything else (no GSO, full checksum): the ordinary path.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "pipeline/pipeline.h"

namespace edge46::pipeline {

// struct virtio_net_hdr (linux/virtio_net.h), host byte order: what TUN uses
// unless TUNSETVNETLE/BE says otherwise.
struct VnetHdr {
  uint8_t flags = 0;
  uint8_t gso_type = 0;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
};
static_assert(sizeof(VnetHdr) == 10);

inline constexpr uint8_t kVnetNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
inline constexpr uint8_t kGsoNone = 0, kGsoTcpV4 = 1, kGsoUdp = 3, kGsoTcpV6 = 4, kGsoEcn = 0x80;

// One packet to write: a virtio-net header, then head, then tail.
struct Emission {
  VnetHdr vnet;
  std::span<const uint8_t> head;
  std::span<const uint8_t> tail;
};

// Per-worker scratch for the offload path.
struct OffloadArea {
  static constexpr std::size_t kMaxEmissions = 256;
  static constexpr std::size_t kStageSize = 512 * 1024;

  xlat::Output out;
  alignas(64) std::array<uint8_t, 65536 + 256> seg;   // one segment being built
  alignas(64) std::array<uint8_t, 256> head;          // headers of a translated super-packet
  alignas(64) std::array<uint8_t, kStageSize> stage;  // outputs of software-cut segments
  std::array<Emission, kMaxEmissions> em;
  uint32_t count = 0;
  std::size_t stage_used = 0;
};

// Processes one frame read from a TUN with IFF_VNET_HDR (the 10-byte header
// first). The frame may be modified (checksum completion). Fills area.em
// with what to write, in order; counts everything in c.
void process_vnet(const Env& env, std::span<uint8_t> frame, OffloadArea& area, Counters& c,
                  WorkerContext& ctx) noexcept;

// Completes a partial checksum (NEEDS_CSUM) in place: the one's complement
// sum from csum_start to the end, complemented, stored at csum_start +
// csum_offset (0 is stored as 0xffff). False when the field does not fit in
// the packet; it does not check that the field is the L4 checksum
// (process_vnet does).
bool complete_checksum(std::span<uint8_t> pkt, uint16_t csum_start, uint16_t csum_offset) noexcept;

}  // namespace edge46::pipeline
