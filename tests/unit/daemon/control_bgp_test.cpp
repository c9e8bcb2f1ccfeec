// The daemon's side of the BGP rule exchange: what a PE originates, the
// speaker's batches into the MR-DB (source bgp, below every other source),
// the local-rule feed, the bgp.* commands, and a reload's restart-only keys.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "config/loader.h"
#include "daemon/bgp_control.h"
#include "daemon/control.h"

#include <chrono>
#include <mutex>
#include <span>
#include <thread>

namespace edge46::daemon {
namespace {

net::Ipv4Prefix p4(const char* s) {
  return *net::parse_ipv4_prefix(s);
}
net::Ipv6Prefix p6(const char* s) {
  return *net::parse_ipv6_prefix(s);
}
mapping::MrTarget target(const char* pref6, uint8_t modes) {
  return mapping::MrTarget{mapping::Pool6{p6(pref6), mapping::Pool6Layout::kLow32}, modes};
}

const char* kPe = R"(
[daemon]
role = "pe"
[pe]
prefixes = ["2001:db8:1:46::/96"]
accept = "both"
ipv4 = ["192.0.2.0/26", "192.0.2.64/26"]
[[pe.rule]]
prefix = "198.51.100.0/24"
pref6 = "2001:db8:9:46::/96"
)";

struct ControlBgp : ::testing::Test {
  std::string path = ::testing::TempDir() + "edge46-control-bgp-test-" + std::to_string(::getpid()) + ".toml";
  DaemonState st{1};

  void SetUp() override {
    std::ofstream(path) << kPe;
    auto s = config::load_file(path);
    ASSERT_TRUE(s) << s.error().to_string();
    st.config_path = path;
    auto snap = make_snapshot(*s, 0);
    ASSERT_TRUE(snap) << snap.error();
    std::vector<std::string> warnings;
    ASSERT_TRUE(st.pe.configure((*snap)->settings.pe, warnings));
    st.eamt.init((*snap)->settings.eamt);
    st.snapshot.reset(std::move(*snap));
  }
  void TearDown() override { std::remove(path.c_str()); }
  Json call(const Json& req) { return Json::parse(handle_request(st, req.dump())); }
  Json lookup(const char* addr) { return call({{"cmd", "rule.lookup"}, {"address", addr}}); }
};

TEST(OriginatedRules, OneRulePerBlockToTheFirstPref6) {
  auto s = config::load_string(kPe, "t.toml");
  ASSERT_TRUE(s);
  const std::vector<net::Ipv4Prefix> blocks{p4("192.0.2.0/26"), p4("10.0.0.0/8")};
  auto rules = originated_rules(*s, blocks);
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].prefix, p4("192.0.2.0/26"));
  EXPECT_EQ(rules[0].rule.pref6, p6("2001:db8:1:46::/96"));
  EXPECT_FALSE(rules[0].rule.translate);  // accept = both: encapsulation is advertised
  EXPECT_FALSE(rules[0].rule.is_default);
  // A translate-only PE advertises T; advertise-mode overrides; the default
  // rule only when asked, with D.
  s->pe.accept = mapping::kModeTranslate;
  EXPECT_TRUE(originated_rules(*s, blocks)[0].rule.translate);
  s->bgp.advertise_translate = false;
  EXPECT_FALSE(originated_rules(*s, blocks)[0].rule.translate);
  s->bgp.advertise_default = true;
  rules = originated_rules(*s, blocks);
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[2].prefix, p4("0.0.0.0/0"));
  EXPECT_TRUE(rules[2].rule.is_default);
  EXPECT_EQ(rules[2].rule.pref6, p6("2001:db8:1:46::/96"));
}

