// Prefix lists and the authorization file (bgp/policy.h). Expectations are
// worked out by hand from the header's rules and RFC 6811 2.
#include "bgp/policy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace edge46::bgp {
namespace {

net::Ipv4Prefix p4(const char* s) {
  return *net::parse_ipv4_prefix(s);
}
net::Ipv6Prefix p6(const char* s) {
  return *net::parse_ipv6_prefix(s);
}

PrefixList list(std::vector<std::string> v) {
  auto l = PrefixList::parse(v);
  EXPECT_TRUE(l) << (l ? "" : l.error());
  return l ? *l : PrefixList{};
}

TEST(PrefixList, EmptyAcceptsEverything) {
  PrefixList l;
  EXPECT_TRUE(l.empty());
  EXPECT_TRUE(l.accepts(p4("10.0.0.0/8")));
  EXPECT_TRUE(l.accepts(p4("0.0.0.0/0")));
}

TEST(PrefixList, Exact) {
  auto l = list({"10.0.0.0/8"});
  EXPECT_TRUE(l.accepts(p4("10.0.0.0/8")));
  EXPECT_FALSE(l.accepts(p4("10.0.0.0/9")));
  EXPECT_FALSE(l.accepts(p4("10.1.0.0/16")));
  EXPECT_FALSE(l.accepts(p4("0.0.0.0/0")));
  EXPECT_FALSE(l.accepts(p4("11.0.0.0/8")));
}

TEST(PrefixList, Le) {
  auto l = list({"192.0.2.0/24 le 26"});
  EXPECT_TRUE(l.accepts(p4("192.0.2.0/24")));
  EXPECT_TRUE(l.accepts(p4("192.0.2.64/26")));
  EXPECT_TRUE(l.accepts(p4("192.0.2.128/25")));
  EXPECT_FALSE(l.accepts(p4("192.0.2.64/27")));
  EXPECT_FALSE(l.accepts(p4("192.0.0.0/23")));  // shorter than the entry
  EXPECT_FALSE(l.accepts(p4("192.0.3.0/24")));  // outside
}

TEST(PrefixList, Ge) {
  auto l = list({"10.0.0.0/8 ge 24"});
  EXPECT_FALSE(l.accepts(p4("10.0.0.0/8")));
  EXPECT_FALSE(l.accepts(p4("10.1.0.0/23")));
  EXPECT_TRUE(l.accepts(p4("10.1.2.0/24")));
  EXPECT_TRUE(l.accepts(p4("10.1.2.3/32")));
  EXPECT_FALSE(l.accepts(p4("11.1.2.0/24")));
}

TEST(PrefixList, GeLe) {
  auto l = list({"10.0.0.0/8 ge 16 le 20"});
  EXPECT_FALSE(l.accepts(p4("10.0.0.0/15")));
  EXPECT_TRUE(l.accepts(p4("10.2.0.0/16")));
  EXPECT_TRUE(l.accepts(p4("10.2.16.0/20")));
  EXPECT_FALSE(l.accepts(p4("10.2.16.0/21")));
  // Order of the keywords does not matter.
  auto m = list({"10.0.0.0/8 le 20 ge 16"});
  EXPECT_EQ(m, l);
}

TEST(PrefixList, GeOwnLengthMeansUpTo32EvenForSlashZero) {
  auto l = list({"0.0.0.0/0 ge 0"});
  EXPECT_TRUE(l.accepts(p4("0.0.0.0/0")));
  EXPECT_TRUE(l.accepts(p4("203.0.113.0/24")));
  auto d = list({"0.0.0.0/0"});
  EXPECT_TRUE(d.accepts(p4("0.0.0.0/0")));
  EXPECT_FALSE(d.accepts(p4("203.0.113.0/24")));
}

TEST(PrefixList, SeveralEntriesAnyMatches) {
  auto l = list({"10.0.0.0/8", "192.0.2.0/24 le 32"});
  EXPECT_TRUE(l.accepts(p4("10.0.0.0/8")));
  EXPECT_TRUE(l.accepts(p4("192.0.2.7/32")));
  EXPECT_FALSE(l.accepts(p4("172.16.0.0/12")));
  EXPECT_EQ(l.entries().size(), 2u);
}

TEST(PrefixList, BadEntriesRefusedWithReason) {
  struct Case {
    const char* entry;
    const char* reason;
  } cases[] = {
      {"10.0.0.1/8", "host bits"},
      {"10.0.0.0/33", "bad IPv4 prefix"},
      {"banana", "bad IPv4 prefix"},
      {"10.0.0.0/16 le 8", "outside 16..32"},
      {"10.0.0.0/16 ge 33", "outside 16..32"},
      {"10.0.0.0/16 ge 24 le 20", "ge 24 > le 20"},
      {"10.0.0.0/16 le", "needs a length"},
      {"10.0.0.0/16 ge 20 ge 21", "given twice"},
      {"10.0.0.0/16 eq 20", "expected 'ge' or 'le'"},
      {"", "empty"},
  };
  for (const auto& c : cases) {
    auto l = PrefixList::parse({"10.0.0.0/8", c.entry});
    ASSERT_FALSE(l) << c.entry;
    EXPECT_NE(l.error().find(c.reason), std::string::npos) << c.entry << " -> " << l.error();
    EXPECT_NE(l.error().find(std::string("'") + c.entry + "'"), std::string::npos) << l.error();
  }
}

TEST(Validity, Names) {
  EXPECT_EQ(validity_name(Validity::kNotFound), "not-found");
  EXPECT_EQ(validity_name(Validity::kValid), "valid");
  EXPECT_EQ(validity_name(Validity::kInvalid), "invalid");
}

TEST(Authorization, ParsesTuplesCommentsBlankLines) {
  auto a = Authorization::parse(
      "# authorization\n"
      "\n"
      "192.0.2.0/24 maxlen 26 2001:db8:3::/48 as 65003   # PE3\n"
      "   \t\n"
      "198.51.100.0/24 2001:db8:4::/48\n"
      "10.0.0.0/8 maxlen 8 2001:db8:5::/48 as AS4200000000\n");
  ASSERT_TRUE(a) << a.error();
  ASSERT_EQ(a->size(), 3u);
  // Sorted by prefix: 10/8, 192.0.2/24, 198.51.100/24.
  EXPECT_EQ(a->tuples()[0], (AuthTuple{p4("10.0.0.0/8"), 8, p6("2001:db8:5::/48"), 4200000000u}));
  EXPECT_EQ(a->tuples()[1], (AuthTuple{p4("192.0.2.0/24"), 26, p6("2001:db8:3::/48"), 65003u}));
  EXPECT_EQ(a->tuples()[2], (AuthTuple{p4("198.51.100.0/24"), 24, p6("2001:db8:4::/48"), std::nullopt}));
}

TEST(Authorization, EmptyTextIsEmpty) {
  auto a = Authorization::parse("");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->size(), 0u);
  EXPECT_EQ(a->validate(p4("10.0.0.0/8"), p6("2001:db8::/48"), 1), Validity::kNotFound);
}

