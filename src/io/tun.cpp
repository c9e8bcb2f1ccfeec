#include "io/tun.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace edge46::io {
namespace {
std::string errno_text(int e) {
  return std::string(std::strerror(e));
}
}  // namespace

Tun::Tun(Tun&& o) noexcept
    : name_(std::move(o.name_)),
      fds_(std::move(o.fds_)),
      offload_(o.offload_),
      offload_refused_(std::move(o.offload_refused_)) {
  o.fds_.clear();
}

Tun& Tun::operator=(Tun&& o) noexcept {
  if (this != &o) {
    for (int fd : fds_) {
      ::close(fd);
    }
    name_ = std::move(o.name_);
    fds_ = std::move(o.fds_);
    offload_ = o.offload_;
    offload_refused_ = std::move(o.offload_refused_);
    o.fds_.clear();
  }
  return *this;
}

Tun::~Tun() {
  for (int fd : fds_) {
    ::close(fd);
  }
}

tl::expected<Tun, std::string> Tun::open(const TunOptions& opt) {
  auto t = open_once(opt);
  if (!t && opt.offload && t.error().starts_with("TUNSETOFFLOAD")) {
    // The failed attempt's fds are closed (t is destroyed) before the
    // device is opened again without IFF_VNET_HDR.
    std::string why = std::move(t.error());
    TunOptions plain = opt;
    plain.offload = false;
    auto p = open_once(plain);
    if (p) {
      p->offload_refused_ = std::move(why);
    }
    return p;
  }
  return t;
}

tl::expected<Tun, std::string> Tun::open_once(const TunOptions& opt) {
  if (opt.name.empty() || opt.name.size() >= IFNAMSIZ) {
    return tl::unexpected("TUN name '" + opt.name + "' must have 1.." + std::to_string(IFNAMSIZ - 1) + " characters");
  }
  const unsigned queues = opt.queues == 0 ? 1 : opt.queues;
  if (queues > 1 && !opt.multiqueue) {
    return tl::unexpected(
        std::string("several workers need a multi-queue TUN (set tun-multiqueue = true or workers = 1)"));
  }
  Tun t;
  t.name_ = opt.name;
  for (unsigned q = 0; q < queues; ++q) {
    int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      int e = errno;
      std::string hint;
      if (e == ENOENT) {
        hint = " (is the tun module loaded? modprobe tun)";
      } else if (e == EACCES || e == EPERM) {
        hint = " (needs root or CAP_NET_ADMIN and access to /dev/net/tun)";
      }
      return tl::unexpected("cannot open /dev/net/tun: " + errno_text(e) + hint);
    }
    struct ifreq ifr {};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    if (opt.multiqueue) {
      ifr.ifr_flags |= IFF_MULTI_QUEUE;
    }
    if (opt.offload) {
      ifr.ifr_flags |= IFF_VNET_HDR;
    }
    std::memcpy(ifr.ifr_name, opt.name.data(), opt.name.size());
    if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
      int e = errno;
      ::close(fd);
      std::string msg = "cannot create TUN device '" + opt.name + "': " + errno_text(e);
      if (e == EPERM) {
        msg += " (needs root or CAP_NET_ADMIN)";
      } else if (e == EBUSY) {
        msg += " (the device exists and is in use, or exists with other flags)";
      } else if (e == EINVAL) {
        msg += " (an existing device with that name has other flags, e.g. multi-queue mismatch)";
      }
      return tl::unexpected(msg);
    }
    t.fds_.push_back(fd);
    if (opt.offload) {
      int sz = static_cast<int>(kVnetHdrSize);
      unsigned features =
          opt.offload_features != 0 ? opt.offload_features : TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
      if (::ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
        return tl::unexpected("TUNSETOFFLOAD on " + opt.name + ": TUNSETVNETHDRSZ: " + errno_text(errno));
      }
      if (::ioctl(fd, TUNSETOFFLOAD, features) < 0) {
        return tl::unexpected("TUNSETOFFLOAD on " + opt.name + ": " + errno_text(errno));
      }
    }
  }
  t.offload_ = opt.offload;
  return t;
}

tl::expected<void, std::string> Tun::set_up(unsigned mtu) const {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    return tl::unexpected("socket: " + errno_text(errno));
  }
  struct ifreq ifr {};
  std::memcpy(ifr.ifr_name, name_.data(), name_.size());
  if (mtu != 0) {
    ifr.ifr_mtu = static_cast<int>(mtu);
    if (::ioctl(s, SIOCSIFMTU, &ifr) < 0) {
      int e = errno;
      ::close(s);
      return tl::unexpected("cannot set MTU " + std::to_string(mtu) + " on " + name_ + ": " + errno_text(e));
    }
  }
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
    int e = errno;
    ::close(s);
    return tl::unexpected("SIOCGIFFLAGS " + name_ + ": " + errno_text(e));
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
    int e = errno;
    ::close(s);
    return tl::unexpected("cannot bring " + name_ + " up: " + errno_text(e));
  }
  ::close(s);
  return {};
}

int read_burst(int fd, Burst& b, std::size_t max) noexcept {
  b.count = 0;
  if (max > Burst::kMaxPackets) {
    max = Burst::kMaxPackets;
  }
  while (b.count < max) {
    ssize_t n = ::read(fd, b.storage.data() + b.count * Burst::kSlotSize, Burst::kSlotSize);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        break;
      }
      if (b.count > 0) {
        break;
      }
      return -errno;
    }
    if (n == 0) {
      break;
    }
    b.lengths[b.count++] = static_cast<uint32_t>(n);
  }
  return static_cast<int>(b.count);
}

bool wait_readable(int fd, int wake_fd, int timeout_ms) noexcept {
  struct pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  int n = ::poll(p, wake_fd >= 0 ? 2 : 1, timeout_ms);
  return n > 0 && (p[0].revents & POLLIN) != 0;
}

namespace {
// writev that retries on EINTR and waits briefly when the device queue
// towards the kernel is full (EAGAIN). Returns 0 or -errno.
int writev_retry(int fd, struct iovec* iov, int n) noexcept {
  for (;;) {
    if (::writev(fd, iov, n) >= 0) {
      return 0;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN) {
      struct pollfd p = {fd, POLLOUT, 0};
      if (::poll(&p, 1, 10) > 0) {
        continue;
      }
    }
    return -errno;
  }
}
}  // namespace

int write_packet(int fd, std::span<const uint8_t> pkt) noexcept {
  struct iovec iov = {const_cast<uint8_t*>(pkt.data()), pkt.size()};
  return writev_retry(fd, &iov, 1);
}

int write_pieces(int fd, std::span<const uint8_t> a, std::span<const uint8_t> b, std::span<const uint8_t> c) noexcept {
  struct iovec iov[3] = {{const_cast<uint8_t*>(a.data()), a.size()},
                         {const_cast<uint8_t*>(b.data()), b.size()},
                         {const_cast<uint8_t*>(c.data()), c.size()}};
  return writev_retry(fd, iov, c.empty() ? 2 : 3);
}

}  // namespace edge46::io
