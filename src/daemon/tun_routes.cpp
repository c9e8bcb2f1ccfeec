#include "daemon/tun_routes.h"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "daemon/log.h"
#include "daemon/netlink_util.h"

namespace edge46::daemon {

namespace {

struct Attrs {
  const nlattr* tb[RTA_MAX + 1] = {};
};

int attr_cb(const nlattr* a, void* data) {
  auto* at = static_cast<Attrs*>(data);
  int type = mnl_attr_get_type(a);
  if (mnl_attr_type_valid(a, RTA_MAX) < 0) {
    return MNL_CB_OK;  // newer kernel, unknown attribute: skip
  }
  switch (type) {
    case RTA_OIF:
    case RTA_TABLE:
    case RTA_PRIORITY:
      if (mnl_attr_validate(a, MNL_TYPE_U32) < 0) {
        return MNL_CB_ERROR;
      }
      break;
    default: break;
  }
  at->tb[type] = a;
  return MNL_CB_OK;
}

// Any next hop of an RTA_MULTIPATH attribute (struct rtnexthop list) out of
// the TUN: the kernel may hash some flows there.
bool multipath_into(const nlattr* mp, int ifindex) noexcept {
  return netlink::for_each_nexthop(mp, [ifindex](const rtnexthop& nh) { return nh.rtnh_ifindex == ifindex; });
}

}  // namespace

std::optional<RouteEvent> parse_route_message(const nlmsghdr* nlh, int tun_ifindex) noexcept {
  if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE) {
    return std::nullopt;
  }
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(rtmsg))) {
    return std::nullopt;
  }
  rtmsg rtm;
  std::memcpy(&rtm, mnl_nlmsg_get_payload(nlh), sizeof rtm);
  if (rtm.rtm_family != AF_INET6) {
    return std::nullopt;  // IPv4 routes are not mirrored (see the header)
  }
  if ((rtm.rtm_flags & RTM_F_CLONED) != 0) {
    return std::nullopt;  // a route cache entry, not a route
  }
  Attrs at;
  if (mnl_attr_parse(nlh, sizeof(rtmsg), attr_cb, &at) < 0) {
    return std::nullopt;
  }
  // rtm_table holds 8 bits; RTA_TABLE the full id when present.
  const uint32_t table = at.tb[RTA_TABLE] != nullptr ? mnl_attr_get_u32(at.tb[RTA_TABLE]) : rtm.rtm_table;
  if (table != RT_TABLE_MAIN) {
    return std::nullopt;
  }
  switch (rtm.rtm_type) {
    case RTN_UNICAST:
    case RTN_BLACKHOLE:
    case RTN_UNREACHABLE:
    case RTN_PROHIBIT:
    case RTN_THROW: break;
    default: return std::nullopt;
  }
  RouteEvent e;
  e.add = nlh->nlmsg_type == RTM_NEWROUTE;
  if (rtm.rtm_dst_len > 128) {
    return std::nullopt;
  }
  e.len = rtm.rtm_dst_len;
  if (const nlattr* d = at.tb[RTA_DST]; d != nullptr) {
    if (mnl_attr_get_payload_len(d) != 16) {
      return std::nullopt;
    }
    net::Ipv6Addr a;
    std::memcpy(a.bytes.data(), mnl_attr_get_payload(d), 16);
    e.prefix = a.to_u128() & net::mask6(e.len);
  } else if (e.len != 0) {
    return std::nullopt;
  }
  if (at.tb[RTA_PRIORITY] != nullptr) {
    e.priority = mnl_attr_get_u32(at.tb[RTA_PRIORITY]);
  }
  if (rtm.rtm_type == RTN_UNICAST) {
    const bool oif =
        at.tb[RTA_OIF] != nullptr && mnl_attr_get_u32(at.tb[RTA_OIF]) == static_cast<uint32_t>(tun_ifindex);
    e.into_tun = oif || (at.tb[RTA_MULTIPATH] != nullptr && multipath_into(at.tb[RTA_MULTIPATH], tun_ifindex));
  }
  return e;
}

void RouteSet::apply(const RouteEvent& e) {
  Key k{e.prefix, e.len, e.priority};
  if (e.add) {
    routes_[k] = e.into_tun;
  } else {
    routes_.erase(k);
  }
}

std::unique_ptr<pipeline::TunRoutes> RouteSet::build() const {
  using Entry = mapping::LpmTable<net::u128, bool>::Entry;
  // The map is ordered by (prefix, len, metric): the first route of each
  // prefix is the one the kernel uses.
  std::vector<Entry> best;
  for (const auto& [key, into_tun] : routes_) {
    const auto& [prefix, len, prio] = key;
    (void)prio;
    if (!best.empty() && best.back().prefix == prefix && best.back().len == len) {
      continue;
    }
    best.push_back(Entry{prefix, net::mask6(len), len, into_tun});
  }
  std::vector<const Entry*> tun;
  for (const auto& b : best) {
    if (b.value) {
      tun.push_back(&b);
    }
  }
  // O(routes x TUN routes): the TUN routes are a handful.
  std::vector<Entry> kept;
  for (const auto& b : best) {
    bool keep = b.value;
    for (std::size_t i = 0; !keep && i < tun.size(); ++i) {
      keep = tun[i]->len <= b.len && (b.prefix & tun[i]->mask) == tun[i]->prefix;
    }
    if (keep) {
      kept.push_back(b);
    }
  }
  auto t = std::make_unique<pipeline::TunRoutes>();
  t->v6.build(kept);
  return t;
}

