#include "mapping/eamt.h"

namespace edge46::mapping {
namespace {

std::string describe(const Eam& e) {
  return net::to_string(e.v6) + " <-> " + net::to_string(e.v4);
}

uint32_t last4(const net::Ipv4Prefix& p) {
  return p.addr.value | ~net::mask4(p.len);
}
net::u128 last6(const net::Ipv6Prefix& p) {
  return p.addr.to_u128() | ~net::mask6(p.len);
}

}  // namespace

// The spans are disjoint, so only the one starting last at or before `last`
// can reach back to `first`: a single ordered-map search.
template <class K>
const Eamt::Span<K>* Eamt::overlap(const Spans<K>& m, K first, K last) noexcept {
  auto it = m.upper_bound(last);
  if (it == m.begin()) {
    return nullptr;
  }
  --it;
  return it->second.last >= first ? &it->second : nullptr;
}

std::string Eamt::add(const Eam& e) {
  if ((e.v4.addr.value & ~net::mask4(e.v4.len)) != 0) return "IPv4 prefix has host bits set";
  if ((e.v6.addr.to_u128() & ~net::mask6(e.v6.len)) != 0) return "IPv6 prefix has host bits set";
  if (128u - e.v6.len < 32u - e.v4.len) {
    return "IPv6 prefix " + net::to_string(e.v6) + " is too long to hold the " + std::to_string(32 - e.v4.len) +
           " suffix bits of " + net::to_string(e.v4);
  }
  const uint32_t first4 = e.v4.addr.value;
  const net::u128 first6 = e.v6.addr.to_u128();
  if (const auto* s = overlap(spans4_, first4, last4(e.v4))) {
    return "IPv4 prefix " + net::to_string(e.v4) + " overlaps the existing entry " + describe(entries_[s->index]);
  }
  if (const auto* s = overlap(spans6_, first6, last6(e.v6))) {
    return "IPv6 prefix " + net::to_string(e.v6) + " overlaps the existing entry " + describe(entries_[s->index]);
  }
  const auto i = static_cast<uint32_t>(entries_.size());
  entries_.push_back(e);
  spans4_.emplace(first4, Span<uint32_t>{last4(e.v4), i});
  spans6_.emplace(first6, Span<net::u128>{last6(e.v6), i});
  by_v4_.insert(first4, e.v4.len, i);
  by_v6_.insert(first6, e.v6.len, i);
  return {};
}

bool Eamt::remove(const Eam& e) {
  auto it4 = spans4_.find(e.v4.addr.value);
  if (it4 == spans4_.end() || entries_[it4->second.index] != e) {
    return false;
  }
  const uint32_t hole = it4->second.index;
  spans4_.erase(it4);
  spans6_.erase(e.v6.addr.to_u128());
  by_v4_.erase(e.v4.addr.value, e.v4.len);
  by_v6_.erase(e.v6.addr.to_u128(), e.v6.len);
  const auto last = static_cast<uint32_t>(entries_.size() - 1);
  if (hole != last) {
    entries_[hole] = entries_[last];
    set_index(hole);
  }
  entries_.pop_back();
  return true;
}

// Points every index of entries_[i] back at i (after it moved there).
void Eamt::set_index(uint32_t i) {
  const Eam& m = entries_[i];
  spans4_.at(m.v4.addr.value).index = i;
  spans6_.at(m.v6.addr.to_u128()).index = i;
  by_v4_.insert(m.v4.addr.value, m.v4.len, i);
  by_v6_.insert(m.v6.addr.to_u128(), m.v6.len, i);
}

}  // namespace edge46::mapping
