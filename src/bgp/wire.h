// BGP-4 message codec (RFC 4271 4, RFC 4760, RFC 5492, RFC 6793, RFC 8950,
// RFC 9012, RFC 7606) for the 4map6 rule exchange (types.h).
//
// Parsing: every function reads through bounds checks only, never past the
// span, and answers either the parsed value or the NOTIFICATION the session
// must send (RFC 4271 6). UPDATE errors follow RFC 7606: an error that
// leaves the NLRI parseable is "treat-as-withdraw" (Update::treat_as_withdraw,
// the session stays up) or "attribute discard"; only a message whose NLRI
// cannot be located is a session reset. A broken 4map6 rule is never a reset:
// PathAttrs::rule_state = kMalformed, and the rule's prefixes are withdrawn by
// the caller (counted).
//
// Encoding: UPDATEs are built whole, each at most kMaxMessage octets; the
// announce/withdraw encoders split a long prefix list over several messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "bgp/types.h"

namespace edge46::bgp {

inline constexpr std::size_t kHeaderLen = 19;
inline constexpr std::size_t kMaxMessage = 4096;  // RFC 4271 4.1 (no RFC 8654 extended messages)

enum class MsgType : uint8_t { kOpen = 1, kUpdate = 2, kNotification = 3, kKeepalive = 4, kRouteRefresh = 5 };

struct Header {
  MsgType type = MsgType::kKeepalive;
  uint16_t length = 0;  // whole message, header included
};

// The header at the front of buf: nullopt while fewer than kHeaderLen octets
// are there; a Message Header Error (marker not all ones, length out of
// 19..4096 or wrong for the type, unknown type) as the NOTIFICATION to send.
tl::expected<std::optional<Header>, Notification> parse_header(std::span<const uint8_t> buf);

// Capabilities (RFC 5492) we understand; the rest are ignored.
struct Capabilities {
  bool mp_ipv4 = false;        // Multiprotocol (1) AFI 1 / the configured SAFI
  bool mp_ipv6 = false;        // Multiprotocol AFI 2 / SAFI 1 (informational)
  bool ext_next_hop = false;   // Extended Next Hop (5) with (1, configured SAFI, 2)
  bool four_octet_as = false;  // (65)
  uint32_t as4 = 0;            // its value
  bool route_refresh = false;  // (2)
  // Graceful Restart (64, RFC 4724 3): the restart time, and whether AFI 1 /
  // cp.safi is listed with its Forwarding State bit. A speaker that sends it
  // asks its peer (a route reflector) to keep its routes, stale, for
  // gr_time seconds when the session drops without a NOTIFICATION.
  bool graceful_restart = false;
  uint16_t gr_time = 0;  // 0..4095
  bool gr_ipv4 = false;
  bool gr_forwarding = false;
  friend bool operator==(const Capabilities&, const Capabilities&) = default;
};

struct Open {
  uint8_t version = 4;
  uint32_t asn = 0;  // the 4-octet AS when advertised, else My Autonomous System
  uint16_t hold_time = 90;
  uint32_t bgp_id = 0;  // host byte order
  Capabilities caps;
};

// Body = the message after the 19-octet header. The SAFI to look for in
// the MP and ENH capabilities comes from cp.
tl::expected<Open, Notification> parse_open(std::span<const uint8_t> body, const CodePoints& cp);
// Sends AS_TRANS (23456) in My Autonomous System when asn > 65535 (RFC 6793).
std::vector<uint8_t> encode_open(const Open& open, const CodePoints& cp);

std::vector<uint8_t> encode_keepalive();
std::vector<uint8_t> encode_notification(const Notification& n);
// Tolerant: a short body gives code/subcode 0.
Notification parse_notification(std::span<const uint8_t> body);
// ROUTE-REFRESH (RFC 2918) for AFI 1 / cp.safi.
std::vector<uint8_t> encode_route_refresh(const CodePoints& cp);
// The (AFI, SAFI) asked for, or a NOTIFICATION (7/1 Invalid Message Length
// per RFC 7313 5 when the body is not 4 octets).
tl::expected<std::pair<uint16_t, uint8_t>, Notification> parse_route_refresh(std::span<const uint8_t> body);

// What the receiving session knows when it parses an UPDATE.
struct SessionContext {
  CodePoints cp;
  bool four_octet_as = true;  // both sides advertised capability 65
  bool ibgp = false;          // LOCAL_PREF expected; ORIGINATOR_ID/CLUSTER_LIST accepted
};

struct Update {
  // IPv4 prefixes withdrawn: the classic Withdrawn Routes field plus
  // MP_UNREACH_NLRI of AFI 1 / cp.safi.
  std::vector<net::Ipv4Prefix> withdrawn;
  // IPv4 prefixes announced with `attrs`: MP_REACH_NLRI of AFI 1 / cp.safi,
  // plus classic NLRI (next hop then the IPv4-mapped NEXT_HOP).
  std::vector<net::Ipv4Prefix> announced;
  PathAttrs attrs;
  // RFC 7606 treat-as-withdraw: `announced` must be handled as withdrawn;
  // `error` says why (also set for attribute-discard, for the log).
  bool treat_as_withdraw = false;
  std::string error;
  // End-of-RIB marker for AFI 1 / cp.safi (RFC 4724 2): an UPDATE with an
  // empty MP_UNREACH_NLRI of that family and nothing else (or, for SAFI 1,
  // an entirely empty UPDATE).
  bool end_of_rib = false;
  // Routes of other address families were present and ignored.
  bool other_families = false;
};

tl::expected<Update, Notification> parse_update(std::span<const uint8_t> body, const SessionContext& ctx);

// What our announcements carry. as_path, local_pref (iBGP only; ignored
// towards eBGP) and med as given; the session prepends its own AS towards
// eBGP peers before calling. The rule goes in the shape asked for.
struct Announce {
  uint8_t origin = 0;  // IGP
  std::vector<AsSegment> as_path;
  std::optional<uint32_t> local_pref;
  std::optional<uint32_t> med;
  std::vector<uint32_t> communities;  // e.g. NO_EXPORT 0xFFFFFF01 on the default rule
  net::Ipv6Addr next_hop;
  std::optional<net::Ipv6Addr> next_hop_link_local;
  FourMap6 rule;
  Shape shape = Shape::kTunnelEncap;
};

// UPDATEs announcing `prefixes` (MP_REACH_NLRI, AFI 1 / cp.safi, RFC 8950 next
// hop) with one set of attributes; as many messages as needed.
std::vector<std::vector<uint8_t>> encode_announce(std::span<const net::Ipv4Prefix> prefixes, const Announce& a,
                                                  const SessionContext& ctx);
// UPDATEs withdrawing `prefixes` (MP_UNREACH_NLRI).
std::vector<std::vector<uint8_t>> encode_withdraw(std::span<const net::Ipv4Prefix> prefixes, const SessionContext& ctx);
// End-of-RIB for AFI 1 / cp.safi (RFC 4724 2): an empty MP_UNREACH_NLRI,
// or for SAFI 1 the entirely empty UPDATE the RFC prescribes.
std::vector<uint8_t> encode_end_of_rib(const SessionContext& ctx);

// The whole path attribute (flags, type, length, value) carrying `rule` in
// `shape`: attribute 23 with one Tunnel TLV (cp.tunnel_type) holding our
// sub-TLV and, when rule.egress is set, the Tunnel Egress Endpoint sub-TLV;
// or attribute cp.attribute with our body. Extended Length set when needed.
std::vector<uint8_t> encode_rule_attribute(const FourMap6& rule, Shape shape, const CodePoints& cp);
// Our body (flags, length, bits) -> rule; the reason when malformed (length >
// 128, value length not 2 + ceil(len/8), bits past the length set, reserved
// flags set: RFC 7606 says ignore-on-receipt is wiser for reserved bits, so
// they are ignored, not an error).
tl::expected<FourMap6, std::string> decode_rule_body(std::span<const uint8_t> body);

// Bytes as lowercase hex, "" for none (ctl output, tests).
std::string to_hex(std::span<const uint8_t> bytes);

}  // namespace edge46::bgp
