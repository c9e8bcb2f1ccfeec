// A mirror of the kernel's routes into our TUN, for the loop guard
// (src/pipeline/loop_guard.h).
//
// Whether a translated packet comes straight back into the TUN depends on
// the kernel's routes, not on the configuration, so the daemon follows them
// over rtnetlink (libmnl):
//  - at start, a dump of the IPv4 and IPv6 routes (RTM_GETROUTE, NLM_F_DUMP)
//    after subscribing to RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE and
//    RTNLGRP_LINK, so no change between the two is missed;
//  - then RTM_NEWROUTE / RTM_DELROUTE notifications, applied on a control
//    thread; after each batch a new immutable pipeline::TunRoutes is built
//    and published to the workers (TunRoutesHolder).
//  - a link event, or a notification overrun (ENOBUFS), triggers a fresh
//    dump: the kernel flushes the IPv4 routes of a link that goes down
//    without sending RTM_DELROUTE for them.
// Only the main table (RT_TABLE_MAIN) is mirrored: policy routing rules
// that send some traffic to other tables are not followed, and local
// addresses (the local table) never reach the TUN anyway.
//
// Applying a replayed notification is idempotent per route (add = set,
// delete = remove), so the last event for a route wins whether it came
// before or after the dump: the state after the dump plus every queued
// notification is the kernel's current state.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>

#include <tl/expected.hpp>

#include "daemon/rcu.h"

#include "net/addr.h"
#include "pipeline/loop_guard.h"

struct nlmsghdr;
struct mnl_socket;

namespace edge46::daemon {

// One route of an RTM_NEWROUTE / RTM_DELROUTE message (a dump answer or a
// notification), as far as the loop guard cares.
struct RouteEvent {
  bool add = true;        // RTM_NEWROUTE; false: RTM_DELROUTE
  bool ipv6 = false;      // AF_INET6; false: AF_INET
  net::u128 prefix = 0;   // masked to len; IPv4 in the low 32 bits
  uint8_t len = 0;        // rtm_dst_len
  uint32_t priority = 0;  // RTA_PRIORITY (the metric): the lowest wins
  bool into_tun = false;  // a unicast route whose output device (RTA_OIF or a
                          // RTA_MULTIPATH next hop) is the TUN
};

// Parses one netlink message. nullopt for what the mirror ignores: other
// message types, other families, tables other than RT_TABLE_MAIN, cloned
// (cache) routes, route types that are not forwarding decisions (local,
// broadcast, multicast, ...), malformed messages. Blackhole, unreachable,
// prohibit and throw routes are kept with into_tun = false: they win over a
// shorter route into the TUN. Separate from the socket so it can be tested
// on crafted messages.
std::optional<RouteEvent> parse_route_message(const nlmsghdr* nlh, int tun_ifindex) noexcept;

// The control-side route set: every mirrored route, keyed like the kernel
// keys them (family, prefix, length, metric).
class RouteSet {
 public:
  void apply(const RouteEvent& e);
  void clear() { routes_.clear(); }
  std::size_t size() const noexcept { return routes_.size(); }

  // The lookup tables of the loop guard: per family, the best route (lowest
  // metric) of each prefix into the TUN (true) and each best route elsewhere
  // that lies inside one of those (false). Routes elsewhere outside every
  // TUN route do not change any answer and are left out, so the tables stay
  // as small as the set of TUN routes on a router with a full table.
  std::unique_ptr<pipeline::TunRoutes> build() const;

 private:
  using Key = std::tuple<bool, net::u128, uint8_t, uint32_t>;  // ipv6, prefix, len, priority
  std::map<Key, bool> routes_;                                 // -> into_tun
};

// Workers read the tables with read() once per burst (RCU, src/daemon/rcu.h);
// the mirror thread publishes and frees old versions itself.
using TunRoutesHolder = RcuBox<pipeline::TunRoutes>;

// The netlink side: one socket subscribed to the route and link groups, one
// thread. Publishes into the holder until destroyed.
class TunRouteMirror {
 public:
  // Subscribes, dumps, publishes the first tables (before returning, so the
  // first packets are already checked) and starts the thread. Errors name
  // what failed (socket, bind, dump) with the errno text.
  static tl::expected<std::unique_ptr<TunRouteMirror>, std::string> start(int tun_ifindex, TunRoutesHolder& holder);
  ~TunRouteMirror();  // stops and joins the thread, closes the sockets
  TunRouteMirror(const TunRouteMirror&) = delete;
  TunRouteMirror& operator=(const TunRouteMirror&) = delete;

  std::size_t routes() const noexcept { return routes_.size(); }

 private:
  TunRouteMirror(int tun_ifindex, TunRoutesHolder& holder) : ifindex_(tun_ifindex), holder_(holder) {}
  tl::expected<void, std::string> resync();  // dump both families into routes_
  void publish();
  void run();

  int ifindex_;
  TunRoutesHolder& holder_;
  RouteSet routes_;  // touched by start() then only by the thread
  mnl_socket* events_ = nullptr;
  uint32_t seq_ = 0;
  int wake_fd_ = -1;
  std::thread thread_;
};

}  // namespace edge46::daemon
