// rtnetlink helpers shared by the kernel route followers: the IPv6 route
// mirror of the loop guard (tun_routes.h) and the IPv4 route source of the
// PE's local rules (routes4.h).
//  - errno_text: "what: strerror(errno)" for control-path error messages;
//  - read_netlink_dump: reads the answer to one dump request until
//    NLMSG_DONE, running a libmnl callback on every message; any failure
//    (receive error, end of stream, NLMSG_ERROR, an interrupted dump) is an
//    error, so a caller never mistakes a partial answer for a complete one;
//  - dump_routes: opens a fresh socket (so the answer does not interleave
//    with the notifications of a subscribed one), asks RTM_GETROUTE with
//    NLM_F_DUMP for one family and reads the answer as above;
//  - drain_notifications: reads every notification queued on a non-blocking
//    subscribed socket, running a libmnl callback on each chunk;
//  - for_each_nexthop: walks the struct rtnexthop list of RTA_MULTIPATH,
//    bounds-checked against the attribute's payload.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace edge46::daemon::netlink {

inline std::string errno_text(std::string_view what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// What one drain of a subscribed socket found besides the messages.
struct Drained {
  bool overrun = false;  // ENOBUFS: notifications were lost, a fresh dump is due
  bool failed = false;   // another receive error (errno_text in `error`): back off
  std::string error;
};

// Reads until the socket would block. `on_chunk(buf, n)` runs the caller's
// callback over each received chunk (under whatever lock the caller needs).
template <class F>
Drained drain_notifications(mnl_socket* sock, std::vector<char>& buf, std::string_view what, F&& on_chunk) {
  Drained d;
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(sock, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        d.overrun = true;
        continue;
      }
      if (errno != EAGAIN) {
        d.failed = true;
        d.error = errno_text(what);
      }
      return d;
    }
    on_chunk(buf.data(), static_cast<std::size_t>(n));
  }
}

// recv(buf, size) does what one recvfrom would: bytes, or -1 with errno.
using Recv = std::function<ssize_t(char* buf, std::size_t size)>;

// `what` prefixes every error ("route mirror: route dump").
inline tl::expected<void, std::string> read_netlink_dump(const Recv& recv, uint32_t seq, uint32_t portid, mnl_cb_t cb,
                                                         void* data, std::string_view what) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
  for (;;) {
    const ssize_t n = recv(buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return tl::unexpected(errno_text(what));
    }
    if (n == 0) {
      return tl::unexpected(std::string(what) + ": the answer ended without NLMSG_DONE");
    }
    errno = 0;
    // libmnl checks sequence and port, turns NLMSG_ERROR into -1 with its
    // errno, and NLM_F_DUMP_INTR (the table changed under the dump) into
    // -1 with EINTR.
    const int r = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portid, cb, data);
    if (r == MNL_CB_STOP) {
      return {};
    }
    if (r < 0) {
      return tl::unexpected(errno != 0 ? errno_text(what) : std::string(what) + ": malformed answer");
    }
  }
}

inline tl::expected<void, std::string> dump_routes(uint8_t family, uint32_t seq, mnl_cb_t cb, void* data,
                                                   std::string_view what) {
  mnl_socket* nl = mnl_socket_open(NETLINK_ROUTE);
  if (nl == nullptr) {
    return tl::unexpected(errno_text(std::string(what) + ": netlink socket"));
  }
  struct Closer {
    mnl_socket* s;
    ~Closer() { mnl_socket_close(s); }
  } closer{nl};
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    return tl::unexpected(errno_text(std::string(what) + ": netlink bind"));
  }
  const unsigned portid = mnl_socket_get_portid(nl);
  std::vector<char> req(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(req.data());
  nlh->nlmsg_type = RTM_GETROUTE;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = family;
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
    return tl::unexpected(errno_text(std::string(what) + " request"));
  }
  return read_netlink_dump([nl](char* b, std::size_t size) { return mnl_socket_recvfrom(nl, b, size); }, seq, portid,
                           cb, data, what);
}

// f(const rtnexthop&) for each next hop until it returns true; true if one
// did. A next hop whose length runs past the attribute ends the walk.
template <class F>
bool for_each_nexthop(const nlattr* mp, F&& f) noexcept {
  const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(mp));
  std::size_t left = mnl_attr_get_payload_len(mp);
  while (left >= sizeof(rtnexthop)) {
    rtnexthop nh;
    std::memcpy(&nh, p, sizeof nh);
    if (nh.rtnh_len < sizeof(rtnexthop) || nh.rtnh_len > left) {
      return false;
    }
    if (f(nh)) {
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

}  // namespace edge46::daemon::netlink
