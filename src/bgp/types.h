// Value types of the BGP mapping-rule exchange (issue 9): what one UPDATE
// carries once parsed, and the code points of our 4map6 encoding.
//
// The encoding (docs/bgp-4map6.md): one route per mapping rule. The NLRI is
// the IPv4 prefix (AFI 1 / SAFI 1 by default, RFC 4760 MP_REACH_NLRI with an
// RFC 8950 IPv6 next hop); the rule's Pref6 travels either in the Tunnel
// Encapsulation attribute (type 23, RFC 9012) as one Tunnel TLV of type
// `tunnel_type` holding our sub-TLV `sub_tlv` (and optionally the Tunnel
// Egress Endpoint sub-TLV 6), or as a standalone optional transitive
// attribute of type `attribute` whose value is the body of our sub-TLV.
// The body: flags (bit 7 T: 1 = translate, 0 = encapsulate; bit 6 D:
// default rule; bits 5-0 zero), Pref6 length (0-128), then the Pref6 bits in
// ceil(len / 8) octets, bits past the length zero.
// draft-ietf-idr-mpbgp-extension-4map6 has no assigned code points yet, so
// every one of them is configurable ([bgp.codepoints]).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/addr.h"

namespace edge46::bgp {

struct CodePoints {
  uint8_t safi = 1;               // with AFI 1 (IPv4)
  uint16_t tunnel_type = 0xFFFE;  // Tunnel TLV type in attribute 23 (no experimental range exists)
  uint8_t sub_tlv = 126;          // our sub-TLV: 126-127 experimental, 1-octet length (>= 128: 2-octet)
  uint8_t attribute = 255;        // standalone attribute (255 "reserved for development"; never 254)
  friend bool operator==(const CodePoints&, const CodePoints&) = default;
};

// Which of the two shapes carries the rule (per peer on send; both accepted).
enum class Shape : uint8_t { kTunnelEncap, kAttribute };

// One 4map6 rule as carried on the wire.
struct FourMap6 {
  bool translate = false;   // flag T: the egress PE expects translated packets (else 4in6)
  bool is_default = false;  // flag D: the default rule (with NLRI 0.0.0.0/0)
  net::Ipv6Prefix pref6{net::Ipv6Addr{}, 0};
  std::optional<net::Ipv6Addr> egress;  // Tunnel Egress Endpoint sub-TLV (tunnel-encap shape only)
  friend bool operator==(const FourMap6&, const FourMap6&) = default;
};

// RFC 4271 4.3 AS_PATH segment (2 = AS_SEQUENCE, 1 = AS_SET; RFC 5065 3 and 4
// are the confederation ones). ASNs are always 4 octets here (RFC 6793).
struct AsSegment {
  uint8_t type = 2;
  std::vector<uint32_t> asns;
  friend bool operator==(const AsSegment&, const AsSegment&) = default;
};

// Path length for best-path selection (RFC 4271 9.1.2.2 a): an AS_SET counts
// one, confederation segments count zero.
uint32_t as_path_length(const std::vector<AsSegment>& path) noexcept;
// The AS that originated the route: the last ASN of the last AS_SEQUENCE
// (nullopt for an empty path, i.e. originated inside our own AS, or one
// ending in an AS_SET).
std::optional<uint32_t> origin_as(const std::vector<AsSegment>& path) noexcept;
// "65001 65002 {65003 65004}".
std::string to_string(const std::vector<AsSegment>& path);

// An attribute we carry but do not interpret.
struct RawAttr {
  uint8_t flags = 0;
  uint8_t type = 0;
  std::vector<uint8_t> value;
  friend bool operator==(const RawAttr&, const RawAttr&) = default;
};

// Path attributes of one UPDATE (RFC 4271 5, RFC 4760, RFC 1997, RFC 4456).
struct PathAttrs {
  uint8_t origin = 0;  // 0 IGP, 1 EGP, 2 INCOMPLETE
  std::vector<AsSegment> as_path;
  std::optional<uint32_t> med;
  std::optional<uint32_t> local_pref;
  bool atomic_aggregate = false;
  std::vector<uint32_t> communities;      // RFC 1997, as received
  std::optional<uint32_t> originator_id;  // RFC 4456
  std::vector<uint32_t> cluster_list;     // RFC 4456
  // MP_REACH_NLRI next hop (RFC 8950: 16 or 32 octets; the second is the
  // link-local address), or the IPv4-mapped form of a classic NEXT_HOP.
  net::Ipv6Addr next_hop;
  std::optional<net::Ipv6Addr> next_hop_link_local;

  // The 4map6 rule.
  enum class RuleState : uint8_t {
    kAbsent,     // no attribute 23 tunnel of our type, no standalone attribute
    kPresent,    // `rule` holds it
    kMalformed,  // present but broken: `rule_error` says why (RFC 7606 treat-as-withdraw)
  };
  RuleState rule_state = RuleState::kAbsent;
  FourMap6 rule;
  Shape rule_shape = Shape::kTunnelEncap;
  std::string rule_error;
  // The attribute that carried the rule, whole (flags, type, length, value)
  // as received: shown by `edge46ctl bgp routes` so a path through
  // reflectors can be compared byte for byte.
  std::vector<uint8_t> rule_attr_raw;

  std::vector<RawAttr> other;  // unknown optional transitive attributes, kept
  friend bool operator==(const PathAttrs&, const PathAttrs&) = default;
};

// BGP NOTIFICATION (RFC 4271 4.5, 6).
struct Notification {
  uint8_t code = 0;
  uint8_t subcode = 0;
  std::vector<uint8_t> data;
  friend bool operator==(const Notification&, const Notification&) = default;
};

// Error codes (RFC 4271 4.5) and the subcodes we send.
namespace err {
inline constexpr uint8_t kHeader = 1, kOpen = 2, kUpdate = 3, kHoldTimer = 4, kFsm = 5, kCease = 6, kRouteRefresh = 7;
// Message Header Error
inline constexpr uint8_t kConnNotSynced = 1, kBadLength = 2, kBadType = 3;
// OPEN Message Error
inline constexpr uint8_t kUnsupportedVersion = 1, kBadPeerAs = 2, kBadBgpId = 3, kUnsupportedOptParam = 4,
                         kUnacceptableHoldTime = 6, kUnsupportedCapability = 7;
// UPDATE Message Error
inline constexpr uint8_t kMalformedAttrList = 1, kUnrecognizedWellKnown = 2, kMissingWellKnown = 3, kAttrFlags = 4,
                         kAttrLength = 5, kInvalidOrigin = 6, kInvalidNextHop = 8, kOptionalAttr = 9,
                         kInvalidNetwork = 10, kMalformedAsPath = 11;
// Cease (RFC 4486)
inline constexpr uint8_t kMaxPrefixReached = 1, kAdminShutdown = 2, kPeerDeconfigured = 3, kAdminReset = 4,
                         kConnectionRejected = 5, kOtherConfigChange = 6, kCollision = 7, kOutOfResources = 8;
}  // namespace err

// "Cease / Administrative Shutdown" style text for logs and edge46ctl.
std::string describe(const Notification& n);

}  // namespace edge46::bgp
