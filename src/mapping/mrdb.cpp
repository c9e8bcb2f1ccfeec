#include "mapping/mrdb.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace edge46::mapping {

namespace {

constexpr std::size_t kNone = ~std::size_t{0};
constexpr unsigned kEmptyLen = 63;
constexpr uint32_t kTargetBits = 22;
constexpr uint32_t kTargetMask = (1u << kTargetBits) - 1;
constexpr uint32_t kMore = 1u << 30;

uint32_t meta_target(uint32_t m) {
  return m & kTargetMask;
}
unsigned meta_len(uint32_t m) {
  return (m >> 22) & 63u;
}
RuleSource meta_source(uint32_t m) {
  return static_cast<RuleSource>((m >> 28) & 3u);
}
uint32_t make_meta(uint32_t target, unsigned len, RuleSource s, bool more) {
  return target | (len << 22) | (uint32_t{static_cast<uint8_t>(s)} << 28) | (more ? kMore : 0u);
}
uint64_t key_of(uint32_t prefix, unsigned len) {
  return (uint64_t{prefix} << 6) | len;
}

// A table word written by the rule of length `depth` for target `index`.
uint32_t entry(unsigned depth, uint32_t index) {
  return (1u << 31) | (depth << 24) | index;
}
unsigned depth_of(uint32_t e) {
  return (e >> 24) & 63u;
}

void store(uint32_t& w, uint32_t v) {
  std::atomic_ref<uint32_t>(w).store(v, std::memory_order_release);
}
uint32_t peek(uint32_t w) {
  return w;
}  // writer's own view: only this thread stores

// One anonymous mapping, reserved without commitment: pages are touched
// (and counted by the kernel) only when written.
void* reserve(std::size_t bytes, bool huge) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    throw std::bad_alloc();
  }
  if (huge) {
    // tbl24 is read at random: 2 MiB pages cut the TLB misses of a lookup.
    (void)::madvise(p, bytes, MADV_HUGEPAGE);
  }
  return p;
}

constexpr std::size_t kTbl24Bytes = (std::size_t{1} << 24) * sizeof(uint32_t);
std::size_t tbl8_bytes(uint32_t groups) {
  return std::size_t{groups} * 256 * sizeof(uint32_t);
}

bool better(uint32_t pref_a, RuleSource a, uint32_t pref_b, RuleSource b) {
  if (pref_a != pref_b) return pref_a > pref_b;
  return rule_source_rank(a) > rule_source_rank(b);
}

}  // namespace

std::string_view rule_source_name(RuleSource s) noexcept {
  switch (s) {
    case RuleSource::kConfig: return "config";
    case RuleSource::kLocal: return "local";
    case RuleSource::kCtl: return "ctl";
    case RuleSource::kBgp: return "bgp";
  }
  return "?";
}

std::optional<RuleSource> parse_rule_source(std::string_view s) noexcept {
  for (uint8_t i = 0; i < kRuleSourceCount; ++i) {
    if (rule_source_name(static_cast<RuleSource>(i)) == s) return static_cast<RuleSource>(i);
  }
  return std::nullopt;
}

unsigned rule_source_rank(RuleSource s) noexcept {
  switch (s) {
    case RuleSource::kCtl: return 3;
    case RuleSource::kConfig: return 2;
    case RuleSource::kLocal: return 1;
    case RuleSource::kBgp: return 0;
  }
  return 0;
}

std::string_view modes_name(uint8_t modes) noexcept {
  switch (modes) {
    case kModeTranslate: return "translate";
    case kModeEncapsulate: return "encapsulate";
    case kModeBoth: return "both";
    default: return "?";
  }
}

std::optional<uint8_t> parse_modes(std::string_view s) noexcept {
  if (s == "translate") return kModeTranslate;
  if (s == "encapsulate") return kModeEncapsulate;
  if (s == "both") return kModeBoth;
  return std::nullopt;
}

