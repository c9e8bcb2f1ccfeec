// libFuzzer target: the rule authorization file (Authorization::parse) and
// prefix-list entries (PrefixList::parse), both operator-written text.
//
// Input: the whole text. Invariants (a violation traps):
// - parse errors name a line ("line N: ") within the text;
// - accepted tuples have no host bits, len <= maxlen <= 32, and come sorted;
// - validate() agrees with a naive RFC 6811 scan for the tuples' own
//   prefixes and a few derived ones;
// - each input line is also tried as one prefix-list entry: an accepted entry
//   has ge/le inside len..32, matches its own prefix iff its range includes
//   the prefix's length, and never matches a prefix outside it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bgp/policy.h"

using namespace edge46;
using namespace edge46::bgp;

#define CHECK(c)        \
  do {                  \
    if (!(c)) {         \
      __builtin_trap(); \
    }                   \
  } while (0)

namespace {

Validity naive(const Authorization& a, net::Ipv4Prefix p, const net::Ipv6Prefix& x, std::optional<uint32_t> as) {
  bool covered = false;
  for (const auto& t : a.tuples()) {
    if (t.prefix.len > p.len || !t.prefix.contains(p.addr)) continue;
    covered = true;
    if (p.len <= t.max_length && t.pref6 == x && (!t.asn || (as && *t.asn == *as))) return Validity::kValid;
  }
  return covered ? Validity::kInvalid : Validity::kNotFound;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::size_t lines = 1;
  for (char ch : text) lines += ch == '\n';

  auto a = Authorization::parse(text);
  if (!a) {
    CHECK(a.error().rfind("line ", 0) == 0);
    const std::size_t n = std::stoul(a.error().substr(5));
    CHECK(n >= 1 && n <= lines);
  } else {
    const auto& t = a->tuples();
    for (std::size_t i = 0; i < t.size(); ++i) {
      CHECK((t[i].prefix.addr.value & ~net::mask4(t[i].prefix.len)) == 0);
      CHECK(t[i].prefix.len <= t[i].max_length && t[i].max_length <= 32);
      if (i) {
        CHECK(t[i - 1].prefix.addr.value < t[i].prefix.addr.value ||
              (t[i - 1].prefix.addr.value == t[i].prefix.addr.value && t[i - 1].prefix.len <= t[i].prefix.len));
      }
    }
    for (std::size_t i = 0; i < t.size() && i < 64; ++i) {
      const auto& tu = t[i];
      const std::optional<uint32_t> as = tu.asn;
      net::Ipv4Prefix probes[3] = {tu.prefix, tu.prefix, tu.prefix};
      probes[1].len = tu.max_length;
      if (tu.prefix.len > 0) probes[2].len = static_cast<uint8_t>(tu.prefix.len - 1);
      probes[2].addr.value &= net::mask4(probes[2].len);
      for (const auto& q : probes) {
        CHECK(a->validate(q, tu.pref6, as) == naive(*a, q, tu.pref6, as));
        CHECK(a->validate(q, tu.pref6, std::nullopt) == naive(*a, q, tu.pref6, std::nullopt));
      }
    }
  }

  // Each line as a prefix-list entry (the fuzzer's text reused).
  std::size_t pos = 0;
  for (int k = 0; k < 16 && pos <= text.size(); ++k) {
    auto nl = text.find('\n', pos);
    std::string line(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    auto l = PrefixList::parse({line});
    if (!l) {
      CHECK(!l.error().empty());
      continue;
    }
    CHECK(l->entries().size() == 1);
    const auto& e = l->entries()[0];
    const unsigned lo = e.ge ? e.ge : e.prefix.len, hi = e.le ? e.le : (e.ge ? 32u : e.prefix.len);
    CHECK(e.prefix.len <= lo && lo <= hi && hi <= 32);
    CHECK(l->accepts(e.prefix) == (lo == e.prefix.len));
    net::Ipv4Prefix longest{e.prefix.addr, static_cast<uint8_t>(hi)};
    CHECK(l->accepts(longest));
    if (e.prefix.len > 0) {
      // The sibling of the prefix, at the same length, is outside it.
      net::Ipv4Prefix sib{net::Ipv4Addr{e.prefix.addr.value ^ (1u << (32 - e.prefix.len))}, static_cast<uint8_t>(hi)};
      CHECK(!l->accepts(sib));
    }
  }
  return 0;
}