TEST(Authorization, ErrorsNameTheLine) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"# c\n\n10.0.0.1/8 2001:db8::/48\n", "line 3: host bits"},
      {"10.0.0.0/8 2001:db8::/48\nfoo 2001:db8::/48\n", "line 2: bad IPv4 prefix"},
      {"10.0.0.0/8 maxlen 7 2001:db8::/48\n", "line 1: maxlen '7' outside 8..32"},
      {"10.0.0.0/8 maxlen 33 2001:db8::/48\n", "line 1: maxlen '33' outside"},
      {"10.0.0.0/8 maxlen\n", "line 1: 'maxlen' needs a length"},
      {"\n10.0.0.0/8\n", "line 2: missing the Pref6"},
      {"10.0.0.0/8 2001:db8::1/48\n", "line 1: host bits set in Pref6"},
      {"10.0.0.0/8 zz::/48\n", "line 1: bad Pref6"},
      {"10.0.0.0/8 2001:db8::/48 as\n", "line 1: 'as' needs an AS number"},
      {"10.0.0.0/8 2001:db8::/48 as 4294967296\n", "line 1: bad AS number"},
      {"10.0.0.0/8 2001:db8::/48 as 1 extra\n", "line 1: unexpected 'extra'"},
  };
  for (const auto& c : cases) {
    auto a = Authorization::parse(c.text);
    ASSERT_FALSE(a) << c.text;
    EXPECT_EQ(a.error().rfind(c.error, 0), 0u) << c.text << " -> " << a.error();
  }
}

TEST(Authorization, ValidInvalidNotFound) {
  auto a = Authorization::parse(
      "192.0.2.0/24 maxlen 26 2001:db8:3::/48 as 65003\n"
      "198.51.100.0/24 2001:db8:4::/48\n");
  ASSERT_TRUE(a);
  const auto x3 = p6("2001:db8:3::/48"), x4 = p6("2001:db8:4::/48");
  // Exact prefix, right Pref6 and AS.
  EXPECT_EQ(a->validate(p4("192.0.2.0/24"), x3, 65003), Validity::kValid);
  // Within maxlen.
  EXPECT_EQ(a->validate(p4("192.0.2.192/26"), x3, 65003), Validity::kValid);
  // Past maxlen: covered, no match.
  EXPECT_EQ(a->validate(p4("192.0.2.192/27"), x3, 65003), Validity::kInvalid);
  // Wrong Pref6, wrong AS, no AS.
  EXPECT_EQ(a->validate(p4("192.0.2.0/24"), x4, 65003), Validity::kInvalid);
  EXPECT_EQ(a->validate(p4("192.0.2.0/24"), x3, 65004), Validity::kInvalid);
  EXPECT_EQ(a->validate(p4("192.0.2.0/24"), x3, std::nullopt), Validity::kInvalid);
  // Pref6 of another length is another Pref6.
  EXPECT_EQ(a->validate(p4("192.0.2.0/24"), p6("2001:db8:3::/56"), 65003), Validity::kInvalid);
  // A tuple without AS: any origin, none included.
  EXPECT_EQ(a->validate(p4("198.51.100.0/24"), x4, 1), Validity::kValid);
  EXPECT_EQ(a->validate(p4("198.51.100.0/24"), x4, std::nullopt), Validity::kValid);
  // maxlen defaults to the tuple's length.
  EXPECT_EQ(a->validate(p4("198.51.100.0/25"), x4, 1), Validity::kInvalid);
  // Not covered: a shorter prefix holding the tuple, a neighbour.
  EXPECT_EQ(a->validate(p4("192.0.0.0/16"), x3, 65003), Validity::kNotFound);
  EXPECT_EQ(a->validate(p4("192.0.3.0/24"), x3, 65003), Validity::kNotFound);
  EXPECT_EQ(a->validate(p4("0.0.0.0/0"), x3, 65003), Validity::kNotFound);
}

