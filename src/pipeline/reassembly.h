// Reassembly of fragmented ICMP (IPv4 protocol 1) and ICMPv6 (IPv6 Next
// Header 58 right after the Fragment header).
//
// RFC 7915 translates fragments one by one, but an ICMP checksum covers the
// whole message (and ICMPv6's a pseudo-header the ICMPv4 one lacks), so a
// fragmented echo cannot be translated statelessly: the pipeline reassembles
// it first (RFC 7915 1.3 leaves the translator free to), translates the whole
// message and lets the core fragment it again on the way out. Fragments of
// other protocols are not held here.
//
// Bounded, per worker, allocated once:
//  - `slots` datagrams under reassembly at a time; a fragment that would need
//    one more is dropped (kReasmNoSlot): live datagrams are never evicted, so
//    a flood of first fragments cannot flush the ones about to complete;
//  - `memory` bytes of fragment data, in blocks of kBlock bytes shared by all
//    slots; a datagram that cannot get a block is discarded (kReasmNoMemory);
//  - a datagram not complete `timeout_ms` after its first fragment arrived is
//    discarded (kReasmTimeout) by expire();
//  - at most kMaxFragments fragments and 65535 bytes (IPv4 total length,
//    IPv6 payload length of the reassembled packet) per datagram; an IPv6
//    datagram is also refused (kReasmTooBig) when its translation, a 20-byte
//    IPv4 header and the same upper-layer message, would not fit an IPv4
//    Total Length: the pipeline reassembles only to translate.
//
// Per fragment the work does not grow with `slots`: a datagram is found by
// a small open-addressing index (key -> slot; keyed by a per-table random
// seed so senders cannot choose colliding keys), a new one takes a slot from
// a free list, and since every datagram has the same timeout the slots in
// use are kept in a FIFO by first-fragment time, so expire() looks at the
// oldest only (`now_ns` must not go backwards).
// Overlapping fragments discard the whole datagram (RFC 5722 for IPv6, the
// same policy for IPv4); an exact duplicate (same offset and length) is
// dropped alone (RFC 8200 4.5 allows it). Each discard is counted once per
// datagram under its reason; the fragments held until then are not counted
// again.
//
// The completed datagram is one packet without fragmentation: an IPv4 packet
// with the first fragment's header (options included), MF and offset 0, DF
// clear; an IPv6 packet with the first fragment's unfragmentable part and its
// Fragment header kept with offset 0 and M 0 (an atomic fragment), so the
// translator still copies the Identification (RFC 7915 5.1) and knows the
// packet arrived fragmented.
//
// add_*() and expire() are noexcept, never allocate and make no system call;
// time is CLOCK_MONOTONIC in nanoseconds, given by the caller. add_*()
// requires enabled() (the pipeline asks before).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "net/headers.h"
#include "pipeline/counters.h"

namespace edge46::pipeline {

struct ReassemblyLimits {
  uint32_t slots = 64;            // datagrams under reassembly at once; 0 disables reassembly
  uint32_t memory = 1024 * 1024;  // bytes of fragment data held
  uint32_t timeout_ms = 2000;     // from a datagram's first fragment to its completion
};

class Reassembler {
 public:
  static constexpr uint32_t kBlock = 2048;
  static constexpr uint32_t kMaxDatagram = 65535;
  static constexpr uint32_t kBlocksPerSlot = (kMaxDatagram + kBlock - 1) / kBlock;
  static constexpr uint32_t kMaxFragments = 64;
  // Bytes of the first fragment kept as the reassembled header: an IPv4
  // header with options (<= 60), or an IPv6 unfragmentable part plus the
  // Fragment header.
  static constexpr uint32_t kMaxHeader = 256;

  enum class Status : uint8_t {
    kHeld,      // kept; the datagram is not complete yet
    kComplete,  // datagram() is the reassembled packet, valid until the next call
    kDropped,   // reason says why (the fragment, and maybe its datagram, dropped)
  };
  struct Result {
    Status status = Status::kHeld;
    PipelineDrop reason = PipelineDrop::kCount;
  };

