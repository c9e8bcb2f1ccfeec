// mapping/mrdb_file: the rules-file parser, with expected rules written out
// by hand (prefixes through inet_pton via the literal helpers).
#include "mapping/mrdb_file.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <fstream>

#include "support/literals.h"

namespace edge46::mapping {
namespace {

using support::p4;
using support::p6;

MrRule r(const char* v4, const char* v6, uint8_t modes = kModeBoth, Pool6Layout l = Pool6Layout::kLow32,
         uint32_t pref = 100, RuleSource s = RuleSource::kConfig) {
  return MrRule{p4(v4), MrTarget{Pool6{p6(v6), l}, modes}, s, pref};
}

TEST(RulesFile, ParsesLinesWithDefaultsAndOptions) {
  const char* text =
      "# MR-DB rules\n"
      "\n"
      "198.51.100.0/24  2001:db8:100::/40\n"
      "203.0.113.0/25\t2001:db8:200::/96 encapsulate rfc6052 pref=200\r\n"
      "   0.0.0.0/0 2001:db8:ffff::/48 both # the default rule\n"
      "192.0.2.7 2001:db8:1::/64 pref=0 rfc6052 translate\n"
      "10.0.0.0/8 2001:db8:2::/96 low32 pref=4294967295";  // no final newline
  auto got = parse_rules(text, RuleSource::kLocal);
  ASSERT_TRUE(got) << got.error();
  const std::vector<MrRule> want = {
      r("198.51.100.0/24", "2001:db8:100::/40", kModeBoth, Pool6Layout::kLow32, 100, RuleSource::kLocal),
      r("203.0.113.0/25", "2001:db8:200::/96", kModeEncapsulate, Pool6Layout::kRfc6052, 200, RuleSource::kLocal),
      r("0.0.0.0/0", "2001:db8:ffff::/48", kModeBoth, Pool6Layout::kLow32, 100, RuleSource::kLocal),
      r("192.0.2.7/32", "2001:db8:1::/64", kModeTranslate, Pool6Layout::kRfc6052, 0, RuleSource::kLocal),
      r("10.0.0.0/8", "2001:db8:2::/96", kModeBoth, Pool6Layout::kLow32, 4294967295u, RuleSource::kLocal),
  };
  EXPECT_EQ(*got, want);
}

TEST(RulesFile, EmptyAndCommentsOnly) {
  EXPECT_TRUE(parse_rules("", RuleSource::kConfig)->empty());
  EXPECT_TRUE(parse_rules("# x\n\n   \t\n#", RuleSource::kConfig)->empty());
}

TEST(RulesFile, ErrorsNameTheLine) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"192.0.2.0/24\n", "line 1: expected '<ipv4-prefix> <pref6-prefix>"},
      {"\n\n192.0.2.1/24 2001:db8::/40\n", "line 3: IPv4 prefix '192.0.2.1/24' has host bits set"},
      {"192.0.2.0/33 2001:db8::/40\n", "line 1: bad IPv4 prefix '192.0.2.0/33'"},
      {"192.0.2.0/24 2001:db8::1/40\n", "line 1: Pref6 '2001:db8::1/40' has host bits set"},
      {"192.0.2.0/24 2001:db8::/40x\n", "line 1: bad Pref6 '2001:db8::/40x'"},
      {"192.0.2.0/24 2001:db8::/100\n", "line 1: Pref6 2001:db8::/100: low32 layout needs a prefix of at most 96"},
      {"192.0.2.0/24 2001:db8::/44 rfc6052\n", "line 1: Pref6 2001:db8::/44: RFC 6052 prefix length must be"},
      {"192.0.2.0/24 2001:db8::/40 rfc6052\n", "line 1: Pref6 2001:db8::/40: RFC 6052"},  // passes: /40 is valid
      {"192.0.2.0/24 2001:db8::/40 both both\n", "line 1: mode given twice"},
      {"192.0.2.0/24 2001:db8::/40 low32 rfc6052\n", "line 1: layout given twice"},
      {"192.0.2.0/24 2001:db8::/40 pref=1 pref=2\n", "line 1: pref given twice"},
      {"192.0.2.0/24 2001:db8::/40 pref=\n", "line 1: bad preference ''"},
      {"192.0.2.0/24 2001:db8::/40 pref=4294967296\n", "line 1: bad preference '4294967296'"},
      {"192.0.2.0/24 2001:db8::/40 pref=-1\n", "line 1: bad preference '-1'"},
      {"192.0.2.0/24 2001:db8::/40 fast\n", "line 1: unknown word 'fast'"},
      {"192.0.2.0/24 2001:db8::/40 both low32 pref=1 extra\n", "line 1: unexpected 'extra'"},
  };
  for (const auto& c : cases) {
    auto got = parse_rules(c.text, RuleSource::kConfig);
    if (std::string_view(c.text) == "192.0.2.0/24 2001:db8::/40 rfc6052\n") {
      EXPECT_TRUE(got) << got.error();
      continue;
    }
    ASSERT_FALSE(got) << c.text;
    EXPECT_EQ(got.error().rfind(c.error, 0), 0u) << "got: " << got.error() << "\nwant prefix: " << c.error;
  }
}

TEST(RulesFile, FormatRoundTrips) {
  const std::vector<MrRule> rules = {
      r("198.51.100.0/24", "2001:db8:100::/40"),
      r("203.0.113.0/25", "2001:db8:200::/96", kModeEncapsulate, Pool6Layout::kRfc6052, 7),
      r("0.0.0.0/0", "::/0", kModeTranslate),
  };
  std::string text;
  for (const auto& x : rules) text += format_rule(x) + "\n";
  EXPECT_EQ(format_rule(rules[1]), "203.0.113.0/25 2001:db8:200::/96 encapsulate rfc6052 pref=7");
  auto back = parse_rules(text, RuleSource::kConfig);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, rules);
}

TEST(RulesFile, LoadFileAndApply) {
  const std::string path = "/tmp/edge46-mrdb-file-test-" + std::to_string(::getpid()) + ".rules";
  std::ofstream(path) << "192.0.2.0/24 2001:db8:1::/48\n192.0.2.128/25 2001:db8:2::/48 encapsulate\n";
  auto rules = load_rules_file(path, RuleSource::kConfig);
  ASSERT_TRUE(rules) << rules.error();
  MrDb db;
  ASSERT_TRUE(db.replace_source(RuleSource::kConfig, *rules));
  EXPECT_EQ(db.lookup(support::v4("192.0.2.200"))->pool6.prefix, p6("2001:db8:2::/48"));
  EXPECT_EQ(db.lookup(support::v4("192.0.2.1"))->pool6.prefix, p6("2001:db8:1::/48"));

  std::ofstream(path) << "# ok\n192.0.2.0/24 2001:db8:1::/48 sideways\n";
  auto bad = load_rules_file(path, RuleSource::kConfig);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().rfind(path + ": line 2: unknown word 'sideways'", 0), 0u) << bad.error();
  std::remove(path.c_str());
  auto missing = load_rules_file(path, RuleSource::kConfig);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("cannot open"), std::string::npos) << missing.error();
}

}  // namespace
}  // namespace edge46::mapping
