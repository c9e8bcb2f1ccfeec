// Mapping Rule Database (MR-DB) of the PE role
// (draft-ietf-v6ops-framework-md-ipv6only-underlay sections 4.1, 5.2):
// longest-prefix match from an IPv4 destination to the target an ingress PE
// needs, Pref6(egress PE) with its address layout and the modes the egress
// accepts. Built to hold a full IPv4 table (1 M rules).
//
// Rules and sources. A rule is (IPv4 prefix, source) -> (target,
// preference). Several sources may hold a rule for the same prefix; the
// installed one (used by lookups) is the highest preference, ties broken by
// source: kCtl > kConfig > kLocal > kBgp (an operator's edge46ctl change
// overrides the file, the file overrides generated rules, and everything
// overrides BGP). Removing the installed rule promotes the next. The default
// rule is the /0 prefix; it is kept apart from the table (see below) but
// behaves like any other rule.
//
// Structure: DIR-24-8 as in DPDK rte_lpm. tbl24 has one 32-bit entry per /24
// (64 MiB, mmap + MADV_HUGEPAGE); a /24 holding prefixes longer than /24 points
// at a tbl8 group of 256 entries. An entry packs valid (bit 31), extended
// (bit 30, tbl24 only: the index is a tbl8 group), the depth (bits 24-29,
// the length of the rule that wrote it) and a 24-bit index (target or group).
// The /0 rule is a separate atomic word consulted when the entry is invalid
// (writing it into tbl24 would be 16 M writes). Targets are interned: an
// entry's index points into a target array that never moves (one mmap
// reservation), refcounted and deduplicated on the control side.
//
// Concurrency contract.
// - Readers (lookup, lookup_batch): any number of threads, lock-free and
//   wait-free (two or three dependent loads), noexcept, no allocation. Every
//   table word is read with one acquire load and written with one release
//   store; a tbl8 group is filled completely before the tbl24 word that links
//   it is stored, so a lookup concurrent with a change sees either the old or
//   the new rule for its address, never garbage. The returned pointer stays
//   valid until the owner's next reclaim() after the reader is quiescent.
// - Writer (every non-const method, and match/rules/stats): one thread at a
//   time; the caller serializes. Errors leave the database unchanged.
// - Reclamation: a tbl8 group that collapses back into tbl24 and a target
//   whose last rule is gone are not reused at once: they go to a retired list.
//   reclaim() moves the retired lists to the free lists. The owner calls it
//   only after a grace period in which every reader that may have loaded the
//   old words has finished its lookup (the daemon: after synchronize_rcu).
//   Without reclaim() the database stays correct but can run out of tbl8
//   groups or target slots (upsert then fails with "... awaiting reclaim").
//
// Costs (writer): upsert/remove of a /d with d <= 24 writes 2^(24-d) tbl24
// words (a /8: 65536), plus 256 per tbl8 group in the range; d > 24 writes at
// most 256 words. Finding the covering rule on delete probes the rule hash
// once per length present below d. Control-side storage: an open-addressing
// hash of 12 bytes per prefix, plus a side map for the rare prefix that has
// several sources.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <tl/expected.hpp>

#include "mapping/rfc6052.h"
#include "net/addr.h"

