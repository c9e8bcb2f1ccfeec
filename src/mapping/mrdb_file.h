// Rules file of the MR-DB: a plain line format for loading large rule sets
// fast (the TOML configuration only names the file).
//
//   # comment; blank lines are ignored, and so is anything after '#'
//   <ipv4-prefix> <pref6-prefix> [translate|encapsulate|both] [low32|rfc6052] [pref=N]
//
//   198.51.100.0/24  2001:db8:100::/40
//   203.0.113.0/25   2001:db8:200::/96  encapsulate rfc6052 pref=200
//   0.0.0.0/0        2001:db8:ffff::/48 both            # the default rule
//
// The optional words come in any order, each at most once; defaults: both,
// low32 (IPv4 in the last 32 bits, the framework's Table 1), pref=100. Both
// prefixes must have their host bits clear; the Pref6 must suit its layout
// (validate_pool6: at most /96 for low32; 32/40/48/56/64/96 with a zero
// u-octet for rfc6052). Fields are separated by spaces or tabs; CRLF line
// ends are accepted. A prefix repeated in one file is not an error here:
// applied in order (MrDb::upsert or replace_source), the last line wins.
//
// Errors name the line: "line 12: Pref6 2001:db8::/100: low32 layout needs a
// prefix of at most 96 bits". Parsing allocates only the result vector
// (sized once from the number of lines) and the error message.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "mapping/mrdb.h"

namespace edge46::mapping {

tl::expected<std::vector<MrRule>, std::string> parse_rules(std::string_view text, RuleSource src);
// Reads the whole file, then parse_rules; errors start with the path
// ("rules.txt: line 3: ...").
tl::expected<std::vector<MrRule>, std::string> load_rules_file(const std::string& path, RuleSource src);

// One rule in the file's syntax (every optional word spelled out), without
// a newline: parse_rules(format_rule(r), r.source) gives back r.
std::string format_rule(const MrRule& r);

}  // namespace edge46::mapping
