// The translator's configuration snapshot: every setting one translation
// step reads. The tables that change at run time (the EAMT, the PE's MR-DB)
// are not here: they are the mappers' (xlat/mapper.h), published apart. Built and validated by the control plane
// (src/config), then shared read-only by the workers and swapped whole on reload.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mapping/lpm.h"
#include "mapping/rfc6052.h"
#include "net/addr.h"

namespace edge46::xlat {

// RFC 7757 section 4.
enum class HairpinMode : uint8_t {
  kOff,  // never hairpin
  // 4.2.1: every 4->6 translation applies the hairpin address rule (source
  // via pool6); packets U-turn through the IPv4 routing, not in here.
  kSimple,
  // 4.2.2 (Jool's default): a 6->4 packet whose pool6 destination (or, in an
  // ICMP error, whose quoted pool6 source) lands in an EAM's IPv4 prefix is
  // translated straight back to IPv6 with the hairpin rule.
  kIntrinsic,
};

struct Config {
  // --- address mapping -----------------------------------------------------
  std::optional<mapping::Pool6> pool6;          // RFC 6052 prefix (or low32 layout)
  mapping::LpmTable<uint32_t, bool> denylist4;  // never translated via pool6
  HairpinMode hairpin = HairpinMode::kIntrinsic;

  // RFC 6791: sources for translated ICMP errors whose source has no mapping.
  std::optional<net::Ipv4Prefix> rfc6791v4;  // unset: translator's own IPv4 address
  std::optional<net::Ipv6Prefix> rfc6791v6;  // unset: translator's own IPv6 address
  bool randomize_rfc6791 = true;             // else the first address of the pool

  // Translator's own addresses: sources of the ICMP errors it generates.
  std::optional<net::Ipv4Addr> own_ipv4;
  std::optional<net::Ipv6Addr> own_ipv6;

  // --- sizes -----------------------------------------------------------------
  uint32_t lowest_ipv6_mtu = 1280;  // DF-clear IPv4 is fragmented to fit this
  uint32_t ipv4_mtu = 1500;         // egress IPv4 link MTU
  uint32_t ipv6_mtu = 1500;         // egress IPv6 link MTU
  std::vector<uint16_t> mtu_plateaus = {65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68};

  // --- header fields ----------------------------------------------------------
  bool zeroize_traffic_class = false;  // 4->6: Traffic Class 0 instead of TOS
  bool override_tos = false;           // 6->4: TOS = tos instead of Traffic Class
  uint8_t tos = 0;
  bool amend_udp_checksum_zero = false;  // 4->6: compute a zero UDP checksum

  // Returns an empty string when coherent, else why not.
  std::string validate() const;
};

}  // namespace edge46::xlat
