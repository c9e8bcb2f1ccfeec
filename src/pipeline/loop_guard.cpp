#include "pipeline/loop_guard.h"

#include "net/headers.h"

namespace edge46::pipeline {

std::optional<core::Drop> loop_guard(const xlat::Config& xcfg, const TunRoutes* routes, xlat::Family ingress,
                                     std::span<const uint8_t> in, const xlat::Verdict& v,
                                     const xlat::Output& out) noexcept {
  // Errors and drops are left alone (see the header: they cannot cycle).
  if (v.outcome != xlat::Outcome::kTranslated && v.outcome != xlat::Outcome::kHairpinned &&
      v.outcome != xlat::Outcome::kEncapsulated) {
    return std::nullopt;
  }
  // translate() parsed the input, so its fixed header is there.
  if (ingress == xlat::Family::kV4) {
    if (xcfg.own_ipv4 && in.size() >= net::ipv4::kMinHeader &&
        net::read_ipv4(in.data() + net::ipv4::kDst) == *xcfg.own_ipv4) {
      return core::Drop::kToOwnAddress;
    }
  } else if (xcfg.own_ipv6 && in.size() >= net::ipv6::kHeader &&
             net::read_ipv6(in.data() + net::ipv6::kDst) == *xcfg.own_ipv6) {
    return core::Drop::kToOwnAddress;
  }
  if (routes == nullptr || out.count == 0) {
    return std::nullopt;
  }
  // Every fragment has the destination of the first one. A 4->6 translation
  // and a hairpin leave as IPv6; a 6->4 translation leaves as IPv4 and is not
  // checked (one more pass is RFC 7757's hairpin through routing).
  const auto& first = out.packets[0];
  if (first.family != xlat::Family::kV6 || first.length < net::ipv6::kHeader) {
    return std::nullopt;
  }
  if (routes->into_tun(net::read_ipv6(out.buffer.data() + first.offset + net::ipv6::kDst))) {
    return core::Drop::kRoutingLoop;
  }
  return std::nullopt;
}

}  // namespace edge46::pipeline
