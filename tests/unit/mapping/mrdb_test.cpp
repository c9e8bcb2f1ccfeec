// mapping/mrdb: the DIR-24-8 MR-DB against a naive reference LPM (a
// std::map of every rule, searched length by length), hand-written edge
// cases, and a reader thread racing the writer.
#include "mapping/mrdb.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "support/literals.h"

namespace edge46::mapping {
namespace {

using support::p4;
using support::p6;
using support::v4;

MrTarget tgt(const char* pref6, Pool6Layout l = Pool6Layout::kLow32, uint8_t modes = kModeBoth) {
  return MrTarget{Pool6{p6(pref6), l}, modes};
}
MrRule rule(const char* prefix, const MrTarget& t, RuleSource s = RuleSource::kConfig, uint32_t pref = 100) {
  return MrRule{p4(prefix), t, s, pref};
}

const MrTarget kA = tgt("2001:db8:a::/48");
const MrTarget kB = tgt("2001:db8:b::/48");
const MrTarget kC = tgt("2001:db8:c::/96", Pool6Layout::kRfc6052, kModeEncapsulate);
const MrTarget kD = tgt("2001:db8:d::/64", Pool6Layout::kLow32, kModeTranslate);

// 32-bit draws (std::mt19937 returns a wider type).
struct Rng {
  std::mt19937 e;
  explicit Rng(uint32_t seed) : e(seed) {}
  uint32_t operator()() { return static_cast<uint32_t>(e()); }
};

// ---- reference ----

struct Ref {
  struct Val {
    MrTarget target;
    uint32_t pref;
  };
  // (prefix, len) -> per source
  std::map<std::pair<uint32_t, unsigned>, std::map<RuleSource, Val>> rules;

