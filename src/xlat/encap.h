// The RFC 2473 IPv4-in-IPv6 tunnel step of the PE role (framework draft
// 4.1 and 5.3 "Encapsulation"): the ingress PE wraps a client's IPv4 packet
// in an IPv6 header addressed Pref6(ingress)+IPv4 src -> Pref6(egress)+IPv4
// dst, Next Header 4; the egress PE removes it and forwards the IPv4 packet.
//
//   encapsulate_46      one IPv4 packet from the client side -> 1..n 4in6 packets (kEncapsulated, family kV6)
//   decapsulate_64      one 4in6 packet from the core -> the inner IPv4 packet (kDecapsulated, family kV4)
//   tunnel_icmp6_error  an ICMPv6 error from a core router about one of our 4in6 packets -> an ICMPv4 error to
//                       the inner source (kTranslated, family kV4) and, for a Packet Too Big, the tunnel MTU learned
//   quotes_encapsulated cheap test for the classifier: is this an ICMPv6 error quoting a 4in6 packet?
//
// Same contract as translate(): noexcept, no allocation, no logging, never
// reads outside `in`, never writes outside `out`, input left intact;
// out.count is reset on entry. Drops name their reason; an ICMPv4 error the
// PE originates (Time Exceeded, Fragmentation Needed) is Outcome::kIcmpError
// with the reason the packet was not forwarded, sourced from cfg.own_ipv4
// (no own_ipv4, or a packet that may not be answered: dropped with that
// reason, as the translator does).
//
// Decisions (RFC sections at each):
// - TTL. The PE is an IPv4 router at both ends and the tunnel is one virtual
//   link for the inner packet (RFC 2473 3.1: the entry point forwards the
//   original packet into the tunnel as onto a link; 3.3: the exit point
//   forwards the decapsulated packet as any other). So the ingress decrements
//   the inner TTL and the egress decrements it again: an IPv4 packet crossing
//   the core loses 2 TTL, whatever the number of IPv6 routers (they decrement
//   only the outer Hop Limit). A traceroute shows the two PEs. Each end
//   answers TTL <= 1 with ICMPv4 Time Exceeded (RFC 1812 5.3.1); the egress's
//   answer goes out on its IPv4 side to the inner source, and the IPv4
//   routing brings it back into the tunnel.
// - Size. tunnel_mtu is the largest inner IPv4 packet; the outer IPv6 packet
//   is never fragmented (RFC 4459 3: fragment the inner packet before
//   encapsulation; RFC 2473 7.1 allows the entry point to fragment the
//   tunnel packet, which we never do). DF set and too big: ICMPv4 3/4 with
//   next-hop MTU = tunnel_mtu (RFC 1191 4). DF clear: RFC 791 3.2
//   fragmentation of the inner packet (same ID, copied options only in later
//   fragments, 8-byte units, MF kept on the last piece of a non-last
//   fragment), each piece encapsulated. A tunnel_mtu below 68 counts as 68.
// - Traffic Class = inner TOS: DSCP copied (RFC 2983 uniform model), ECN
//   copied (RFC 6040 4.1 normal mode, CE included).
// - Flow Label (RFC 6438 / RFC 6437 3): a hash of the inner source,
//   destination and protocol, plus the ports (TCP, UDP, SCTP, DCCP,
//   UDP-Lite) when the inner packet is not a fragment; never 0. The pieces the PE cuts from one datagram all
//   carry the label of the datagram they came from (computed once, ports
//   included), so a flow keeps one label whether or not the PE fragments it.
//   A datagram that arrives already fragmented gets the address+protocol
//   label on all its fragments (only the first carries ports). The hash has
//   a fixed key: every worker and every restart gives a flow the same label.
// - Decapsulation (RFC 2473 3.3): the outer header may carry the extension
//   headers net::parse_ipv6 accepts (Hop-by-Hop, Destination Options, Routing
//   with Segments Left 0, AH, which is skipped, not verified, and an atomic
//   Fragment header, RFC 6946 4) before Next Header 4. A real fragment is
//   refused (decap_fragmented: no reassembly is offered, and our ingress
//   never fragments the outer). The inner packet must parse with a valid
//   header checksum and fill the outer payload exactly (decap_bad_inner).
//   Its addresses must equal the caller's DecapExpect (decap_address_mismatch:
//   framework 7.1, a forged packet from inside the core).
// - ECN on decapsulation: RFC 6040 4.2 Figure 4, applied as a table:
//
//       inner \ outer | Not-ECT | ECT(0) | ECT(1) | CE
//       --------------+---------+--------+--------+------
//       Not-ECT       | Not-ECT | Not-ECT| Not-ECT| drop (decap_ecn_ce_not_ect)
//       ECT(0)        | ECT(0)  | ECT(0) | ECT(1) | CE
//       ECT(1)        | ECT(1)  | ECT(1) | ECT(1) | CE
//       CE            | CE      | CE     | CE     | CE
//
//   (ECT(0) inside ECT(1) becomes ECT(1): RFC 6040 changed that cell from
//   RFC 4301.) The inner header checksum is updated incrementally (RFC 1624)
//   for the TOS and TTL change.
// - Tunnel ICMPv6 errors (RFC 2473 8, 8.3 for an IPv4 original packet; the
//   same mapping as Linux's ip6_tunnel.c ip4ip6_err):
//
//       ICMPv6 from the core                 | ICMPv4 to the inner source
//       -------------------------------------+-----------------------------------------------
//       1 Destination Unreachable, any code  | 3/1 Host Unreachable
//       3/0 Hop Limit Exceeded               | 3/1 Host Unreachable ("unreachable node": the
//                                            |   inner TTL did not run out, the tunnel failed)
//       3/1 Reassembly Time Exceeded         | not relayed (we never fragment the outer)
//       4 Parameter Problem, any code        | 3/1 Host Unreachable: the fault is in the tunnel
//                                            |   header the source never saw; 3/2 would be a
//                                            |   hard error aborting its transport (RFC 1122
//                                            |   4.2.3.9) for a tunnel fault
//       2 Packet Too Big, MTU m              | 3/4 Fragmentation Needed, next-hop MTU
//                                            |   max(m, 1280) - 40, when the inner DF is set;
//                                            |   DF clear: nothing relayed (tunnel_ptb_df_clear),
//                                            |   later packets are fragmented to the new MTU
//
//   For a Packet Too Big, `learned` is filled (pmtu, the quoted outer
//   destination = the egress PE, the new tunnel MTU) whenever the report is
//   credible (m below the quoted outer packet's size), DF set or not. The
//   PTB MTU is raised to 1280 first: an IPv6 path MTU is never below that
//   (RFC 8201 4), which also stops a forged PTB from the core driving the
//   tunnel MTU down. The ICMPv4 error comes from cfg.own_ipv4 (none:
//   tunnel_error_no_own_ipv4), TTL 64, and quotes the inner IPv4 header and
//   as much of its payload as fits in 576 bytes (RFC 1812 4.3.2.3); never
//   about an inner packet that may not be answered (an ICMPv4 error, a
//   non-first fragment, multicast: RFC 1812 4.3.2.7; tunnel_error_not_relayed).
//   A relayed error is Outcome::kTranslated: it is the counterpart of an RFC
//   7915 ICMP error translation, not a refusal of the packet in hand.
//   The caller checks that the quoted outer source is one of its own Pref6
//   (the error is about a packet this PE sent).
#pragma once

