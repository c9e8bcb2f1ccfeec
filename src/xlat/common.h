// Internals shared by the two directions of the translator. Not part of the
// public API (see translate.h).
#pragma once

#include <cstdint>
#include <span>

#include "core/drop_reason.h"
#include "net/checksum.h"
#include "net/headers.h"
#include "xlat/config.h"
#include "xlat/translate.h"

namespace edge46::xlat::detail {

using core::Drop;
using net::Ipv4Addr;
using net::Ipv6Addr;

// How an address was mapped.
enum class Via : uint8_t {
  kNone,    // no EAM and no pool6
  kDenied,  // would go through pool6 but is denylisted or reserved
  kEam,
  kPool6,
};
inline bool mapped(Via v) noexcept {
  return v == Via::kEam || v == Via::kPool6;
}
// The drop reason for an unmapped address.
inline Drop unmapped_reason(Via v, Drop no_mapping) noexcept {
  return v == Via::kDenied ? Drop::kDenylisted : no_mapping;
}

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

// Reserved IPv4 ranges never reached through pool6 (0/8, 127/8, 169.254/16,
// 224/4 and 255.255.255.255, as Jool).

// The address mappings are inline: they run twice per packet.
// 4->6 address mapping: EAMT (when eam_allowed) then pool6. A denylisted or
// reserved address is refused unless `lenient` (an ICMP error's source).
// 6->4: EAMT then pool6, with the same denylist rule.
inline bool ipv4_reserved(Ipv4Addr a) noexcept {
  uint32_t v = a.value;
  return (v >> 24) == 0 || (v >> 24) == 127 || (v >> 16) == 0xa9fe || (v >> 28) == 0xe || v == 0xffffffffu;
}

inline Via map_46(const Config& cfg, Ipv4Addr a, bool eam_allowed, bool lenient, Ipv6Addr& out) noexcept {
  if (eam_allowed) {
    if (auto v6 = cfg.eamt.to_v6(a)) {
      out = *v6;
      return Via::kEam;
    }
  }
  if (!cfg.pool6) return Via::kNone;
  if (!lenient && (ipv4_reserved(a) || (!cfg.denylist4.empty() && cfg.denylist4.lookup(a.value) != nullptr)))
    return Via::kDenied;
  out = mapping::embed(*cfg.pool6, a);
  return Via::kPool6;
}

inline Via map_64(const Config& cfg, const Ipv6Addr& a, bool lenient, Ipv4Addr& out) noexcept {
  if (auto v4 = cfg.eamt.to_v4(a)) {
    out = *v4;
    return Via::kEam;
  }
  if (!cfg.pool6) return Via::kNone;
  auto v4 = mapping::extract(*cfg.pool6, a);
  if (!v4) return Via::kNone;
  if (!lenient && (ipv4_reserved(*v4) || (!cfg.denylist4.empty() && cfg.denylist4.lookup(v4->value) != nullptr)))
    return Via::kDenied;
  out = *v4;
  return Via::kPool6;
}

// RFC 6791 sources.
bool rfc6791_v4(const Config& cfg, Output& out, Ipv4Addr& addr) noexcept;
bool rfc6791_v6(const Config& cfg, Output& out, Ipv6Addr& addr) noexcept;

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
Verdict icmp4_error(const Config& cfg, Output& out, Drop reason, uint8_t type, uint8_t code, uint32_t rest,
                    std::span<const uint8_t> offending, const net::Ipv4Packet& parsed) noexcept;
Verdict icmp6_error(const Config& cfg, Output& out, Drop reason, uint8_t type, uint8_t code, uint32_t rest,
                    std::span<const uint8_t> offending, const net::Ipv6Packet& parsed) noexcept;

inline Verdict drop(Drop d) noexcept {
  return Verdict{Outcome::kDropped, d};
}

inline void emit(Output& out, Family f, std::size_t offset, std::size_t len) noexcept {
  out.packets[out.count++] = Emitted{f, static_cast<uint32_t>(offset), static_cast<uint32_t>(len)};
}

inline uint32_t next_rand(Output& out) noexcept {
  // xorshift64*: cheap, worker-local, good enough for address spreading.
  out.rng ^= out.rng >> 12;
  out.rng ^= out.rng << 25;
  out.rng ^= out.rng >> 27;
  return static_cast<uint32_t>((out.rng * 0x2545f4914f6cdd1dull) >> 32);
}

// IPv4 Identification for a packet the translator originates (RFC 7739
// 5.3): ID = per-flow keyed offset + one of Ipv4IdState::kCounters
// counters chosen by the keyed hash of (src, dst, protocol). The counter
// advances by a random step of 1..8, so a flow's IDs do not form a +1
// sequence, yet one flow repeats an ID only after at least 8192 packets.
uint16_t next_ipv4_id(Output& out, Ipv4Addr src, Ipv4Addr dst, uint8_t protocol) noexcept;

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

Verdict translate_46_impl(const Config& cfg, std::span<const uint8_t> in, Output& out, Opts46 opts) noexcept;

// Writes a 20-byte IPv4 header (no options) and its checksum.
void write_ipv4_header(uint8_t* o, uint8_t tos, uint16_t total_len, uint16_t id, uint16_t flags_frag, uint8_t ttl,
                       uint8_t protocol, Ipv4Addr src, Ipv4Addr dst) noexcept;
// Writes a 40-byte IPv6 header.
void write_ipv6_header(uint8_t* o, uint8_t tclass, uint32_t flow, uint16_t payload_len, uint8_t next, uint8_t hlim,
                       const Ipv6Addr& src, const Ipv6Addr& dst) noexcept;

}  // namespace edge46::xlat::detail
