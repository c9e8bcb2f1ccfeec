#include "daemon/state.h"

namespace edge46::daemon {

tl::expected<std::unique_ptr<Snapshot>, std::string> make_snapshot(config::Settings s, uint64_t generation) {
  auto role = pipeline::parse_role(s.daemon.role);
  if (!role) {
    return tl::unexpected("daemon.role: unknown role '" + s.daemon.role + "' (siit, siit-dc-br, siit-dc-er)");
  }
  auto why = s.xlat.validate();
  if (!why.empty()) {
    return tl::unexpected("translator: " + why);
  }
  auto snap = std::make_unique<Snapshot>();
  snap->role.role = *role;
  snap->role.ingress_filter = s.siit_dc.ingress_filter;
  snap->role.drop_own_service_sources = s.siit_dc.drop_own_service_sources;
  snap->settings = std::move(s);
  snap->generation = generation;
  return snap;
}

}  // namespace edge46::daemon
