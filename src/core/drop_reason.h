// The one table of drop reasons. Counters, `edge46ctl stats`, the replay
// tool and the docs are all generated from this list; nothing is dropped
// without one of these names.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/reasons.h"

namespace edge46::core {

enum class Drop : uint8_t {
#define EDGE46_X(e, n, d) e,
  EDGE46_DROP_REASONS(EDGE46_X)
#undef EDGE46_X
      kCount
};

inline constexpr std::size_t kDropCount = static_cast<std::size_t>(Drop::kCount);

std::string_view drop_name(Drop d) noexcept;
std::string_view drop_description(Drop d) noexcept;

}  // namespace edge46::core