  void upsert(const MrRule& r) { rules[{r.prefix.addr.value, r.prefix.len}][r.source] = Val{r.target, r.preference}; }
  bool remove(net::Ipv4Prefix p, RuleSource s) {
    auto it = rules.find({p.addr.value, p.len});
    if (it == rules.end() || it->second.erase(s) == 0) return false;
    if (it->second.empty()) rules.erase(it);
    return true;
  }
  // Highest preference, then kCtl > kConfig > kLocal > kBgp (written out
  // here, not taken from rule_source_rank).
  static int tie(RuleSource s) {
    switch (s) {
      case RuleSource::kCtl: return 3;
      case RuleSource::kConfig: return 2;
      case RuleSource::kLocal: return 1;
      case RuleSource::kBgp: return 0;
    }
    return -1;
  }
  std::optional<MrRule> match(uint32_t a) const {
    for (int len = 32; len >= 0; --len) {
      const uint32_t m = len == 0 ? 0 : ~0u << (32 - len);
      auto it = rules.find({a & m, static_cast<unsigned>(len)});
      if (it == rules.end()) continue;
      std::optional<MrRule> best;
      for (const auto& [s, v] : it->second) {
        if (!best || v.pref > best->preference || (v.pref == best->preference && tie(s) > tie(best->source))) {
          best = MrRule{net::Ipv4Prefix{net::Ipv4Addr{a & m}, static_cast<uint8_t>(len)}, v.target, s, v.pref};
        }
      }
      return best;
    }
    return std::nullopt;
  }
  std::size_t count() const {
    std::size_t n = 0;
    for (const auto& [k, m] : rules) n += m.size();
    return n;
  }
};

std::string str(const std::optional<MrRule>& r) {
  if (!r) return "none";
  return net::to_string(r->prefix) + " -> " + net::to_string(r->target.pool6.prefix) + " src " +
         std::string(rule_source_name(r->source)) + " pref " + std::to_string(r->preference);
}

void expect_addr(const MrDb& db, const Ref& ref, uint32_t a) {
  const auto want = ref.match(a);
  const MrTarget* got = db.lookup(net::Ipv4Addr{a});
  if (!want) {
    ASSERT_EQ(got, nullptr) << net::to_string(net::Ipv4Addr{a});
  } else {
    ASSERT_NE(got, nullptr) << net::to_string(net::Ipv4Addr{a}) << " want " << str(want);
    ASSERT_EQ(*got, want->target) << net::to_string(net::Ipv4Addr{a}) << " want " << str(want);
  }
  ASSERT_EQ(db.match(net::Ipv4Addr{a}), want)
      << net::to_string(net::Ipv4Addr{a}) << " got " << str(db.match(net::Ipv4Addr{a})) << " want " << str(want);
}

// Random addresses plus both ends of every prefix and their neighbours.
void expect_same(const MrDb& db, const Ref& ref, Rng& rng, int random_probes) {
  for (const auto& [k, m] : ref.rules) {
    const uint32_t first = k.first, last = k.first | (k.second == 0 ? ~0u : ~(~0u << (32 - k.second)));
    expect_addr(db, ref, first);
    expect_addr(db, ref, last);
    expect_addr(db, ref, first - 1);
    expect_addr(db, ref, last + 1);
    if (::testing::Test::HasFatalFailure()) return;
  }
  for (int i = 0; i < random_probes; ++i) {
    expect_addr(db, ref, rng());
    if (::testing::Test::HasFatalFailure()) return;
  }
  const auto st = db.stats();
  ASSERT_EQ(st.rules, ref.count());
  ASSERT_EQ(st.installed, ref.rules.size());
  std::array<std::size_t, 4> per{};
  std::set<std::pair<std::vector<uint8_t>, uint8_t>> targets;
  for (const auto& [k, m] : ref.rules) {
    for (const auto& [s, v] : m) {
      ++per[static_cast<uint8_t>(s)];
      std::vector<uint8_t> bytes(v.target.pool6.prefix.addr.bytes.begin(), v.target.pool6.prefix.addr.bytes.end());
      bytes.push_back(v.target.pool6.prefix.len);
      bytes.push_back(static_cast<uint8_t>(v.target.pool6.layout));
      targets.insert({bytes, v.target.modes});
    }
  }
  ASSERT_EQ(st.per_source, per);
  ASSERT_EQ(st.targets, targets.size());
}

// Addresses clustered in a few /16s so that prefixes nest; lengths 0-32
// with extra weight on 24-32 (tbl8 groups) and 8-24.
struct Gen {
  Rng rng;
  std::vector<MrTarget> targets;
  explicit Gen(uint32_t seed) : rng(seed) {
    const char* pre[] = {"2001:db8:1::/48", "2001:db8:200::/40", "2001:db8:3::/96", "2001:db8:4::/64",
                         "2001:db8:5::/56", "2001:db9::/32",     "2001:db8:7::/48", "2001:db8:8::/48"};
    for (int i = 0; i < 8; ++i) {
      targets.push_back(MrTarget{Pool6{p6(pre[i]), i % 3 == 0 ? Pool6Layout::kRfc6052 : Pool6Layout::kLow32},
                                 static_cast<uint8_t>(1 + i % 3)});
    }
  }
  net::Ipv4Prefix prefix() {
    static constexpr uint32_t kRegions[] = {0x0a000000, 0x0a010000, 0xc6336400, 0xffff0000};
    const uint32_t a = kRegions[rng() % 4] | (rng() & 0xffffu);
    unsigned len;
    switch (rng() % 8) {
      case 0: len = rng() % 33; break;
      case 1:
      case 2: len = 8 + rng() % 17; break;
      case 3:
      case 4: len = 24; break;
      default: len = 25 + rng() % 8; break;
    }
    if (rng() % 200 == 0) len = 0;
    return net::Ipv4Prefix{net::Ipv4Addr{a & net::mask4(len)}, static_cast<uint8_t>(len)};
  }
  RuleSource source() { return static_cast<RuleSource>(rng() % 4); }
  uint32_t pref() { return rng() % 3 == 0 ? 100 + rng() % 3 : 100; }
  const MrTarget& target() { return targets[rng() % targets.size()]; }
};

void random_walk(uint32_t seed, int steps, int check_every, int random_probes) {
  Gen g(seed);
  MrDb db;
  Ref ref;
  std::vector<std::pair<net::Ipv4Prefix, RuleSource>> live;
  for (int step = 0; step < steps; ++step) {
    const unsigned op = g.rng() % 10;
    if (op < 5 || live.empty()) {
      MrRule r{g.prefix(), g.target(), g.source(), g.pref()};
      ASSERT_TRUE(db.upsert(r)) << "step " << step;
      if (!ref.rules.count({r.prefix.addr.value, r.prefix.len}) ||
          !ref.rules[{r.prefix.addr.value, r.prefix.len}].count(r.source)) {
        live.push_back({r.prefix, r.source});
      }
      ref.upsert(r);
    } else if (op < 7) {  // change an existing rule
      const auto& [p, s] = live[g.rng() % live.size()];
      MrRule r{p, g.target(), s, g.pref()};
      ASSERT_TRUE(db.upsert(r));
      ref.upsert(r);
    } else if (op < 9) {  // delete an existing rule
      const std::size_t i = g.rng() % live.size();
      ASSERT_TRUE(db.remove(live[i].first, live[i].second)) << "step " << step;
      ASSERT_TRUE(ref.remove(live[i].first, live[i].second));
      live[i] = live.back();
      live.pop_back();
    } else {  // delete something that is probably absent
      const net::Ipv4Prefix p = g.prefix();
      const RuleSource s = g.source();
      ASSERT_EQ(db.remove(p, s), ref.remove(p, s)) << "step " << step;
      std::erase_if(live, [&](const auto& x) { return x.first == p && x.second == s; });
    }
    if (step % 97 == 0) db.reclaim();  // no concurrent reader here
    if (step % check_every == 0 || step == steps - 1) {
      expect_same(db, ref, g.rng, random_probes);
      if (::testing::Test::HasFatalFailure()) {
        ADD_FAILURE() << "seed " << seed << " step " << step;
        return;
      }
    }
  }
  // rules() lists exactly the reference's rules, sorted.
  const auto all = db.rules();
  ASSERT_EQ(all.size(), ref.count());
  std::size_t i = 0;
  for (const auto& [k, m] : ref.rules) {  // std::map order = (address, length), sources in enum order
    for (const auto& [s, v] : m) {
      ASSERT_EQ(all[i],
                (MrRule{net::Ipv4Prefix{net::Ipv4Addr{k.first}, static_cast<uint8_t>(k.second)}, v.target, s, v.pref}));
      ++i;
    }
  }
}

TEST(MrDb, RandomSmallCheckedEveryStep) {
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    random_walk(seed, 400, 1, 64);
    if (HasFatalFailure() || HasFailure()) return;
  }
}

TEST(MrDb, RandomLargeCheckedPeriodically) {
  random_walk(4242, 30000, 2500, 20000);
}

// ---- edge cases ----

TEST(MrDb, EmptyAndDefaultAlone) {
  MrDb db;
  EXPECT_EQ(db.lookup(v4("192.0.2.1")), nullptr);
  EXPECT_EQ(db.match(v4("192.0.2.1")), std::nullopt);
  ASSERT_TRUE(db.upsert(rule("0.0.0.0/0", kA)));
  for (const char* a : {"0.0.0.0", "192.0.2.1", "255.255.255.255", "10.0.0.0"}) {
    ASSERT_NE(db.lookup(v4(a)), nullptr) << a;
    EXPECT_EQ(*db.lookup(v4(a)), kA);
    EXPECT_EQ(db.match(v4(a)), rule("0.0.0.0/0", kA));
  }
  EXPECT_EQ(db.stats().installed, 1u);
  EXPECT_EQ(db.stats().tbl8_groups_used, 0u);
  EXPECT_TRUE(db.remove(p4("0.0.0.0/0"), RuleSource::kConfig));
  EXPECT_EQ(db.lookup(v4("192.0.2.1")), nullptr);
}

TEST(MrDb, DefaultBehindMoreSpecifics) {
  MrDb db;
  ASSERT_TRUE(db.upsert(rule("0.0.0.0/0", kA)));
  ASSERT_TRUE(db.upsert(rule("198.51.100.128/25", kB)));
  EXPECT_EQ(*db.lookup(v4("198.51.100.200")), kB);
  EXPECT_EQ(*db.lookup(v4("198.51.100.127")), kA);  // invalid tbl8 word falls to the default
  ASSERT_TRUE(db.remove(p4("198.51.100.128/25"), RuleSource::kConfig));
  EXPECT_EQ(*db.lookup(v4("198.51.100.200")), kA);
  EXPECT_EQ(db.stats().tbl8_groups_used, 0u);
}

TEST(MrDb, HostRoutes) {
  MrDb db;
  ASSERT_TRUE(db.upsert(rule("192.0.2.7/32", kA)));
  ASSERT_TRUE(db.upsert(rule("192.0.2.8/32", kB)));
  EXPECT_EQ(db.lookup(v4("192.0.2.6")), nullptr);
  EXPECT_EQ(*db.lookup(v4("192.0.2.7")), kA);
  EXPECT_EQ(*db.lookup(v4("192.0.2.8")), kB);
  EXPECT_EQ(db.lookup(v4("192.0.2.9")), nullptr);
  EXPECT_EQ(db.match(v4("192.0.2.8"))->prefix, p4("192.0.2.8/32"));
  EXPECT_EQ(db.stats().tbl8_groups_used, 1u);
  ASSERT_TRUE(db.upsert(rule("255.255.255.255/32", kC)));
  EXPECT_EQ(*db.lookup(v4("255.255.255.255")), kC);
  EXPECT_EQ(db.lookup(v4("255.255.255.254")), nullptr);
}

TEST(MrDb, NestedSlash8Slash24Slash25) {
  MrDb db;
  ASSERT_TRUE(db.upsert(rule("10.1.2.0/25", kC)));  // longest first: the group copies an invalid word
  ASSERT_TRUE(db.upsert(rule("10.0.0.0/8", kA)));   // then a /8 over it: only depth <= 8 words change
  ASSERT_TRUE(db.upsert(rule("10.1.2.0/24", kB)));
  EXPECT_EQ(*db.lookup(v4("10.1.2.1")), kC);
  EXPECT_EQ(*db.lookup(v4("10.1.2.200")), kB);
  EXPECT_EQ(*db.lookup(v4("10.1.3.1")), kA);
  EXPECT_EQ(*db.lookup(v4("10.255.255.255")), kA);
  EXPECT_EQ(db.lookup(v4("11.0.0.0")), nullptr);
  EXPECT_EQ(db.lookup(v4("9.255.255.255")), nullptr);

  // Delete the covering /24 while the /25 remains: its half goes to the /8.
  ASSERT_TRUE(db.remove(p4("10.1.2.0/24"), RuleSource::kConfig));
  EXPECT_EQ(*db.lookup(v4("10.1.2.1")), kC);
  EXPECT_EQ(*db.lookup(v4("10.1.2.200")), kA);
  EXPECT_EQ(db.match(v4("10.1.2.200"))->prefix, p4("10.0.0.0/8"));
  // Delete the /8: the /25 stays, everything else is gone.
  ASSERT_TRUE(db.remove(p4("10.0.0.0/8"), RuleSource::kConfig));
  EXPECT_EQ(*db.lookup(v4("10.1.2.1")), kC);
  EXPECT_EQ(db.lookup(v4("10.1.2.200")), nullptr);
  EXPECT_EQ(db.lookup(v4("10.1.3.1")), nullptr);
  // Change the target of the /25.
  ASSERT_TRUE(db.upsert(rule("10.1.2.0/25", kD)));
  EXPECT_EQ(*db.lookup(v4("10.1.2.127")), kD);
  EXPECT_EQ(db.stats().targets, 1u);
}

TEST(MrDb, Tbl8CollapseAndReuse) {
  MrDb db;
  ASSERT_TRUE(db.upsert(rule("198.51.100.0/24", kA)));
  ASSERT_TRUE(db.upsert(rule("198.51.100.0/26", kB)));
  ASSERT_TRUE(db.upsert(rule("198.51.100.64/26", kB)));
  EXPECT_EQ(db.stats().tbl8_groups_used, 1u);
  const std::size_t mem = db.stats().memory_bytes;  // one group, two targets
  ASSERT_TRUE(db.remove(p4("198.51.100.0/26"), RuleSource::kConfig));
  EXPECT_EQ(db.stats().tbl8_groups_used, 1u);  // the other /26 still needs it
  ASSERT_TRUE(db.remove(p4("198.51.100.64/26"), RuleSource::kConfig));
  auto st = db.stats();
  EXPECT_EQ(st.tbl8_groups_used, 0u);
  EXPECT_EQ(st.retired, 2u);  // the group and target kB
  EXPECT_EQ(*db.lookup(v4("198.51.100.1")), kA);
  EXPECT_EQ(*db.lookup(v4("198.51.100.255")), kA);
  db.reclaim();
  EXPECT_EQ(db.stats().retired, 0u);
  // Another /24's group and another target reuse the freed slots: back to
  // one group and two targets, the memory is what it was then.
  ASSERT_TRUE(db.upsert(rule("203.0.113.128/25", kC)));
  st = db.stats();
  EXPECT_EQ(st.tbl8_groups_used, 1u);
  EXPECT_EQ(st.memory_bytes, mem);
  EXPECT_EQ(*db.lookup(v4("203.0.113.129")), kC);
  EXPECT_EQ(db.lookup(v4("203.0.113.1")), nullptr);
}

TEST(MrDb, SmallLimitsFailCleanly) {
  MrDb db(MrDb::Limits{2, 1});
  ASSERT_TRUE(db.upsert(rule("192.0.2.0/25", kA)));
  auto e = db.upsert(rule("198.51.100.0/25", kA));  // a second /24 needs a second group
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("tbl8 groups exhausted"), std::string::npos) << e.error();
  ASSERT_TRUE(db.upsert(rule("192.0.2.128/25", kB)));  // same group: fine
  e = db.upsert(rule("203.0.113.0/24", kC));           // third target
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("target table full"), std::string::npos) << e.error();
  EXPECT_EQ(db.lookup(v4("203.0.113.1")), nullptr);
  EXPECT_EQ(db.stats().rules, 2u);
  // Freed but not reclaimed: still full, and the message says why.
  ASSERT_TRUE(db.remove(p4("192.0.2.128/25"), RuleSource::kConfig));
  e = db.upsert(rule("203.0.113.0/24", kC));
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("1 awaiting reclaim"), std::string::npos) << e.error();
  db.reclaim();
  ASSERT_TRUE(db.upsert(rule("203.0.113.0/24", kC)));
  EXPECT_EQ(*db.lookup(v4("203.0.113.1")), kC);
}

