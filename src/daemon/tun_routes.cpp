#include "daemon/tun_routes.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "daemon/log.h"

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
  const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(mp));
  std::size_t left = mnl_attr_get_payload_len(mp);
  while (left >= sizeof(rtnexthop)) {
    rtnexthop nh;
    std::memcpy(&nh, p, sizeof nh);
    if (nh.rtnh_len < sizeof(rtnexthop) || nh.rtnh_len > left) {
      return false;
    }
    if (nh.rtnh_ifindex == ifindex) {
      return true;
    }
    const std::size_t step = RTNH_ALIGN(nh.rtnh_len);
    if (step >= left) {
      break;
    }
    p += step;
    left -= step;
  }
  return false;
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
  if (rtm.rtm_family != AF_INET && rtm.rtm_family != AF_INET6) {
    return std::nullopt;
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
  e.ipv6 = rtm.rtm_family == AF_INET6;
  const unsigned bits = e.ipv6 ? 128 : 32;
  if (rtm.rtm_dst_len > bits) {
    return std::nullopt;
  }
  e.len = rtm.rtm_dst_len;
  if (const nlattr* d = at.tb[RTA_DST]; d != nullptr) {
    if (mnl_attr_get_payload_len(d) != bits / 8) {
      return std::nullopt;
    }
    if (e.ipv6) {
      net::Ipv6Addr a;
      std::memcpy(a.bytes.data(), mnl_attr_get_payload(d), 16);
      e.prefix = a.to_u128() & net::mask6(e.len);
    } else {
      uint32_t be;
      std::memcpy(&be, mnl_attr_get_payload(d), 4);
      e.prefix = ntohl(be) & net::mask4(e.len);
    }
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
  Key k{e.ipv6, e.prefix, e.len, e.priority};
  if (e.add) {
    routes_[k] = e.into_tun;
  } else {
    routes_.erase(k);
  }
}

std::unique_ptr<pipeline::TunRoutes> RouteSet::build() const {
  struct Best {
    net::u128 prefix;
    uint8_t len;
    bool into_tun;
  };
  std::vector<Best> best[2];  // [ipv6]
  // The map is ordered by (family, prefix, len, metric): the first route of
  // each prefix is the one the kernel uses.
  for (auto it = routes_.begin(); it != routes_.end(); ++it) {
    const auto& [v6, prefix, len, prio] = it->first;
    (void)prio;
    auto& b = best[v6 ? 1 : 0];
    if (!b.empty() && b.back().prefix == prefix && b.back().len == len) {
      continue;
    }
    b.push_back(Best{prefix, len, it->second});
  }
  auto t = std::make_unique<pipeline::TunRoutes>();
  for (int v6 = 0; v6 < 2; ++v6) {
    std::vector<const Best*> tun;
    for (const auto& b : best[v6]) {
      if (b.into_tun) {
        tun.push_back(&b);
      }
    }
    // O(routes x TUN routes): the TUN routes are a handful.
    for (const auto& b : best[v6]) {
      bool keep = b.into_tun;
      for (std::size_t i = 0; !keep && i < tun.size(); ++i) {
        const auto mask = v6 ? net::mask6(tun[i]->len) : net::u128{net::mask4(tun[i]->len)};
        keep = tun[i]->len <= b.len && (b.prefix & mask) == tun[i]->prefix;
      }
      if (!keep) {
        continue;
      }
      if (v6) {
        t->v6.insert(b.prefix, b.len, b.into_tun);
      } else {
        t->v4.insert(static_cast<uint32_t>(b.prefix), b.len, b.into_tun);
      }
    }
  }
  return t;
}

namespace {

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

struct ApplyCtx {
  RouteSet* set;
  int ifindex;
  bool link_event = false;
};

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

tl::expected<std::unique_ptr<TunRouteMirror>, std::string> TunRouteMirror::start(int tun_ifindex,
                                                                                 TunRoutesHolder& holder) {
  if (tun_ifindex <= 0) {
    return tl::unexpected(std::string("route mirror: the TUN device has no interface index"));
  }
  std::unique_ptr<TunRouteMirror> m(new TunRouteMirror(tun_ifindex, holder));
  m->events_ = mnl_socket_open(NETLINK_ROUTE);
  if (m->events_ == nullptr) {
    return tl::unexpected(errno_text("route mirror: netlink socket"));
  }
  // Subscribe first, dump second (see the header).
  if (mnl_socket_bind(m->events_, RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
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

// A dump on its own socket, so its answers do not interleave with the
// notifications queued on events_.
tl::expected<void, std::string> TunRouteMirror::resync() {
  mnl_socket* nl = mnl_socket_open(NETLINK_ROUTE);
  if (nl == nullptr) {
    return tl::unexpected(errno_text("route mirror: netlink socket"));
  }
  struct Closer {
    mnl_socket* s;
    ~Closer() { mnl_socket_close(s); }
  } closer{nl};
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    return tl::unexpected(errno_text("route mirror: netlink bind"));
  }
  const unsigned portid = mnl_socket_get_portid(nl);
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
  routes_.clear();
  ApplyCtx ctx{&routes_, ifindex_};
  for (uint8_t family : {uint8_t{AF_INET}, uint8_t{AF_INET6}}) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_GETROUTE;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++seq_;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = family;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
      return tl::unexpected(errno_text("route mirror: route dump request"));
    }
    for (;;) {
      ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return tl::unexpected(errno_text("route mirror: route dump"));
      }
      int r = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq_, portid, apply_cb, &ctx);
      if (r == MNL_CB_STOP) {
        break;
      }
      if (r < 0) {
        return tl::unexpected(errno_text("route mirror: route dump"));
      }
    }
  }
  return {};
}

void TunRouteMirror::publish() {
  holder_.publish(routes_.build());
}

void TunRouteMirror::run() {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
  const int fd = mnl_socket_get_fd(events_);
  for (;;) {
    struct pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      log_error(errno_text("route mirror: poll"));
      return;
    }
    if ((p[1].revents & POLLIN) != 0) {
      return;
    }
    // Drain what is queued, then publish once.
    ApplyCtx ctx{&routes_, ifindex_};
    bool resync_needed = false;
    for (;;) {
      ssize_t n = mnl_socket_recvfrom(events_, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        if (errno == ENOBUFS) {  // notifications were lost
          resync_needed = true;
          continue;
        }
        if (errno != EAGAIN) {
          log_warning(errno_text("route mirror: netlink receive"));
        }
        break;
      }
      (void)mnl_cb_run(buf.data(), static_cast<size_t>(n), 0, 0, apply_cb, &ctx);
    }
    if (resync_needed || ctx.link_event) {
      if (auto r = resync(); !r) {
        log_warning(r.error() + "; routing-loop check uses the last known routes");
      }
    }
    publish();
  }
}

}  // namespace edge46::daemon
