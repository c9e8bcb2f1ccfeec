// Internals shared by the two directions of the translator. Not part of the
// public API (see translate.h).
#pragma once

#include <cstdint>
#include <span>

#include "core/drop_reason.h"
#include "net/checksum.h"
#include "net/headers.h"
#include "xlat/config.h"
#include "xlat/mapper.h"
#include "xlat/translate.h"

namespace edge46::xlat::detail {

using core::Drop;
using net::Ipv4Addr;
using net::Ipv6Addr;

// Output buffer regions. Emitted packets are packed from offset 0; the
// staging area holds a whole translated packet before it is fragmented, and
// the hairpin area holds the intermediate IPv4 packet of a hairpin.
inline constexpr std::size_t kEmitRegion = 80 * 1024;
inline constexpr std::size_t kStagingOffset = kEmitRegion;
inline constexpr std::size_t kStagingSize = 65536 + 256;
inline constexpr std::size_t kHairpinOffset = kStagingOffset + kStagingSize;
inline constexpr std::size_t kHairpinSize = 65536 + 256;
static_assert(kHairpinOffset + kHairpinSize <= Output::kBufferSize);

// The shape of an ICMP error of one family, for the code that sizes and
// assembles both directions' errors once.
struct IcmpErrorLayout {
  uint32_t unit;  // RFC 4884 length attribute unit: 4 bytes (ICMPv4) or 8 (ICMPv6)
  uint32_t max;   // whole error: 576 (RFC 1812 4.3.2.3, RFC 7915 4.2) or 1280 (RFC 4443 2.4 c)
  uint32_t ip;    // IP header: 20 or 40
  uint32_t hdrs() const noexcept { return ip + 8; }  // IP + ICMP header
};
inline constexpr IcmpErrorLayout kIcmp4Error{4, 576, 20};
inline constexpr IcmpErrorLayout kIcmp6Error{8, 1280, 40};

// RFC 4884 assembly of a translated ICMP error, as Jool does it: the
// extension structure is opaque, kept whole or dropped whole. `o` is the
// outer IP header; the translated quoted packet (quoted_out bytes) is
// already at o + hdrs(). Truncates the quote to fit `max`, writes the zero
// padding to 128 bytes and the extension after it when kept, sets `attr` to
// the length attribute (0 without extension) and returns the total length.
uint32_t assemble_rfc4884(const IcmpErrorLayout& l, uint8_t* o, uint32_t quoted_out, const uint8_t* ie, uint32_t ie_len,
                          bool force_remove_ie, uint32_t& attr) noexcept;

// RFC 6791 sources.
bool rfc6791_v4(const Config& cfg, WorkerState& ws, Ipv4Addr& addr) noexcept;
bool rfc6791_v6(const Config& cfg, WorkerState& ws, Ipv6Addr& addr) noexcept;

inline bool is_icmp4_error(uint8_t type) noexcept {
  return type == 3 || type == 11 || type == 12;
}
inline bool is_icmp6_error(uint8_t type) noexcept {
  return type < 128;
}

// May the translator answer this packet with an ICMP error (RFC 1812 4.3.2.7,
// RFC 4443 2.4 e)? Not for ICMP errors, non-first fragments, or multicast.
bool may_answer_ipv4(const net::Ipv4Packet& p) noexcept;
bool may_answer_ipv6(const net::Ipv6Packet& p) noexcept;

// Translator-generated ICMP errors, emitted as the only output packet and
// sent back out of the ingress side. `offending` is the packet as received.
// Source: cfg.own_ipv4 / own_ipv6. Returns kIcmpError with `reason`, or
// kDropped with `reason` when no own address is configured or the packet may
// not be answered (may_answer_*).
Verdict icmp4_error(const Config& cfg, WorkerState& ws, Output& out, Drop reason, uint8_t type, uint8_t code,
                    uint32_t rest, std::span<const uint8_t> offending, const net::Ipv4Packet& parsed) noexcept;
Verdict icmp6_error(const Config& cfg, Output& out, Drop reason, uint8_t type, uint8_t code, uint32_t rest,
                    std::span<const uint8_t> offending, const net::Ipv6Packet& parsed) noexcept;

inline Verdict drop(Drop d) noexcept {
  return Verdict{Outcome::kDropped, d};
}

inline void emit(Output& out, Family f, std::size_t offset, std::size_t len) noexcept {
  out.packets[out.count++] = Emitted{f, static_cast<uint32_t>(offset), static_cast<uint32_t>(len)};
}

inline uint32_t next_rand(WorkerState& ws) noexcept {
  // xorshift64*: cheap, worker-local, good enough for address spreading.
  ws.rng ^= ws.rng >> 12;
  ws.rng ^= ws.rng << 25;
  ws.rng ^= ws.rng >> 27;
  return static_cast<uint32_t>((ws.rng * 0x2545f4914f6cdd1dull) >> 32);
}

// IPv4 Identification for a packet the translator originates (RFC 7739
// 5.3): ID = per-flow keyed offset + one of Ipv4IdState::kCounters
// counters chosen by the keyed hash of (src, dst, protocol). The counter
// advances by a random step of 1..8, so a flow's IDs do not form a +1
// sequence, yet one flow repeats an ID only after at least 8192 packets.
uint16_t next_ipv4_id(WorkerState& ws, Ipv4Addr src, Ipv4Addr dst, uint8_t protocol) noexcept;

// RFC 1191 5: the largest configured plateau below `len`, else 68 (the
// IPv4 minimum, RFC 791).
inline uint32_t plateau_below(const Config& cfg, uint32_t len) noexcept {
  uint32_t best = 0;
  for (uint16_t pl : cfg.mtu_plateaus) {
    if (pl < len && pl > best) best = pl;
  }
  return best != 0 ? best : 68;
}

// Options for a 4->6 pass.
struct Opts46 {
  bool hairpin = false;       // RFC 7757 4: source-role addresses via pool6 only
  bool decrement_ttl = true;  // false for the second pass of a hairpin
};

template <class M>
Verdict translate_46_impl(const Config& cfg, const M& m, WorkerState& ws, std::span<const uint8_t> in, Output& out,
                          Opts46 opts) noexcept;

// Writes a 20-byte IPv4 header (no options) and its checksum.
void write_ipv4_header(uint8_t* o, uint8_t tos, uint16_t total_len, uint16_t id, uint16_t flags_frag, uint8_t ttl,
                       uint8_t protocol, Ipv4Addr src, Ipv4Addr dst) noexcept;
// Writes a 40-byte IPv6 header.
void write_ipv6_header(uint8_t* o, uint8_t tclass, uint32_t flow, uint16_t payload_len, uint8_t next, uint8_t hlim,
                       const Ipv6Addr& src, const Ipv6Addr& dst) noexcept;

}  // namespace edge46::xlat::detail