TEST(MrDb, TargetsInternedAndRefcounted) {
  MrDb db;
  ASSERT_TRUE(db.upsert(rule("192.0.2.0/24", kA)));
  ASSERT_TRUE(db.upsert(rule("198.51.100.0/24", kA)));
  ASSERT_TRUE(db.upsert(rule("203.0.113.0/24", kA, RuleSource::kCtl)));
  EXPECT_EQ(db.stats().targets, 1u);
  // Lookups of different prefixes return the same interned object.
  EXPECT_EQ(db.lookup(v4("192.0.2.1")), db.lookup(v4("198.51.100.1")));
  ASSERT_TRUE(db.remove(p4("192.0.2.0/24"), RuleSource::kConfig));
  ASSERT_TRUE(db.remove(p4("198.51.100.0/24"), RuleSource::kConfig));
  EXPECT_EQ(db.stats().targets, 1u);
  EXPECT_EQ(db.stats().retired, 0u);
  ASSERT_TRUE(db.upsert(rule("203.0.113.0/24", kB, RuleSource::kCtl)));  // change: kA's last reference goes
  EXPECT_EQ(db.stats().targets, 1u);
  EXPECT_EQ(db.stats().retired, 1u);
  EXPECT_EQ(*db.lookup(v4("203.0.113.9")), kB);
}

