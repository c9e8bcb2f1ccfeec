#include "pipeline/pipeline.h"

#include "net/bytes.h"
#include "net/headers.h"
#include "pipeline/loop_guard.h"

namespace edge46::pipeline {

std::optional<Role> parse_role(std::string_view s) noexcept {
  if (s == "siit") return Role::kSiit;
  if (s == "siit-dc-br") return Role::kSiitDcBr;
  if (s == "siit-dc-er") return Role::kSiitDcEr;
  if (s == "pe") return Role::kPe;
  return std::nullopt;
}

std::string_view role_name(Role r) noexcept {
  switch (r) {
    case Role::kSiit: return "siit";
    case Role::kSiitDcBr: return "siit-dc-br";
    case Role::kSiitDcEr: return "siit-dc-er";
    case Role::kPe: return "pe";
  }
  return "unknown";
}

std::optional<xlat::Family> classify(std::span<const uint8_t> in) noexcept {
  if (in.empty()) return std::nullopt;
  switch (in[0] >> 4) {
    case 4: return xlat::Family::kV4;
    case 6: return xlat::Family::kV6;
    default: return std::nullopt;
  }
}

std::optional<PipelineDrop> er_check(const Env& env, xlat::Family ingress, std::span<const uint8_t> in) noexcept {
  const RoleConfig& rcfg = env.role;
  const xlat::Config& xcfg = env.xcfg;
  const mapping::Eamt& eamt = env.eamt;
  if (rcfg.role != Role::kSiitDcEr) return std::nullopt;
  if (ingress == xlat::Family::kV4) {
    // Too short to hold a source: the core names the malformation.
    if (!rcfg.ingress_filter || in.size() < net::ipv4::kMinHeader) return std::nullopt;
    auto src = net::read_ipv4(in.data() + net::ipv4::kSrc);
    if (!eamt.covers_v4(src)) return PipelineDrop::kErIngressFilter;
    return std::nullopt;
  }
  if (!rcfg.drop_own_service_sources || in.size() < net::ipv6::kHeader) return std::nullopt;
  auto src = net::read_ipv6(in.data() + net::ipv6::kSrc);
  // 1) the source is one of the ER's IPv6 service addresses.
  if (eamt.to_v4(src)) return PipelineDrop::kErSpoofedServiceSource;
  // 2) after translation the source equals one of its IPv4 service addresses.
  if (xcfg.pool6) {
    if (auto v4 = mapping::extract(*xcfg.pool6, src); v4 && eamt.covers_v4(*v4)) {
      return PipelineDrop::kErSpoofedServiceSource;
    }
  }
  return std::nullopt;
}

namespace {

enum class Gather : uint8_t { kPass, kHeld, kDropped, kComplete };

// Hands an ICMP fragment to the worker's reassembly table. kPass for every
// other packet, including malformed ones: the core names their defect.
Gather gather_fragment(WorkerContext& ctx, xlat::Family fam, std::span<const uint8_t> in, Counters& c,
                       PipelineDrop& why) noexcept {
  Reassembler& ra = ctx.reassembly;
  Reassembler::Result res;
  // The cheap tests first: most packets are not fragments.
  if (fam == xlat::Family::kV4) {
    if (in.size() < net::ipv4::kMinHeader || in[net::ipv4::kProtocol] != net::proto::kIcmp ||
        (net::load16(in.data() + net::ipv4::kFlagsFragOff) & (net::ipv4::kFlagMf | net::ipv4::kFragOffMask)) == 0) {
      return Gather::kPass;
    }
    net::Ipv4Packet p;
    if (net::parse_ipv4(in, p, true) != core::Drop::kNone || !Reassembler::wants(p)) return Gather::kPass;
    c.pipeline_drops[static_cast<std::size_t>(PipelineDrop::kReasmTimeout)].add(ra.expire(ctx.now_ns));
    res = ra.add(p, ctx.now_ns);
  } else {
    // Without an extension header there is no Fragment header.
    if (in.size() < net::ipv6::kHeader) return Gather::kPass;
    const uint8_t next = in[net::ipv6::kNextHeader];
    if (next == net::proto::kTcp || next == net::proto::kUdp || next == net::proto::kIcmp6) return Gather::kPass;
    net::Ipv6Packet p;
    if (net::parse_ipv6(in, p) != core::Drop::kNone || !Reassembler::wants(p)) return Gather::kPass;
    c.pipeline_drops[static_cast<std::size_t>(PipelineDrop::kReasmTimeout)].add(ra.expire(ctx.now_ns));
    res = ra.add(p, ctx.now_ns);
  }
  switch (res.status) {
    case Reassembler::Status::kHeld: return Gather::kHeld;
    case Reassembler::Status::kComplete: return Gather::kComplete;
    case Reassembler::Status::kDropped: why = res.reason; return Gather::kDropped;
  }
  return Gather::kPass;
}

// The steps every role shares, in order: classify by version, count the
// input, the role's pre-checks (Pre), reassembly of fragmented ICMP, the
// translation step (Step), the loop guard, the ICMP error rate limit, and
// the counting of the verdict.
template <class Pre, class Step>
Result run(const Env& env, std::span<const uint8_t> in, xlat::Output& out, Counters& c, WorkerContext& ctx, Pre pre,
           Step step) noexcept {
  Result r;
  out.count = 0;
  auto fam = classify(in);
  if (!fam) {
    r.pipeline_drop = PipelineDrop::kNotIp;
    c.drop(PipelineDrop::kNotIp);
    return r;
  }
  const std::size_t fi = *fam == xlat::Family::kV4 ? kV4 : kV6;
  c.packets_in[fi].add();
  c.bytes_in[fi].add(in.size());

  if (auto d = pre(env, *fam, in, ctx)) {
    r.pipeline_drop = d;
    c.drop(*d);
    return r;
  }

  // Fragmented ICMP: the checksum covers the whole message, so it is
  // reassembled here and translated whole (see reassembly.h).
  std::span<const uint8_t> pkt = in;
  bool reassembled = false;
  if (ctx.reassembly.enabled()) {
    PipelineDrop why = PipelineDrop::kCount;
    switch (gather_fragment(ctx, *fam, in, c, why)) {
      case Gather::kPass: break;
      case Gather::kHeld:
        c.reasm_held.add();
        r.held = true;
        return r;
      case Gather::kDropped:
        r.pipeline_drop = why;
        c.drop(why);
        return r;
      case Gather::kComplete:
        c.reassembled.add();
        pkt = ctx.reassembly.datagram();
        reassembled = true;
        break;
    }
  }

  out.reassembled = reassembled;
  r.verdict = step(env, *fam, pkt, out, ctx);
  out.reassembled = false;
  if (auto d = loop_guard(env.xcfg, env.tun_routes, *fam, pkt, r.verdict, out)) {
    r.verdict = {xlat::Outcome::kDropped, *d};
  }
  switch (r.verdict.outcome) {
    case xlat::Outcome::kTranslated: c.translated.add(); break;
    case xlat::Outcome::kHairpinned: c.hairpinned.add(); break;
    case xlat::Outcome::kEncapsulated: c.encapsulated.add(); break;
    case xlat::Outcome::kDecapsulated: c.decapsulated.add(); break;
    case xlat::Outcome::kIcmpError: {
      // The original packet was not translated (reason says why) and an
      // error goes back to its sender, within the rate limit (RFC 4443
      // 2.4 f, RFC 1812 4.3.2.8). The error leaves on the ingress side.
      c.drop(r.verdict.reason);
      const std::size_t fe = out.count != 0 && out.packets[0].family == xlat::Family::kV4 ? kV4 : kV6;
      if (!ctx.icmp_errors[fe].take(ctx.now_ns, ctx.icmp_limit)) {
        r.verdict.outcome = xlat::Outcome::kDropped;
        r.pipeline_drop = PipelineDrop::kIcmpErrorRateLimited;
        c.drop(PipelineDrop::kIcmpErrorRateLimited);
        out.count = 0;
        return r;
      }
      c.icmp_errors.add();
      break;
    }
    case xlat::Outcome::kDropped:
      c.drop(r.verdict.reason);
      out.count = 0;
      return r;
  }
  for (uint32_t i = 0; i < out.count; ++i) {
    const auto& p = out.packets[i];
    const std::size_t fo = p.family == xlat::Family::kV4 ? kV4 : kV6;
    c.packets_out[fo].add();
    c.bytes_out[fo].add(p.length);
  }
  return r;
}

std::optional<PipelineDrop> no_checks(const Env&, xlat::Family, std::span<const uint8_t>, WorkerContext&) noexcept {
  return std::nullopt;
}

std::optional<PipelineDrop> er_checks(const Env& env, xlat::Family fam, std::span<const uint8_t> in,
                                      WorkerContext&) noexcept {
  return er_check(env, fam, in);
}

xlat::Verdict siit_step(const Env& env, xlat::Family fam, std::span<const uint8_t> pkt, xlat::Output& out,
                        WorkerContext& ctx) noexcept {
  return xlat::translate(env.xcfg, xlat::SiitMapper{env.xcfg, env.eamt}, ctx.xlat, fam, pkt, out);
}

// siit, siit-dc-br: RFC 7915 with the SIIT mapper.
Result process_siit(const Env& env, std::span<const uint8_t> in, xlat::Output& out, Counters& c,
                    WorkerContext& ctx) noexcept {
  return run(env, in, out, c, ctx, no_checks, siit_step);
}

// siit-dc-er: the RFC 7756 6 checks, then SIIT.
Result process_er(const Env& env, std::span<const uint8_t> in, xlat::Output& out, Counters& c,
                  WorkerContext& ctx) noexcept {
  return run(env, in, out, c, ctx, er_checks, siit_step);
}

// pe: the PE's classification and checks, then translate or tunnel (pe.h).
Result process_pe(const Env& env, std::span<const uint8_t> in, xlat::Output& out, Counters& c,
                  WorkerContext& ctx) noexcept {
  return run(env, in, out, c, ctx, pe_check, pe_step);
}

}  // namespace

Composition composition(Role r) noexcept {
  switch (r) {
    case Role::kSiit:
    case Role::kSiitDcBr: return process_siit;
    case Role::kSiitDcEr: return process_er;
    case Role::kPe: return process_pe;
  }
  return process_siit;
}

}  // namespace edge46::pipeline
