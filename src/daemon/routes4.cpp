#include "daemon/routes4.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include "daemon/log.h"
#include "daemon/netlink_util.h"

namespace edge46::daemon {

namespace {

struct ProtoName {
  std::string_view name;
  uint8_t value;
};
// /etc/iproute2/rt_protos, the names of linux/rtnetlink.h.
constexpr std::array<ProtoName, 23> kProtocols{{
    {"unspec", RTPROT_UNSPEC},
    {"redirect", RTPROT_REDIRECT},
    {"kernel", RTPROT_KERNEL},
    {"boot", RTPROT_BOOT},
    {"static", RTPROT_STATIC},
    {"gated", RTPROT_GATED},
    {"ra", RTPROT_RA},
    {"mrt", RTPROT_MRT},
    {"zebra", RTPROT_ZEBRA},
    {"bird", RTPROT_BIRD},
    {"dnrouted", RTPROT_DNROUTED},
    {"xorp", RTPROT_XORP},
    {"ntk", RTPROT_NTK},
    {"dhcp", RTPROT_DHCP},
    {"mrouted", RTPROT_MROUTED},
    {"keepalived", RTPROT_KEEPALIVED},
    {"babel", RTPROT_BABEL},
    {"openr", RTPROT_OPENR},
    {"bgp", RTPROT_BGP},
    {"isis", RTPROT_ISIS},
    {"ospf", RTPROT_OSPF},
    {"rip", RTPROT_RIP},
    {"eigrp", RTPROT_EIGRP},
}};

struct Attrs {
  const nlattr* tb[RTA_MAX + 1] = {};
};

int attr_cb(const nlattr* a, void* data) {
  auto* at = static_cast<Attrs*>(data);
  if (mnl_attr_type_valid(a, RTA_MAX) < 0) {
    return MNL_CB_OK;  // newer kernel, unknown attribute: skip
  }
  const int type = mnl_attr_get_type(a);
  switch (type) {
    case RTA_OIF:
    case RTA_TABLE:
    case RTA_PRIORITY:
    case RTA_NH_ID:
      if (mnl_attr_validate(a, MNL_TYPE_U32) < 0) {
        return MNL_CB_ERROR;
      }
      break;
    case RTA_DST:
    case RTA_GATEWAY:
      if (mnl_attr_get_payload_len(a) != 4) {  // an IPv4 address
        return MNL_CB_ERROR;
      }
      break;
    default: break;
  }
  at->tb[type] = a;
  return MNL_CB_OK;
}

uint32_t get_be32(const nlattr* a) noexcept {
  uint32_t v;
  std::memcpy(&v, mnl_attr_get_payload(a), 4);
  return ntohl(v);
}

// FNV-1a over an attribute's payload: tells multipath routes (and RTA_VIA
// gateways) under one kernel key apart.
uint64_t fnv(uint64_t h, const nlattr* a) noexcept {
  if (h == 0) {
    h = 0xcbf29ce484222325ull;
  }
  const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
  for (uint16_t i = 0, n = mnl_attr_get_payload_len(a); i < n; ++i) {
    h = (h ^ p[i]) * 0x100000001b3ull;
  }
  return h == 0 ? 1 : h;
}

bool inside(net::Ipv4Prefix p, uint32_t net, uint8_t len) noexcept {
  return p.len >= len && ((p.addr.value ^ net) & net::mask4(len)) == 0;
}

bool excluded_dev(uint32_t ifindex, std::span<const uint32_t> excluded) noexcept {
  return ifindex != 0 && std::find(excluded.begin(), excluded.end(), ifindex) != excluded.end();
}

}  // namespace

tl::expected<uint8_t, std::string> parse_route_protocol(std::string_view name) {
  for (const auto& p : kProtocols) {
    if (p.name == name) {
      return p.value;
    }
  }
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
  if (!name.empty() && ec == std::errc() && end == name.data() + name.size() && v <= 255) {
    return static_cast<uint8_t>(v);
  }
  return tl::unexpected("unknown route protocol '" + std::string(name) +
                        "' (a name of /etc/iproute2/rt_protos such as static, bird, bgp, or a number 0-255)");
}

std::optional<Route4Event> parse_route4(const nlmsghdr* nlh, const Routes4Filter& filter,
                                        std::span<const uint32_t> excluded_ifindexes) noexcept {
  if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE) {
    return std::nullopt;
  }
  // The kernel pads every attribute (nla_total_size), so nlmsg_len is a
  // multiple of 4; the attribute walk below reads up to MNL_ALIGN(nlmsg_len).
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(rtmsg)) || nlh->nlmsg_len % MNL_ALIGNTO != 0) {
    return std::nullopt;
  }
  rtmsg rtm;
  std::memcpy(&rtm, mnl_nlmsg_get_payload(nlh), sizeof rtm);
  if (rtm.rtm_family != AF_INET || (rtm.rtm_flags & RTM_F_CLONED) != 0) {
    return std::nullopt;
  }
  if (rtm.rtm_dst_len == 0 || rtm.rtm_dst_len > 32) {
    return std::nullopt;  // never the default route (see the header); > 32 is malformed
  }
  // mnl_attr_parse would stop quietly at an attribute cut short by
  // nlmsg_len; such a message is refused whole, so a cut RTA_OIF cannot
  // make a route out of an excluded device look like a local one.
  Attrs at;
  const char* const tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));  // nlh + nlmsg_len
  const auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(rtmsg)));
  while (reinterpret_cast<const char*>(a) != tail) {
    if (!mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<const char*>(a))) || attr_cb(a, &at) != MNL_CB_OK) {
      return std::nullopt;
    }
    a = mnl_attr_next(a);
  }
  // rtm_table holds 8 bits; RTA_TABLE the full id when present.
  const uint32_t table = at.tb[RTA_TABLE] != nullptr ? mnl_attr_get_u32(at.tb[RTA_TABLE]) : rtm.rtm_table;
  if (std::find(filter.tables.begin(), filter.tables.end(), table) == filter.tables.end()) {
    return std::nullopt;
  }
  if (at.tb[RTA_DST] == nullptr) {
    return std::nullopt;  // a non-zero length needs its destination
  }
  Route4Event e;
  e.add = nlh->nlmsg_type == RTM_NEWROUTE;
  e.replace = e.add && (nlh->nlmsg_flags & NLM_F_REPLACE) != 0;
  e.prefix.len = rtm.rtm_dst_len;
  e.prefix.addr.value = get_be32(at.tb[RTA_DST]) & net::mask4(e.prefix.len);
  // 127/8 loopback and 224/4 multicast (RFC 5735), 169.254/16 link-local
  // (RFC 3927): never routed beyond this host or link.
  if (inside(e.prefix, 0x7f000000u, 8) || inside(e.prefix, 0xe0000000u, 4) || inside(e.prefix, 0xa9fe0000u, 16)) {
    return std::nullopt;
  }
  for (const auto& x : filter.exclude_prefixes) {
    if (inside(e.prefix, x.addr.value, x.len)) {
      return std::nullopt;
    }
  }
  e.table = table;
  e.protocol = rtm.rtm_protocol;
  e.tos = rtm.rtm_tos;
  if (at.tb[RTA_PRIORITY] != nullptr) {
    e.priority = mnl_attr_get_u32(at.tb[RTA_PRIORITY]);
  }
  if (at.tb[RTA_OIF] != nullptr) {
    e.oif = mnl_attr_get_u32(at.tb[RTA_OIF]);
  }
  if (at.tb[RTA_GATEWAY] != nullptr) {
    e.gateway = get_be32(at.tb[RTA_GATEWAY]);
  }
  bool refused = rtm.rtm_type != RTN_UNICAST || excluded_dev(e.oif, excluded_ifindexes);
  if (rtm.rtm_protocol == RTPROT_KERNEL) {
    refused = refused || !filter.include_connected;
  } else if (filter.protocols.empty()) {
    refused = refused || rtm.rtm_protocol == RTPROT_REDIRECT;
  } else {
    refused = refused ||
              std::find(filter.protocols.begin(), filter.protocols.end(), rtm.rtm_protocol) == filter.protocols.end();
  }
  if (const nlattr* mp = at.tb[RTA_MULTIPATH]; mp != nullptr) {
    refused = refused || netlink::for_each_nexthop(mp, [excluded_ifindexes](const rtnexthop& nh) {
                return excluded_dev(static_cast<uint32_t>(nh.rtnh_ifindex), excluded_ifindexes);
              });
    e.nexthops = fnv(e.nexthops, mp);
  }
  if (at.tb[RTA_VIA] != nullptr) {
    e.nexthops = fnv(e.nexthops, at.tb[RTA_VIA]);
  }
  if (at.tb[RTA_NH_ID] != nullptr) {
    e.nexthops = fnv(e.nexthops, at.tb[RTA_NH_ID]);
  }
  if (refused) {
    if (!e.replace) {
      return std::nullopt;
    }
    // A route that is no local block took the place of those under its key
    // (another device, type or protocol): they go, nothing comes.
    e.add = false;
  }
  return e;
}

