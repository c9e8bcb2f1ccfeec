// A mirror of the kernel's IPv6 routes into our TUN, for the loop guard
// (src/pipeline/loop_guard.h).
//
// Whether a translated packet comes straight back into the TUN depends on
// the kernel's routes, not on the configuration, so the daemon follows them
// over rtnetlink (libmnl). Only IPv6 routes are mirrored: the loop guard
// checks only the outputs that leave as IPv6 (4->6 translations and
// hairpins, see loop_guard.h), so an IPv4 table would never be read, and on
// a router with a full IPv4 table it would cost a dump of about a million
// routes at every link event.
//  - at start, a dump of the IPv6 routes (RTM_GETROUTE, NLM_F_DUMP) after
//    subscribing to RTNLGRP_IPV6_ROUTE and RTNLGRP_LINK, so no change
//    between the two is missed;
//  - then RTM_NEWROUTE / RTM_DELROUTE notifications, applied on a control
//    thread; after each batch a new immutable pipeline::TunRoutes is built
//    and published to the workers (TunRoutesHolder).
//  - a link event, or a notification overrun (ENOBUFS), triggers a fresh
//    dump: the kernel removes the routes of a device that goes away without
//    an RTM_DELROUTE for each of them. A dump that fails leaves the routes
//    as they were (the last known ones) and the status says so.
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
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>

#include <sys/types.h>

#include <tl/expected.hpp>

#include "daemon/rcu.h"

#include "net/addr.h"
#include "pipeline/loop_guard.h"

struct nlmsghdr;
struct mnl_socket;

namespace edge46::daemon {

// One IPv6 route of an RTM_NEWROUTE / RTM_DELROUTE message (a dump answer
// or a notification), as far as the loop guard cares.
struct RouteEvent {
  bool add = true;        // RTM_NEWROUTE; false: RTM_DELROUTE
  net::u128 prefix = 0;   // masked to len
  uint8_t len = 0;        // rtm_dst_len
  uint32_t priority = 0;  // RTA_PRIORITY (the metric): the lowest wins
  bool into_tun = false;  // a unicast route whose output device (RTA_OIF or a
                          // RTA_MULTIPATH next hop) is the TUN
};

// Parses one netlink message. nullopt for what the mirror ignores: other
// message types, families other than AF_INET6 (IPv4 routes too), tables other than RT_TABLE_MAIN, cloned
// (cache) routes, route types that are not forwarding decisions (local,
// broadcast, multicast, ...), malformed messages. Blackhole, unreachable,
// prohibit and throw routes are kept with into_tun = false: they win over a
// shorter route into the TUN. Separate from the socket so it can be tested
// on crafted messages.
std::optional<RouteEvent> parse_route_message(const nlmsghdr* nlh, int tun_ifindex) noexcept;

// The control-side route set: every mirrored IPv6 route, keyed like the
// kernel keys them (prefix, length, metric).
class RouteSet {
 public:
  void apply(const RouteEvent& e);
  std::size_t size() const noexcept { return routes_.size(); }

  // The lookup table of the loop guard: the best route (lowest metric) of
  // each prefix into the TUN (true) and each best route elsewhere that lies
  // inside one of those (false). Routes elsewhere outside every TUN route do
  // not change any answer and are left out, so the table stays as small as
  // the set of TUN routes on a router with a full table.
  std::unique_ptr<pipeline::TunRoutes> build() const;

 private:
  using Key = std::tuple<net::u128, uint8_t, uint32_t>;  // prefix, len, priority
  std::map<Key, bool> routes_;                           // -> into_tun
};

// The routes in the TUN of a built table (its entries with value true).
std::size_t routes_into_tun(const pipeline::TunRoutes& t) noexcept;

// Reads the answer to one route dump request, apart from the socket:
// recv(buf, size) does what one recvfrom would (bytes, or -1 with errno).
// Every route of the answer goes into a fresh set, returned once the dump
// is complete (NLMSG_DONE); on any error the error, never a partial set, so
// the caller keeps its last known routes.
using DumpRecv = std::function<ssize_t(char* buf, std::size_t size)>;
tl::expected<RouteSet, std::string> read_route_dump(const DumpRecv& recv, uint32_t seq, uint32_t portid,
                                                    int tun_ifindex);

// Workers read the tables with read() once per burst (RCU, src/daemon/rcu.h);
// the mirror thread publishes and frees old versions itself.
using TunRoutesHolder = RcuBox<pipeline::TunRoutes>;

// The netlink side: one socket subscribed to the route and link groups, one
// thread. Publishes into the holder until destroyed.
class TunRouteMirror {
 public:
  // Told the loop guard's state for `edge46ctl status` after each publish:
  // "on (N IPv6 routes into the TUN)", with what went wrong appended when a
  // refresh failed or the thread stopped. Called on the mirror thread (and
  // in start()): it must be thread-safe.
  using StatusFn = std::function<void(const std::string&)>;

  // Subscribes, dumps, publishes the first table (before returning, so the
  // first packets are already checked) and starts the thread. Errors name
  // what failed (socket, bind, dump) with the errno text.
  static tl::expected<std::unique_ptr<TunRouteMirror>, std::string> start(int tun_ifindex, TunRoutesHolder& holder,
                                                                          StatusFn on_status = {});
  ~TunRouteMirror();  // stops and joins the thread, closes the sockets
  TunRouteMirror(const TunRouteMirror&) = delete;
  TunRouteMirror& operator=(const TunRouteMirror&) = delete;

  std::size_t routes() const noexcept { return routes_.size(); }

 private:
  TunRouteMirror(int tun_ifindex, TunRoutesHolder& holder, StatusFn on_status)
      : ifindex_(tun_ifindex), holder_(holder), on_status_(std::move(on_status)) {}
  tl::expected<void, std::string> resync();  // replaces routes_ by a fresh dump, or leaves it
  void publish(const std::string& trouble = {});
  void run();

  int ifindex_;
  TunRoutesHolder& holder_;
  StatusFn on_status_;
  RouteSet routes_;  // touched by start() then only by the thread
  mnl_socket* events_ = nullptr;
  uint32_t seq_ = 0;
  int wake_fd_ = -1;
  std::thread thread_;
};

}  // namespace edge46::daemon
