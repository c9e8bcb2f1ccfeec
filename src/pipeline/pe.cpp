#include "pipeline/pe.h"

#include "net/bytes.h"
#include "net/headers.h"
#include "pipeline/pipeline.h"
#include "xlat/encap.h"

namespace edge46::pipeline {

// --- PmtuCache ---------------------------------------------------------------------------------------------

namespace {
// One word: tag (24 bits, from the prefix hash) | MTU (16) | expiry second (24, wraps every 194 days).
constexpr uint64_t kTagBits = 24, kMtuBits = 16, kExpBits = 24;
constexpr uint64_t kExpMask = (uint64_t{1} << kExpBits) - 1;
constexpr uint64_t kMtuMask = (uint64_t{1} << kMtuBits) - 1;

uint64_t pack(uint64_t tag, uint32_t mtu, uint32_t expiry) noexcept {
  return (tag << (kMtuBits + kExpBits)) | (uint64_t{mtu & kMtuMask} << kExpBits) | (expiry & kExpMask);
}
// Seconds from `now` to `expiry` on the 24-bit wrapping clock, signed.
int64_t until(uint32_t expiry, uint32_t now) noexcept {
  int64_t d = static_cast<int64_t>((uint64_t{expiry} - now) & kExpMask);
  return d >= static_cast<int64_t>(kExpMask / 2) ? d - static_cast<int64_t>(kExpMask + 1) : d;
}
}  // namespace

uint64_t PmtuCache::hash(const net::Ipv6Prefix& p) noexcept {
  const net::u128 v = p.addr.to_u128();
  uint64_t h = static_cast<uint64_t>(v >> 64) * 0x9e3779b97f4a7c15ull;
  h ^= (static_cast<uint64_t>(v) + p.len) * 0xc2b2ae3d27d4eb4full;
  return h ^ (h >> 29);
}

uint32_t PmtuCache::get(const net::Ipv6Prefix& egress, uint32_t now_s) const noexcept {
  const uint64_t h = hash(egress);
  const uint64_t w = slots_[h % kSlots].load(std::memory_order_relaxed);
  if (w == 0 || (w >> (kMtuBits + kExpBits)) != ((h >> 40) & ((uint64_t{1} << kTagBits) - 1))) return 0;
  if (until(static_cast<uint32_t>(w & kExpMask), now_s) <= 0) return 0;
  return static_cast<uint32_t>((w >> kExpBits) & kMtuMask);
}

void PmtuCache::lower(const net::Ipv6Prefix& egress, uint32_t mtu, uint32_t now_s, uint32_t timeout_s) noexcept {
  const uint64_t h = hash(egress);
  const uint64_t tag = (h >> 40) & ((uint64_t{1} << kTagBits) - 1);
  auto& slot = slots_[h % kSlots];
  const uint32_t current = get(egress, now_s);
  if (current != 0 && current <= mtu) return;  // never raised by a (possibly forged or stale) report
  slot.store(pack(tag, mtu, static_cast<uint32_t>(now_s + timeout_s)), std::memory_order_relaxed);
}

void PmtuCache::clear() noexcept {
  for (auto& s : slots_) s.store(0, std::memory_order_relaxed);
}

// --- the PE's steps ------------------------------------------------------------------------------------------

namespace {

uint32_t seconds(const WorkerContext& ctx) noexcept {
  return static_cast<uint32_t>(ctx.now_ns / 1'000'000'000u);
}

bool is_icmp6_error(std::span<const uint8_t> in) noexcept {
  return in.size() > net::ipv6::kHeader && in[net::ipv6::kNextHeader] == net::proto::kIcmp6 &&
         in[net::ipv6::kHeader] < 128;
}

// Requirement 4 of -05: the egress tells the modes apart by the Next Header
// of the upper layer, after any extension headers (RFC 2473 allows
// Destination Options, e.g. the Tunnel Encapsulation Limit, before the inner
// packet). True for a tunnel packet; a packet that does not parse is left to
// the translator, which names its defect.
bool is_4in6(std::span<const uint8_t> in) noexcept {
  const uint8_t next = in[net::ipv6::kNextHeader];
  if (next == net::proto::kIpip) return true;
  if (next == net::proto::kTcp || next == net::proto::kUdp || next == net::proto::kIcmp6) return false;
  net::Ipv6Packet p;
  return net::parse_ipv6(in, p) == core::Drop::kNone && p.protocol == net::proto::kIpip;
}

xlat::PeMapper mapper(const Env& env, net::Ipv4Addr hint_addr = {}, const mapping::MrTarget* hint = nullptr) {
  return xlat::PeMapper{env.role.pe.own, *env.pe.known, *env.pe.mrdb, hint_addr, hint};
}

}  // namespace

std::optional<PipelineDrop> pe_check(const Env& env, xlat::Family fam, std::span<const uint8_t> in,
                                     WorkerContext& ctx) noexcept {
  if (fam != xlat::Family::kV6 || in.size() < net::ipv6::kHeader || is_icmp6_error(in)) return std::nullopt;
  // Not addressed to one of our Pref6 (the kernel's own ND/MLD out of the
  // TUN, say): the step drops it as not_own_pref6, whatever its mode.
  const xlat::KnownPref6* kd = env.pe.known->lookup(net::read_ipv6(in.data() + net::ipv6::kDst).to_u128());
  if (kd == nullptr || !kd->own) return std::nullopt;
  const PeParams& pe = env.role.pe;
  if (pe.ingress_rate != 0) {
    if (const xlat::KnownPref6* k = env.pe.known->lookup(net::read_ipv6(in.data() + net::ipv6::kSrc).to_u128())) {
      const std::size_t i = PmtuCache::hash(k->pool6.prefix) % ctx.pe_ingress.size();
      if (!ctx.pe_ingress[i].take(ctx.now_ns, RateLimit{pe.ingress_rate, pe.ingress_burst})) {
        return PipelineDrop::kPeRateLimited;
      }
    }
  }
  const uint8_t want = is_4in6(in) ? mapping::kModeEncapsulate : mapping::kModeTranslate;
  if ((pe.accept & want) == 0) return PipelineDrop::kPeModeRefused;
  return std::nullopt;
}

xlat::Verdict pe_step(const Env& env, xlat::Family fam, std::span<const uint8_t> pkt, xlat::Output& out,
                      WorkerContext& ctx) noexcept {
  const PeParams& pe = env.role.pe;
  if (fam == xlat::Family::kV4) {
    // Too short for a destination: the translator names the defect.
    if (pkt.size() < net::ipv4::kMinHeader) return xlat::translate_46(env.xcfg, mapper(env), ctx.xlat, pkt, out);
    const net::Ipv4Addr dst = net::read_ipv4(pkt.data() + net::ipv4::kDst);
    const mapping::MrTarget* t = env.pe.mrdb->lookup(dst);
    if (t == nullptr) {
      return pe.no_rule_unreachable ? xlat::refuse_46(env.xcfg, ctx.xlat, pkt, out, core::Drop::kNoMappingRule, 3, 0)
                                    : xlat::Verdict{xlat::Outcome::kDropped, core::Drop::kNoMappingRule};
    }
    const uint8_t mode = choose_mode(t->modes, pe.prefer);
    if (mode == mapping::kModeTranslate) return xlat::translate_46(env.xcfg, mapper(env, dst, t), ctx.xlat, pkt, out);
    xlat::EncapParams p;
    p.src = mapping::embed(pe.own, net::read_ipv4(pkt.data() + net::ipv4::kSrc));
    p.dst = mapping::embed(t->pool6, dst);
    p.hop_limit = pe.hop_limit;
    p.tunnel_mtu = pe.core_mtu - static_cast<uint32_t>(net::ipv6::kHeader);
    if (const uint32_t learned = env.pe.pmtu->get(t->pool6.prefix, seconds(ctx)); learned != 0) {
      p.tunnel_mtu = std::min(p.tunnel_mtu, learned);
    }
    return xlat::encapsulate_46(env.xcfg, ctx.xlat, p, pkt, out);
  }

  if (pkt.size() < net::ipv6::kHeader) return xlat::translate_64(env.xcfg, mapper(env), ctx.xlat, pkt, out);
  if (is_icmp6_error(pkt) && xlat::quotes_encapsulated(pkt)) {
    // RFC 2473 8: about one of our tunnel packets (its quoted outer source
    // is one of our Pref6, else it is none of our business); a Packet Too
    // Big lowers the tunnel MTU towards that egress for every worker.
    constexpr std::size_t kQuotedSrc = net::ipv6::kHeader + 8 + net::ipv6::kSrc;
    if (pkt.size() < kQuotedSrc + 16) return {xlat::Outcome::kDropped, core::Drop::kBadInnerPacket};
    const xlat::KnownPref6* qs = env.pe.known->lookup(net::read_ipv6(pkt.data() + kQuotedSrc).to_u128());
    if (qs == nullptr || !qs->own) return {xlat::Outcome::kDropped, core::Drop::kNotOwnPref6};
    xlat::TunnelError learned;
    const xlat::Verdict v = xlat::tunnel_icmp6_error(env.xcfg, ctx.xlat, pkt, out, learned);
    if (learned.pmtu) {
      if (const xlat::KnownPref6* k = env.pe.known->lookup(learned.egress.to_u128())) {
        env.pe.pmtu->lower(k->pool6.prefix, learned.mtu, seconds(ctx), pe.pmtu_timeout_s);
      }
    }
    return v;
  }
  const net::Ipv6Addr dst = net::read_ipv6(pkt.data() + net::ipv6::kDst);
  const xlat::KnownPref6* kd = env.pe.known->lookup(dst.to_u128());
  if (kd == nullptr || !kd->own) return {xlat::Outcome::kDropped, core::Drop::kNotOwnPref6};
  if (!is_4in6(pkt)) {
    return xlat::translate_64(env.xcfg, mapper(env), ctx.xlat, pkt, out);
  }
  const net::Ipv6Addr src = net::read_ipv6(pkt.data() + net::ipv6::kSrc);
  const xlat::KnownPref6* ks = env.pe.known->lookup(src.to_u128());
  if (ks == nullptr) return {xlat::Outcome::kDropped, core::Drop::kPeUnknownSource};
  auto s4 = mapping::extract(ks->pool6, src);
  auto d4 = mapping::extract(kd->pool6, dst);
  if (!s4 || !d4) return {xlat::Outcome::kDropped, core::Drop::kPeUnknownSource};
  return xlat::decapsulate_64(env.xcfg, ctx.xlat, xlat::DecapExpect{*s4, *d4}, pkt, out);
}

}  // namespace edge46::pipeline
