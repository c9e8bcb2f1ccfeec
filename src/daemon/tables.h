// The runtime tables: what changes one rule at a time while traffic flows,
// kept outside the configuration snapshot (state kind (b) of
// ../shared/notes/review-foundation.md R2).
//
// The EAMT is a Left-Right pair (rcu.h): a change is applied to the standby
// copy, published, and applied to the other copy after a grace period;
// nothing is ever copied whole. Each entry has a source: the configuration
// file, or edge46ctl. A reload replaces only the file's entries (the diff
// between the old and the new file), so entries added with edge46ctl
// survive it; removing a file entry with edge46ctl lasts until the next
// reload, which makes the file true again.
//
// Writer side: under DaemonState::change_mutex. Readers: workers, with
// eamt.read() once per burst.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "daemon/rcu.h"
#include "mapping/eamt.h"

namespace edge46::daemon {

enum class EamSource : uint8_t { kConfig, kCtl };
std::string_view eam_source_name(EamSource s) noexcept;

class EamtStore {
 public:
  EamtStore();  // an empty table, published
  // Workers.
  const mapping::Eamt* read() const noexcept { return table_.read(); }
  // Writer (and holders of change_mutex).
  const mapping::Eamt& current() const noexcept { return *table_.current(); }
  EamSource source_of(const mapping::Eam& e) const;

  // Start: the file's entries (already validated by the loader).
  void init(const mapping::Eamt& from_file);
  // A reload: makes the file's entries exactly `file`, leaving edge46ctl's
  // alone. On a conflict (a new file entry overlaps an edge46ctl one) the
  // table is left as it was and the reason returned. Returns the number of
  // entries removed and added through `removed`/`added`.
  std::string replace_file(const mapping::Eamt& file, std::size_t& removed, std::size_t& added);
  // edge46ctl.
  std::string add(const mapping::Eam& e);
  std::string remove(const mapping::Eam& e);

  uint64_t version() const noexcept { return version_; }

 private:
  using Key = std::tuple<net::u128, uint8_t, uint32_t, uint8_t>;
  static Key key(const mapping::Eam& e) noexcept { return {e.v6.addr.to_u128(), e.v6.len, e.v4.addr.value, e.v4.len}; }

  RcuLeftRight<mapping::Eamt> table_;
  std::map<Key, EamSource> sources_;  // every entry of the table
  uint64_t version_ = 0;              // bumped by every published change
};

}  // namespace edge46::daemon