// --- Route4Table -------------------------------------------------------------

std::size_t Route4Table::BaseHash::operator()(const Base& b) const noexcept {
  uint64_t h = (uint64_t{b.addr} << 32) ^ (uint64_t{b.table} << 16) ^ (uint64_t{b.len} << 8) ^ b.tos;
  h ^= uint64_t{b.priority} * 0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  return static_cast<std::size_t>(h ^ (h >> 32));
}

void Route4Table::reserve(std::size_t routes) {
  routes_.reserve(routes);
  counts_.reserve(routes);
}

void Route4Table::touch(uint64_t pk, bool present_before) {
  if (!track_) {
    return;
  }
  touched_.try_emplace(pk, present_before);  // the first touch since the last take knows the "before"
}

void Route4Table::ref(uint64_t pk) {
  auto [it, fresh] = counts_.try_emplace(pk, 0);
  if (fresh) {
    touch(pk, false);
  }
  ++it->second;
}

void Route4Table::unref(uint64_t pk) {
  auto it = counts_.find(pk);
  if (it == counts_.end()) {
    return;
  }
  if (--it->second == 0) {
    counts_.erase(it);
    touch(pk, true);
  }
}

void Route4Table::count_hop(const NextHop& nh, bool in) {
  if (nh.oif == 0) {
    deviceless_ = in ? deviceless_ + 1 : deviceless_ - 1;
    return;
  }
  if (in) {
    ++oif_routes_[nh.oif];
  } else if (auto it = oif_routes_.find(nh.oif); it != oif_routes_.end() && --it->second == 0) {
    oif_routes_.erase(it);
  }
}