TEST(Authorization, AnyCoveringTupleMayMatch) {
  // Two tuples cover 10.1.2.0/24: the /8 allows X5 up to /24, the /16 X6.
  auto a = Authorization::parse(
      "10.0.0.0/8 maxlen 24 2001:db8:5::/48\n"
      "10.1.0.0/16 maxlen 24 2001:db8:6::/48\n"
      "10.1.0.0/16 maxlen 24 2001:db8:7::/48 as 7\n");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->validate(p4("10.1.2.0/24"), p6("2001:db8:5::/48"), 9), Validity::kValid);
  EXPECT_EQ(a->validate(p4("10.1.2.0/24"), p6("2001:db8:6::/48"), 9), Validity::kValid);
  EXPECT_EQ(a->validate(p4("10.1.2.0/24"), p6("2001:db8:7::/48"), 7), Validity::kValid);
  EXPECT_EQ(a->validate(p4("10.1.2.0/24"), p6("2001:db8:7::/48"), 8), Validity::kInvalid);
  EXPECT_EQ(a->validate(p4("10.2.0.0/16"), p6("2001:db8:6::/48"), 9), Validity::kInvalid);
}

// Against a naive linear scan of RFC 6811 2 over many random tuples.
TEST(Authorization, MatchesNaiveScan) {
  std::string text;
  uint32_t seed = 12345;
  auto rnd = [&] { return seed = seed * 1103515245u + 12345u, seed >> 8; };
  std::vector<AuthTuple> naive;
  for (int i = 0; i < 2000; ++i) {
    const unsigned len = 8 + rnd() % 17;
    const uint32_t addr = (0x0A000000u | (rnd() << 12)) & net::mask4(len);
    const unsigned maxlen = len + rnd() % 4;
    const unsigned x = rnd() % 3;
    net::Ipv4Prefix p{net::Ipv4Addr{addr}, static_cast<uint8_t>(len)};
    text += net::to_string(p) + " maxlen " + std::to_string(maxlen) + " 2001:db8:" + std::to_string(x) + "::/48";
    std::optional<uint32_t> asn;
    if (rnd() % 2) asn = 1 + rnd() % 3, text += " as " + std::to_string(*asn);
    text += "\n";
    naive.push_back({p, static_cast<uint8_t>(maxlen), p6(("2001:db8:" + std::to_string(x) + "::/48").c_str()), asn});
  }
  auto a = Authorization::parse(text);
  ASSERT_TRUE(a) << a.error();
  for (int i = 0; i < 20000; ++i) {
    const unsigned len = 8 + rnd() % 25;
    const uint32_t addr = (0x0A000000u | (rnd() << 12) | (rnd() & 0xfff)) & net::mask4(len);
    const net::Ipv4Prefix q{net::Ipv4Addr{addr}, static_cast<uint8_t>(len)};
    const auto x = p6(("2001:db8:" + std::to_string(rnd() % 3) + "::/48").c_str());
    const uint32_t origin = 1 + rnd() % 3;
    bool covered = false, valid = false;
    for (const auto& t : naive) {
      if (t.prefix.len > q.len || !t.prefix.contains(q.addr)) continue;
      covered = true;
      if (q.len <= t.max_length && t.pref6 == x && (!t.asn || *t.asn == origin)) valid = true;
    }
    const Validity want = valid ? Validity::kValid : covered ? Validity::kInvalid : Validity::kNotFound;
    ASSERT_EQ(a->validate(q, x, origin), want) << net::to_string(q);
  }
}

TEST(Authorization, LoadReadsFileAndNamesItInErrors) {
  const std::string path = ::testing::TempDir() + "/edge46_auth_test.txt";
  {
    std::ofstream f(path);
    f << "# ok\n192.0.2.0/24 2001:db8:3::/48\n";
  }
  auto a = Authorization::load(path);
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->size(), 1u);
  {
    std::ofstream f(path);
    f << "192.0.2.0/24 2001:db8:3::/48\nbad\n";
  }
  auto b = Authorization::load(path);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().find(path + ": line 2:"), std::string::npos) << b.error();
  std::remove(path.c_str());
  auto c = Authorization::load(path);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace edge46::bgp
