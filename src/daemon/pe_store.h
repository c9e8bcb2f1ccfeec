// The PE's runtime tables (role "pe"), outside the configuration snapshot:
//  - the MR-DB (mapping/mrdb.h): read lock-free by the workers, written here
//    one rule or one batch at a time; what it retires is reclaimed after an
//    RCU grace period (synchronize_rcu), never on a worker;
//  - the known Pref6s (xlat/pe_mapper.h): this PE's own prefixes, [pe]
//    trusted ones and every egress prefix of the MR-DB, republished (RCU) when
//    that set changes, which is rare (a new egress PE), not per rule;
//  - the tunnel MTUs learned from Packet Too Big (pipeline/pe.h), written by
//    the workers themselves.
//
// Rules have a source (mapping::RuleSource):
//   config  [[pe.rule]] and the [pe] rules-file: replaced by a reload;
//   local   generated from this PE's IPv4 blocks ([pe] ipv4, and the kernel's
//           IPv4 routes when [pe.kernel-routes] is on) -> its own Pref6
//           (framework 5.2), kept in step with route changes;
//   ctl     edge46ctl rule add/change/remove: survive reloads;
//   bgp     the best received route of each prefix (src/bgp/rib.h), applied
//           in the speaker's batches (bgp_apply).
// Writer side: under DaemonState::change_mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "bgp/rib.h"
#include "config/settings.h"
#include "daemon/rcu.h"
#include "mapping/mrdb.h"
#include "pipeline/pe.h"
#include "xlat/pe_mapper.h"

namespace edge46::daemon {

class PeStore {
 public:
  PeStore();

  // Workers, once per burst (registered RCU readers).
  pipeline::PeTables tables() noexcept { return {&mrdb_, known_.read(), &pmtu_}; }

  // Start and reload: the config rules, the local rules of the configured
  // blocks (plus the kernel's, kept), the known prefixes. Reads the rules
  // file. On error nothing changes and the reason is returned; `warnings`
  // collects what an operator should hear (Pref6 lengths that differ,
  // section 6).
  tl::expected<void, std::string> configure(const config::PeSettings& pe, std::vector<std::string>& warnings);

  // edge46ctl (source ctl). change fails when there is no ctl rule for the
  // prefix; remove when there is none either.
  tl::expected<void, std::string> add(const mapping::MrRule& r);
  tl::expected<void, std::string> change(const mapping::MrRule& r);
  tl::expected<void, std::string> remove(net::Ipv4Prefix p, mapping::RuleSource s);

  // Kernel routes (source local): blocks appear and disappear. A batch is
  // applied whole, then one grace period (a full table at start is one
  // batch, not a million grace periods).
  struct BlockChange {
    bool present;
    net::Ipv4Prefix prefix;
  };
  void kernel_blocks(std::span<const BlockChange> changes);
  void kernel_block(net::Ipv4Prefix p, bool present) {
    const BlockChange one{present, p};
    kernel_blocks({&one, 1});
  }

  // BGP (source bgp): a batch of changes to the installed received rules,
  // then one grace period. A rule the MR-DB refuses (a Pref6 length its
  // layout cannot embed) is counted in bgp_refused() with the last reason.
  void bgp_apply(std::span<const bgp::MrChange> changes, uint32_t preference);
  uint64_t bgp_updates() const noexcept { return bgp_updates_; }
  uint64_t bgp_refused() const noexcept { return bgp_refused_; }
  const std::string& bgp_last_refusal() const noexcept { return bgp_last_refusal_; }

  // The IPv4 blocks of this PE's local rules ([pe] ipv4 and the kernel's),
  // each once, sorted: what the BGP speaker originates.
  std::vector<net::Ipv4Prefix> local_blocks() const;
  // Called after configure() or kernel_blocks() changed the local blocks,
  // on the caller's thread and under its change_mutex.
  void set_local_listener(std::function<void()> f) { local_listener_ = std::move(f); }

  const mapping::MrDb& mrdb() const noexcept { return mrdb_; }
  const xlat::KnownPrefixes& known() const noexcept { return *known_.read(); }
  const config::PeSettings& settings() const noexcept { return pe_; }
  std::size_t kernel_block_count() const noexcept { return kernel_.size(); }
  uint64_t ctl_updates() const noexcept { return ctl_updates_; }

 private:
  std::vector<mapping::MrRule> local_rules() const;
  mapping::MrRule local_rule(net::Ipv4Prefix p) const;
  // After MR-DB changes: republish the known prefixes when they changed,
  // wait a grace period, reclaim what the MR-DB retired.
  void settle();

  mapping::MrDb mrdb_;
  RcuBox<xlat::KnownPrefixes> known_;
  std::vector<std::pair<net::Ipv6Prefix, xlat::KnownPref6>> known_list_;  // what known_ holds, sorted
  pipeline::PmtuCache pmtu_;
  config::PeSettings pe_;
  std::set<std::pair<uint32_t, uint8_t>> kernel_;  // blocks from the kernel's routes
  uint64_t ctl_updates_ = 0;
  uint64_t bgp_updates_ = 0;
  uint64_t bgp_refused_ = 0;
  std::string bgp_last_refusal_;
  std::function<void()> local_listener_;
};

}  // namespace edge46::daemon
