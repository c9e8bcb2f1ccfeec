// Per-peer policy of the rule exchange and the rule authorization file
// (framework section 7.2: the default rule stays inside the domain; MOA-style
// authorization of IPv4 prefix -> Pref6).
//
// Prefix lists (import/export filters), in the style of BIRD's and FRR's:
// "PREFIX" matches exactly that prefix; "PREFIX le N" that prefix and every
// longer one up to /N inside it; "PREFIX ge M" every prefix inside it of
// length M..32; "PREFIX ge M le N" both. An empty list accepts everything;
// a non-empty one accepts what any entry matches and refuses the rest.
//
// Authorization file (reloaded when it changes), one tuple per line, '#'
// comments:
//     IPV4-PREFIX [maxlen N] PREF6 [as ASN]
// e.g. "192.0.2.0/24 maxlen 26 2001:db8:3::/48 as 65003". Validation of a
// received rule (prefix P, Pref6 X, origin AS A) follows RFC 6811 2:
//   - NotFound: no tuple's IPv4 prefix covers P;
//   - Valid: some covering tuple has P.len <= maxlen (default: its own
//     length), Pref6 == X, and (no AS in the tuple, or AS == A);
//   - Invalid: covered, but no covering tuple matches.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "net/addr.h"

namespace edge46::bgp {

struct PrefixListEntry {
  net::Ipv4Prefix prefix;
  uint8_t ge = 0;  // 0: the prefix's own length
  uint8_t le = 0;  // 0: 32 if ge is set, else the prefix's own length
  friend bool operator==(const PrefixListEntry&, const PrefixListEntry&) = default;
};

class PrefixList {
 public:
  PrefixList() = default;
  // Each string as in the header; the first bad one refused with the reason
  // (host bits, ge/le out of len..32, ge > le).
  static tl::expected<PrefixList, std::string> parse(const std::vector<std::string>& entries);
  bool empty() const noexcept { return entries_.empty(); }
  bool accepts(net::Ipv4Prefix p) const noexcept;
  const std::vector<PrefixListEntry>& entries() const noexcept { return entries_; }
  friend bool operator==(const PrefixList&, const PrefixList&) = default;

 private:
  std::vector<PrefixListEntry> entries_;
};

enum class Validity : uint8_t { kNotFound, kValid, kInvalid };
std::string_view validity_name(Validity v) noexcept;  // "not-found", "valid", "invalid"

struct AuthTuple {
  net::Ipv4Prefix prefix;
  uint8_t max_length = 0;  // >= prefix.len
  net::Ipv6Prefix pref6;
  std::optional<uint32_t> asn;
  friend bool operator==(const AuthTuple&, const AuthTuple&) = default;
};

class Authorization {
 public:
  Authorization() = default;
  // The whole text; errors name the line ("line 3: ...").
  static tl::expected<Authorization, std::string> parse(std::string_view text);
  static tl::expected<Authorization, std::string> load(const std::string& path);

  Validity validate(net::Ipv4Prefix p, const net::Ipv6Prefix& pref6, std::optional<uint32_t> origin_as) const;
  std::size_t size() const noexcept { return tuples_.size(); }
  const std::vector<AuthTuple>& tuples() const noexcept { return tuples_; }

 private:
  std::vector<AuthTuple> tuples_;  // sorted by prefix (for the covering search)
};

}  // namespace edge46::bgp
