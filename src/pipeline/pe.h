// The PE role of the multi-domain IPv6-only underlay
// (draft-ietf-v6ops-framework-md-ipv6only-underlay sections 4.1, 5.3, 7.1;
// the -05 version's Requirement 4): the steps of its pipeline composition.
//
// IPv4 from the client side (ingress): the MR-DB gives the egress PE's
// Pref6 for the destination (or the default rule); no rule: dropped as
// no_mapping_rule and, when [pe] no-rule = "unreachable", answered with
// ICMPv4 Destination Unreachable (net). The mode is the PE's preferred one
// when the egress accepts it, else the one the egress accepts:
//   - translate: RFC 7915 through the shared translator with PeMapper;
//   - encapsulate: RFC 2473 (xlat/encap.h), to the tunnel MTU = core MTU - 40,
//     or lower for an egress that sent back a Packet Too Big (PmtuCache).
// IPv6 from the core (egress), classified by Next Header (Requirement 4):
//   - an ICMPv6 error quoting one of our encapsulated packets: relayed to the
//     IPv4 source per RFC 2473 8 (a Packet Too Big lowers that egress's
//     tunnel MTU); quoting a translated one: RFC 7915 like any error;
//   - destination outside this PE's Pref6: not_own_pref6;
//   - source under no known Pref6: pe_unknown_source (section 7.1);
//   - over the per-ingress-Pref6 packet rate: pe_rate_limited (section 7.1);
//   - Next Header 4: decapsulated (inner addresses must equal the outer's
//     embedded ones), when this PE accepts encapsulation;
//   - anything else: translated back (RFC 7915), when it accepts translation;
//   a mode it does not accept is pe_mode_refused.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>

#include "mapping/mrdb.h"
#include "mapping/rfc6052.h"
#include "net/addr.h"
#include "xlat/pe_mapper.h"
#include "xlat/translate.h"

namespace edge46::pipeline {

// The PE's scalars from the configuration snapshot ([pe]).
struct PeParams {
  mapping::Pool6 own{};  // the source Pref6 (the first of [pe] prefixes)
  uint8_t accept = mapping::kModeBoth;
  uint8_t prefer = mapping::kModeEncapsulate;
  uint8_t hop_limit = 64;
  uint32_t core_mtu = 1500;
  uint32_t pmtu_timeout_s = 600;
  bool no_rule_unreachable = true;
  uint32_t ingress_rate = 0;  // per ingress Pref6 and worker; 0 = off
  uint32_t ingress_burst = 1000;
};

// The ingress mode towards an egress that accepts `target_modes`: the PE's
// preferred one when accepted, else the one the egress accepts.
inline uint8_t choose_mode(uint8_t target_modes, uint8_t prefer) noexcept {
  if ((target_modes & prefer) != 0) return prefer;
  return (target_modes & mapping::kModeEncapsulate) != 0 ? uint8_t{mapping::kModeEncapsulate}
                                                         : uint8_t{mapping::kModeTranslate};
}

// Tunnel MTUs learned from ICMPv6 Packet Too Big per egress Pref6, shared by
// every worker: a direct-mapped array of single atomic words (a tag of the
// prefix, the MTU, the expiry second), so a reader never sees half an entry
// and no lock is taken. Two prefixes that share a slot evict each other;
// the loser falls back to the core MTU until the next Packet Too Big.
class PmtuCache {
 public:
  static constexpr std::size_t kSlots = 4096;
  // The learned MTU for this egress, or 0 (none, or expired).
  uint32_t get(const net::Ipv6Prefix& egress, uint32_t now_s) const noexcept;
  // Lowers (never raises) the MTU for this egress until now_s + timeout_s.
  void lower(const net::Ipv6Prefix& egress, uint32_t mtu, uint32_t now_s, uint32_t timeout_s) noexcept;
  void clear() noexcept;

  static uint64_t hash(const net::Ipv6Prefix& p) noexcept;

 private:
  std::array<std::atomic<uint64_t>, kSlots> slots_{};
};

// The PE's runtime tables as the worker sees them for one burst.
struct PeTables {
  const mapping::MrDb* mrdb = nullptr;
  const xlat::KnownPrefixes* known = nullptr;
  PmtuCache* pmtu = nullptr;
};

struct Env;
struct WorkerContext;
enum class PipelineDrop : uint8_t;

// The PE composition's role checks (rate and accepted mode of what comes
// from the core) and its step (classification, then translate, tunnel or
// relay). Used by pipeline.cpp's composition for Role::kPe.
std::optional<PipelineDrop> pe_check(const Env& env, xlat::Family fam, std::span<const uint8_t> in,
                                     WorkerContext& ctx) noexcept;
xlat::Verdict pe_step(const Env& env, xlat::Family fam, std::span<const uint8_t> pkt, xlat::Output& out,
                      WorkerContext& ctx) noexcept;

}  // namespace edge46::pipeline
