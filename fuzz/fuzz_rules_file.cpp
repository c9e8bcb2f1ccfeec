// libFuzzer: the MR-DB rules file (src/mapping/mrdb_file.h). Input = file
// text. Checks: no crash and no read outside the input (ASan); every
// accepted rule has no host bits in either prefix, a Pref6 that suits its
// layout and modes 1-3; format_rule() of the rules parses back to the same
// rules; applied to an MrDb (the first 64 rules of length 0 or >= 12, so an
// input stays fast), lookup() and match() agree with a naive longest-prefix
// search at both ends of every rule; remove_source() empties it again.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "mapping/mrdb.h"
#include "mapping/mrdb_file.h"

using namespace edge46;
using namespace edge46::mapping;

#define CHECK(cond, ...)                                     \
  do {                                                       \
    if (!(cond)) {                                           \
      std::fprintf(stderr, "invariant broken: %s: ", #cond); \
      std::fprintf(stderr, __VA_ARGS__);                     \
      std::fprintf(stderr, "\n");                            \
      __builtin_trap();                                      \
    }                                                        \
  } while (0)

namespace {

// The naive answer: among the applied rules (the last one per prefix wins,
// as upsert does), the longest prefix containing a.
const MrRule* naive(const std::vector<MrRule>& applied, uint32_t a) {
  const MrRule* best = nullptr;
  for (const auto& r : applied) {
    if (!r.prefix.contains(net::Ipv4Addr{a})) continue;
    if (best == nullptr || r.prefix.len >= best->prefix.len) best = &r;  // later lines win ties
  }
  return best;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MrDb* db = new MrDb(MrDb::Limits{1024, 256});
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rules = parse_rules(text, RuleSource::kConfig);
  if (!rules) {
    CHECK(rules.error().rfind("line ", 0) == 0, "error without a line number: %s", rules.error().c_str());
    return 0;
  }
  std::string again;
  for (const auto& r : *rules) {
    CHECK(validate_rule(r).empty(), "accepted an invalid rule: %s", validate_rule(r).c_str());
    again += format_rule(r) + "\n";
  }
  auto back = parse_rules(again, RuleSource::kConfig);
  CHECK(back && *back == *rules, "format_rule does not round-trip: %s", again.c_str());

  std::vector<MrRule> applied;
  for (const auto& r : *rules) {
    if (applied.size() == 64) break;
    if (r.prefix.len != 0 && r.prefix.len < 12) continue;
    auto ok = db->upsert(r);
    CHECK(ok.has_value(), "upsert refused a parsed rule: %s", ok ? "" : ok.error().c_str());
    std::erase_if(applied, [&](const MrRule& x) { return x.prefix == r.prefix; });
    applied.push_back(r);
  }
  for (const auto& r : applied) {
    const uint32_t first = r.prefix.addr.value, last = first | ~net::mask4(r.prefix.len);
    for (uint32_t a : {first, last, first - 1, last + 1}) {
      const MrRule* want = naive(applied, a);
      const MrTarget* got = db->lookup(net::Ipv4Addr{a});
      CHECK((want == nullptr) == (got == nullptr), "lookup presence differs at %08x", a);
      if (want != nullptr) {
        CHECK(*got == want->target, "lookup target differs at %08x", a);
        auto m = db->match(net::Ipv4Addr{a});
        CHECK(m && *m == *want, "match differs at %08x", a);
      }
    }
  }
  CHECK(db->remove_source(RuleSource::kConfig) == applied.size(), "remove_source count");
  db->reclaim();  // single-threaded: no reader can hold anything
  const auto st = db->stats();
  CHECK(st.rules == 0 && st.targets == 0 && st.tbl8_groups_used == 0, "not empty after remove_source");
  return 0;
}
