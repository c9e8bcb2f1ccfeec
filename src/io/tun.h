// Linux TUN device I/O (Documentation/networking/tuntap.rst).
//
// One device carries both families: with IFF_NO_PI every read is one raw L3
// packet whose version nibble tells its family, and a packet written back is
// routed by the kernel by its destination. With IFF_MULTI_QUEUE the device is
// opened once per worker and the kernel spreads flows across the queues
// (flow hash), so each worker owns one fd and no lock is shared.
//
// Offloads (TunOptions::offload):
//  - off: no IFF_VNET_HDR. The kernel hands us only MTU-sized packets with
//    complete checksums (it segments TCP super-packets in software before
//    they reach the device) and every packet we write is final. Simple and
//    always correct; one read, one translation and one write per segment.
//  - on: IFF_VNET_HDR + TUNSETOFFLOAD(TUN_F_CSUM | TSO4 | TSO6 | TSO_ECN).
//    Every read and write starts with a 10-byte struct virtio_net_hdr;
//    packets may carry partial checksums and TCP super-packets of up to
//    64 KiB, which src/pipeline/offload.h translates once. If the kernel
//    refuses TUNSETOFFLOAD the device is reopened with offloads off, and
//    offload_refused() says why (the daemon logs it and shows it in status).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

namespace edge46::io {

struct TunOptions {
  std::string name = "edge46";  // IFNAMSIZ - 1 characters at most
  unsigned queues = 1;
  bool multiqueue = true;  // IFF_MULTI_QUEUE (needed for queues > 1)
  bool offload = false;    // IFF_VNET_HDR + TUNSETOFFLOAD
  // TUN_F_* bits for TUNSETOFFLOAD; 0 means TUN_F_CSUM | TSO4 | TSO6 | TSO_ECN.
  // (Tests pass a bit the kernel does not know to see the fallback.)
  uint32_t offload_features = 0;
};

inline constexpr std::size_t kVnetHdrSize = 10;  // sizeof(struct virtio_net_hdr)

class Tun {
 public:
  Tun() = default;
  Tun(Tun&&) noexcept;
  Tun& operator=(Tun&&) noexcept;
  Tun(const Tun&) = delete;
  Tun& operator=(const Tun&) = delete;
  ~Tun();

  // Creates (or attaches to a persistent) device and opens `queues` fds,
  // non-blocking. Errors say what failed and why (errno text, hints).
  static tl::expected<Tun, std::string> open(const TunOptions& opt);

  const std::string& name() const noexcept { return name_; }
  std::size_t queues() const noexcept { return fds_.size(); }
  int fd(std::size_t queue) const noexcept { return fds_[queue]; }
  bool offload() const noexcept { return offload_; }
  // Why offloads are off although they were asked for ("TUNSETOFFLOAD on
  // e46: Invalid argument"); empty when they are on or were not asked for.
  const std::string& offload_refused() const noexcept { return offload_refused_; }

  // Brings the link up and sets its MTU (ioctl on an AF_INET socket). The
  // operator may do this with `ip link` instead.
  tl::expected<void, std::string> set_up(unsigned mtu) const;

 private:
  static tl::expected<Tun, std::string> open_once(const TunOptions& opt);
  std::string name_;
  std::vector<int> fds_;
  bool offload_ = false;
  std::string offload_refused_;
};

// A burst of packets read from one queue into caller-owned slots.
struct Burst {
  static constexpr std::size_t kMaxPackets = 64;
  static constexpr std::size_t kSlotSize = 65536 + 64;  // a 64 KiB packet + virtio-net header
  std::vector<uint8_t> storage = std::vector<uint8_t>(kMaxPackets * kSlotSize);
  std::size_t count = 0;
  uint32_t lengths[kMaxPackets] = {};

  std::span<uint8_t> packet(std::size_t i) noexcept { return {storage.data() + i * kSlotSize, lengths[i]}; }
};

// Reads up to max packets without blocking (stops at EAGAIN). Returns the
// number read, or -errno on an error other than EAGAIN/EINTR.
int read_burst(int fd, Burst& b, std::size_t max = Burst::kMaxPackets) noexcept;

// Waits until fd is readable or wake_fd (an eventfd, may be -1) fires or
// timeout_ms passes. Returns true when fd is readable.
bool wait_readable(int fd, int wake_fd, int timeout_ms) noexcept;

// Writes one packet. Returns 0 or -errno.
int write_packet(int fd, std::span<const uint8_t> pkt) noexcept;
// Writes one packet made of up to three pieces (virtio-net header, headers,
// payload) with writev. Returns 0 or -errno.
int write_pieces(int fd, std::span<const uint8_t> a, std::span<const uint8_t> b, std::span<const uint8_t> c) noexcept;

}  // namespace edge46::io
