// IPv4-embedded IPv6 addresses.
//
// kRfc6052: RFC 6052 section 2.2 for prefix lengths 32, 40, 48, 56, 64, 96;
//   bits 64-71 (the u-octet) are skipped and written as zero.
// kLow32:   the IPv4 address in the last 32 bits after any prefix of at most
//   96 bits, as in Table 1 of draft-ietf-v6ops-framework-md-ipv6only-underlay
//   (2001:db8:100::/40 + 192.0.2.33 -> 2001:db8:100::192.0.2.33).
#pragma once

#include <optional>
#include <string_view>

#include "net/addr.h"

namespace edge46::mapping {

enum class Pool6Layout : uint8_t { kRfc6052, kLow32 };

struct Pool6 {
  net::Ipv6Prefix prefix;
  Pool6Layout layout = Pool6Layout::kRfc6052;
  friend bool operator==(const Pool6&, const Pool6&) = default;
};

bool rfc6052_length_valid(unsigned len) noexcept;
// Why the pool is unusable, or empty when it is fine.
std::string_view validate_pool6(const Pool6& p) noexcept;

// embed(): the IPv6 address for v4. extract(): the embedded IPv4 address, or
// nullopt when the address is outside the pool. Inline: both are on the
// per-packet path.
inline net::Ipv6Addr embed(const Pool6& pool, net::Ipv4Addr v4) noexcept {
  net::Ipv6Addr out = pool.prefix.addr;
  const uint8_t b[4] = {static_cast<uint8_t>(v4.value >> 24), static_cast<uint8_t>(v4.value >> 16),
                        static_cast<uint8_t>(v4.value >> 8), static_cast<uint8_t>(v4.value)};
  auto& o = out.bytes;
  if (pool.layout == Pool6Layout::kLow32) {
    o[12] = b[0], o[13] = b[1], o[14] = b[2], o[15] = b[3];
    return out;
  }
  switch (pool.prefix.len) {
    case 32: o[4] = b[0], o[5] = b[1], o[6] = b[2], o[7] = b[3]; break;
    case 40: o[5] = b[0], o[6] = b[1], o[7] = b[2], o[9] = b[3]; break;
    case 48: o[6] = b[0], o[7] = b[1], o[9] = b[2], o[10] = b[3]; break;
    case 56: o[7] = b[0], o[9] = b[1], o[10] = b[2], o[11] = b[3]; break;
    case 64: o[9] = b[0], o[10] = b[1], o[11] = b[2], o[12] = b[3]; break;
    default: o[12] = b[0], o[13] = b[1], o[14] = b[2], o[15] = b[3]; break;  // 96
  }
  if (pool.prefix.len < 96) o[8] = 0;  // u-octet
  return out;
}

inline std::optional<net::Ipv4Addr> extract(const Pool6& pool, const net::Ipv6Addr& v6) noexcept {
  if (!pool.prefix.contains(v6)) return std::nullopt;
  const auto& a = v6.bytes;
  uint8_t b0, b1, b2, b3;
  if (pool.layout == Pool6Layout::kLow32) {
    b0 = a[12], b1 = a[13], b2 = a[14], b3 = a[15];
  } else {
    switch (pool.prefix.len) {
      case 32: b0 = a[4], b1 = a[5], b2 = a[6], b3 = a[7]; break;
      case 40: b0 = a[5], b1 = a[6], b2 = a[7], b3 = a[9]; break;
      case 48: b0 = a[6], b1 = a[7], b2 = a[9], b3 = a[10]; break;
      case 56: b0 = a[7], b1 = a[9], b2 = a[10], b3 = a[11]; break;
      case 64: b0 = a[9], b1 = a[10], b2 = a[11], b3 = a[12]; break;
      default: b0 = a[12], b1 = a[13], b2 = a[14], b3 = a[15]; break;
    }
  }
  return net::Ipv4Addr{(uint32_t{b0} << 24) | (uint32_t{b1} << 16) | (uint32_t{b2} << 8) | b3};
}

std::string_view layout_name(Pool6Layout l) noexcept;
std::optional<Pool6Layout> parse_layout(std::string_view s) noexcept;

}  // namespace edge46::mapping
