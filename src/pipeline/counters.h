// Data-path counters.
//
// One Counters block per worker, cache-line aligned so workers never share a
// line. Only the owning worker writes its block, with a relaxed load + store
// (no locked read-modify-write on the hot path); readers (the control thread)
// load each field relaxed and sum the blocks. Every drop reason of the core
// table (core::Drop) and of the pipeline (PipelineDrop) has its own counter;
// names come from those tables, never from positions.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/drop_reason.h"

namespace edge46::pipeline {

// Drops decided by the role composition, before or after the core step.
#define EDGE46_PIPELINE_DROPS(X)                                                                                 \
  X(kErIngressFilter, "er_ingress_filter", "SIIT-DC ER: IPv4 source has no EAM (RFC 7756 6, ingress filtering)") \
  X(kErSpoofedServiceSource, "er_spoofed_service_source",                                                        \
    "SIIT-DC ER: IPv6 source is one of the ER's own service addresses (RFC 7756 6)")                             \
  X(kNotIp, "not_ip", "neither IPv4 nor IPv6 (version nibble)")                                                  \
  X(kWriteFailed, "write_failed", "the I/O backend refused the translated packet")                               \
  X(kOffloadStageFull, "offload_stage_full",                                                                     \
    "a super-packet cut in software produced more output than the staging area holds")                           \
  X(kOffloadBadChecksumOffsets, "offload_bad_checksum_offsets",                                                  \
    "TUN offload: partial checksum (NEEDS_CSUM) whose offsets are not the packet's TCP/UDP checksum field") \
  X(kIcmpErrorRateLimited, "icmp_error_rate_limited",                                                            \
    "generated ICMP error over the per-worker rate limit (RFC 4443 2.4 f, RFC 1812 4.3.2.8)")                    \
  X(kReasmTimeout, "reasm_timeout", "fragmented ICMP datagram not complete within the reassembly timeout")       \
  X(kReasmOverlap, "reasm_overlap", "overlapping ICMP fragments: whole datagram discarded (RFC 5722)")           \
  X(kReasmDuplicate, "reasm_duplicate", "exact duplicate of an ICMP fragment already held (RFC 8200 4.5)")       \
  X(kReasmTooBig, "reasm_too_big",                                                                              \
    "reassembled ICMP datagram over 65535 bytes, or ICMPv6 one whose IPv4 translation would be (or header over a "   \
    "slot's)")                                                                                                   \
  X(kReasmTooManyFragments, "reasm_too_many_fragments", "ICMP datagram in more fragments than a slot tracks")    \
  X(kReasmBadFragment, "reasm_bad_fragment",                                                                     \
    "ICMP fragment empty, not a multiple of 8 bytes before the last, or beyond the last")                        \
  X(kReasmNoSlot, "reasm_no_slot", "every reassembly slot of the worker is busy")         \
  X(kReasmNoMemory, "reasm_no_memory", "the worker's reassembly memory budget is exhausted: datagram discarded") \
  X(kPeModeRefused, "pe_mode_refused", "PE: the packet's mode (translate/encapsulate) is not one this PE accepts") \
  X(kPeRateLimited, "pe_rate_limited", "PE: over the packet rate allowed per ingress Pref6 (framework 7.1)")

enum class PipelineDrop : uint8_t {
#define EDGE46_X(e, n, d) e,
  EDGE46_PIPELINE_DROPS(EDGE46_X)
#undef EDGE46_X
      kCount
};
inline constexpr std::size_t kPipelineDropCount = static_cast<std::size_t>(PipelineDrop::kCount);

std::string_view pipeline_drop_name(PipelineDrop d) noexcept;
std::string_view pipeline_drop_description(PipelineDrop d) noexcept;

// A counter owned by one writer thread.
class Counter {
 public:
  void add(uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Index by family: 0 = IPv4, 1 = IPv6.
inline constexpr std::size_t kV4 = 0, kV6 = 1;

struct alignas(64) Counters {
  std::array<Counter, 2> packets_in;
  std::array<Counter, 2> bytes_in;
  std::array<Counter, 2> packets_out;
  std::array<Counter, 2> bytes_out;
  Counter translated;       // input packets translated (any number of output fragments)
  Counter hairpinned;       // input packets hairpinned (RFC 7757 4)
  Counter encapsulated;     // input IPv4 packets sent into the RFC 2473 tunnel (any number of pieces)
  Counter decapsulated;     // 4in6 packets whose inner IPv4 packet was forwarded
  Counter icmp_errors;      // translator-generated ICMP errors emitted
  Counter batches;          // I/O bursts processed
  Counter gso_in;           // TCP super-packets received (TUN offload path)
  Counter gso_segments_in;  // segments they carried
  Counter gso_out;          // super-packets translated once and written as one
  Counter reasm_held;       // ICMP fragments kept for reassembly (not yet a whole datagram)
  Counter reassembled;      // ICMP datagrams reassembled and passed to the translator
  std::array<Counter, core::kDropCount> drops;
  std::array<Counter, kPipelineDropCount> pipeline_drops;

  void drop(core::Drop d) noexcept { drops[static_cast<std::size_t>(d)].add(); }
  void drop(PipelineDrop d) noexcept { pipeline_drops[static_cast<std::size_t>(d)].add(); }
};

// Summed view, in a stable named order: what `edge46ctl stats` shows.
struct CounterTotals {
  std::vector<std::pair<std::string, uint64_t>> values;  // "packets_in.ipv4", "drop.no_mapping_dst", ...
  // The value of one counter, or nullopt when no counter has that name (a
  // misspelt name is not a zero).
  std::optional<uint64_t> get(std::string_view name) const noexcept;
};

// The per-worker blocks of one daemon. Sized once at start (workers do not
// come and go), so readers never race with a resize.
class CounterSet {
 public:
  explicit CounterSet(std::size_t workers);
  Counters& worker(std::size_t i) noexcept { return blocks_[i]; }
  std::size_t size() const noexcept { return n_; }
  CounterTotals totals() const;

 private:
  std::size_t n_;
  std::unique_ptr<Counters[]> blocks_;
};

// Help text for a counter name (for Prometheus HELP lines and docs).
std::string counter_help(std::string_view name);

}  // namespace edge46::pipeline
