// Named header fields (RFC 791, RFC 8200, RFC 792, RFC 4443, RFC 768, RFC 9293)
// and bounds-checked parsing of IPv4 and IPv6 packets, including the IPv6
// extension header chain. Parsing records positions and decoded scalar
// fields; the header bytes themselves are never copied.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "core/drop_reason.h"
#include "net/addr.h"
#include "net/bytes.h"

namespace edge46::net {

namespace ipv4 {
inline constexpr std::size_t kMinHeader = 20;
inline constexpr std::size_t kVersionIhl = 0, kTos = 1, kTotalLength = 2, kId = 4, kFlagsFragOff = 6, kTtl = 8,
                             kProtocol = 9, kChecksum = 10, kSrc = 12, kDst = 16;
inline constexpr uint16_t kFlagDf = 0x4000, kFlagMf = 0x2000, kFragOffMask = 0x1fff;
}  // namespace ipv4

namespace ipv6 {
inline constexpr std::size_t kHeader = 40;
inline constexpr std::size_t kVtcFlow = 0, kPayloadLength = 4, kNextHeader = 6, kHopLimit = 7, kSrc = 8, kDst = 24;
inline constexpr std::size_t kFragHeader = 8;
// Fragment header fields, relative to the header.
inline constexpr std::size_t kFragNext = 0, kFragOffM = 2, kFragId = 4;
}  // namespace ipv6

namespace proto {
inline constexpr uint8_t kHopByHop = 0, kIcmp = 1, kIpip = 4, kTcp = 6, kUdp = 17, kRouting = 43, kFragment = 44, kEsp = 50,
                         kAh = 51, kIcmp6 = 58, kNoNext = 59, kDestOpts = 60;
}

namespace icmp {
inline constexpr std::size_t kHeader = 8;
inline constexpr std::size_t kType = 0, kCode = 1, kChecksum = 2, kRest = 4;
}  // namespace icmp

namespace udp {
inline constexpr std::size_t kHeader = 8, kChecksum = 6;
}
namespace tcp {
inline constexpr std::size_t kMinHeader = 20, kChecksum = 16;
}

inline Ipv4Addr read_ipv4(const uint8_t* p) noexcept {
  return Ipv4Addr{load32(p)};
}
inline void write_ipv4(uint8_t* p, Ipv4Addr a) noexcept {
  store32(p, a.value);
}
inline Ipv6Addr read_ipv6(const uint8_t* p) noexcept {
  Ipv6Addr a;
  std::memcpy(a.bytes.data(), p, 16);
  return a;
}
inline void write_ipv6(uint8_t* p, const Ipv6Addr& a) noexcept {
  std::memcpy(p, a.bytes.data(), 16);
}

// A parsed IPv4 packet. For a packet quoted inside an ICMP error (inner), the
// bytes may stop before total_length says; `avail` tells how many are there.
struct Ipv4Packet {
  const uint8_t* hdr;
  uint32_t ihl;           // header length in bytes
  uint32_t total_length;  // field value
  uint32_t avail;         // bytes present from hdr (<= total_length for outer packets)
  uint8_t tos, ttl, protocol;
  uint16_t id;
  bool df, mf;
  uint32_t frag_offset;  // bytes
  Ipv4Addr src, dst;

  bool is_fragment() const noexcept { return mf || frag_offset != 0; }
  const uint8_t* payload() const noexcept { return hdr + ihl; }
  uint32_t payload_avail() const noexcept { return avail - ihl; }
  uint32_t payload_length() const noexcept { return total_length - ihl; }  // per header
};

// Outer packet: everything must be consistent and present; bytes past
// total_length (link padding) are ignored. verify_checksum: reject a bad
// header checksum.
core::Drop parse_ipv4(std::span<const uint8_t> in, Ipv4Packet& out, bool verify_checksum) noexcept;
// Quoted packet: header must be present and sane; the payload may be cut.
core::Drop parse_ipv4_inner(std::span<const uint8_t> in, Ipv4Packet& out) noexcept;

struct Ipv6Packet {
  const uint8_t* hdr;
  uint32_t payload_length;  // field value
  uint32_t avail;           // bytes present from hdr
  uint8_t hop_limit;
  uint8_t traffic_class;
  uint32_t flow_label;
  Ipv6Addr src, dst;
  // Upper layer: the protocol after the extension headers (or after the
  // Fragment header of a non-first fragment, whose payload is opaque).
  uint8_t protocol;
  uint32_t l4_offset;  // from hdr
  // Fragment header, if any.
  bool has_frag;
  uint32_t frag_header_offset;
  uint32_t frag_id;
  uint32_t frag_offset;  // bytes
  bool mf;
  // Offset of the Segments Left byte of a Routing header with Segments Left
  // != 0 (RFC 7915 5.1), else 0.
  uint32_t segments_left_offset;
  // An extension header follows the Fragment header (RFC 7915 5.1 cases
  // that Jool answers with ICMPv6 1/1).
  bool ext_after_frag;

  bool is_fragment() const noexcept { return has_frag && (mf || frag_offset != 0); }
  const uint8_t* l4() const noexcept { return hdr + l4_offset; }
  uint32_t l4_avail() const noexcept { return avail - l4_offset; }
  uint32_t l4_length() const noexcept {  // per header
    return static_cast<uint32_t>(ipv6::kHeader) + payload_length - l4_offset;
  }
};

inline constexpr unsigned kMaxExtHeaders = 8;

core::Drop parse_ipv6(std::span<const uint8_t> in, Ipv6Packet& out) noexcept;
core::Drop parse_ipv6_inner(std::span<const uint8_t> in, Ipv6Packet& out) noexcept;

}  // namespace edge46::net