TEST(MrDb, SourcesPreferenceAndTies) {
  MrDb db;
  ASSERT_TRUE(db.upsert(rule("192.0.2.0/24", kA, RuleSource::kBgp)));
  ASSERT_TRUE(db.upsert(rule("192.0.2.0/24", kB, RuleSource::kLocal)));
  EXPECT_EQ(*db.lookup(v4("192.0.2.1")), kB);  // local beats bgp at equal preference
  ASSERT_TRUE(db.upsert(rule("192.0.2.0/24", kC, RuleSource::kConfig)));
  EXPECT_EQ(*db.lookup(v4("192.0.2.1")), kC);
  ASSERT_TRUE(db.upsert(rule("192.0.2.0/24", kD, RuleSource::kCtl)));
  EXPECT_EQ(*db.lookup(v4("192.0.2.1")), kD);
  EXPECT_EQ(db.match(v4("192.0.2.1"))->source, RuleSource::kCtl);
  ASSERT_TRUE(db.upsert(rule("192.0.2.0/24", kA, RuleSource::kBgp, 150)));  // preference beats source
  EXPECT_EQ(*db.lookup(v4("192.0.2.1")), kA);
  EXPECT_EQ(db.match(v4("192.0.2.1")), rule("192.0.2.0/24", kA, RuleSource::kBgp, 150));
  EXPECT_EQ(db.stats().rules, 4u);
  EXPECT_EQ(db.stats().installed, 1u);
  ASSERT_TRUE(db.remove(p4("192.0.2.0/24"), RuleSource::kBgp));  // promotes ctl
  EXPECT_EQ(*db.lookup(v4("192.0.2.1")), kD);
  ASSERT_TRUE(db.remove(p4("192.0.2.0/24"), RuleSource::kCtl));
  EXPECT_EQ(*db.lookup(v4("192.0.2.1")), kC);
  EXPECT_FALSE(db.remove(p4("192.0.2.0/24"), RuleSource::kCtl));
  ASSERT_TRUE(db.remove(p4("192.0.2.0/24"), RuleSource::kConfig));
  EXPECT_EQ(*db.lookup(v4("192.0.2.1")), kB);
  EXPECT_EQ(db.find(p4("192.0.2.0/24"), RuleSource::kLocal), rule("192.0.2.0/24", kB, RuleSource::kLocal));
  EXPECT_EQ(db.find(p4("192.0.2.0/24"), RuleSource::kConfig), std::nullopt);
  ASSERT_TRUE(db.remove(p4("192.0.2.0/24"), RuleSource::kLocal));
  EXPECT_EQ(db.lookup(v4("192.0.2.1")), nullptr);
  EXPECT_EQ(db.stats().rules, 0u);
  EXPECT_EQ(db.stats().targets, 0u);
}

