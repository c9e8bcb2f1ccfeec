#include "xlat/config.h"

namespace edge46::xlat {

std::string Config::validate() const {
  if (pool6) {
    auto why = mapping::validate_pool6(*pool6);
    if (!why.empty()) return "pool6: " + std::string(why);
  }
  if (lowest_ipv6_mtu < 1280 || lowest_ipv6_mtu > 65535) return "lowest-ipv6-mtu must be within 1280..65535";
  if (ipv6_mtu < 1280 || ipv6_mtu > 65535) return "ipv6 MTU must be within 1280..65535";
  if (ipv4_mtu < 68 || ipv4_mtu > 65535) return "ipv4 MTU must be within 68..65535";
  for (auto p : mtu_plateaus) {
    if (p < 68) return "mtu-plateaus values must be at least 68";
  }
  return {};
}

}  // namespace edge46::xlat