bool Route4Table::uses_device(uint32_t ifindex) const noexcept {
  return deviceless_ != 0 || oif_routes_.contains(ifindex);
}

void Route4Table::apply(const Route4Event& e) {
  const Base b{e.prefix.addr.value, e.table, e.priority, e.prefix.len, e.tos};
  const NextHop nh{e.oif, e.gateway, e.nexthops};
  const uint64_t pk = pkey(b.addr, b.len);
  auto it = routes_.find(b);
  if (e.add) {
    if (it == routes_.end()) {
      routes_.emplace(b, Hops{nh, {}});
      count_hop(nh, true);
      ++route_count_;
      ref(pk);
      return;
    }
    Hops& h = it->second;
    if (e.replace) {
      // NLM_F_REPLACE: the kernel swapped the route under this key for the
      // new one without an RTM_DELROUTE for the old (fib_table_insert).
      // With routes appended under the key it replaced only the first; the
      // notification does not say which, so all go: a later dump or
      // notification restores any that remain.
      for (const auto& m : h.more) {
        count_hop(m, false);
        unref(pk);
      }
      route_count_ -= h.more.size();
      h.more.clear();
      count_hop(h.first, false);
      h.first = nh;
      count_hop(nh, true);
      return;
    }
    if (h.first == nh || std::find(h.more.begin(), h.more.end(), nh) != h.more.end()) {
      return;  // a replayed notification
    }
    h.more.push_back(nh);
    count_hop(nh, true);
    ++route_count_;
    ref(pk);
    return;
  }
  if (it == routes_.end()) {
    return;
  }
  Hops& h = it->second;
  if (e.replace) {  // withdraw the whole key (see Route4Event)
    route_count_ -= 1 + h.more.size();
    count_hop(h.first, false);
    unref(pk);
    for (const auto& m : h.more) {
      count_hop(m, false);
      unref(pk);
    }
    routes_.erase(it);
    return;
  }
  if (h.first == nh) {
    if (h.more.empty()) {
      routes_.erase(it);
    } else {
      h.first = h.more.back();
      h.more.pop_back();
    }
  } else if (auto m = std::find(h.more.begin(), h.more.end(), nh); m != h.more.end()) {
    h.more.erase(m);
  } else {
    return;  // not known (a replay, or a route we never saw)
  }
  count_hop(nh, false);
  --route_count_;
  unref(pk);
}