TEST(MrDb, RemoveSourceAndReplaceSource) {
  MrDb db;
  ASSERT_TRUE(db.upsert(rule("10.0.0.0/8", kA, RuleSource::kConfig)));
  ASSERT_TRUE(db.upsert(rule("10.1.0.0/16", kB, RuleSource::kConfig)));
  ASSERT_TRUE(db.upsert(rule("10.1.0.0/16", kC, RuleSource::kLocal)));
  ASSERT_TRUE(db.upsert(rule("10.2.3.4/32", kD, RuleSource::kCtl)));
  EXPECT_EQ(db.remove_source(RuleSource::kConfig), 2u);
  EXPECT_EQ(db.lookup(v4("10.9.9.9")), nullptr);
  EXPECT_EQ(*db.lookup(v4("10.1.9.9")), kC);
  EXPECT_EQ(*db.lookup(v4("10.2.3.4")), kD);
  EXPECT_EQ(db.stats().per_source, (std::array<std::size_t, 4>{0, 1, 1, 0}));

  ASSERT_TRUE(db.upsert(rule("192.0.2.0/24", kA)));
  ASSERT_TRUE(db.upsert(rule("198.51.100.0/24", kA)));
  const std::vector<MrRule> reload = {rule("198.51.100.0/24", kB), rule("203.0.113.0/24", kB)};
  ASSERT_TRUE(db.replace_source(RuleSource::kConfig, reload));
  EXPECT_EQ(db.rules(RuleSource::kConfig), reload);
  EXPECT_EQ(db.lookup(v4("192.0.2.1")), nullptr);
  EXPECT_EQ(db.stats().rules, 4u);
  // A bad rule in a reload changes nothing.
  const std::vector<MrRule> bad = {rule("192.0.2.0/24", kA), MrRule{net::Ipv4Prefix{v4("192.0.2.1"), 24}, kA}};
  auto e = db.replace_source(RuleSource::kConfig, bad);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("host bits"), std::string::npos) << e.error();
  EXPECT_EQ(db.rules(RuleSource::kConfig), reload);
}