std::string validate_rule(const MrRule& r) {
  if (r.prefix.len > 32) return "IPv4 prefix length above 32";
  if ((r.prefix.addr.value & ~net::mask4(r.prefix.len)) != 0) {
    return "IPv4 prefix " + net::to_string(r.prefix) + " has host bits set";
  }
  const net::Ipv6Prefix& p6 = r.target.pool6.prefix;
  if (p6.len > 128) return "Pref6 length above 128";
  if ((p6.addr.to_u128() & ~net::mask6(p6.len)) != 0) return "Pref6 " + net::to_string(p6) + " has host bits set";
  if (auto why = validate_pool6(r.target.pool6); !why.empty()) {
    return "Pref6 " + net::to_string(p6) + ": " + std::string(why);
  }
  if (r.target.modes < kModeTranslate || r.target.modes > kModeBoth)
    return "modes must be translate, encapsulate or both";
  if (static_cast<uint8_t>(r.source) >= kRuleSourceCount) return "unknown rule source";
  return {};
}

std::size_t MrDb::TargetHash::operator()(const MrTarget& t) const noexcept {
  const net::u128 v = t.pool6.prefix.addr.to_u128();
  uint64_t x = static_cast<uint64_t>(v) ^ (static_cast<uint64_t>(v >> 64) * 0x9e3779b97f4a7c15ull);
  x ^= (uint64_t{t.pool6.prefix.len} << 16) | (uint64_t{static_cast<uint8_t>(t.pool6.layout)} << 8) | t.modes;
  x *= 0xff51afd7ed558ccdull;
  return static_cast<std::size_t>(x ^ (x >> 32));
}

MrDb::MrDb() : MrDb(Limits{}) {}

MrDb::MrDb(Limits limits) : limits_(limits) {
  limits_.max_targets = std::clamp<uint32_t>(limits_.max_targets, 1, 1u << kTargetBits);
  limits_.max_tbl8_groups = std::clamp<uint32_t>(limits_.max_tbl8_groups, 1, 1u << 24);
  tbl24_ = static_cast<uint32_t*>(reserve(kTbl24Bytes, true));
  tbl8_ = static_cast<uint32_t*>(reserve(tbl8_bytes(limits_.max_tbl8_groups), false));
  targets_ = static_cast<MrTarget*>(reserve(std::size_t{limits_.max_targets} * sizeof(MrTarget), false));
  slots_.assign(1024, Slot{0, make_meta(0, kEmptyLen, RuleSource::kConfig, false), 0});
}

MrDb::MrDb(const Backing& b) : owns_memory_(false) {
  limits_.max_targets = std::clamp<uint32_t>(b.max_targets, 1, 1u << kTargetBits);
  limits_.max_tbl8_groups = std::clamp<uint32_t>(b.tbl8_groups, 1, 1u << 24);
  tbl24_ = b.tbl24;
  tbl8_ = b.tbl8;
  targets_ = b.targets;
  default_ = b.default_word;
  slots_.assign(1024, Slot{0, make_meta(0, kEmptyLen, RuleSource::kConfig, false), 0});
}

MrDb::~MrDb() {
  if (!owns_memory_) return;
  ::munmap(tbl24_, kTbl24Bytes);
  ::munmap(tbl8_, tbl8_bytes(limits_.max_tbl8_groups));
  ::munmap(targets_, std::size_t{limits_.max_targets} * sizeof(MrTarget));
}

// ---- rule hash ----

namespace {
std::size_t hash_key(uint32_t prefix, unsigned len, std::size_t mask) {
  return static_cast<std::size_t>((key_of(prefix, len) * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}
}  // namespace

std::size_t MrDb::find_slot(uint32_t prefix, unsigned len) const noexcept {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash_key(prefix, len, mask);; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    const unsigned l = meta_len(s.meta);
    if (l == kEmptyLen) return kNone;
    if (l == len && s.prefix == prefix) return i;
  }
}

void MrDb::insert_slot(const Slot& s) {
  if ((used_slots_ + 1) * 4 > slots_.size() * 3) grow();
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = hash_key(s.prefix, meta_len(s.meta), mask);
  while (meta_len(slots_[i].meta) != kEmptyLen) i = (i + 1) & mask;
  slots_[i] = s;
  ++used_slots_;
}

void MrDb::erase_slot(std::size_t i) noexcept {
  // Backward-shift deletion (Knuth 6.4 Algorithm R): move later members of
  // the probe run into the hole when their home position allows it.
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = i;
  for (std::size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
    const Slot& s = slots_[j];
    if (meta_len(s.meta) == kEmptyLen) break;
    const std::size_t home = hash_key(s.prefix, meta_len(s.meta), mask);
    // s may move to hole when home is not in the cyclic interval (hole, j].
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      slots_[hole] = s;
      hole = j;
    }
  }
  slots_[hole].meta = make_meta(0, kEmptyLen, RuleSource::kConfig, false);
  --used_slots_;
}