namespace edge46::mapping {

enum class RuleSource : uint8_t { kConfig, kLocal, kCtl, kBgp };
inline constexpr std::size_t kRuleSourceCount = 4;

// "config", "local", "ctl", "bgp".
std::string_view rule_source_name(RuleSource s) noexcept;
std::optional<RuleSource> parse_rule_source(std::string_view s) noexcept;
// Tie-break rank between sources of equal preference; higher wins
// (kCtl 3, kConfig 2, kLocal 1, kBgp 0).
unsigned rule_source_rank(RuleSource s) noexcept;

// Modes the egress PE accepts (section 4.1: translation or encapsulation).
enum ModeBits : uint8_t { kModeTranslate = 1, kModeEncapsulate = 2, kModeBoth = 3 };
// "translate", "encapsulate", "both"; parse_modes accepts the same words.
std::string_view modes_name(uint8_t modes) noexcept;
std::optional<uint8_t> parse_modes(std::string_view s) noexcept;

// What the ingress needs to build packets towards the egress PE:
// destination = embed(pool6, IPv4 destination). The layout defaults to the
// framework's Table 1 (IPv4 in the last 32 bits, Pool6Layout::kLow32).
// alignas(8): the array of targets has the stride of the kernel fast path's
// fp_mr_targets map (fastpath/bpf/abi.h struct fp_target), whose memory an
// MrDb may live in (Backing).
struct alignas(8) MrTarget {
  Pool6 pool6{net::Ipv6Prefix{}, Pool6Layout::kLow32};  // Pref6(egress PE) + layout
  uint8_t modes = kModeBoth;                            // ModeBits
  friend bool operator==(const MrTarget&, const MrTarget&) = default;
};

struct MrRule {
  net::Ipv4Prefix prefix;
  MrTarget target;
  RuleSource source = RuleSource::kConfig;
  uint32_t preference = 100;  // higher wins between sources of one prefix
  friend bool operator==(const MrRule&, const MrRule&) = default;
};

// Why the rule cannot be stored (host bits in either prefix, Pref6 length or
// u-octet invalid for its layout, modes outside 1-3), or empty when it is fine.
std::string validate_rule(const MrRule& r);

class MrDb {
 public:
  // Capacities, fixed at construction (the reader-visible arrays never move).
  // Memory is reserved, not committed: only slots in use are touched.
  struct Limits {
    uint32_t max_targets = 1u << 20;      // distinct targets (at most 2^22)
    uint32_t max_tbl8_groups = 1u << 16;  // /24s holding longer prefixes (at most 2^24)
  };

  // Memory lent by someone else (the kernel fast path's mmapped BPF maps,
  // fastpath/fastpath.h), zeroed, outliving the MrDb: the tables are then
  // read by the kernel too. The capacities are the backing's.
  struct Backing {
    uint32_t* tbl24 = nullptr;         // 2^24 words
    uint32_t* tbl8 = nullptr;          // tbl8_groups * 256 words
    MrTarget* targets = nullptr;       // max_targets entries
    uint32_t* default_word = nullptr;  // the /0 rule's word
    uint32_t tbl8_groups = 0;
    uint32_t max_targets = 0;
  };
  // Entry bits, public for the kernel side's layout checks.
  static constexpr uint32_t kValid = 1u << 31;
  static constexpr uint32_t kExt = 1u << 30;
  static constexpr uint32_t kIndexMask = 0xffffffu;

  MrDb();
  explicit MrDb(Limits limits);
  explicit MrDb(const Backing& backing);
  ~MrDb();
  MrDb(const MrDb&) = delete;
  MrDb& operator=(const MrDb&) = delete;

  // ---- Writer side (one thread at a time) ----

  // Adds the rule of (prefix, source), or changes its target and preference.
  tl::expected<void, std::string> upsert(const MrRule& r);
  // Removes the rule of (p, s); false when there is none.
  bool remove(net::Ipv4Prefix p, RuleSource s);
  // Removes every rule of source s; returns how many.
  std::size_t remove_source(RuleSource s);
  // Makes the rules of source s exactly `rules` (a reloaded file): upserts
  // them all, then removes the rules of s that `rules` lacks, so a prefix
  // present before and after never goes through "no rule". Every rule is
  // validated first; on a validation error nothing changes. A repeated
  // prefix: the last one wins. Each rule's source field is ignored (s is used).
  tl::expected<void, std::string> replace_source(RuleSource s, std::span<const MrRule> rules);
  // Retired tbl8 groups and target slots become reusable. Call only after a
  // grace period (see the contract above).
  void reclaim() noexcept;

  // ---- Reader side (lock-free, wait-free, any thread) ----

  // The installed target of the longest prefix containing a, or the default
  // rule's, or nullptr.
  const MrTarget* lookup(net::Ipv4Addr a) const noexcept {
    uint32_t e = load(tbl24_[a.value >> 8]);
    if (e & kExt) {
      e = load(tbl8_[(std::size_t{e & kIndexMask} << 8) | (a.value & 0xffu)]);
    }
    if (!(e & kValid)) {
      e = load(*default_);
      if (!(e & kValid)) {
        return nullptr;
      }
    }
    return &targets_[e & kIndexMask];
  }
  // out[i] = lookup(addrs[i]) for i < min(addrs.size(), out.size()); addresses
  // in host byte order. Interleaves the loads of 16 lookups with prefetches.
  void lookup_batch(std::span<const uint32_t> addrs, std::span<const MrTarget*> out) const noexcept;

