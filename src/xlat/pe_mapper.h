// The PE's address mapping (draft-ietf-v6ops-framework-md-ipv6only-underlay
// 4.1), as a strategy of the RFC 7915 translator (mapper.h), shared by the
// translate mode of the data path and, for the addresses, by encapsulation.
//
//   IPv4 side (Side::kV4), a host behind this PE:
//       IPv4 -> Pref6(this PE) + IPv4        (the first of [pe] prefixes)
//       IPv6 -> IPv4 when under one of this PE's own Pref6
//   far side (Side::kV6), a host behind another PE:
//       IPv4 -> Pref6(egress PE) + IPv4      (MR-DB longest match, or the default rule)
//       IPv6 -> IPv4 when under a Pref6 the PE knows (the MR-DB's egress
//               prefixes, its own, and [pe] trusted): anything else is a
//               forged source from inside the core (section 7.1)
//
// The known prefixes carry each Pref6's layout (low32 as Table 1, or RFC
// 6052), so the IPv4 address is taken from where its owner put it.
#pragma once

#include <cstdint>

#include "core/drop_reason.h"
#include "mapping/lpm.h"
#include "mapping/mrdb.h"
#include "mapping/rfc6052.h"
#include "net/addr.h"
#include "xlat/mapper.h"

namespace edge46::xlat {

// A Pref6 the PE accepts as a source (or, when `own`, as a destination).
struct KnownPref6 {
  mapping::Pool6 pool6;
  bool own = false;
  friend bool operator==(const KnownPref6&, const KnownPref6&) = default;
};
using KnownPrefixes = mapping::LpmTable<net::u128, KnownPref6>;

struct PeMapper {
  const mapping::Pool6& own;   // the source Pref6 of this PE
  const KnownPrefixes& known;  // every accepted Pref6
  const mapping::MrDb& mrdb;   // IPv4 destination -> egress
  // The data path has already looked the destination up to choose the
  // mode: the target for that one address, so it is not looked up twice.
  net::Ipv4Addr hint_addr{};
  const mapping::MrTarget* hint = nullptr;

  Via map_46(net::Ipv4Addr a, Side side, Ask, net::Ipv6Addr& out) const noexcept {
    if (side == Side::kV4) {
      out = mapping::embed(own, a);
      return Via::kOwnPref6;
    }
    const mapping::MrTarget* t = hint != nullptr && a == hint_addr ? hint : mrdb.lookup(a);
    if (t == nullptr) return Via::kNone;
    out = mapping::embed(t->pool6, a);
    return Via::kRule;
  }

  Via map_64(const net::Ipv6Addr& a, Side side, Ask, net::Ipv4Addr& out) const noexcept {
    const KnownPref6* k = known.lookup(a.to_u128());
    if (k == nullptr || (side == Side::kV4 && !k->own)) return Via::kNone;
    auto v4 = mapping::extract(k->pool6, a);
    if (!v4) return Via::kNone;
    out = *v4;
    return side == Side::kV4 ? Via::kOwnPref6 : Via::kRule;
  }

  bool hairpin_64(Via, net::Ipv4Addr) const noexcept { return false; }
  bool hairpin_all_46() const noexcept { return false; }

  core::Drop unmapped(Via, Side side, core::Drop fallback) const noexcept {
    if (side == Side::kV6) {
      // 4->6 destination: no rule; 6->4 source: a forged outer source.
      return fallback == core::Drop::kNoMappingDst ? core::Drop::kNoMappingRule : core::Drop::kPeUnknownSource;
    }
    // 6->4 destination outside this PE's Pref6 (the 4->6 source always maps).
    return fallback == core::Drop::kNoMappingDst ? core::Drop::kNotOwnPref6 : fallback;
  }
};

}  // namespace edge46::xlat
