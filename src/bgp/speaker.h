// The embedded BGP speaker of the PE role: BGP-4 sessions over TCP/IPv6
// (RFC 4271 8 finite state machine), its own event-loop thread (epoll +
// timerfd + eventfd), separate from the packet workers.
//
// - Peers are active (connect, retry with exponential backoff from
//   connect_retry up to connect_retry_max seconds) or passive (wait on the
//   listening socket); an active peer also accepts an incoming connection,
//   collisions resolved by BGP identifier (RFC 4271 6.8).
// - OPEN carries Multiprotocol (AFI 1 / cp.safi), Extended Next Hop (1,
//   cp.safi, 2), 4-octet AS and Route Refresh. A peer that does not
//   advertise Extended Next Hop for the tuple gets no announcements (RFC 8950
//   4: never IPv4 NLRI with an IPv6 next hop to it) and the reason is shown.
// - Hold timer / keepalive (hold/3), negotiated hold time (the lower of the
//   two, 0 = none, 1-2 refused with OPEN error 6).
// - TCP MD5 signatures (RFC 2385) per peer through Linux's TCP_MD5SIG, on
//   the connecting socket and on the listening one.
// - Received UPDATEs go to the Rib (rib.h); the MR-DB changes it returns are
//   handed to the sink in batches (one batch per loop iteration), so a full
//   table costs a few hundred grace periods, not a million.
// - Announcements: the local rules (set_local_rules, the PE's generated
//   rules and, when configured, its default rule), each peer's export
//   prefix list applied; the default rule only to peers inside the domain,
//   tagged NO_EXPORT (section 7.2). On a change only the difference is sent.
// - Graceful close: stop() sends Cease / Administrative Shutdown (RFC 8203,
//   no text) to each established peer.
// All public methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "bgp/policy.h"
#include "bgp/rib.h"
#include "bgp/types.h"
#include "mapping/rfc6052.h"
#include "net/addr.h"

namespace edge46::bgp {

struct PeerConfig {
  std::string name;  // shown by edge46ctl; defaults to the address
  net::Ipv6Addr address;
  uint16_t port = 179;
  std::optional<net::Ipv6Addr> local_address;  // bind before connect
  uint32_t asn = 0;
  bool passive = false;
  Shape shape = Shape::kTunnelEncap;  // how our rules are sent to it
  std::optional<bool> inside_domain;  // default: iBGP peers are inside, eBGP ones not
  bool accept_default = false;
  PrefixList import;
  PrefixList export_;
  uint32_t max_prefix = 0;
  MaxPrefixAction max_prefix_action = MaxPrefixAction::kWarn;
  std::string password;               // TCP MD5 (RFC 2385); empty: none
  std::optional<uint16_t> hold_time;  // default: the speaker's
  friend bool operator==(const PeerConfig&, const PeerConfig&) = default;
};

struct SpeakerConfig {
  uint32_t asn = 0;
  net::Ipv4Addr router_id;
  bool listen = true;            // accept incoming sessions (passive peers need it)
  net::Ipv6Addr listen_address;  // :: = any
  uint16_t port = 179;
  uint16_t hold_time = 90;
  uint32_t connect_retry = 5;        // seconds, first retry
  uint32_t connect_retry_max = 120;  // seconds, backoff ceiling
  uint32_t stale_time = 120;         // seconds a lost peer's rules stay; 0: none
  net::Ipv6Addr next_hop;            // our RFC 8950 next hop (the PE's IPv6 address)
  bool egress_endpoint = true;       // add the Tunnel Egress Endpoint sub-TLV (next_hop)
  CodePoints cp;
  mapping::Pool6Layout layout = mapping::Pool6Layout::kLow32;  // of received Pref6s
  uint32_t preference = 100;                                   // MR-DB preference of bgp rules
  bool reject_invalid = true;
  std::string authorization_file;  // empty: none (every rule NotFound); polled for changes every second
  std::vector<PeerConfig> peers;
  friend bool operator==(const SpeakerConfig&, const SpeakerConfig&) = default;
};

// A rule this PE originates.
struct LocalRule {
  net::Ipv4Prefix prefix;
  FourMap6 rule;
  friend bool operator==(const LocalRule&, const LocalRule&) = default;
};

enum class SessionState : uint8_t { kIdle, kConnect, kActive, kOpenSent, kOpenConfirm, kEstablished };
std::string_view session_state_name(SessionState s) noexcept;  // "Idle", ..., "Established"

struct PeerStatus {
  PeerId id = 0;
  PeerConfig config;
  bool ibgp = false;
  SessionState state = SessionState::kIdle;
  uint64_t uptime_s = 0;  // in Established, else time since the last change
  uint32_t peer_bgp_id = 0;
  uint16_t hold_time = 0;  // negotiated
  Capabilities peer_caps;
  bool can_announce = false;       // Established and the peer advertised ENH for the tuple
  std::string last_error;          // last NOTIFICATION sent/received or socket error, with direction
  uint64_t established_count = 0;  // transitions into Established
  uint64_t connect_attempts = 0;   // outgoing TCP connects started
  uint32_t connect_retry_s = 0;    // the current connect-retry interval (backoff), seconds
  uint64_t msgs_in = 0, msgs_out = 0, updates_in = 0, updates_out = 0;
  uint64_t notifications_in = 0, notifications_out = 0;
  std::size_t advertised = 0;  // prefixes currently advertised to it
  PeerCounters rib;            // from the Rib
};

class Speaker {
 public:
  using Sink = std::function<void(std::span<const MrChange>)>;
  // Called on the speaker thread for log lines (info).
  using Logger = std::function<void(const std::string&)>;

  Speaker();
  ~Speaker();  // stop()
  Speaker(const Speaker&) = delete;
  Speaker& operator=(const Speaker&) = delete;

  // Binds the listening socket (when cfg.listen), loads the authorization
  // file, starts the thread. The errors: address in use, bad file, ...
  tl::expected<void, std::string> start(SpeakerConfig cfg, Sink sink, Logger log);
  // Graceful close of every session, joins the thread. Idempotent.
  void stop();

  // The full set of rules this PE originates; replaces the previous set.
  void set_local_rules(std::vector<LocalRule> rules);

  // Peers added, removed or changed (a changed peer's session is reset with
  // Cease 6 Other Configuration Change); a change of asn, router_id,
  // listen, listen_address, port or cp is refused (restart needed) and
  // nothing changes.
  tl::expected<void, std::string> reconfigure(SpeakerConfig cfg);

  std::vector<PeerStatus> peers() const;
  // Received routes (rib.h RouteView), filtered.
  std::vector<RouteView> received(std::optional<std::string> peer_name, std::optional<net::Ipv4Prefix> prefix) const;
  struct Advertised {
    std::string peer_name;
    net::Ipv4Prefix prefix;
    FourMap6 rule;
    std::vector<uint8_t> attr_raw;  // the attribute as sent
  };
  std::vector<Advertised> advertised(std::optional<std::string> peer_name, std::optional<net::Ipv4Prefix> prefix) const;
  std::size_t prefix_count() const;          // prefixes with an accepted route
  std::string authorization_status() const;  // "none", "N tuples from FILE", "error: ... (kept N)"
  SpeakerConfig config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edge46::bgp
