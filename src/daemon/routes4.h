// The kernel's IPv4 routes as a source of the PE's local IPv4 blocks
// (draft-ietf-v6ops-framework-md-ipv6only-underlay section 5.2: a PE
// "extracts IPv4 address blocks and generates address mapping rules by
// combining them with its own IPv6 mapping prefix", kept in step with route
// additions and removals). This file yields the blocks; the rules
// "block -> Pref6(this PE)" are made by the caller.
//
// Which routes count as local blocks (Routes4Filter, parse_route4):
//  - IPv4 RTM_NEWROUTE / RTM_DELROUTE of type RTN_UNICAST only: local,
//    broadcast, multicast, blackhole, unreachable, prohibit, throw and nat
//    routes are not blocks the PE can deliver;
//  - in one of the followed tables (RTA_TABLE, else rtm_table);
//  - not a route cache entry (RTM_F_CLONED);
//  - protocol: RTPROT_KERNEL routes (the connected subnets of the PE's own
//    addresses) iff include_connected; any other protocol iff listed in
//    `protocols`, or, when that list is empty, any protocol but
//    RTPROT_REDIRECT;
//  - never the default route 0.0.0.0/0 (a PE does not claim the whole IPv4
//    space from its default route: that is the default egress PE's rule,
//    section 5.2), nor a prefix inside 127.0.0.0/8, 169.254.0.0/16
//    (RFC 3927) or 224.0.0.0/4, nor one equal to or inside an
//    exclude_prefixes entry;
//  - not out of an excluded device (its RTA_OIF, or any RTA_MULTIPATH next
//    hop): routes into the daemon's own TUN lead into the core, they are not
//    local blocks. Routes that name a nexthop object (RTA_NH_ID) carry no
//    device in the message and are not checked against the list.
//
// Set semantics (Route4Table): the same prefix may be routed in several
// tables, with several metrics or out of several devices; the caller sees a
// prefix added when its first route appears and removed when its last one
// goes. Routes are kept by the kernel's own key plus the next hop, so a
// replayed notification is idempotent (add = set, delete = erase) and the
// set after a dump plus every queued notification is the kernel's state.
//
// Routes4Source follows the kernel like the IPv6 route mirror
// (tun_routes.h): subscribe to RTNLGRP_IPV4_ROUTE, RTNLGRP_LINK and
// RTNLGRP_IPV4_IFADDR first, dump second. A fresh dump follows a device
// deleted or set down that carries one of the followed routes, an address
// removal, a change of the devices the excluded names resolve to, and a
// notification overrun (ENOBUFS): the kernel drops a device's routes (and
// the routes through an address that goes away) without an RTM_DELROUTE for
// each. Other link events (a device created or set up, a carrier change)
// cost no dump: on a router with a full table one takes seconds (2.5 s for
// 1 M routes measured on the development machine). A dump the kernel marks
// interrupted (NLM_F_DUMP_INTR) is asked again; a refresh that fails keeps
// the last known routes plus later notifications, says so in status(), and
// is tried again every second. The caller is told only the differences, in
// batches, one batch per drained burst of notifications.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <tl/expected.hpp>

#include "net/addr.h"

struct nlmsghdr;
struct mnl_socket;

namespace edge46::daemon {

struct Routes4Filter {
  std::vector<uint32_t> tables = {254};           // route tables to follow (254: RT_TABLE_MAIN)
  std::vector<uint8_t> protocols;                 // rtm_protocol values accepted; empty: all but redirect
                                                  // (kernel routes: see include_connected)
  bool include_connected = true;                  // RTPROT_KERNEL routes: the directly attached subnets
  std::vector<std::string> exclude_devices;       // e.g. the daemon's TUN: routes out of it lead into the core
  std::vector<net::Ipv4Prefix> exclude_prefixes;  // never a block: these and everything inside them
};

// A route protocol by name as iproute2 spells it ("kernel" 2, "boot" 3,
// "static" 4, "zebra" 11, "bird" 12, "dhcp" 16, "bgp" 186, "isis" 187,
// "ospf" 188, "rip" 189, and a few more of /etc/iproute2/rt_protos) or a
// number 0-255.
tl::expected<uint8_t, std::string> parse_route_protocol(std::string_view name);

// One accepted IPv4 route of a route message:
//  add, !replace: a route appeared (RTM_NEWROUTE);
//  !add, !replace: it went (RTM_DELROUTE);
//  add, replace: RTM_NEWROUTE with NLM_F_REPLACE: it took the place of the
//    route(s) under its key (table, prefix, TOS, metric), which the kernel
//    removes without an RTM_DELROUTE;
//  !add, replace: such a replacement by a route the filter refuses (another
//    type, protocol, or out of an excluded device): the routes under the
//    key go, nothing comes.
struct Route4Event {
  bool add = true;
  bool replace = false;
  net::Ipv4Prefix prefix;  // masked to its length, 1-32
  uint32_t table = 0;
  uint8_t protocol = 0;
  uint8_t tos = 0;
  uint32_t priority = 0;  // RTA_PRIORITY (the metric)
  uint32_t oif = 0;       // RTA_OIF, 0 when absent (multipath, nexthop object)
  uint32_t gateway = 0;   // RTA_GATEWAY, host byte order, 0 when absent
  uint64_t nexthops = 0;  // a hash of RTA_MULTIPATH / RTA_NH_ID, 0 when absent
};

// Parses one netlink message against the filter. excluded_ifindexes are the
// interface indexes of filter.exclude_devices (the caller resolves the names:
// see Routes4Source). nullopt for everything that is not an accepted route
// (see the top of this file), other message types and families, and
// malformed messages (short header, nlmsg_len not a multiple of 4, an
// attribute of the wrong size or cut short by nlmsg_len, a length beyond 32,
// no RTA_DST). Reads nothing beyond nlmsg_len, which the caller guarantees
// lies inside its buffer.
std::optional<Route4Event> parse_route4(const nlmsghdr* nlh, const Routes4Filter& filter,
                                        std::span<const uint32_t> excluded_ifindexes) noexcept;

// A change of the set of local IPv4 blocks.
struct Prefix4Change {
  bool add = true;  // false: removed
  net::Ipv4Prefix prefix;
  friend bool operator==(const Prefix4Change&, const Prefix4Change&) = default;
};

// The accepted routes and the set of prefixes they cover, with the changes
// not yet handed out. Not thread-safe.
class Route4Table {
 public:
  // A table filled by a dump only to be handed to replace_all() need not
  // remember its changes (replace_all computes the difference itself).
  void track_changes(bool on) noexcept { track_ = on; }
  void reserve(std::size_t routes);  // a size hint: the previous dump's
  void apply(const Route4Event& e);  // idempotent per route
  // Replaces every route by those of `fresh` (a complete dump); the prefixes
  // that appear or vanish become pending changes like those of apply().
  void replace_all(Route4Table&& fresh);
  // The net changes since the last call, sorted by (address, length): a
  // prefix added then removed in between is not reported; one removed then
  // added again neither.
  std::vector<Prefix4Change> take_changes();
  std::vector<net::Ipv4Prefix> prefixes() const;                // sorted by (address, length)
  std::size_t size() const noexcept { return counts_.size(); }  // prefixes
  std::size_t routes() const noexcept { return route_count_; }
  // Whether a device going down or away can take routes of this table: one
  // of them leaves through it, or one names no device (multipath, nexthop
  // object) and might.
  bool uses_device(uint32_t ifindex) const noexcept;