  // Control path: allocates the slots and the block arena.
  explicit Reassembler(const ReassemblyLimits& lim);

  bool enabled() const noexcept { return nslots_ != 0; }

  // Is this parsed packet a fragment this class reassembles?
  static bool wants(const net::Ipv4Packet& p) noexcept { return p.is_fragment() && p.protocol == net::proto::kIcmp; }
  static bool wants(const net::Ipv6Packet& p) noexcept {
    return p.is_fragment() && p.protocol == net::proto::kIcmp6 && !p.ext_after_frag;
  }

  // Discards the datagrams whose time is up; returns how many.
  uint32_t expire(uint64_t now_ns) noexcept;

  // Adds one fragment (wants(p) must hold; p parsed from a whole packet).
  Result add(const net::Ipv4Packet& p, uint64_t now_ns) noexcept;
  Result add(const net::Ipv6Packet& p, uint64_t now_ns) noexcept;

  std::span<const uint8_t> datagram() const noexcept { return {out_.data(), out_len_}; }

  uint32_t slots_in_use() const noexcept { return used_; }
  uint32_t blocks_free() const noexcept { return nfree_; }
  uint32_t blocks_total() const noexcept { return nblocks_; }

 private:
  static constexpr uint16_t kNoBlock = 0xffff;
  static constexpr uint32_t kNil = 0xffffffff;

  struct Range {
    uint32_t off, len;
  };
  struct Slot {
    uint32_t prev = kNil, next = kNil;  // FIFO of slots in use, oldest first
    uint64_t hash = 0;
    bool used = false;
    bool have_first = false;
    uint8_t family = 0;  // 4 or 6
    uint8_t protocol = 0;
    std::array<uint8_t, 16> src{}, dst{};
    uint32_t id = 0;
    uint64_t deadline_ns = 0;
    uint32_t total = 0;  // fragmentable bytes once the last fragment is in, else 0
    uint32_t received = 0;
    uint32_t max_end = 0;
    uint32_t header_len = 0;
    uint32_t nfrags = 0;
    std::array<Range, kMaxFragments> ranges{};
    std::array<uint16_t, kBlocksPerSlot> blocks{};
    std::array<uint8_t, kMaxHeader> header{};
  };

  struct Frag {
    uint8_t family, protocol;
    std::array<uint8_t, 16> src, dst;
    uint32_t id;
    uint32_t off, len;
    bool mf;
    const uint8_t* data;
    const uint8_t* header;  // set for the first fragment
    uint32_t header_len;
    uint32_t max_end;  // largest fragmentable end that keeps the datagram <= 65535
    uint64_t hash;
  };
  // One index entry: the slot (kNil: empty) and its key's hash, compared
  // before the slot is touched.
  struct Entry {
    uint32_t slot = kNil;
    uint64_t hash = 0;
  };

  Result add_frag(Frag& f, uint64_t now_ns) noexcept;
  uint64_t hash(const Frag& f) const noexcept;
  Slot* find(const Frag& f) noexcept;
  void unindex(const Slot& s) noexcept;
  void release(Slot& s) noexcept;
  Result discard(Slot& s, PipelineDrop why) noexcept;
  bool store(Slot& s, uint32_t off, const uint8_t* data, uint32_t len) noexcept;
  void assemble(Slot& s) noexcept;

  uint32_t nslots_;
  uint32_t used_ = 0;
  uint32_t nblocks_;
  uint32_t nfree_;
  uint64_t timeout_ns_;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<uint8_t[]> arena_;
  std::unique_ptr<uint16_t[]> free_;        // stack of free block indices
  std::unique_ptr<uint32_t[]> free_slots_;  // stack of free slot indices
  uint32_t nfree_slots_;
  uint32_t oldest_ = kNil, newest_ = kNil;  // the FIFO's ends
  uint64_t seed_;
  uint32_t mask_;  // index size - 1: a power of two, at least twice nslots_
  std::unique_ptr<Entry[]> index_;
  std::array<uint8_t, kMaxHeader + kMaxDatagram> out_{};
  uint32_t out_len_ = 0;
};

}  // namespace edge46::pipeline
