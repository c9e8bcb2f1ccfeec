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
//
// Entries are disjoint on both sides: an entry whose IPv4 or IPv6 prefix
// overlaps (equals, contains or is contained in) an existing entry's is
// refused, as Jool does. RFC 7757 3.2 would pick the longest match, but an
// overlap lets one host's IPv6 address leave with another host's IPv4
// address (and back), so the two directions no longer agree.
//
// Costs: add and remove are O(log n) (one ordered-map search per family for
// the overlap check, plus O(1) expected hash updates); lookups are the LPM
// table's (src/mapping/lpm.h).
#pragma once

#include <cstdint>
#include <map>
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
  // or IPv6 prefix overlaps an existing entry's (the message names that
  // entry). On error the table is unchanged.
  std::string add(const Eam& e);
  // Removes the entry equal to e; false (table unchanged) when there is none.
  bool remove(const Eam& e);

  // 4->6: the mapped address and the entry used.
  std::optional<net::Ipv6Addr> to_v6(net::Ipv4Addr a, const Eam** used = nullptr) const noexcept;
  // 6->4.
  std::optional<net::Ipv4Addr> to_v4(const net::Ipv6Addr& a, const Eam** used = nullptr) const noexcept;
  // True when some entry's IPv4 prefix covers a (hairpinning test, RFC 7757 4).
  bool covers_v4(net::Ipv4Addr a) const noexcept { return by_v4_.lookup(a.value) != nullptr; }

  // Every entry once, in insertion order until a remove moves the last
  // entry into the removed one's place.
  const std::vector<Eam>& entries() const noexcept { return entries_; }
  bool empty() const noexcept { return entries_.empty(); }

 private:
  // The addresses [first, last] an entry's prefix covers, and the entry.
  template <class K>
  struct Span {
    K last;
    uint32_t index;  // in entries_
  };
  template <class K>
  using Spans = std::map<K, Span<K>>;  // by first address; disjoint
  template <class K>
  static const Span<K>* overlap(const Spans<K>& m, K first, K last) noexcept;
  void set_index(uint32_t i);

  std::vector<Eam> entries_;
  Spans<uint32_t> spans4_;
  Spans<net::u128> spans6_;
  LpmTable<uint32_t, uint32_t> by_v4_;   // -> index in entries_
  LpmTable<net::u128, uint32_t> by_v6_;  // -> index in entries_
};

inline std::optional<net::Ipv6Addr> Eamt::to_v6(net::Ipv4Addr a, const Eam** used) const noexcept {
  const uint32_t* i = by_v4_.lookup(a.value);
  if (i == nullptr) return std::nullopt;
  const Eam* e = &entries_[*i];
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
  const uint32_t* i = by_v6_.lookup(v);
  if (i == nullptr) return std::nullopt;
  const Eam* e = &entries_[*i];
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