std::size_t routes_into_tun(const pipeline::TunRoutes& t) noexcept {
  std::size_t n = 0;
  for (const auto& e : t.v6.entries()) {
    n += e.value ? 1 : 0;
  }
  return n;
}

namespace {

using netlink::errno_text;

struct ApplyCtx {
  RouteSet* set;
  int ifindex;
  bool link_event = false;
};

// How long the thread waits after a receive or dump error before it tries
// again: poll reports a persistent error at once, every time.
constexpr std::chrono::milliseconds kBackOff{100};

int apply_cb(const nlmsghdr* nlh, void* data) {
  auto* c = static_cast<ApplyCtx*>(data);
  if (nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK) {
    c->link_event = true;
    return MNL_CB_OK;
  }
  if (auto e = parse_route_message(nlh, c->ifindex)) {
    c->set->apply(*e);
  }
  return MNL_CB_OK;
}

}  // namespace

tl::expected<RouteSet, std::string> read_route_dump(const DumpRecv& recv, uint32_t seq, uint32_t portid,
                                                    int tun_ifindex) {
  RouteSet fresh;
  ApplyCtx ctx{&fresh, tun_ifindex};
  if (auto r = netlink::read_netlink_dump(recv, seq, portid, apply_cb, &ctx, "route mirror: route dump"); !r) {
    return tl::unexpected(r.error());
  }
  return fresh;
}

tl::expected<std::unique_ptr<TunRouteMirror>, std::string> TunRouteMirror::start(int tun_ifindex,
                                                                                 TunRoutesHolder& holder,
                                                                                 StatusFn on_status) {
  if (tun_ifindex <= 0) {
    return tl::unexpected(std::string("route mirror: the TUN device has no interface index"));
  }
  std::unique_ptr<TunRouteMirror> m(new TunRouteMirror(tun_ifindex, holder, std::move(on_status)));
  m->events_ = mnl_socket_open(NETLINK_ROUTE);
  if (m->events_ == nullptr) {
    return tl::unexpected(errno_text("route mirror: netlink socket"));
  }
  // Subscribe first, dump second (see the header).
  if (mnl_socket_bind(m->events_, RTMGRP_IPV6_ROUTE | RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
    return tl::unexpected(errno_text("route mirror: netlink bind"));
  }
  const int fd = mnl_socket_get_fd(m->events_);
  int rcvbuf = 1 << 20;  // fewer overruns on a busy routing table
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (auto r = m->resync(); !r) {
    return tl::unexpected(r.error());
  }
  m->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (m->wake_fd_ < 0) {
    return tl::unexpected(errno_text("route mirror: eventfd"));
  }
  m->publish();
  m->thread_ = std::thread([p = m.get()] { p->run(); });
  return m;
}

TunRouteMirror::~TunRouteMirror() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
    (void)ignored;
    thread_.join();
  }
  if (wake_fd_ >= 0) {
    ::close(wake_fd_);
  }
  if (events_ != nullptr) {
    mnl_socket_close(events_);
  }
}

// A dump on its own socket (netlink::dump_routes), so its answers do not
// interleave with the notifications queued on events_.
tl::expected<void, std::string> TunRouteMirror::resync() {
  RouteSet fresh;
  ApplyCtx ctx{&fresh, ifindex_};
  if (auto r = netlink::dump_routes(AF_INET6, ++seq_, apply_cb, &ctx, "route mirror: route dump"); !r) {
    return tl::unexpected(r.error());  // routes_ as they were
  }
  routes_ = std::move(fresh);
  return {};
}

void TunRouteMirror::publish(const std::string& trouble) {
  auto t = routes_.build();
  const std::size_t n = routes_into_tun(*t);
  holder_.publish(std::move(t));
  if (on_status_) {
    on_status_("on (" + std::to_string(n) + " IPv6 route" + (n == 1 ? "" : "s") + " into the TUN" +
               (trouble.empty() ? "" : "; " + trouble) + ")");
  }
}

void TunRouteMirror::run() {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
  const int fd = mnl_socket_get_fd(events_);
  RateLimitedLog receive_log, resync_log;
  std::string trouble;  // the last refresh that failed, until one succeeds
  for (;;) {
    struct pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      const auto why = errno_text("route mirror: poll");
      log_error(why + "; the routing-loop check keeps the last known routes, no longer updated");
      publish("no longer updated: " + why);
      return;
    }
    if ((p[1].revents & POLLIN) != 0) {
      return;
    }
    // Drain what is queued, then publish once.
    ApplyCtx ctx{&routes_, ifindex_};
    const auto drained = netlink::drain_notifications(
        events_, buf, "route mirror: netlink receive",
        [&](const char* data, std::size_t n) { (void)mnl_cb_run(data, n, 0, 0, apply_cb, &ctx); });
    bool resync_needed = drained.overrun;
    // A persistent error would wake poll at once again: wait below.
    bool back_off = drained.failed;
    if (drained.failed) receive_log.warn(drained.error);
    if (resync_needed || ctx.link_event) {
      if (auto r = resync(); !r) {
        // routes_ is the last known set plus the notifications since.
        resync_log.warn(r.error() + "; the routing-loop check keeps the last known routes");
        trouble = "last known routes, a refresh failed: " + r.error();
        back_off = true;
      } else {
        trouble.clear();
      }
    }
    publish(trouble);
    if (back_off) {
      struct pollfd w = {wake_fd_, POLLIN, 0};
      if (::poll(&w, 1, static_cast<int>(kBackOff.count())) > 0) {
        return;
      }
    }
  }
}

}  // namespace edge46::daemon