void Route4Table::replace_all(Route4Table&& fresh) {
  for (const auto& [pk, n] : counts_) {
    (void)n;
    if (!fresh.counts_.contains(pk)) {
      touch(pk, true);
    }
  }
  for (const auto& [pk, n] : fresh.counts_) {
    (void)n;
    if (!counts_.contains(pk)) {
      touch(pk, false);
    }
  }
  routes_ = std::move(fresh.routes_);
  route_count_ = fresh.route_count_;
  counts_ = std::move(fresh.counts_);
  oif_routes_ = std::move(fresh.oif_routes_);
  deviceless_ = fresh.deviceless_;
  fresh = Route4Table{};
}

namespace {
bool prefix_less(const net::Ipv4Prefix& a, const net::Ipv4Prefix& b) noexcept {
  return a.addr.value != b.addr.value ? a.addr.value < b.addr.value : a.len < b.len;
}
net::Ipv4Prefix from_pkey(uint64_t pk) noexcept {
  return net::Ipv4Prefix{net::Ipv4Addr{static_cast<uint32_t>(pk >> 8)}, static_cast<uint8_t>(pk & 0xff)};
}
}  // namespace

std::vector<Prefix4Change> Route4Table::take_changes() {
  std::vector<Prefix4Change> out;
  for (const auto& [pk, before] : touched_) {
    const bool now = counts_.contains(pk);
    if (now != before) {
      out.push_back(Prefix4Change{now, from_pkey(pk)});
    }
  }
  touched_.clear();
  std::sort(out.begin(), out.end(),
            [](const Prefix4Change& a, const Prefix4Change& b) { return prefix_less(a.prefix, b.prefix); });
  return out;
}

std::vector<net::Ipv4Prefix> Route4Table::prefixes() const {
  std::vector<net::Ipv4Prefix> out;
  out.reserve(counts_.size());
  for (const auto& [pk, n] : counts_) {
    (void)n;
    out.push_back(from_pkey(pk));
  }
  std::sort(out.begin(), out.end(), prefix_less);
  return out;
}

// --- Routes4Source -----------------------------------------------------------