 private:
  // The kernel's key of an IPv4 route (fib_table_insert: table, prefix,
  // TOS, metric), and what tells routes appended under one key apart.
  struct Base {
    uint32_t addr, table, priority;
    uint8_t len, tos;
    friend bool operator==(const Base&, const Base&) = default;
  };
  struct BaseHash {
    std::size_t operator()(const Base& b) const noexcept;
  };
  struct NextHop {
    uint32_t oif, gateway;
    uint64_t nexthops;
    friend bool operator==(const NextHop&, const NextHop&) = default;
  };
  struct Hops {  // nearly always one: no allocation for it
    NextHop first;
    std::vector<NextHop> more;
  };
  static uint64_t pkey(uint32_t addr, uint8_t len) noexcept { return (uint64_t{addr} << 8) | len; }
  void touch(uint64_t pk, bool present_before);
  void count_hop(const NextHop& nh, bool in);
  void ref(uint64_t pk);
  void unref(uint64_t pk);

  std::unordered_map<Base, Hops, BaseHash> routes_;
  std::size_t route_count_ = 0;
  std::unordered_map<uint64_t, uint32_t> counts_;      // prefix -> its routes
  std::unordered_map<uint64_t, bool> touched_;         // prefix -> present at the last take_changes()
  std::unordered_map<uint32_t, uint32_t> oif_routes_;  // device -> its routes
  std::size_t deviceless_ = 0;                         // routes with oif 0
  bool track_ = true;
};

// The netlink side: one socket subscribed to the IPv4 route, link and IPv4
// address groups, one thread.
class Routes4Source {
 public:
  // Receives each batch of changes, never an empty one. The first batch (the
  // dump at start, every prefix as an add, possibly empty then not called)
  // is delivered in start() on the caller's thread, the others on the
  // source's thread, one call at a time.
  using Callback = std::function<void(std::span<const Prefix4Change>)>;

  Routes4Source() = default;
  ~Routes4Source();  // stop()
  Routes4Source(const Routes4Source&) = delete;
  Routes4Source& operator=(const Routes4Source&) = delete;

  // Subscribes, dumps, delivers the first batch and starts the thread.
  // Errors name what failed (netlink socket, bind, dump) with the errno text;
  // an error leaves the source stopped. Starting a started source is an error.
  tl::expected<void, std::string> start(Routes4Filter filter, Callback on_change);
  // Stops and joins the thread, closes the socket. Idempotent. Must not be
  // called from the callback.
  void stop();

  // The current blocks, sorted. Thread-safe; may run one batch ahead of the
  // callback (it reflects every notification applied so far).
  std::vector<net::Ipv4Prefix> snapshot() const;
  // "on (N IPv4 blocks from M routes)", with what went wrong appended while
  // a refresh fails; "off" when not started. Thread-safe.
  std::string status() const;
  // Route dumps asked so far (start, overruns, link and address events):
  // a device event elsewhere costs none. Thread-safe.
  uint64_t dumps() const noexcept { return dumps_.load(std::memory_order_relaxed); }

 private:
  std::vector<uint32_t> resolve_excluded() const;
  tl::expected<void, std::string> resync();  // replaces the routes by a fresh dump, or leaves them
  void deliver();
  void run();

  Routes4Filter filter_;
  Callback on_change_;
  mutable std::mutex mu_;  // table_, trouble_, on_
  Route4Table table_;
  std::string trouble_;
  bool on_ = false;
  std::vector<uint32_t> excluded_;  // the thread's (and start()'s) copy
  mnl_socket* events_ = nullptr;
  uint32_t seq_ = 0;
  std::atomic<uint64_t> dumps_{0};
  int wake_fd_ = -1;
  std::thread thread_;
};

}  // namespace edge46::daemon
