// The received rules: Adj-RIB-In per peer, policy, authorization, best path,
// and the MR-DB changes that follow (framework 5.2: received rules are stored
// in the MR-DB; 7.2: default-rule policy and rule authorization).
//
// Pure logic, no sockets, no clock: the speaker feeds it parsed UPDATEs and
// session events and applies the MrChange batches it returns to the MR-DB
// (source bgp: one rule per IPv4 prefix, the best path's).
//
// Per received route (prefix, peer), in this order; the first that fails
// rejects it (kept in the Adj-RIB-In with its reason, shown by edge46ctl,
// counted, never installed):
//   1. no 4map6 rule on it (kNoRule); a malformed one (kMalformed: RFC 7606
//      treat-as-withdraw, the peer's earlier route for the prefix is gone);
//      flag D set on a prefix other than 0.0.0.0/0 or clear on 0.0.0.0/0
//      (kMalformed);
//   2. loops (kLoop): ORIGINATOR_ID equal to our router ID, our router ID in
//      CLUSTER_LIST (RFC 4456 8), our own AS in the AS_PATH of an eBGP route;
//   3. the default rule from an eBGP peer without accept_default, or from a
//      peer not marked inside the domain (kDefaultPolicy, section 7.2);
//   4. the peer's import prefix list (kImportFilter);
//   5. authorization (kInvalid) when the state is Invalid and reject_invalid;
//   6. the peer's maximum-prefix limit (kMaxPrefix), counted over the routes
//      accepted so far: warn logs once and accepts; refuse rejects the new
//      prefixes past the limit; teardown asks the session to close (Cease 1).
// Best path among the accepted routes of one prefix (RFC 4271 9.1.2.2, RFC
// 4456 9): highest LOCAL_PREF (100 when absent), shortest AS_PATH, lowest
// ORIGIN, lowest MED among routes from the same neighbour AS (absent = 0),
// eBGP over iBGP, lowest router ID (the ORIGINATOR_ID when present, else the
// peer's BGP identifier), shortest CLUSTER_LIST, lowest peer address. Stale
// routes (a lost session, below) take part like the others.
//
// Session loss: with stale time > 0, the peer's routes are marked stale and
// stay installed; each route the peer announces again is fresh; at its
// End-of-RIB or when the speaker's stale timer fires (flush_stale) the routes
// still stale are withdrawn. Stale time 0: they go at once.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bgp/policy.h"
#include "bgp/types.h"
#include "bgp/wire.h"
#include "mapping/mrdb.h"

namespace edge46::bgp {

using PeerId = uint32_t;

enum class MaxPrefixAction : uint8_t { kWarn, kRefuse, kTeardown };
std::string_view max_prefix_action_name(MaxPrefixAction a) noexcept;  // "warn", "refuse", "teardown"

enum class Reject : uint8_t {
  kNone,
  kNoRule,
  kMalformed,
  kLoop,
  kDefaultPolicy,
  kImportFilter,
  kInvalid,
  kMaxPrefix,
};
inline constexpr std::size_t kRejectCount = 8;
// "", "no-rule", "malformed", "loop", "default-policy", "import-filter",
// "invalid", "max-prefix"
std::string_view reject_name(Reject r) noexcept;

struct PeerPolicy {
  std::string name;
  net::Ipv6Addr address;
  uint32_t asn = 0;
  bool ibgp = false;
  bool inside_domain = false;   // the default rule may come from / go to it
  bool accept_default = false;  // accept the default rule although eBGP
  PrefixList import;
  uint32_t max_prefix = 0;  // 0: no limit
  MaxPrefixAction max_prefix_action = MaxPrefixAction::kWarn;
};

struct RibConfig {
  uint32_t local_as = 0;
  uint32_t router_id = 0;                                      // host byte order
  mapping::Pool6Layout layout = mapping::Pool6Layout::kLow32;  // of received Pref6s
  bool reject_invalid = true;
  uint32_t preference = 100;  // MR-DB preference of the installed bgp rules
};

// One MR-DB change for source bgp: target set = upsert, nullopt = remove.
struct MrChange {
  net::Ipv4Prefix prefix;
  std::optional<mapping::MrTarget> target;
  friend bool operator==(const MrChange&, const MrChange&) = default;
};

struct PeerCounters {
  uint64_t updates = 0;                           // UPDATE messages applied
  uint64_t announced = 0;                         // prefixes announced (each time)
  uint64_t withdrawn = 0;                         // prefixes withdrawn (each time, treat-as-withdraw included)
  std::array<uint64_t, kRejectCount> rejected{};  // by reason, each time
  std::size_t received = 0;                       // current routes in the Adj-RIB-In (accepted or not)
  std::size_t accepted = 0;                       // current accepted routes
  std::size_t stale = 0;                          // current stale routes
  bool max_prefix_warned = false;
};

struct ApplyResult {
  bool teardown = false;          // max-prefix teardown: send Cease 1 and close
  std::vector<std::string> logs;  // one line per notable event (first warning, malformed rule, ...)
};

// One route for edge46ctl.
struct RouteView {
  net::Ipv4Prefix prefix;
  PeerId peer = 0;
  std::string peer_name;
  PathAttrs attrs;  // rule, raw attribute, AS path, ...
  Validity validity = Validity::kNotFound;
  Reject reject = Reject::kNone;
  bool best = false;
  bool stale = false;
};

class Rib {
 public:
  explicit Rib(RibConfig cfg);
  ~Rib();
  Rib(const Rib&) = delete;
  Rib& operator=(const Rib&) = delete;

  // Adds the peer or replaces its policy (routes already held are not
  // re-evaluated: the speaker resets the session on a policy change).
  void set_peer(PeerId id, PeerPolicy policy);
  // The peer's BGP identifier, from its OPEN (a best-path tie-breaker).
  void set_peer_router_id(PeerId id, uint32_t bgp_id);

  ApplyResult apply(PeerId id, const Update& u, std::vector<MrChange>& out);
  // The session went down: keep_stale marks its routes stale, else drops them.
  void peer_down(PeerId id, bool keep_stale, std::vector<MrChange>& out);
  // End-of-RIB received or the stale timer fired: drop what is still stale.
  void flush_stale(PeerId id, std::vector<MrChange>& out);
  // Removes the peer and all its routes.
  void remove_peer(PeerId id, std::vector<MrChange>& out);
  // New authorization data (nullptr: none, every route NotFound):
  // re-validates every route and installs/removes what changes.
  void set_authorization(std::shared_ptr<const Authorization> auth, std::vector<MrChange>& out);

  const PeerCounters* counters(PeerId id) const;
  // Routes, sorted by prefix then peer; filtered by peer and/or by prefix
  // (routes whose prefix equals it, or, when exact is false, covers or is
  // inside it).
  std::vector<RouteView> routes(std::optional<PeerId> peer, std::optional<net::Ipv4Prefix> prefix,
                                bool exact = false) const;
  std::size_t prefix_count() const noexcept;  // prefixes with at least one accepted route
  std::size_t route_count() const noexcept;   // all routes held

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edge46::bgp
