// The loop guard: a post-translation step that keeps a translated packet
// from going round through our own TUN (issue 7 item 8).
//
// Every packet edge46d writes to its TUN is routed by the kernel by its
// destination. When that route leads back into the same TUN the packet is
// read again and translated again. Whether that happens is a property of the
// kernel's routes, not of the configuration: in a SIIT-DC Edge Relay pool6
// is routed away towards a Border Relay and a 4->6 translation through pool6
// is the normal case, while in a single box that routes both pool6 and the
// IPv4 pool into its TUN (tests/e2e/lib.sh, scripts/demo.sh) the same
// translation comes straight back, is translated back to the same IPv4
// packet, and so on until the TTL runs out: 32 translations per packet.
// So the daemon mirrors the kernel's IPv6 routes (src/daemon/tun_routes.h)
// into a TunRoutes and the pipeline asks it, per checked packet, whether the
// kernel would route it into the TUN. Only outputs that leave as IPv6 are
// checked (below), so no IPv4 routes are mirrored.
//
// Which outputs are checked, and why that breaks every cycle:
//  - a 4->6 translation (Outcome::kTranslated from IPv4 ingress) whose IPv6
//    destination is routed into the TUN. Translated back 6->4 it has the
//    same IPv4 destination as the packet we just read from the TUN (the
//    mappings are one-to-one), so it would be routed into the TUN again.
//  - a hairpinned packet (RFC 7757 4) whose IPv6 destination is routed into
//    the TUN: read again, it is hairpinned again to the same destination.
//  - a PE's 4in6 packet (Outcome::kEncapsulated) whose outer destination is
//    routed into the TUN (an MR-DB rule pointing at a prefix routed back to
//    this box): decapsulated, the inner packet would be routed into the TUN
//    and encapsulated again.
//  - not a 6->4 translation. One extra pass 6->4 -> TUN -> 4->6 is the
//    simple hairpin through routing of RFC 7757 4.1 and legitimate: h6
//    reaches another IPv6 host's EAM address through the IPv4 routing, and
//    the final 4->6 output leaves towards that host. If that 4->6 output
//    were routed into the TUN again, its check stops the cycle there.
//  - not a translator-generated ICMP error: no ICMP error is sent about an
//    ICMP error (RFC 4443 2.4(e), RFC 1812 4.3.2.7), so a generated error
//    cannot repeat in a cycle; if it comes back it is translated once and
//    stopped by the checks above at its next 4->6 pass.
//  A cycle through the translator is a sequence of passes each of whose
//  outputs is routed back into the TUN. A pass is 4->6, 6->4, a hairpin
//  (6->6) or a generated error (4->4, 6->6). A cycle with a 6->4 pass must
//  return to IPv6 through a 4->6 pass; a cycle without 4->6 or 6->4 passes
//  consists of 6->6 passes only, which (errors cannot repeat) are hairpins.
//  So every cycle contains a checked pass and is cut at its first turn.
//
// Packets addressed to the translator itself (config ipv4-address on IPv4
// ingress, ipv6-address on IPv6 ingress) are dropped as to_own_address
// whether or not routes are known: that address identifies the translator as
// the source of its ICMP errors (and of RFC 6791 replacements), so a packet
// to it (someone pinging a hop a traceroute showed) is addressed to us and
// must not be handed to whatever host the pool maps it to. When the address
// is routed into the TUN (the demo: 198.51.100.1 inside 198.51.100.0/24)
// the route check alone would also catch it, but not in an Edge Relay where
// pool6 leads to a Border Relay that would send it back.
//
// Without route information (offline replay, unit tests without a mirror,
// a daemon whose netlink mirror failed) no route check is applied.
// noexcept, no allocation, no logging.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "core/drop_reason.h"
#include "mapping/lpm.h"
#include "net/addr.h"
#include "xlat/translate.h"

namespace edge46::pipeline {

// The kernel's main-table IPv6 routes as far as loops are concerned: the
// routes whose output device is our TUN (value true) and the routes that lie
// inside one of them and lead elsewhere (value false: more specific, so the
// kernel prefers them). A longest-prefix lookup then answers "does the
// kernel route this IPv6 destination into our TUN?" as the kernel's lookup
// in its main table does. Immutable once published.
struct TunRoutes {
  mapping::LpmTable<net::u128, bool> v6;

  bool into_tun(const net::Ipv6Addr& dst) const noexcept {
    const bool* v = v6.lookup(dst.to_u128());
    return v != nullptr && *v;
  }
};

// The guard's decision for one packet after xlat::translate: a drop reason
// (to_own_address, routing_loop) or nullopt to emit what translate wrote.
// routes may be null (no route information: no route check).
std::optional<core::Drop> loop_guard(const xlat::Config& xcfg, const TunRoutes* routes, xlat::Family ingress,
                                     std::span<const uint8_t> in, const xlat::Verdict& v,
                                     const xlat::Output& out) noexcept;

}  // namespace edge46::pipeline