TEST_F(ControlBgp, BatchesGoInAsSourceBgpBelowTheOtherSources) {
  const std::vector<bgp::MrChange> batch{
      {p4("203.0.113.0/24"), target("2001:db8:3:46::/96", mapping::kModeEncapsulate)},
      {p4("198.51.100.0/24"), target("2001:db8:3:46::/96", mapping::kModeTranslate)},
      {p4("0.0.0.0/0"), target("2001:db8:d:46::/96", mapping::kModeEncapsulate)},
  };
  st.pe.bgp_apply(batch, 100);
  EXPECT_EQ(st.pe.bgp_updates(), 3u);
  auto r = lookup("203.0.113.9");
  ASSERT_FALSE(r["rule"].is_null()) << r.dump();
  EXPECT_EQ(r["rule"]["source"], "bgp");
  EXPECT_EQ(r["rule"]["pref6"], "2001:db8:3:46::/96");
  EXPECT_EQ(r["mode"], "encapsulate");
  EXPECT_EQ(r["ipv6_destination"], "2001:db8:3:46::cb00:7109");
  // The config rule of the same prefix wins at equal preference.
  EXPECT_EQ(lookup("198.51.100.1")["rule"]["source"], "config");
  // A received default rule carries what nothing else does.
  EXPECT_EQ(lookup("8.8.8.8")["rule"]["pref6"], "2001:db8:d:46::/96");
  // The new egress PE is known (its packets are accepted in the core).
  bool known = false;
  for (const auto& t : st.pe.mrdb().targets()) known |= t.pool6.prefix == p6("2001:db8:3:46::/96");
  EXPECT_TRUE(known);
  // Withdrawals.
  const std::vector<bgp::MrChange> gone{{p4("203.0.113.0/24"), std::nullopt}, {p4("0.0.0.0/0"), std::nullopt}};
  st.pe.bgp_apply(gone, 100);
  EXPECT_TRUE(lookup("203.0.113.9")["rule"].is_null());
  EXPECT_TRUE(lookup("8.8.8.8")["rule"].is_null());
  EXPECT_EQ(st.pe.mrdb().stats().per_source[static_cast<std::size_t>(mapping::RuleSource::kBgp)], 1u);
}

TEST_F(ControlBgp, ARuleTheMrDbRefusesIsCountedAndDoesNotLinger) {
  st.pe.bgp_apply(std::vector<bgp::MrChange>{{p4("203.0.113.0/24"), target("2001:db8:3:46::/96", 2)}}, 100);
  ASSERT_EQ(lookup("203.0.113.9")["rule"]["pref6"], "2001:db8:3:46::/96");
  // /100 leaves no room for the 32 bits of the IPv4 address (low32 layout):
  // the new target is refused and the old one is not kept either.
  st.pe.bgp_apply(std::vector<bgp::MrChange>{{p4("203.0.113.0/24"), target("2001:db8:3:46::/100", 2)}}, 100);
  EXPECT_EQ(st.pe.bgp_refused(), 1u);
  EXPECT_NE(st.pe.bgp_last_refusal().find("203.0.113.0/24"), std::string::npos) << st.pe.bgp_last_refusal();
  EXPECT_TRUE(lookup("203.0.113.9")["rule"].is_null());
}

TEST_F(ControlBgp, TheLocalListenerHearsBlockChanges) {
  int calls = 0;
  st.pe.set_local_listener([&] { ++calls; });
  st.pe.kernel_block(p4("10.1.0.0/16"), true);
  EXPECT_EQ(calls, 1);
  st.pe.kernel_block(p4("10.1.0.0/16"), true);  // no change: no call
  EXPECT_EQ(calls, 1);
  auto blocks = st.pe.local_blocks();
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0], p4("10.1.0.0/16"));  // sorted by address
  EXPECT_EQ(blocks[1], p4("192.0.2.0/26"));
  st.pe.kernel_block(p4("10.1.0.0/16"), false);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(st.pe.local_blocks().size(), 2u);
  std::vector<std::string> w;
  ASSERT_TRUE(st.pe.configure(st.snapshot.current()->settings.pe, w));
  EXPECT_EQ(calls, 3);
}

