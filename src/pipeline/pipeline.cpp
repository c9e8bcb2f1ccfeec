#include "pipeline/pipeline.h"

#include "net/headers.h"
#include "pipeline/loop_guard.h"

namespace edge46::pipeline {

std::optional<Role> parse_role(std::string_view s) noexcept {
  if (s == "siit") return Role::kSiit;
  if (s == "siit-dc-br") return Role::kSiitDcBr;
  if (s == "siit-dc-er") return Role::kSiitDcEr;
  return std::nullopt;
}

std::string_view role_name(Role r) noexcept {
  switch (r) {
    case Role::kSiit: return "siit";
    case Role::kSiitDcBr: return "siit-dc-br";
    case Role::kSiitDcEr: return "siit-dc-er";
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

std::optional<PipelineDrop> er_check(const xlat::Config& xcfg, const RoleConfig& rcfg, xlat::Family ingress,
                                     std::span<const uint8_t> in) noexcept {
  if (rcfg.role != Role::kSiitDcEr) return std::nullopt;
  if (ingress == xlat::Family::kV4) {
    // Too short to hold a source: the core names the malformation.
    if (!rcfg.ingress_filter || in.size() < net::ipv4::kMinHeader) return std::nullopt;
    auto src = net::read_ipv4(in.data() + net::ipv4::kSrc);
    if (!xcfg.eamt.covers_v4(src)) return PipelineDrop::kErIngressFilter;
    return std::nullopt;
  }
  if (!rcfg.drop_own_service_sources || in.size() < net::ipv6::kHeader) return std::nullopt;
  auto src = net::read_ipv6(in.data() + net::ipv6::kSrc);
  // 1) the source is one of the ER's IPv6 service addresses.
  if (xcfg.eamt.to_v4(src)) return PipelineDrop::kErSpoofedServiceSource;
  // 2) after translation the source equals one of its IPv4 service addresses.
  if (xcfg.pool6) {
    if (auto v4 = mapping::extract(*xcfg.pool6, src); v4 && xcfg.eamt.covers_v4(*v4)) {
      return PipelineDrop::kErSpoofedServiceSource;
    }
  }
  return std::nullopt;
}

Result process(const xlat::Config& xcfg, const RoleConfig& rcfg, std::span<const uint8_t> in, xlat::Output& out,
               Counters& c) noexcept {
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

  if (auto d = er_check(xcfg, rcfg, *fam, in)) {
    r.pipeline_drop = d;
    c.drop(*d);
    return r;
  }

  r.verdict = xlat::translate(xcfg, *fam, in, out);
  if (auto d = loop_guard(xcfg, rcfg.tun_routes, *fam, in, r.verdict, out)) {
    r.verdict = {xlat::Outcome::kDropped, *d};
  }
  switch (r.verdict.outcome) {
    case xlat::Outcome::kTranslated: c.translated.add(); break;
    case xlat::Outcome::kHairpinned: c.hairpinned.add(); break;
    case xlat::Outcome::kIcmpError:
      // The original packet was not translated (reason says why) and an
      // error goes back to its sender.
      c.icmp_errors.add();
      c.drop(r.verdict.reason);
      break;
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

}  // namespace edge46::pipeline