TEST(MrDb, RejectsInvalidRules) {
  MrDb db;
  auto expect_error = [&](const MrRule& r, const char* needle) {
    auto e = db.upsert(r);
    ASSERT_FALSE(e) << needle;
    EXPECT_NE(e.error().find(needle), std::string::npos) << e.error();
  };
  expect_error(MrRule{net::Ipv4Prefix{v4("192.0.2.1"), 24}, kA}, "host bits");
  expect_error(MrRule{net::Ipv4Prefix{v4("192.0.2.0"), 33}, kA}, "above 32");
  expect_error(rule("192.0.2.0/24", tgt("2001:db8::/100")), "at most 96");
  expect_error(rule("192.0.2.0/24", tgt("2001:db8::/44", Pool6Layout::kRfc6052)), "32, 40, 48, 56, 64 or 96");
  expect_error(rule("192.0.2.0/24", MrTarget{Pool6{net::Ipv6Prefix{support::v6("2001:db8::1"), 64}}, kModeBoth}),
               "host bits");
  expect_error(rule("192.0.2.0/24", MrTarget{Pool6{p6("2001:db8::/64"), Pool6Layout::kLow32}, 0}), "modes");
  EXPECT_EQ(db.stats().rules, 0u);
  EXPECT_EQ(db.stats().targets, 0u);
}

