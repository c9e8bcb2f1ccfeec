#include "xlat/translate.h"

namespace edge46::xlat {

Verdict translate(const Config& cfg, Family ingress, std::span<const uint8_t> in, Output& out) noexcept {
  return ingress == Family::kV4 ? translate_46(cfg, in, out) : translate_64(cfg, in, out);
}

}  // namespace edge46::xlat
