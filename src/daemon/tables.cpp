#include "daemon/tables.h"

#include <memory>

#include "net/addr.h"

namespace edge46::daemon {

std::string_view eam_source_name(EamSource s) noexcept {
  return s == EamSource::kConfig ? "config" : "ctl";
}

EamSource EamtStore::source_of(const mapping::Eam& e) const {
  auto it = sources_.find(key(e));
  return it == sources_.end() ? EamSource::kConfig : it->second;
}

EamtStore::EamtStore() {
  table_.reset(std::make_unique<mapping::Eamt>());
}

void EamtStore::init(const mapping::Eamt& from_file) {
  sources_.clear();
  for (const auto& e : from_file.entries()) sources_[key(e)] = EamSource::kConfig;
  table_.reset(std::make_unique<mapping::Eamt>(from_file));
  ++version_;
}

std::string EamtStore::replace_file(const mapping::Eamt& file, std::size_t& removed, std::size_t& added) {
  std::vector<mapping::Eam> gone, fresh;
  std::map<Key, bool> wanted;
  for (const auto& e : file.entries()) wanted[key(e)] = true;
  for (const auto& e : current().entries()) {
    if (source_of(e) == EamSource::kConfig && !wanted.contains(key(e))) gone.push_back(e);
  }
  // An entry the table already holds from edge46ctl is not added again: the
  // file takes it over (a later reload without it removes it).
  for (const auto& e : file.entries()) {
    if (!sources_.contains(key(e))) fresh.push_back(e);
  }
  removed = gone.size();
  added = fresh.size();
  if (gone.empty() && fresh.empty()) {
    for (const auto& e : file.entries()) sources_[key(e)] = EamSource::kConfig;
    return {};
  }
  std::string why = table_.apply([&](mapping::Eamt& t) -> std::string {
    for (const auto& e : gone) t.remove(e);
    for (std::size_t i = 0; i < fresh.size(); ++i) {
      std::string w = t.add(fresh[i]);
      if (!w.empty()) {
        // Leave the table as it was (apply's contract).
        for (std::size_t k = 0; k < i; ++k) t.remove(fresh[k]);
        for (const auto& e : gone) t.add(e);
        return "eamt: " + net::to_string(fresh[i].v6) + " " + net::to_string(fresh[i].v4) + ": " + w;
      }
    }
    return {};
  });
  if (!why.empty()) return why;
  for (const auto& e : gone) sources_.erase(key(e));
  for (const auto& e : file.entries()) sources_[key(e)] = EamSource::kConfig;
  ++version_;
  return {};
}

std::string EamtStore::add(const mapping::Eam& e) {
  std::string why = table_.apply([&](mapping::Eamt& t) { return t.add(e); });
  if (!why.empty()) return why;
  sources_[key(e)] = EamSource::kCtl;
  ++version_;
  return {};
}

std::string EamtStore::remove(const mapping::Eam& e) {
  std::string why = table_.apply([&](mapping::Eamt& t) -> std::string {
    return t.remove(e) ? std::string{} : "no such EAM: " + net::to_string(e.v6) + " " + net::to_string(e.v4);
  });
  if (!why.empty()) return why;
  sources_.erase(key(e));
  ++version_;
  return {};
}

}  // namespace edge46::daemon