namespace {

using netlink::errno_text;

constexpr std::string_view kWhat = "IPv4 route source";
// Back-off after a receive or dump error: poll reports a persistent error at
// once, every time.
constexpr std::chrono::milliseconds kBackOff{100};
// A dump the kernel marks interrupted (NLM_F_DUMP_INTR: the table changed
// under it) is asked again this many times before the refresh fails.
constexpr int kDumpTries = 3;
// A refresh that failed is tried again after this long, news or not.
constexpr std::chrono::seconds kRetry{1};

struct ApplyCtx {
  Route4Table* table;
  const Routes4Filter* filter;
  std::span<const uint32_t> excluded;
  bool refresh = false;                // an address removal: dump again
  std::vector<uint32_t> links_down{};  // devices deleted or set down: dump again if they carry our routes
  bool link_event = false;             // any link event: the excluded names are resolved again
};

int apply_cb(const nlmsghdr* nlh, void* data) {
  auto* c = static_cast<ApplyCtx*>(data);
  switch (nlh->nlmsg_type) {
    // A device deleted or set down takes its IPv4 routes without an
    // RTM_DELROUTE for each (fib_disable_ip); a carrier loss only marks
    // them linkdown, and a device created or set up brings no route.
    case RTM_NEWLINK:
    case RTM_DELLINK: {
      c->link_event = true;
      if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) {
        c->refresh = true;  // cannot tell which: be safe
        return MNL_CB_OK;
      }
      ifinfomsg ifi;
      std::memcpy(&ifi, mnl_nlmsg_get_payload(nlh), sizeof ifi);
      if (nlh->nlmsg_type == RTM_DELLINK || (ifi.ifi_flags & IFF_UP) == 0) {
        c->links_down.push_back(static_cast<uint32_t>(ifi.ifi_index));
      }
      return MNL_CB_OK;
    }
    // A new address announces its routes itself; a removed one takes the
    // routes through it silently (fib_del_ifaddr: those with it as their
    // source, and all of its device's when it was the last).
    case RTM_DELADDR: c->refresh = true; return MNL_CB_OK;
    case RTM_NEWADDR: return MNL_CB_OK;
    default: break;
  }
  if (auto e = parse_route4(nlh, *c->filter, c->excluded)) {
    c->table->apply(*e);
  }
  return MNL_CB_OK;
}

std::string prefix_text(const std::string& head) {
  return std::string(kWhat) + ": " + head;
}

}  // namespace

Routes4Source::~Routes4Source() {
  stop();
}

std::vector<uint32_t> Routes4Source::resolve_excluded() const {
  std::vector<uint32_t> out;
  for (const auto& name : filter_.exclude_devices) {
    if (const unsigned i = ::if_nametoindex(name.c_str()); i != 0) {
      out.push_back(i);
    }
  }
  return out;
}

tl::expected<void, std::string> Routes4Source::start(Routes4Filter filter, Callback on_change) {
  if (thread_.joinable()) {
    return tl::unexpected(prefix_text("already started"));
  }
  filter_ = std::move(filter);
  on_change_ = std::move(on_change);
  {
    std::lock_guard lock(mu_);
    table_ = Route4Table{};
    trouble_.clear();
  }
  auto fail = [this](std::string why) -> tl::expected<void, std::string> {
    if (events_ != nullptr) {
      mnl_socket_close(events_);
      events_ = nullptr;
    }
    if (wake_fd_ >= 0) {
      ::close(wake_fd_);
      wake_fd_ = -1;
    }
    return tl::unexpected(std::move(why));
  };
  events_ = mnl_socket_open(NETLINK_ROUTE);
  if (events_ == nullptr) {
    return fail(errno_text(prefix_text("netlink socket")));
  }
  // Subscribe first, dump second (see the header).
  if (mnl_socket_bind(events_, RTMGRP_IPV4_ROUTE | RTMGRP_LINK | RTMGRP_IPV4_IFADDR, MNL_SOCKET_AUTOPID) < 0) {
    return fail(errno_text(prefix_text("netlink bind")));
  }
  const int fd = mnl_socket_get_fd(events_);
  int rcvbuf = 4 << 20;  // a routing daemon loading a full table sends bursts
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    return fail(errno_text(prefix_text("eventfd")));
  }
  if (auto r = resync(); !r) {
    return fail(r.error());
  }
  {
    std::lock_guard lock(mu_);
    on_ = true;
  }
  deliver();
  log_info(std::string(kWhat) + ": " + status());
  thread_ = std::thread([this] { run(); });
  return {};
}

void Routes4Source::stop() {
  {
    std::lock_guard lock(mu_);
    on_ = false;
  }
  if (thread_.joinable()) {
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
    (void)ignored;
    thread_.join();
  }
  if (wake_fd_ >= 0) {
    ::close(wake_fd_);
    wake_fd_ = -1;
  }
  if (events_ != nullptr) {
    mnl_socket_close(events_);
    events_ = nullptr;
  }
}

std::vector<net::Ipv4Prefix> Routes4Source::snapshot() const {
  std::lock_guard lock(mu_);
  return table_.prefixes();
}

