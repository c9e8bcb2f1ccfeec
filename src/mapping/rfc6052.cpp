#include "mapping/rfc6052.h"

namespace edge46::mapping {

bool rfc6052_length_valid(unsigned len) noexcept {
  return len == 32 || len == 40 || len == 48 || len == 56 || len == 64 || len == 96;
}

std::string_view validate_pool6(const Pool6& p) noexcept {
  if (p.layout == Pool6Layout::kRfc6052) {
    if (!rfc6052_length_valid(p.prefix.len)) return "RFC 6052 prefix length must be 32, 40, 48, 56, 64 or 96";
    if (p.prefix.len < 96 && p.prefix.addr.bytes[8] != 0) return "u-octet (bits 64-71) of the prefix must be zero";
  } else if (p.prefix.len > 96) {
    return "low32 layout needs a prefix of at most 96 bits";
  }
  return {};
}

std::string_view layout_name(Pool6Layout l) noexcept {
  return l == Pool6Layout::kLow32 ? "low32" : "rfc6052";
}
std::optional<Pool6Layout> parse_layout(std::string_view s) noexcept {
  if (s == "rfc6052") return Pool6Layout::kRfc6052;
  if (s == "low32") return Pool6Layout::kLow32;
  return std::nullopt;
}

}  // namespace edge46::mapping