#include <cstdint>
#include <span>

#include "net/addr.h"
#include "xlat/config.h"
#include "xlat/translate.h"

namespace edge46::xlat {

struct EncapParams {
  net::Ipv6Addr src, dst;      // outer addresses, already mapped by the caller (Pref6(ingress)+IPv4 src,
                               // Pref6(egress)+IPv4 dst)
  uint8_t hop_limit = 64;      // outer Hop Limit
  uint32_t tunnel_mtu = 1460;  // largest inner IPv4 packet that may be encapsulated (core MTU - 40, or lower
                               // after a Packet Too Big)
};

// Ingress: RFC 2473 4in6 of one IPv4 packet from the client side.
Verdict encapsulate_46(const Config& cfg, WorkerState& ws, const EncapParams& p, std::span<const uint8_t> in,
                       Output& out) noexcept;

// The IPv4 addresses embedded in the outer source/destination (the caller
// extracts them with the rules' layouts).
struct DecapExpect {
  net::Ipv4Addr src, dst;
};

// Egress: the outer header is removed and the inner IPv4 packet emitted.
Verdict decapsulate_64(const Config& cfg, WorkerState& ws, const DecapExpect& expect, std::span<const uint8_t> in,
                       Output& out) noexcept;

// What a tunnel ICMPv6 error taught: for a credible Packet Too Big, the
// egress PE (quoted outer destination) and the new tunnel MTU.
struct TunnelError {
  bool pmtu = false;
  net::Ipv6Addr egress;
  uint32_t mtu = 0;
};

// RFC 2473 8: an ICMPv6 error from a core router whose quoted packet is one
// of our encapsulated packets (quoted Next Header 4). `learned` is reset on
// entry.
Verdict tunnel_icmp6_error(const Config& cfg, WorkerState& ws, std::span<const uint8_t> in, Output& out,
                           TunnelError& learned) noexcept;

// True when `in` is an IPv6 ICMPv6 error whose quoted packet is IPv6 with
// (after its extension headers) Next Header 4.
bool quotes_encapsulated(std::span<const uint8_t> in) noexcept;

}  // namespace edge46::xlat
