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

net::Ipv6Addr embed(const Pool6& pool, net::Ipv4Addr v4) noexcept;
// The embedded IPv4 address, or nullopt when the address is outside the pool.
std::optional<net::Ipv4Addr> extract(const Pool6& pool, const net::Ipv6Addr& v6) noexcept;

std::string_view layout_name(Pool6Layout l) noexcept;
std::optional<Pool6Layout> parse_layout(std::string_view s) noexcept;

}  // namespace edge46::mapping
