#include "daemon/pe_store.h"

#include <algorithm>
#include <memory>

#include <urcu-qsbr.h>

#include "mapping/mrdb_file.h"
#include "net/addr.h"

namespace edge46::daemon {

PeStore::PeStore() {
  known_.publish(std::make_unique<xlat::KnownPrefixes>());
}

mapping::MrRule PeStore::local_rule(net::Ipv4Prefix p) const {
  mapping::MrRule r;
  r.prefix = p;
  r.target.pool6 = pe_.prefixes.empty() ? mapping::Pool6{} : pe_.prefixes.front();
  r.target.modes = pe_.accept;
  r.source = mapping::RuleSource::kLocal;
  return r;
}

std::vector<mapping::MrRule> PeStore::local_rules() const {
  std::vector<mapping::MrRule> out;
  for (const auto& p : pe_.ipv4) out.push_back(local_rule(p));
  for (const auto& [addr, len] : kernel_) out.push_back(local_rule(net::Ipv4Prefix{net::Ipv4Addr{addr}, len}));
  return out;
}

tl::expected<void, std::string> PeStore::configure(const config::PeSettings& pe, std::vector<std::string>& warnings) {
  std::vector<mapping::MrRule> config_rules = pe.rules;
  if (!pe.rules_file.empty()) {
    auto more = mapping::load_rules_file(pe.rules_file, mapping::RuleSource::kConfig);
    if (!more) return tl::unexpected("pe.rules-file: " + more.error());
    config_rules.insert(config_rules.end(), more->begin(), more->end());
  }
  for (std::size_t i = 1; i < pe.prefixes.size(); ++i) {
    if (pe.prefixes[i].prefix.len != pe.prefixes[0].prefix.len) {
      warnings.push_back("pe.prefixes: Pref6 lengths differ (/" + std::to_string(pe.prefixes[0].prefix.len) + " and /" +
                         std::to_string(pe.prefixes[i].prefix.len) +
                         "); the framework recommends one length for all (section 6)");
      break;
    }
  }
  // Validate everything before changing anything: replace_source checks
  // its own set; the local rules are built from validated prefixes.
  const config::PeSettings old = pe_;
  pe_ = pe;
  const auto local = local_rules();
  for (const auto& r : local) {
    if (auto why = mapping::validate_rule(r); !why.empty()) {
      pe_ = old;
      return tl::unexpected("pe.ipv4: " + net::to_string(r.prefix) + ": " + why);
    }
  }
  if (auto ok = mrdb_.replace_source(mapping::RuleSource::kConfig, config_rules); !ok) {
    pe_ = old;
    return tl::unexpected("pe rules: " + ok.error());
  }
  if (auto ok = mrdb_.replace_source(mapping::RuleSource::kLocal, local); !ok) {
    // The config rules are in already; this cannot fail after the checks
    // above short of a full table.
    pe_ = old;
    return tl::unexpected("pe local rules: " + ok.error());
  }
  settle();
  if (local_listener_) local_listener_();
  return {};
}

tl::expected<void, std::string> PeStore::add(const mapping::MrRule& r) {
  if (mrdb_.find(r.prefix, mapping::RuleSource::kCtl)) {
    return tl::unexpected("a ctl rule for " + net::to_string(r.prefix) + " exists: use rule change");
  }
  auto ok = mrdb_.upsert(r);
  if (!ok) return ok;
  ++ctl_updates_;
  settle();
  return {};
}

tl::expected<void, std::string> PeStore::change(const mapping::MrRule& r) {
  if (!mrdb_.find(r.prefix, mapping::RuleSource::kCtl)) {
    return tl::unexpected("no ctl rule for " + net::to_string(r.prefix) + " (rule add makes one)");
  }
  auto ok = mrdb_.upsert(r);
  if (!ok) return ok;
  ++ctl_updates_;
  settle();
  return {};
}

tl::expected<void, std::string> PeStore::remove(net::Ipv4Prefix p, mapping::RuleSource s) {
  if (!mrdb_.remove(p, s)) {
    return tl::unexpected("no " + std::string(mapping::rule_source_name(s)) + " rule for " + net::to_string(p));
  }
  ++ctl_updates_;
  settle();
  return {};
}

void PeStore::kernel_blocks(std::span<const BlockChange> changes) {
  bool changed = false;
  for (const auto& c : changes) {
    const std::pair<uint32_t, uint8_t> key{c.prefix.addr.value, c.prefix.len};
    if (c.present) {
      if (!kernel_.insert(key).second) continue;
      // An invalid local rule (no Pref6 configured yet) is simply not made.
      if (mapping::validate_rule(local_rule(c.prefix)).empty() && mrdb_.upsert(local_rule(c.prefix))) changed = true;
    } else {
      if (kernel_.erase(key) == 0) continue;
      // A configured block keeps its rule.
      if (std::find(pe_.ipv4.begin(), pe_.ipv4.end(), c.prefix) == pe_.ipv4.end() &&
          mrdb_.remove(c.prefix, mapping::RuleSource::kLocal)) {
        changed = true;
      }
    }
  }
  if (changed) {
    settle();
    if (local_listener_) local_listener_();
  }
}

std::vector<net::Ipv4Prefix> PeStore::local_blocks() const {
  std::vector<net::Ipv4Prefix> out = pe_.ipv4;
  for (const auto& [addr, len] : kernel_) out.push_back(net::Ipv4Prefix{net::Ipv4Addr{addr}, len});
  std::sort(out.begin(), out.end(), [](const net::Ipv4Prefix& a, const net::Ipv4Prefix& b) {
    return std::pair(a.addr.value, a.len) < std::pair(b.addr.value, b.len);
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void PeStore::bgp_apply(std::span<const bgp::MrChange> changes, uint32_t preference) {
  bool changed = false;
  for (const auto& c : changes) {
    if (c.target) {
      mapping::MrRule r{c.prefix, *c.target, mapping::RuleSource::kBgp, preference};
      if (auto ok = mrdb_.upsert(r); !ok) {
        ++bgp_refused_;
        bgp_last_refusal_ = net::to_string(c.prefix) + ": " + ok.error();
        // The prefix's earlier bgp rule (another target) must not stay.
        changed |= mrdb_.remove(c.prefix, mapping::RuleSource::kBgp);
        continue;
      }
      changed = true;
    } else {
      changed |= mrdb_.remove(c.prefix, mapping::RuleSource::kBgp);
    }
    ++bgp_updates_;
  }
  if (changed) settle();
}

void PeStore::settle() {
  std::vector<std::pair<net::Ipv6Prefix, xlat::KnownPref6>> want;
  for (const auto& p : pe_.prefixes) want.push_back({p.prefix, xlat::KnownPref6{p, true}});
  const auto layout = pe_.prefixes.empty() ? mapping::Pool6Layout::kLow32 : pe_.prefixes.front().layout;
  for (const auto& p : pe_.trusted) want.push_back({p, xlat::KnownPref6{mapping::Pool6{p, layout}, false}});
  for (const auto& t : mrdb_.targets()) want.push_back({t.pool6.prefix, xlat::KnownPref6{t.pool6, false}});
  auto key = [](const auto& e) { return std::tuple(e.first.addr.to_u128(), e.first.len, !e.second.own); };
  std::sort(want.begin(), want.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  // One entry per prefix; this PE's own entry wins over the same prefix as
  // an MR-DB target (its local rules point at it).
  want.erase(std::unique(want.begin(), want.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
             want.end());
  if (want != known_list_) {
    auto fresh = std::make_unique<xlat::KnownPrefixes>();
    for (const auto& [p, k] : want) fresh->insert(p.addr.to_u128(), p.len, k);
    known_.publish(std::move(fresh));  // waits a grace period itself
    known_list_ = std::move(want);
  } else {
    synchronize_rcu();
  }
  mrdb_.reclaim();
}

}  // namespace edge46::daemon
