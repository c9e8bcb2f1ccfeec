#include "mapping/eamt.h"

#include <algorithm>

namespace edge46::mapping {

std::string Eamt::add(const Eam& e) {
  if ((e.v4.addr.value & ~net::mask4(e.v4.len)) != 0) return "IPv4 prefix has host bits set";
  if ((e.v6.addr.to_u128() & ~net::mask6(e.v6.len)) != 0) return "IPv6 prefix has host bits set";
  if (128u - e.v6.len < 32u - e.v4.len) {
    return "IPv6 prefix " + net::to_string(e.v6) + " is too long to hold the " + std::to_string(32 - e.v4.len) +
           " suffix bits of " + net::to_string(e.v4);
  }
  for (const auto& x : entries_) {
    if (x.v4 == e.v4) return "IPv4 prefix " + net::to_string(e.v4) + " is already mapped";
    if (x.v6 == e.v6) return "IPv6 prefix " + net::to_string(e.v6) + " is already mapped";
  }
  entries_.push_back(e);
  rebuild();
  return {};
}

bool Eamt::remove(const Eam& e) {
  auto it = std::find(entries_.begin(), entries_.end(), e);
  if (it == entries_.end()) return false;
  entries_.erase(it);
  rebuild();
  return true;
}

void Eamt::rebuild() {
  by_v4_ = {};
  by_v6_ = {};
  for (const auto& e : entries_) {
    by_v4_.insert(e.v4.addr.value, e.v4.len, e);
    by_v6_.insert(e.v6.addr.to_u128(), e.v6.len, e);
  }
}

}  // namespace edge46::mapping
