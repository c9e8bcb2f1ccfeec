#include "core/drop_reason.h"

#include <array>

namespace edge46::core {
namespace {
constexpr std::array<std::string_view, kDropCount> kNames = {
#define EDGE46_X(e, n, d) n,
    EDGE46_DROP_REASONS(EDGE46_X)
#undef EDGE46_X
};
constexpr std::array<std::string_view, kDropCount> kDescriptions = {
#define EDGE46_X(e, n, d) d,
    EDGE46_DROP_REASONS(EDGE46_X)
#undef EDGE46_X
};
}  // namespace

std::string_view drop_name(Drop d) noexcept {
  auto i = static_cast<std::size_t>(d);
  return i < kDropCount ? kNames[i] : std::string_view{"unknown"};
}
std::string_view drop_description(Drop d) noexcept {
  auto i = static_cast<std::size_t>(d);
  return i < kDropCount ? kDescriptions[i] : std::string_view{"unknown"};
}

}  // namespace edge46::core
