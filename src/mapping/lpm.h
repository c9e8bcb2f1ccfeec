// Longest-prefix-match table over IPv4 (uint32_t) or IPv6 (u128) keys.
//
// Built once by the control plane, then read-only (snapshots are swapped
// whole, never mutated under traffic). Small tables, the common case for an
// EAMT or a denylist, are a flat array sorted by prefix length, longest
// first: a handful of mask-and-compare steps with no hashing. Large tables
// use one hash map per distinct prefix length, probed longest first.
#pragma once

#include <algorithm>
#include <cstdint>
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

  // Inserts or replaces the value for prefix/len. Key must be masked.
  void insert(Key prefix, unsigned len, Value v) {
    prefix &= KeyTraits<Key>::mask(len);
    for (auto& e : entries_) {
      if (e.len == len && e.prefix == prefix) {
        e.value = std::move(v);
        rebuild();
        return;
      }
    }
    entries_.push_back(Entry{prefix, KeyTraits<Key>::mask(len), static_cast<uint8_t>(len), std::move(v)});
    rebuild();
  }

  bool erase(Key prefix, unsigned len) {
    prefix &= KeyTraits<Key>::mask(len);
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const Entry& e) { return e.len == len && e.prefix == prefix; });
    if (it == entries_.end()) return false;
    entries_.erase(it);
    rebuild();
    return true;
  }

  // The value of the longest prefix containing key, or nullptr.
  const Value* lookup(Key key) const noexcept {
    if (buckets_.empty()) {
      for (const auto& e : entries_) {
        if ((key & e.mask) == e.prefix) return &e.value;
      }
      return nullptr;
    }
    for (const auto& b : buckets_) {
      auto it = b.map.find(key & KeyTraits<Key>::mask(b.len));
      if (it != b.map.end()) return &entries_[it->second].value;
    }
    return nullptr;
  }

  struct Entry {
    Key prefix;
    Key mask;  // precomputed from len
    uint8_t len;
    Value value;
  };
  const std::vector<Entry>& entries() const noexcept { return entries_; }
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }

 private:
  using Hash = std::conditional_t<std::is_same_v<Key, net::u128>, U128Hash, std::hash<Key>>;
  struct Bucket {
    unsigned len;
    std::unordered_map<Key, std::size_t, Hash> map;
  };

  void rebuild() {
    std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.len > b.len; });
    buckets_.clear();
    if (entries_.size() <= kFlatLimit) return;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (buckets_.empty() || buckets_.back().len != entries_[i].len) {
        buckets_.push_back(Bucket{entries_[i].len, {}});
      }
      buckets_.back().map.emplace(entries_[i].prefix, i);
    }
  }

  std::vector<Entry> entries_;
  std::vector<Bucket> buckets_;
};

}  // namespace edge46::mapping
