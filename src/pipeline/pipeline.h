// One composition per role around the core translation step.
//
//   siit         RFC 7915 + pool6 + EAMT + denylist + RFC 6791, as configured.
//   siit-dc-br   SIIT-DC Border Relay (RFC 7755/7756): the same step; the
//                hairpinning of RFC 7757 4 (RFC 7756 5.1) is done by the core
//                according to eam-hairpin-mode.
//   siit-dc-er   SIIT-DC Edge Relay (RFC 7756): the same step plus the
//                security rules of RFC 7756 6, each with its own counter:
//                - ingress filtering on the IPv4 side: an IPv4 packet whose
//                  source no EAM covers would leave with a spoofed source
//                  after the BR's reverse translation (when ingress_filter);
//                - an IPv6 packet whose source is one of the ER's own IPv6
//                  service addresses (an EAM's IPv6 prefix), or whose source
//                  translates to one of its IPv4 service addresses, is
//                  dropped (when drop_own_service_sources).
//                Every EAM of an ER counts as one of its own service
//                addresses (RFC 7756 3); an ER that also carries the extra
//                EAMs of RFC 7756 5.2 must turn drop_own_service_sources off.
//
// process() is the only place that counts: it classifies the packet by its
// version nibble, applies the role's checks, calls xlat::translate, applies
// the loop guard (pipeline/loop_guard.h) and updates the worker's Counters
// from the verdict. noexcept, no allocation, no logging.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "pipeline/counters.h"
#include "pipeline/pe.h"
#include "pipeline/worker_context.h"
#include "xlat/translate.h"

namespace edge46::pipeline {

enum class Role : uint8_t { kSiit, kSiitDcBr, kSiitDcEr, kPe };

std::optional<Role> parse_role(std::string_view s) noexcept;
std::string_view role_name(Role r) noexcept;

struct TunRoutes;  // pipeline/loop_guard.h

struct RoleConfig {
  Role role = Role::kSiit;
  bool ingress_filter = false;           // ER only
  bool drop_own_service_sources = true;  // ER only
  PeParams pe;                           // PE only
};

// Everything one packet is processed against, assembled by the worker once
// per burst from what the control plane publishes: the configuration
// snapshot (xcfg, role) and the runtime tables, which live outside the
// snapshot and change one rule at a time (state kinds (a) and (b) of
// ../shared/notes/review-foundation.md R2).
struct Env {
  const xlat::Config& xcfg;
  const RoleConfig& role;
  const mapping::Eamt& eamt;  // RFC 7757: the daemon's runtime EAMT
  // The kernel's routes into our TUN (null: no route information, no loop
  // check). See pipeline/loop_guard.h.
  const TunRoutes* tun_routes = nullptr;
  PeTables pe{};  // role pe: the MR-DB, the known Pref6s, the tunnel MTUs
};

struct Result {
  xlat::Verdict verdict;
  // Set when the pipeline itself dropped the packet (verdict is then kDropped
  // with reason kNone, or the core's reason for a rate-limited ICMP error).
  std::optional<PipelineDrop> pipeline_drop;
  bool held = false;  // a fragment kept for reassembly
  bool emitted() const noexcept { return !pipeline_drop && verdict.emitted(); }
};

// The family of a raw L3 packet by its version nibble, or nullopt.
std::optional<xlat::Family> classify(std::span<const uint8_t> in) noexcept;

// Runs one packet through the role. Counts packets_in, the verdict and, for
// emitted packets, packets_out (the caller counts write failures with
// PipelineDrop::kWriteFailed).
//
// With the worker's context (worker_context.h):
//  - a fragment of an ICMP / ICMPv6 message is held in ctx.reassembly
//    (counted as reasm_held, verdict kDropped with no reason and no
//    pipeline_drop, nothing emitted) until its datagram is complete; the
//    fragment that completes it is translated as the whole datagram
//    (counted as reassembled, then as any packet);
//  - a translator-generated ICMP error (Outcome::kIcmpError) takes a token
//    from ctx.icmp_errors of its family; without one it is not emitted:
//    the verdict becomes kDropped (its reason, still counted, says why the
//    packet was not translated) and pipeline_drop kIcmpErrorRateLimited.
//    Translated ICMP errors passing through are not limited.
//
// Each role is one composition of steps (a function), chosen once per
// burst with composition(role) rather than by tests per packet; process()
// is the convenience that looks it up.
using Composition = Result (*)(const Env& env, std::span<const uint8_t> in, xlat::Output& out, Counters& c,
                               WorkerContext& ctx) noexcept;
Composition composition(Role r) noexcept;

inline Result process(const Env& env, std::span<const uint8_t> in, xlat::Output& out, Counters& c,
                      WorkerContext& ctx) noexcept {
  return composition(env.role.role)(env, in, out, c, ctx);
}

// The RFC 7756 6 checks alone (exposed for tests).
std::optional<PipelineDrop> er_check(const Env& env, xlat::Family ingress, std::span<const uint8_t> in) noexcept;

}  // namespace edge46::pipeline