std::string Routes4Source::status() const {
  std::lock_guard lock(mu_);
  if (!on_) {
    return "off";
  }
  const std::size_t n = table_.size(), r = table_.routes();
  return "on (" + std::to_string(n) + " IPv4 block" + (n == 1 ? "" : "s") + " from " + std::to_string(r) + " route" +
         (r == 1 ? "" : "s") + (trouble_.empty() ? "" : "; " + trouble_) + ")";
}

// The device names are resolved again at each dump: a link event (a device
// created, renamed or deleted) always leads here.
tl::expected<void, std::string> Routes4Source::resync() {
  excluded_ = resolve_excluded();
  std::string why;
  for (int attempt = 0; attempt < kDumpTries; ++attempt) {
    Route4Table fresh;
    fresh.track_changes(false);
    {
      std::lock_guard lock(mu_);
      fresh.reserve(table_.routes());
    }
    ApplyCtx ctx{&fresh, &filter_, excluded_};
    auto r = netlink::dump_routes(AF_INET, ++seq_, apply_cb, &ctx, prefix_text("route dump"));
    dumps_.fetch_add(1, std::memory_order_relaxed);
    if (r) {
      std::lock_guard lock(mu_);
      table_.replace_all(std::move(fresh));
      return {};
    }
    const int e = errno;  // from the failed receive or NLMSG_ERROR
    why = r.error();
    if (e != EINTR) {
      break;
    }
  }
  return tl::unexpected(why);  // table_ as it was
}

void Routes4Source::deliver() {
  std::vector<Prefix4Change> batch;
  {
    std::lock_guard lock(mu_);
    batch = table_.take_changes();
  }
  if (!batch.empty() && on_change_) {
    on_change_(batch);
  }
}

void Routes4Source::run() {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
  const int fd = mnl_socket_get_fd(events_);
  RateLimitedLog receive_log, resync_log;
  bool retry = false;  // a refresh failed: try again after kRetry even without news
  for (;;) {
    struct pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int ready = ::poll(p, 2, retry ? static_cast<int>(kRetry.count()) : -1);
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      const auto why = errno_text(prefix_text("poll"));
      log_error(why + "; the local IPv4 blocks stay as last known, no longer updated");
      std::lock_guard lock(mu_);
      trouble_ = "no longer updated: " + why;
      return;
    }
    if ((p[1].revents & POLLIN) != 0) {
      return;
    }
    // Drain what is queued, refresh if needed, then deliver once.
    ApplyCtx ctx{&table_, &filter_, excluded_};  // table_ under mu_ in each run below
    const auto drained = netlink::drain_notifications(events_, buf, prefix_text("netlink receive"),
                                                      [&](const char* data, std::size_t n) {
                                                        std::lock_guard lock(mu_);
                                                        (void)mnl_cb_run(data, n, 0, 0, apply_cb, &ctx);
                                                      });
    bool resync_needed = retry || drained.overrun, back_off = drained.failed;
    if (drained.failed) receive_log.warn(drained.error);
    if (ctx.link_event && resolve_excluded() != excluded_) {
      resync_needed = true;  // an excluded name now names another device (or none)
    }
    if (!resync_needed && !ctx.refresh) {
      std::lock_guard lock(mu_);
      for (uint32_t i : ctx.links_down) {
        resync_needed = resync_needed || table_.uses_device(i);
      }
    }
    retry = false;
    if (resync_needed || ctx.refresh) {
      if (auto r = resync(); !r) {
        retry = true;
        // table_ is the last known set plus the notifications since.
        resync_log.warn(r.error() + "; the local IPv4 blocks stay as last known plus later notifications");
        std::lock_guard lock(mu_);
        trouble_ = "last known routes, a refresh failed: " + r.error();
        back_off = true;
      } else {
        std::lock_guard lock(mu_);
        trouble_.clear();
      }
    }
    deliver();
    if (back_off) {
      struct pollfd w = {wake_fd_, POLLIN, 0};
      if (::poll(&w, 1, static_cast<int>(kBackOff.count())) > 0) {
        return;
      }
    }
  }
}

}  // namespace edge46::daemon
