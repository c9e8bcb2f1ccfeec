// Helpers on the value types of the rule exchange (types.h).
#include "bgp/types.h"

namespace edge46::bgp {

uint32_t as_path_length(const std::vector<AsSegment>& path) noexcept {
  uint32_t n = 0;
  for (const auto& seg : path) {
    if (seg.type == 2) {
      n += static_cast<uint32_t>(seg.asns.size());
    } else if (seg.type == 1) {
      n += 1;  // RFC 4271 9.1.2.2 a: an AS_SET counts as 1
    }
    // RFC 5065 5.3: AS_CONFED_SEQUENCE (3) and AS_CONFED_SET (4) count 0.
  }
  return n;
}

std::optional<uint32_t> origin_as(const std::vector<AsSegment>& path) noexcept {
  // RFC 6811 2: the origin is the rightmost AS of the final segment when that
  // segment is an AS_SEQUENCE; otherwise there is none (NONE).
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    if (it->asns.empty()) continue;
    if (it->type == 2) return it->asns.back();
    if (it->type == 1) return std::nullopt;
    // confederation segments before the final one are skipped only when they
    // are the whole path (origin inside our confederation): keep looking.
  }
  return std::nullopt;
}

std::string to_string(const std::vector<AsSegment>& path) {
  std::string out;
  for (const auto& seg : path) {
    const bool set = seg.type == 1 || seg.type == 4;
    const bool confed = seg.type == 3 || seg.type == 4;
    if (!out.empty()) out += ' ';
    out += confed ? "(" : "";
    out += set ? "{" : "";
    for (std::size_t i = 0; i < seg.asns.size(); ++i) {
      if (i) out += set ? "," : " ";
      out += std::to_string(seg.asns[i]);
    }
    out += set ? "}" : "";
    out += confed ? ")" : "";
  }
  return out;
}

std::string describe(const Notification& n) {
  static constexpr const char* kCodes[] = {"",
                                           "Message Header Error",
                                           "OPEN Message Error",
                                           "UPDATE Message Error",
                                           "Hold Timer Expired",
                                           "FSM Error",
                                           "Cease",
                                           "ROUTE-REFRESH Message Error"};
  std::string s = n.code < std::size(kCodes) && n.code > 0 ? kCodes[n.code] : "code " + std::to_string(n.code);
  if (n.code == err::kCease) {
    static constexpr const char* kCease[] = {"",
                                             "Maximum Number of Prefixes Reached",
                                             "Administrative Shutdown",
                                             "Peer De-configured",
                                             "Administrative Reset",
                                             "Connection Rejected",
                                             "Other Configuration Change",
                                             "Connection Collision Resolution",
                                             "Out of Resources"};
    if (n.subcode > 0 && n.subcode < std::size(kCease)) return s + " / " + kCease[n.subcode];
  }
  return s + " / subcode " + std::to_string(n.subcode);
}

}  // namespace edge46::bgp