  // ---- Control-plane queries (writer thread) ----

  // The installed rule that lookup(a) uses (prefix, target, source,
  // preference), including the default rule; nullopt when there is none.
  std::optional<MrRule> match(net::Ipv4Addr a) const;
  // The rule of (p, s), installed or not.
  std::optional<MrRule> find(net::Ipv4Prefix p, RuleSource s) const;
  // Every rule (all sources, or only s), sorted by prefix address, then
  // length, then source.
  std::vector<MrRule> rules(std::optional<RuleSource> s = {}) const;
  // Every distinct target some rule (of any source, installed or not) uses:
  // the egress PEs this PE knows (anti-spoofing, framework 7.1).
  std::vector<MrTarget> targets() const;

  struct Stats {
    std::size_t rules = 0;             // all sources
    std::size_t installed = 0;         // distinct prefixes (one installed rule each)
    std::size_t targets = 0;           // distinct targets in use
    std::size_t tbl8_groups_used = 0;  // linked groups (retired ones excluded)
    std::size_t retired = 0;           // tbl8 groups + target slots awaiting reclaim()
    std::size_t memory_bytes = 0;      // tbl24 + touched tbl8/targets + control side
    std::array<std::size_t, kRuleSourceCount> per_source{};
    uint64_t updates = 0;  // successful upserts and removes that changed something
  };
  Stats stats() const;

 private:

  static uint32_t load(const uint32_t& w) noexcept {
    return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(w)).load(std::memory_order_acquire);
  }

  // Control-side rule storage: open addressing, linear probing, backward-shift
  // deletion (no tombstones). meta = target (bits 0-21) | len (22-27, 63 =
  // empty) | best source (28-29) | several sources (30).
  struct Slot {
    uint32_t prefix;
    uint32_t meta;
    uint32_t pref;  // of the installed rule
  };
  struct Alt {
    uint32_t target = 0;
    uint32_t pref = 0;
    bool present = false;
  };
  using Alts = std::array<Alt, kRuleSourceCount>;  // by source
  struct TargetHash {
    std::size_t operator()(const MrTarget& t) const noexcept;
  };

  std::size_t find_slot(uint32_t prefix, unsigned len) const noexcept;  // index or kNone
  void insert_slot(const Slot& s);
  void erase_slot(std::size_t i) noexcept;
  void grow();

  tl::expected<uint32_t, std::string> intern(const MrTarget& t);
  void release(uint32_t t) noexcept;
  tl::expected<void, std::string> check_tbl8_room(uint32_t prefix, unsigned len) const;
  uint32_t alloc_group() noexcept;
  void install(uint32_t prefix, unsigned len, uint32_t target) noexcept;
  void uninstall(uint32_t prefix, unsigned len) noexcept;
  MrRule rule_of(const Slot& s) const;
  std::vector<net::Ipv4Prefix> prefixes_of(RuleSource src) const;
  void best_of(Slot& s, const Alts& a) const noexcept;

  Limits limits_;
  uint32_t* tbl24_ = nullptr;
  uint32_t* tbl8_ = nullptr;
  MrTarget* targets_ = nullptr;
  uint32_t own_default_ = 0;
  uint32_t* default_ = &own_default_;  // own_default_, or the backing's word
  bool owns_memory_ = true;

  std::vector<Slot> slots_;
  std::size_t used_slots_ = 0;
  std::unordered_map<uint64_t, Alts> alts_;  // key (prefix << 6 | len), prefixes with several sources
  std::array<uint32_t, 33> len_count_{};
  std::array<std::size_t, kRuleSourceCount> per_source_{};

  std::unordered_map<MrTarget, uint32_t, TargetHash> target_index_;
  std::vector<uint32_t> target_refs_;
  uint32_t targets_high_ = 0;
  std::vector<uint32_t> free_targets_, retired_targets_;
  uint32_t groups_high_ = 0;
  std::size_t groups_used_ = 0;
  std::vector<uint32_t> free_groups_, retired_groups_;
  uint64_t updates_ = 0;
};

}  // namespace edge46::mapping
