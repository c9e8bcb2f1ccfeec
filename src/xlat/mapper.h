// Address mappings: the strategy the RFC 7915 header translator is
// instantiated with (translate.h). The translator decides *when* an address
// is needed and how lenient to be; the mapper decides *what* it becomes and
// says which kind of rule produced it (Via), as Jool's addrxlat_siit46/64
// return the method and VPP's ip4_to_ip6 takes the mapping as a callback.
// Here it is a template parameter: no call through a pointer per packet.
//
// A mapper M offers, all const noexcept:
//
//   Via map_46(Ipv4Addr a, Side side, Ask ask, Ipv6Addr& out);
//   Via map_64(const Ipv6Addr& a, Side side, Ask ask, Ipv4Addr& out);
//   bool hairpin_64(Via v, Ipv4Addr a);  // RFC 7757 4.2.2: send a 6->4 result straight back
//   bool hairpin_all_46();               // RFC 7757 4.2.1: every 4->6 uses the hairpin rule
//   core::Drop unmapped(Via v, Side side, core::Drop fallback);  // why an address did not map
//
// `side` says where the address lives: Side::kV4 for a node reached over
// IPv4 (the source of a 4->6 packet, the destination of a 6->4 one, and the
// reverse inside the packet an ICMP error quotes), Side::kV6 for a node on
// the IPv6 side. SIIT maps both sides the same way; the PE maps its IPv4
// side with its own Pref6 and the far side through the MR-DB.
#pragma once

#include <cstdint>

#include "core/drop_reason.h"
#include "mapping/eamt.h"
#include "mapping/rfc6052.h"
#include "net/addr.h"
#include "xlat/config.h"

namespace edge46::xlat {

// How an address was mapped (the kind of rule).
enum class Via : uint8_t {
  kNone,      // no rule
  kDenied,    // a rule would apply but the address is denylisted or reserved
  kEam,       // RFC 7757 EAM
  kPool6,     // RFC 6052 pool6
  kRule,      // an MR-DB rule (the PE's far side)
  kOwnPref6,  // the PE's own Pref6 (its IPv4 side)
};
inline bool mapped(Via v) noexcept {
  return v >= Via::kEam;
}

enum class Side : uint8_t { kV4, kV6 };

// What the translator asks of one address.
struct Ask {
  bool eam = true;       // EAMs may be used (false: the hairpin rule, RFC 7757 4)
  bool lenient = false;  // an ICMP error's addresses: the denylist does not apply
};

// Reserved IPv4 ranges never reached through pool6 (0/8, 127/8, 169.254/16,
// 224/4 and 255.255.255.255, as Jool).
inline bool ipv4_reserved(net::Ipv4Addr a) noexcept {
  uint32_t v = a.value;
  return (v >> 24) == 0 || (v >> 24) == 127 || (v >> 16) == 0xa9fe || (v >> 28) == 0xe || v == 0xffffffffu;
}

// SIIT (RFC 7915 + RFC 6052 + RFC 7757): the EAMT, then pool6 unless the
// IPv4 address is denylisted or reserved. The EAMT is the daemon's runtime
// table, not part of the configuration snapshot.
struct SiitMapper {
  const Config& cfg;
  const mapping::Eamt& eamt;

  Via map_46(net::Ipv4Addr a, Side, Ask ask, net::Ipv6Addr& out) const noexcept {
    if (ask.eam) {
      if (auto v6 = eamt.to_v6(a)) {
        out = *v6;
        return Via::kEam;
      }
    }
    if (!cfg.pool6) return Via::kNone;
    if (!ask.lenient && denied(a)) return Via::kDenied;
    out = mapping::embed(*cfg.pool6, a);
    return Via::kPool6;
  }

  Via map_64(const net::Ipv6Addr& a, Side, Ask ask, net::Ipv4Addr& out) const noexcept {
    if (auto v4 = eamt.to_v4(a)) {
      out = *v4;
      return Via::kEam;
    }
    if (!cfg.pool6) return Via::kNone;
    auto v4 = mapping::extract(*cfg.pool6, a);
    if (!v4) return Via::kNone;
    if (!ask.lenient && denied(*v4)) return Via::kDenied;
    out = *v4;
    return Via::kPool6;
  }

  bool hairpin_64(Via v, net::Ipv4Addr a) const noexcept {
    return cfg.hairpin == HairpinMode::kIntrinsic && v == Via::kPool6 && eamt.covers_v4(a);
  }
  bool hairpin_all_46() const noexcept { return cfg.hairpin == HairpinMode::kSimple; }

  core::Drop unmapped(Via v, Side, core::Drop fallback) const noexcept {
    return v == Via::kDenied ? core::Drop::kDenylisted : fallback;
  }

 private:
  bool denied(net::Ipv4Addr a) const noexcept {
    return ipv4_reserved(a) || (!cfg.denylist4.empty() && cfg.denylist4.lookup(a.value) != nullptr);
  }
};

}  // namespace edge46::xlat
