// Explicit Address Mapping Table (RFC 7757).
//
// Each entry maps an IPv6 prefix to an IPv4 prefix, both ways. Lookups are
// longest-prefix matches on the side the address comes from; the address's
// suffix bits are carried over to the other side (RFC 7757 3.2): the IPv4
// suffix (32 - len4 bits) is placed right after the IPv6 prefix and the
// remaining IPv6 bits are zero; from IPv6, the bits right after the IPv6
// prefix form the IPv4 suffix. An entry must leave the IPv6 side at least as
// many suffix bits as the IPv4 side has, so every IPv4 address in the entry
// has an IPv6 image.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mapping/lpm.h"
#include "net/addr.h"

namespace edge46::mapping {

struct Eam {
  net::Ipv6Prefix v6;
  net::Ipv4Prefix v4;
  friend bool operator==(const Eam&, const Eam&) = default;
};

class Eamt {
 public:
  // Adds an entry; returns an error message when it is invalid or its IPv4
  // or IPv6 prefix collides with an existing entry's.
  std::string add(const Eam& e);
  bool remove(const Eam& e);

  // 4->6: the mapped address and the entry used.
  std::optional<net::Ipv6Addr> to_v6(net::Ipv4Addr a, const Eam** used = nullptr) const noexcept;
  // 6->4.
  std::optional<net::Ipv4Addr> to_v4(const net::Ipv6Addr& a, const Eam** used = nullptr) const noexcept;
  // True when some entry's IPv4 prefix covers a (hairpinning test, RFC 7757 4).
  bool covers_v4(net::Ipv4Addr a) const noexcept { return by_v4_.lookup(a.value) != nullptr; }

  const std::vector<Eam>& entries() const noexcept { return entries_; }
  bool empty() const noexcept { return entries_.empty(); }

 private:
  void rebuild();
  std::vector<Eam> entries_;  // insertion order, for display
  LpmTable<uint32_t, Eam> by_v4_;
  LpmTable<net::u128, Eam> by_v6_;
};

inline std::optional<net::Ipv6Addr> Eamt::to_v6(net::Ipv4Addr a, const Eam** used) const noexcept {
  const Eam* e = by_v4_.lookup(a.value);
  if (e == nullptr) return std::nullopt;
  if (used != nullptr) *used = e;
  unsigned suffix_bits = 32u - e->v4.len;
  net::u128 v6 = e->v6.addr.to_u128();
  if (suffix_bits != 0) {
    net::u128 suffix = a.value & ~net::mask4(e->v4.len);
    v6 |= suffix << (128u - e->v6.len - suffix_bits);
  }
  return net::Ipv6Addr::from_u128(v6);
}

inline std::optional<net::Ipv4Addr> Eamt::to_v4(const net::Ipv6Addr& a, const Eam** used) const noexcept {
  net::u128 v = a.to_u128();
  const Eam* e = by_v6_.lookup(v);
  if (e == nullptr) return std::nullopt;
  if (used != nullptr) *used = e;
  unsigned suffix_bits = 32u - e->v4.len;
  uint32_t v4 = e->v4.addr.value;
  if (suffix_bits != 0) {
    auto suffix = static_cast<uint32_t>(v >> (128u - e->v6.len - suffix_bits));
    v4 |= suffix & ~net::mask4(e->v4.len);
  }
  return net::Ipv4Addr{v4};
}

}  // namespace edge46::mapping