TEST(MrDb, Names) {
  for (uint8_t i = 0; i < 4; ++i) {
    const auto s = static_cast<RuleSource>(i);
    EXPECT_EQ(parse_rule_source(rule_source_name(s)), s);
  }
  EXPECT_EQ(rule_source_name(RuleSource::kCtl), "ctl");
  EXPECT_EQ(parse_rule_source("static"), std::nullopt);
  EXPECT_EQ(parse_modes("both"), kModeBoth);
  EXPECT_EQ(modes_name(kModeEncapsulate), "encapsulate");
}

TEST(MrDb, BatchLookupMatchesSingle) {
  Gen g(77);
  MrDb db;
  ASSERT_TRUE(db.upsert(rule("0.0.0.0/0", kA)));
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(db.upsert(MrRule{g.prefix(), g.target(), g.source(), 100}));
  std::vector<uint32_t> addrs(1000);
  for (auto& a : addrs) a = g.rng() % 2 ? static_cast<uint32_t>(g.rng()) : g.prefix().addr.value;
  std::vector<const MrTarget*> out(addrs.size() + 3, reinterpret_cast<const MrTarget*>(1));
  db.lookup_batch(addrs, std::span<const MrTarget*>(out.data(), addrs.size() - 5));
  for (std::size_t i = 0; i < addrs.size() - 5; ++i) ASSERT_EQ(out[i], db.lookup(net::Ipv4Addr{addrs[i]})) << i;
  EXPECT_EQ(out[addrs.size() - 5], reinterpret_cast<const MrTarget*>(1));  // nothing written past out.size()
}

// One reader looks up continuously while the writer flips a /24 between two
// targets and adds/removes /25s (and a /26, a /32) inside it: every answer is
// one of the legal targets, never nullptr or anything else. Ten rounds; the
// reader is stopped (quiescent) between rounds, and only then does the
// writer call reclaim(), as the contract requires, so later rounds reuse
// retired tbl8 groups and target slots under a live reader.
TEST(MrDb, ConcurrentReaderSeesOldOrNew) {
  MrDb db;
  ASSERT_TRUE(db.upsert(rule("192.0.2.0/24", kA)));
  uint64_t total = 0;
  for (int round = 0; round < 10; ++round) {
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> lookups{0}, bad{0};
    std::thread reader([&] {
      uint32_t x = 1;
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        x = x * 1664525u + 1013904223u;
        const uint32_t a = 0xc0000200u | (x >> 24);  // 192.0.2.0/24
        const MrTarget* t = db.lookup(net::Ipv4Addr{a});
        if (t == nullptr || !(*t == kA || *t == kB || *t == kC || *t == kD)) bad.fetch_add(1);
        ++n;
      }
      lookups.store(n);
    });
    for (int i = 0; i < 3000; ++i) {
      ASSERT_TRUE(db.upsert(rule("192.0.2.0/24", i % 2 ? kA : kB)));
      ASSERT_TRUE(db.upsert(rule(i % 3 ? "192.0.2.0/25" : "192.0.2.128/25", kC)));
      if (i % 5 == 0) {
        ASSERT_TRUE(db.upsert(rule("192.0.2.64/26", kD)));
      }
      if (i % 7 == 0) {
        ASSERT_TRUE(db.upsert(rule("192.0.2.77/32", kD)));
      }
      db.remove(p4("192.0.2.0/25"), RuleSource::kConfig);
      db.remove(p4("192.0.2.128/25"), RuleSource::kConfig);
      db.remove(p4("192.0.2.64/26"), RuleSource::kConfig);
      db.remove(p4("192.0.2.77/32"), RuleSource::kConfig);
    }
    stop.store(true);
    reader.join();
    ASSERT_EQ(bad.load(), 0u) << "round " << round << ", of " << lookups.load() << " lookups";
    total += lookups.load();
    db.reclaim();  // the reader has stopped: nothing it held can be in use
  }
  EXPECT_GT(total, 0u);
  EXPECT_EQ(db.stats().tbl8_groups_used, 0u);
}

}  // namespace
}  // namespace edge46::mapping
