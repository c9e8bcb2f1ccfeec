#include "daemon/state.h"

#include "daemon/routes4.h"

namespace edge46::daemon {

tl::expected<std::unique_ptr<Snapshot>, std::string> make_snapshot(config::Settings s, uint64_t generation) {
  auto role = pipeline::parse_role(s.daemon.role);
  if (!role) {
    return tl::unexpected("daemon.role: unknown role '" + s.daemon.role + "' (siit, siit-dc-br, siit-dc-er, pe)");
  }
  auto why = s.xlat.validate();
  if (!why.empty()) {
    return tl::unexpected("translator: " + why);
  }
  auto snap = std::make_unique<Snapshot>();
  snap->role.role = *role;
  snap->role.ingress_filter = s.siit_dc.ingress_filter;
  snap->role.drop_own_service_sources = s.siit_dc.drop_own_service_sources;
  if (*role == pipeline::Role::kPe) {
    const auto& pe = s.pe;
    if (pe.prefixes.empty()) return tl::unexpected(std::string("pe.prefixes: role pe needs at least one Pref6"));
    for (const auto& name : pe.kernel_routes.protocols) {
      if (auto proto = parse_route_protocol(name); !proto) {
        return tl::unexpected("pe.kernel-routes.protocols: " + proto.error());
      }
    }
    auto& p = snap->role.pe;
    p.own = pe.prefixes.front();
    p.accept = pe.accept;
    p.prefer = pe.prefer;
    p.hop_limit = pe.hop_limit;
    p.core_mtu = pe.core_mtu;
    p.pmtu_timeout_s = pe.pmtu_timeout_s;
    p.no_rule_unreachable = pe.no_rule_unreachable;
    p.ingress_rate = pe.ingress_rate;
    p.ingress_burst = pe.ingress_burst;
  }
  snap->settings = std::move(s);
  snap->generation = generation;
  return snap;
}

}  // namespace edge46::daemon