TEST_F(ControlBgp, CommandsWithoutASpeakerSayWhy) {
  for (const char* cmd : {"bgp.summary", "bgp.neighbors", "bgp.routes"}) {
    auto r = call({{"cmd", cmd}});
    EXPECT_FALSE(r["ok"].get<bool>());
    EXPECT_NE(r["error"].get<std::string>().find("[bgp]"), std::string::npos) << r.dump();
  }
  auto stats = call({{"cmd", "stats"}});
  EXPECT_FALSE(stats.contains("bgp"));
}

// A running speaker (no listening socket, peers that never answer): the
// bgp.* commands, and a reload that adds a peer and changes restart-only keys.
TEST_F(ControlBgp, ReloadChangesPeersAndKeepsRestartOnlyKeys) {
  const std::string with_bgp = std::string(kPe) + R"(
[bgp]
asn = 65000
router-id = "192.0.2.1"
next-hop = "2001:db8:ffff::1"
listen = false
[[bgp.peer]]
name = "rr"
address = "2001:db8:ffff::ff"
asn = 65000
passive = true
)";
  std::ofstream(path) << with_bgp;
  ASSERT_TRUE(reload(st)) << st.last_reload_error;  // [bgp] added: a restart is needed, kept off
  EXPECT_FALSE(st.snapshot.current()->settings.bgp.enabled);
  // Started as main() does.
  bgp::Speaker speaker;
  auto s = config::load_file(path);
  ASSERT_TRUE(s);
  auto snap = make_snapshot(*s, 9);
  ASSERT_TRUE(snap);
  st.snapshot.reset(std::move(*snap));
  ASSERT_TRUE(speaker.start(
      st.snapshot.current()->settings.bgp.speaker,
      [this](std::span<const bgp::MrChange> c) {
        std::lock_guard lock(st.change_mutex);
        st.pe.bgp_apply(c, 100);
      },
      [](const std::string&) {}));
  st.bgp = &speaker;
  {
    std::lock_guard lock(st.change_mutex);
    st.pe.set_local_listener([this] { publish_local_rules(st); });
    publish_local_rules(st);
  }
  auto sum = call({{"cmd", "bgp.summary"}});
  ASSERT_TRUE(sum["ok"].get<bool>()) << sum.dump();
  ASSERT_EQ(sum["peers"].size(), 1u);
  EXPECT_EQ(sum["peers"][0]["name"], "rr");
  EXPECT_EQ(sum["peers"][0]["state"], "Active");  // passive: waiting for it

  // A reload adds a peer and changes the AS (restart-only: kept, warned).
  std::string changed = with_bgp;
  changed.replace(changed.find("asn = 65000\nrouter-id"), 11, "asn = 65009");
  changed += "[[bgp.peer]]\nname = \"pe3\"\naddress = \"2001:db8:ffff::3\"\nasn = 65000\npassive = true\n";
  std::ofstream(path) << changed;
  auto r = call({{"cmd", "reload"}});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_NE(r["warning"].get<std::string>().find("bgp.asn"), std::string::npos) << r.dump();
  // The speaker applies a new peer set on its own thread, soon after.
  for (int i = 0; i < 200; ++i) {
    sum = call({{"cmd", "bgp.summary"}});
    if (sum["peers"].size() == 2u) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(sum["asn"], 65000);
  ASSERT_EQ(sum["peers"].size(), 2u) << sum.dump();
  EXPECT_EQ(sum["peers"][1]["name"], "pe3");
  auto n = call({{"cmd", "bgp.neighbors"}, {"peer", "nope"}});
  EXPECT_FALSE(n["ok"].get<bool>());
  auto routes = call({{"cmd", "bgp.routes"}, {"dir", "sideways"}});
  EXPECT_FALSE(routes["ok"].get<bool>());
  auto stats = call({{"cmd", "stats"}});
  ASSERT_TRUE(stats.contains("bgp"));
  EXPECT_EQ(stats["bgp"].size(), 2u);
  {
    std::lock_guard lock(st.change_mutex);
    st.pe.set_local_listener(nullptr);
    st.bgp = nullptr;
  }
  speaker.stop();
}

}  // namespace
}  // namespace edge46::daemon