void MrDb::grow() {
  std::vector<Slot> old(slots_.size() * 2, Slot{0, make_meta(0, kEmptyLen, RuleSource::kConfig, false), 0});
  old.swap(slots_);
  const std::size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (meta_len(s.meta) == kEmptyLen) continue;
    std::size_t i = hash_key(s.prefix, meta_len(s.meta), mask);
    while (meta_len(slots_[i].meta) != kEmptyLen) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

// ---- targets ----

tl::expected<uint32_t, std::string> MrDb::intern(const MrTarget& t) {
  if (auto it = target_index_.find(t); it != target_index_.end()) {
    ++target_refs_[it->second];
    return it->second;
  }
  uint32_t idx;
  if (!free_targets_.empty()) {
    idx = free_targets_.back();
    free_targets_.pop_back();
  } else if (targets_high_ < limits_.max_targets) {
    idx = targets_high_++;
    target_refs_.push_back(0);
  } else {
    return tl::unexpected("target table full (" + std::to_string(limits_.max_targets) + " distinct targets, " +
                          std::to_string(retired_targets_.size()) + " awaiting reclaim)");
  }
  // The slot is unreachable for readers until a table word naming it is
  // stored (release), so a plain write is enough.
  new (&targets_[idx]) MrTarget(t);
  target_index_.emplace(t, idx);
  target_refs_[idx] = 1;
  return idx;
}

void MrDb::release(uint32_t t) noexcept {
  if (--target_refs_[t] == 0) {
    target_index_.erase(targets_[t]);
    retired_targets_.push_back(t);
  }
}

// ---- DIR-24-8 ----

tl::expected<void, std::string> MrDb::check_tbl8_room(uint32_t prefix, unsigned len) const {
  if (len <= 24 || (peek(tbl24_[prefix >> 8]) & kExt)) return {};
  if (!free_groups_.empty() || groups_high_ < limits_.max_tbl8_groups) return {};
  return tl::unexpected("tbl8 groups exhausted (" + std::to_string(limits_.max_tbl8_groups) +
                        " /24s with longer prefixes, " + std::to_string(retired_groups_.size()) + " awaiting reclaim)");
}

uint32_t MrDb::alloc_group() noexcept {
  ++groups_used_;
  if (!free_groups_.empty()) {
    const uint32_t g = free_groups_.back();
    free_groups_.pop_back();
    return g;
  }
  return groups_high_++;  // room checked by check_tbl8_room
}

// rte_lpm's add: every word in the prefix's range written by a rule of depth
// <= len (or invalid) now belongs to this rule; longer rules keep theirs.
// Also used to change the target of an installed prefix.
void MrDb::install(uint32_t prefix, unsigned len, uint32_t target) noexcept {
  const uint32_t v = entry(len, target);
  if (len == 0) {
    std::atomic_ref<uint32_t>(*default_).store(v, std::memory_order_release);
    return;
  }
  if (len <= 24) {
    const uint32_t first = prefix >> 8, n = 1u << (24 - len);
    for (uint32_t i = first; i < first + n; ++i) {
      const uint32_t e = peek(tbl24_[i]);
      if (e & kExt) {
        uint32_t* g = tbl8_ + (std::size_t{e & kIndexMask} << 8);
        for (unsigned j = 0; j < 256; ++j) {
          if (!(g[j] & kValid) || depth_of(g[j]) <= len) store(g[j], v);
        }
      } else if (!(e & kValid) || depth_of(e) <= len) {
        store(tbl24_[i], v);
      }
    }
    return;
  }
  const uint32_t i = prefix >> 8, lo = prefix & 0xffu, n = 1u << (32 - len);
  const uint32_t e = peek(tbl24_[i]);
  if (e & kExt) {
    uint32_t* g = tbl8_ + (std::size_t{e & kIndexMask} << 8);
    for (uint32_t j = lo; j < lo + n; ++j) {
      if (!(g[j] & kValid) || depth_of(g[j]) <= len) store(g[j], v);
    }
    return;
  }
  // A new group: filled with the /24's current word, then this rule, all
  // before the release store that makes it reachable.
  const uint32_t gi = alloc_group();
  uint32_t* g = tbl8_ + (std::size_t{gi} << 8);
  for (unsigned j = 0; j < 256; ++j) g[j] = (j >= lo && j < lo + n) ? v : e;
  store(tbl24_[i], kValid | kExt | gi);
}

// rte_lpm's delete: words written by this rule (depth == len) in its range
// fall back to the longest remaining rule that covers it, or invalid (which
// reads as the default rule). The rule must already be gone from storage.
void MrDb::uninstall(uint32_t prefix, unsigned len) noexcept {
  if (len == 0) {
    std::atomic_ref<uint32_t>(*default_).store(0, std::memory_order_release);
    return;
  }
  uint32_t r = 0;
  for (unsigned l = len; l-- > 1;) {
    if (len_count_[l] == 0) continue;
    if (const std::size_t k = find_slot(prefix & net::mask4(l), l); k != kNone) {
      r = entry(l, meta_target(slots_[k].meta));
      break;
    }
  }
  auto replace = [&](uint32_t& w) {
    if ((w & kValid) && depth_of(w) == len) store(w, r);
  };
  if (len <= 24) {
    const uint32_t first = prefix >> 8, n = 1u << (24 - len);
    for (uint32_t i = first; i < first + n; ++i) {
      const uint32_t e = peek(tbl24_[i]);
      if (e & kExt) {
        uint32_t* g = tbl8_ + (std::size_t{e & kIndexMask} << 8);
        for (unsigned j = 0; j < 256; ++j) replace(g[j]);
      } else {
        replace(tbl24_[i]);
      }
    }
    return;
  }
  const uint32_t i = prefix >> 8, lo = prefix & 0xffu, n = 1u << (32 - len);
  const uint32_t e = peek(tbl24_[i]);
  const uint32_t gi = e & kIndexMask;
  uint32_t* g = tbl8_ + (std::size_t{gi} << 8);
  for (uint32_t j = lo; j < lo + n; ++j) replace(g[j]);
  // Collapse: with no word deeper than /24 left, every word comes from the
  // one longest rule of length <= 24 covering this /24 (or is invalid), so
  // they are all equal and one tbl24 word says the same.
  for (unsigned j = 0; j < 256; ++j) {
    if ((g[j] & kValid) && depth_of(g[j]) > 24) return;
  }
  store(tbl24_[i], g[0]);
  --groups_used_;
  retired_groups_.push_back(gi);
}

// ---- writer API ----

void MrDb::best_of(Slot& s, const Alts& a) const noexcept {
  int best = -1;
  for (int k = 0; k < static_cast<int>(kRuleSourceCount); ++k) {
    if (!a[k].present) continue;
    if (best < 0 || better(a[k].pref, static_cast<RuleSource>(k), a[best].pref, static_cast<RuleSource>(best))) {
      best = k;
    }
  }
  s.meta = make_meta(a[best].target, meta_len(s.meta), static_cast<RuleSource>(best), true);
  s.pref = a[best].pref;
}

tl::expected<void, std::string> MrDb::upsert(const MrRule& r) {
  if (std::string why = validate_rule(r); !why.empty()) return tl::unexpected(std::move(why));
  const uint32_t prefix = r.prefix.addr.value;
  const unsigned len = r.prefix.len;
  const std::size_t k = find_slot(prefix, len);

  if (k == kNone) {
    if (auto room = check_tbl8_room(prefix, len); !room) return room;
    auto t = intern(r.target);
    if (!t) return tl::unexpected(std::move(t.error()));
    insert_slot(Slot{prefix, make_meta(*t, len, r.source, false), r.preference});
    ++len_count_[len];
    ++per_source_[static_cast<uint8_t>(r.source)];
    install(prefix, len, *t);
    ++updates_;
    return {};
  }

  Slot& s = slots_[k];
  const uint32_t old_best = meta_target(s.meta);
  if (!(s.meta & kMore)) {
    if (meta_source(s.meta) == r.source) {
      if (targets_[old_best] == r.target && s.pref == r.preference) return {};
      auto t = intern(r.target);
      if (!t) return tl::unexpected(std::move(t.error()));
      s.meta = make_meta(*t, len, r.source, false);
      s.pref = r.preference;
      if (*t != old_best) install(prefix, len, *t);
      release(old_best);
      ++updates_;
      return {};
    }
    auto t = intern(r.target);
    if (!t) return tl::unexpected(std::move(t.error()));
    Alts a{};
    a[static_cast<uint8_t>(meta_source(s.meta))] = Alt{old_best, s.pref, true};
    a[static_cast<uint8_t>(r.source)] = Alt{*t, r.preference, true};
    best_of(s, a);
    alts_.emplace(key_of(prefix, len), a);
    ++per_source_[static_cast<uint8_t>(r.source)];
    if (meta_target(s.meta) != old_best) install(prefix, len, meta_target(s.meta));
    ++updates_;
    return {};
  }

  Alts& a = alts_.at(key_of(prefix, len));
  Alt& mine = a[static_cast<uint8_t>(r.source)];
  if (mine.present && targets_[mine.target] == r.target && mine.pref == r.preference) return {};
  auto t = intern(r.target);
  if (!t) return tl::unexpected(std::move(t.error()));
  const std::optional<uint32_t> old = mine.present ? std::optional<uint32_t>(mine.target) : std::nullopt;
  if (!mine.present) ++per_source_[static_cast<uint8_t>(r.source)];
  mine = Alt{*t, r.preference, true};
  best_of(s, a);
  if (meta_target(s.meta) != old_best) install(prefix, len, meta_target(s.meta));
  if (old) release(*old);
  ++updates_;
  return {};
}

bool MrDb::remove(net::Ipv4Prefix p, RuleSource src) {
  if (p.len > 32) return false;
  const uint32_t prefix = p.addr.value & net::mask4(p.len);
  const unsigned len = p.len;
  const std::size_t k = find_slot(prefix, len);
  if (k == kNone) return false;
  Slot& s = slots_[k];
  const uint32_t old_best = meta_target(s.meta);

  if (!(s.meta & kMore)) {
    if (meta_source(s.meta) != src) return false;
    erase_slot(k);
    --len_count_[len];
    --per_source_[static_cast<uint8_t>(src)];
    uninstall(prefix, len);
    release(old_best);
    ++updates_;
    return true;
  }

  const auto it = alts_.find(key_of(prefix, len));
  Alts& a = it->second;
  Alt& mine = a[static_cast<uint8_t>(src)];
  if (!mine.present) return false;
  const uint32_t gone = mine.target;
  mine.present = false;
  --per_source_[static_cast<uint8_t>(src)];
  best_of(s, a);
  if (std::count_if(a.begin(), a.end(), [](const Alt& x) { return x.present; }) == 1) {
    s.meta &= ~kMore;  // back to a single source: the slot holds its target reference
    alts_.erase(it);
  }
  if (meta_target(s.meta) != old_best) install(prefix, len, meta_target(s.meta));
  release(gone);
  ++updates_;
  return true;
}

std::vector<net::Ipv4Prefix> MrDb::prefixes_of(RuleSource src) const {
  std::vector<net::Ipv4Prefix> out;
  out.reserve(per_source_[static_cast<uint8_t>(src)]);
  for (const Slot& s : slots_) {
    if (meta_len(s.meta) == kEmptyLen) continue;
    const bool has = (s.meta & kMore) ? alts_.at(key_of(s.prefix, meta_len(s.meta)))[static_cast<uint8_t>(src)].present
                                      : meta_source(s.meta) == src;
    if (has) out.push_back(net::Ipv4Prefix{net::Ipv4Addr{s.prefix}, static_cast<uint8_t>(meta_len(s.meta))});
  }
  return out;
}

std::size_t MrDb::remove_source(RuleSource src) {
  std::size_t n = 0;
  for (const auto& p : prefixes_of(src)) n += remove(p, src) ? 1 : 0;
  return n;
}

tl::expected<void, std::string> MrDb::replace_source(RuleSource src, std::span<const MrRule> rules) {
  for (const MrRule& r : rules) {
    if (std::string why = validate_rule(MrRule{r.prefix, r.target, src, r.preference}); !why.empty()) {
      return tl::unexpected(net::to_string(r.prefix) + ": " + why);
    }
  }
  auto key = [](net::Ipv4Prefix p) { return key_of(p.addr.value, p.len); };
  std::vector<uint64_t> keep;
  keep.reserve(rules.size());
  for (const MrRule& r : rules) {
    if (auto ok = upsert(MrRule{r.prefix, r.target, src, r.preference}); !ok) {
      return tl::unexpected(net::to_string(r.prefix) + ": " + ok.error());
    }
    keep.push_back(key(r.prefix));
  }
  std::sort(keep.begin(), keep.end());
  for (const net::Ipv4Prefix& p : prefixes_of(src)) {
    if (!std::binary_search(keep.begin(), keep.end(), key(p))) remove(p, src);
  }
  return {};
}

void MrDb::reclaim() noexcept {
  free_groups_.insert(free_groups_.end(), retired_groups_.begin(), retired_groups_.end());
  retired_groups_.clear();
  free_targets_.insert(free_targets_.end(), retired_targets_.begin(), retired_targets_.end());
  retired_targets_.clear();
}

// ---- reader API ----

void MrDb::lookup_batch(std::span<const uint32_t> addrs, std::span<const MrTarget*> out) const noexcept {
  // Software pipeline over chunks of 16: while chunk c is resolved, the
  // tbl24 lines of chunk c+1 are already on their way, and a chunk's tbl8
  // lines are prefetched before its second pass reads them.
  constexpr std::size_t kChunk = 16;
  const std::size_t n = std::min(addrs.size(), out.size());
  const uint32_t* a = addrs.data();
  for (std::size_t k = 0; k < std::min(kChunk, n); ++k) __builtin_prefetch(&tbl24_[a[k] >> 8]);
  uint32_t e[kChunk];
  const uint32_t def = load(*default_);
  for (std::size_t base = 0; base < n; base += kChunk) {
    const std::size_t m = std::min(kChunk, n - base);
    const std::size_t next_end = std::min(base + 2 * kChunk, n);
    for (std::size_t k = base + kChunk; k < next_end; ++k) __builtin_prefetch(&tbl24_[a[k] >> 8]);
    for (std::size_t k = 0; k < m; ++k) {
      e[k] = load(tbl24_[a[base + k] >> 8]);
      if (e[k] & kExt) __builtin_prefetch(&tbl8_[(std::size_t{e[k] & kIndexMask} << 8) | (a[base + k] & 0xffu)]);
    }
    for (std::size_t k = 0; k < m; ++k) {
      uint32_t w = e[k];
      if (w & kExt) w = load(tbl8_[(std::size_t{w & kIndexMask} << 8) | (a[base + k] & 0xffu)]);
      if (!(w & kValid)) w = def;
      out[base + k] = (w & kValid) ? &targets_[w & kIndexMask] : nullptr;
    }
  }
}

// ---- queries ----

MrRule MrDb::rule_of(const Slot& s) const {
  return MrRule{net::Ipv4Prefix{net::Ipv4Addr{s.prefix}, static_cast<uint8_t>(meta_len(s.meta))},
                targets_[meta_target(s.meta)], meta_source(s.meta), s.pref};
}

std::optional<MrRule> MrDb::match(net::Ipv4Addr a) const {
  // Through the table, so the answer is what lookup() does.
  uint32_t e = peek(tbl24_[a.value >> 8]);
  if (e & kExt) e = peek(tbl8_[(std::size_t{e & kIndexMask} << 8) | (a.value & 0xffu)]);
  const unsigned len = (e & kValid) ? depth_of(e) : 0;
  const std::size_t k = find_slot(a.value & net::mask4(len), len);
  if (k == kNone) return std::nullopt;
  return rule_of(slots_[k]);
}

std::optional<MrRule> MrDb::find(net::Ipv4Prefix p, RuleSource src) const {
  if (p.len > 32) return std::nullopt;
  const std::size_t k = find_slot(p.addr.value & net::mask4(p.len), p.len);
  if (k == kNone) return std::nullopt;
  const Slot& s = slots_[k];
  if (!(s.meta & kMore)) {
    if (meta_source(s.meta) != src) return std::nullopt;
    return rule_of(s);
  }
  const Alt& x = alts_.at(key_of(s.prefix, meta_len(s.meta)))[static_cast<uint8_t>(src)];
  if (!x.present) return std::nullopt;
  return MrRule{net::Ipv4Prefix{net::Ipv4Addr{s.prefix}, static_cast<uint8_t>(meta_len(s.meta))}, targets_[x.target],
                src, x.pref};
}

std::vector<MrTarget> MrDb::targets() const {
  std::vector<MrTarget> out;
  out.reserve(target_index_.size());
  for (const auto& [t, idx] : target_index_) out.push_back(t);
  return out;
}

std::vector<MrRule> MrDb::rules(std::optional<RuleSource> src) const {
  std::vector<MrRule> out;
  out.reserve(src ? per_source_[static_cast<uint8_t>(*src)] : used_slots_);
  for (const Slot& s : slots_) {
    const unsigned len = meta_len(s.meta);
    if (len == kEmptyLen) continue;
    const net::Ipv4Prefix p{net::Ipv4Addr{s.prefix}, static_cast<uint8_t>(len)};
    if (!(s.meta & kMore)) {
      if (!src || *src == meta_source(s.meta)) out.push_back(rule_of(s));
      continue;
    }
    const Alts& a = alts_.at(key_of(s.prefix, len));
    for (uint8_t k = 0; k < kRuleSourceCount; ++k) {
      if (a[k].present && (!src || static_cast<uint8_t>(*src) == k)) {
        out.push_back(MrRule{p, targets_[a[k].target], static_cast<RuleSource>(k), a[k].pref});
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const MrRule& x, const MrRule& y) {
    if (x.prefix.addr.value != y.prefix.addr.value) return x.prefix.addr.value < y.prefix.addr.value;
    if (x.prefix.len != y.prefix.len) return x.prefix.len < y.prefix.len;
    return x.source < y.source;
  });
  return out;
}

MrDb::Stats MrDb::stats() const {
  Stats st;
  st.per_source = per_source_;
  for (std::size_t n : per_source_) st.rules += n;
  st.installed = used_slots_;
  st.targets = target_index_.size();
  st.tbl8_groups_used = groups_used_;
  st.retired = retired_groups_.size() + retired_targets_.size();
  st.updates = updates_;
  // Reader-side arrays: tbl24 whole (any real table touches all of it), tbl8
  // and targets up to their high-water marks (the pages ever touched).
  // Control side: the rule hash, the multi-source map and the target index
  // (node-based maps estimated at their payload plus two pointers a node).
  // The free and retired lists (4 bytes a freed slot) are left out.
  st.memory_bytes = kTbl24Bytes + tbl8_bytes(groups_high_) + std::size_t{targets_high_} * sizeof(MrTarget) +
                    slots_.capacity() * sizeof(Slot) + alts_.size() * (sizeof(Alts) + 8 + 2 * sizeof(void*)) +
                    alts_.bucket_count() * sizeof(void*) +
                    target_index_.size() * (sizeof(MrTarget) + 4 + 2 * sizeof(void*)) +
                    target_index_.bucket_count() * sizeof(void*) + target_refs_.capacity() * 4;
  return st;
}

}  // namespace edge46::mapping
