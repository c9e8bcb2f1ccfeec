// Longest-prefix-match table over IPv4 (uint32_t) or IPv6 (u128) keys.
//
// Changed by the control plane only, and never while a worker reads it (the
// daemon publishes snapshots through RCU, src/daemon/rcu.h). Changes
// are incremental: insert and erase cost O(1) expected (one hash operation,
// plus O(number of distinct lengths) when a length appears or disappears),
// so n inserts build a table in O(n); build() does it in one pass with the
// hash maps sized up front.
//
// Lookups: small tables, the common case for a denylist or a handful of
// EAMs, scan a flat array sorted by prefix length, longest first (a few
// mask-and-compare steps, no hashing). Larger tables probe one hash map per
// distinct prefix length, longest first.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "net/addr.h"

namespace edge46::mapping {

template <class Key>
struct KeyTraits;
template <>
struct KeyTraits<uint32_t> {
  static constexpr unsigned kBits = 32;
  static uint32_t mask(unsigned len) noexcept { return net::mask4(len); }
};
template <>
struct KeyTraits<net::u128> {
  static constexpr unsigned kBits = 128;
  static net::u128 mask(unsigned len) noexcept { return net::mask6(len); }
};

struct U128Hash {
  std::size_t operator()(net::u128 v) const noexcept {
    uint64_t x = static_cast<uint64_t>(v) ^ (static_cast<uint64_t>(v >> 64) * 0x9e3779b97f4a7c15ull);
    return static_cast<std::size_t>(x ^ (x >> 29));
  }
};

template <class Key, class Value>
class LpmTable {
 public:
  static constexpr std::size_t kFlatLimit = 32;

  struct Entry {
    Key prefix;
    Key mask;  // precomputed from len
    uint8_t len;
    Value value;
  };

  // Inserts or replaces the value for prefix/len. Host bits are dropped.
  void insert(Key prefix, unsigned len, Value v) {
    prefix &= KeyTraits<Key>::mask(len);
    auto& map = bucket_for(len).map;
    auto [it, fresh] = map.try_emplace(prefix, static_cast<uint32_t>(entries_.size()));
    if (!fresh) {
      entries_[it->second].value = std::move(v);
    } else {
      entries_.push_back(Entry{prefix, KeyTraits<Key>::mask(len), static_cast<uint8_t>(len), std::move(v)});
    }
    refresh_flat();
  }

  // Removes prefix/len; false when absent. The last entry takes the removed
  // one's place in entries().
  bool erase(Key prefix, unsigned len) {
    prefix &= KeyTraits<Key>::mask(len);
    int bi = bucket_index_[len];
    if (bi < 0) {
      return false;
    }
    auto& map = buckets_[static_cast<std::size_t>(bi)].map;
    auto it = map.find(prefix);
    if (it == map.end()) {
      return false;
    }
    const uint32_t hole = it->second;
    map.erase(it);
    if (map.empty()) {
      drop_bucket(static_cast<std::size_t>(bi));
    }
    const auto last = static_cast<uint32_t>(entries_.size() - 1);
    if (hole != last) {
      entries_[hole] = std::move(entries_[last]);
      const Entry& moved = entries_[hole];
      buckets_[static_cast<std::size_t>(bucket_index_[moved.len])].map[moved.prefix] = hole;
    }
    entries_.pop_back();
    refresh_flat();
    return true;
  }

  // Replaces the whole table with the given entries (host bits dropped; a
  // repeated prefix/len keeps its last value), in O(n) expected.
  void build(const std::vector<Entry>& in) {
    clear();
    std::array<std::size_t, KeyTraits<Key>::kBits + 1> count{};
    for (const auto& e : in) {
      ++count[e.len];
    }
    for (unsigned len = 0; len <= KeyTraits<Key>::kBits; ++len) {
      if (count[len] != 0) {
        bucket_for(len).map.reserve(count[len]);
      }
    }
    entries_.reserve(in.size());
    for (const auto& e : in) {
      Key p = e.prefix & KeyTraits<Key>::mask(e.len);
      auto [it, fresh] = buckets_[static_cast<std::size_t>(bucket_index_[e.len])].map.try_emplace(
          p, static_cast<uint32_t>(entries_.size()));
      if (fresh) {
        entries_.push_back(Entry{p, KeyTraits<Key>::mask(e.len), e.len, e.value});
      } else {
        entries_[it->second].value = e.value;
      }
    }
    refresh_flat();
  }

  void clear() {
    entries_.clear();
    buckets_.clear();
    bucket_index_.fill(-1);
    flat_.clear();
  }

  // The value of the longest prefix containing key, or nullptr.
  const Value* lookup(Key key) const noexcept {
    if (entries_.size() <= kFlatLimit) {
      for (const auto& f : flat_) {
        if ((key & f.mask) == f.prefix) {
          return &entries_[f.index].value;
        }
      }
      return nullptr;
    }
    for (const auto& b : buckets_) {
      auto it = b.map.find(key & b.mask);
      if (it != b.map.end()) {
        return &entries_[it->second].value;
      }
    }
    return nullptr;
  }

  // Every entry once, in insertion order until an erase moves the last
  // entry into the erased one's place.
  const std::vector<Entry>& entries() const noexcept { return entries_; }
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }

 private:
  using Hash = std::conditional_t<std::is_same_v<Key, net::u128>, U128Hash, std::hash<Key>>;
  struct Bucket {
    unsigned len;
    Key mask;
    std::unordered_map<Key, uint32_t, Hash> map;  // prefix -> index in entries_
  };
  struct Flat {
    Key prefix;
    Key mask;
    uint32_t index;
  };

  // The bucket for len, created (keeping buckets_ longest first) if absent.
  Bucket& bucket_for(unsigned len) {
    if (bucket_index_[len] < 0) {
      auto pos = std::find_if(buckets_.begin(), buckets_.end(), [&](const Bucket& b) { return b.len < len; });
      buckets_.insert(pos, Bucket{len, KeyTraits<Key>::mask(len), {}});
      reindex_buckets();
    }
    return buckets_[static_cast<std::size_t>(bucket_index_[len])];
  }
  void drop_bucket(std::size_t bi) {
    buckets_.erase(buckets_.begin() + static_cast<std::ptrdiff_t>(bi));
    reindex_buckets();
  }
  void reindex_buckets() noexcept {
    bucket_index_.fill(-1);
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      bucket_index_[buckets_[i].len] = static_cast<int16_t>(i);
    }
  }
  // Small tables: the flat array, longest prefix first (at most kFlatLimit
  // entries, so rebuilding it per change is cheap).
  void refresh_flat() {
    flat_.clear();
    if (entries_.size() > kFlatLimit) {
      return;
    }
    for (uint32_t i = 0; i < entries_.size(); ++i) {
      flat_.push_back(Flat{entries_[i].prefix, entries_[i].mask, i});
    }
    std::stable_sort(flat_.begin(), flat_.end(),
                     [&](const Flat& a, const Flat& b) { return entries_[a.index].len > entries_[b.index].len; });
  }

  std::vector<Entry> entries_;
  std::vector<Bucket> buckets_;  // longest length first
  std::array<int16_t, KeyTraits<Key>::kBits + 1> bucket_index_ = make_empty_index();
  std::vector<Flat> flat_;

  static std::array<int16_t, KeyTraits<Key>::kBits + 1> make_empty_index() noexcept {
    std::array<int16_t, KeyTraits<Key>::kBits + 1> a{};
    a.fill(-1);
    return a;
  }
};

}  // namespace edge46::mapping
