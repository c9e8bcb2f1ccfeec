// The PE's control commands (rule.*, mrdb.stats) and its reload semantics:
// the MR-DB is a runtime table with sources; a reload replaces the config
// and local rules and keeps the ctl ones; a refused reload changes nothing;
// the kernel route source feeds local rules in batches.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "config/loader.h"
#include "daemon/control.h"

namespace edge46::daemon {
namespace {

const char* kPe = R"(
[daemon]
role = "pe"
[translator]
ipv4-address = "192.0.2.62"
[pe]
prefixes = ["2001:db8:1:46::/96"]
accept = "both"
prefer = "encapsulate"
ipv4 = ["192.0.2.0/26"]
[[pe.rule]]
prefix = "198.51.100.0/24"
pref6 = "2001:db8:3:46::/96"
modes = "translate"
[[pe.rule]]
prefix = "0.0.0.0/0"
pref6 = "2001:db8:d:46::/96"
)";

struct ControlPe : ::testing::Test {
  std::string path = ::testing::TempDir() + "edge46-control-pe-test-" + std::to_string(::getpid()) + ".toml";
  DaemonState st{1};

  void write(const std::string& text) {
    std::ofstream f(path);
    f << text;
  }
  void SetUp() override {
    write(kPe);
    auto s = config::load_file(path);
    ASSERT_TRUE(s) << s.error().to_string();
    st.config_path = path;
    st.tun_name = "test";
    auto snap = make_snapshot(*s, 0);
    ASSERT_TRUE(snap) << snap.error();
    std::vector<std::string> warnings;
    ASSERT_TRUE(st.pe.configure((*snap)->settings.pe, warnings));
    st.eamt.init((*snap)->settings.eamt);
    st.snapshot.reset(std::move(*snap));
  }
  void TearDown() override { std::remove(path.c_str()); }
  Json call(const Json& req) { return Json::parse(handle_request(st, req.dump())); }
  std::string egress(const char* addr) {
    auto r = call({{"cmd", "rule.lookup"}, {"address", addr}});
    return r["rule"].is_null() ? "none" : r["rule"]["pref6"].get<std::string>();
  }
};

TEST_F(ControlPe, LookupShowsTheRuleAndTheAddresses) {
  auto r = call({{"cmd", "rule.lookup"}, {"address", "198.51.100.7"}, {"source", "192.0.2.10"}});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["rule"]["prefix"], "198.51.100.0/24");
  EXPECT_EQ(r["rule"]["source"], "config");
  EXPECT_EQ(r["mode"], "translate");  // the egress accepts only translation
  EXPECT_EQ(r["ipv6_destination"], "2001:db8:3:46::c633:6407");
  EXPECT_EQ(r["ipv6_source"], "2001:db8:1:46::c000:20a");
  // The default rule, then the local block.
  r = call({{"cmd", "rule.lookup"}, {"address", "203.0.113.9"}});
  EXPECT_EQ(r["rule"]["prefix"], "0.0.0.0/0");
  EXPECT_EQ(r["mode"], "encapsulate");
  EXPECT_EQ(egress("192.0.2.10"), "2001:db8:1:46::/96");
  EXPECT_EQ(call({{"cmd", "rule.lookup"}, {"address", "nope"}})["ok"], false);
}

TEST_F(ControlPe, AddChangeRemoveThroughCtl) {
  EXPECT_EQ(egress("198.51.100.7"), "2001:db8:3:46::/96");
  auto r = call({{"cmd", "rule.add"}, {"prefix", "198.51.100.0/24"}, {"pref6", "2001:db8:2:46::/96"}});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(egress("198.51.100.7"), "2001:db8:2:46::/96");  // ctl beats config at equal preference
  // A second add of the same prefix is refused: change it.
  EXPECT_FALSE(call({{"cmd", "rule.add"}, {"prefix", "198.51.100.0/24"}, {"pref6", "2001:db8:4:46::/96"}})["ok"]);
  ASSERT_TRUE(call({{"cmd", "rule.change"}, {"prefix", "198.51.100.0/24"}, {"pref6", "2001:db8:4:46::/96"}})["ok"]);
  EXPECT_EQ(egress("198.51.100.7"), "2001:db8:4:46::/96");
  // A lower preference loses to the config rule.
  ASSERT_TRUE(call({{"cmd", "rule.change"},
                    {"prefix", "198.51.100.0/24"},
                    {"pref6", "2001:db8:4:46::/96"},
                    {"preference", 10}})["ok"]);
  EXPECT_EQ(egress("198.51.100.7"), "2001:db8:3:46::/96");
  auto show = call({{"cmd", "rule.show"}, {"source", "ctl"}});
  ASSERT_EQ(show["rules"].size(), 1u);
  EXPECT_EQ(show["rules"][0]["installed"], false);
  // Only ctl rules are removed here; then it is gone.
  EXPECT_FALSE(call({{"cmd", "rule.remove"}, {"prefix", "198.51.100.0/24"}, {"source", "config"}})["ok"]);
  ASSERT_TRUE(call({{"cmd", "rule.remove"}, {"prefix", "198.51.100.0/24"}})["ok"]);
  EXPECT_FALSE(call({{"cmd", "rule.remove"}, {"prefix", "198.51.100.0/24"}})["ok"]);
  EXPECT_EQ(call({{"cmd", "rule.show"}, {"source", "ctl"}})["rules"].size(), 0u);
  // Bad requests are refused with a reason, nothing changes.
  for (const Json& bad :
       {Json{{"cmd", "rule.add"}, {"prefix", "198.51.100.1/24"}, {"pref6", "2001:db8:2:46::/96"}},
        Json{{"cmd", "rule.add"}, {"prefix", "10.0.0.0/8"}, {"pref6", "2001:db8:2:46::/100"}},
        Json{{"cmd", "rule.add"}, {"prefix", "10.0.0.0/8"}, {"pref6", 7}},
        Json{{"cmd", "rule.add"}, {"prefix", "10.0.0.0/8"}, {"pref6", "2001:db8::/96"}, {"modes", "x"}},
        Json{{"cmd", "rule.add"}, {"prefix", "10.0.0.0/8"}}}) {
    auto b = call(bad);
    EXPECT_FALSE(b["ok"].get<bool>()) << bad.dump();
    EXPECT_FALSE(b["error"].get<std::string>().empty());
  }
  EXPECT_EQ(egress("10.1.2.3"), "2001:db8:d:46::/96");  // still the default rule
}

TEST_F(ControlPe, StatsCountRulesPerSource) {
  ASSERT_TRUE(call({{"cmd", "rule.add"}, {"prefix", "10.0.0.0/8"}, {"pref6", "2001:db8:2:46::/96"}})["ok"]);
  auto s = call({{"cmd", "mrdb.stats"}});
  ASSERT_TRUE(s["ok"].get<bool>());
  EXPECT_EQ(s["rules"], 4);
  EXPECT_EQ(s["per_source"]["config"], 2);
  EXPECT_EQ(s["per_source"]["local"], 1);
  EXPECT_EQ(s["per_source"]["ctl"], 1);
  // Own Pref6 + the egress prefixes of PE3, the default PE and PE2.
  EXPECT_EQ(s["known_pref6"], 4);
}

TEST_F(ControlPe, ReloadReplacesFileRulesAndKeepsCtlOnes) {
  ASSERT_TRUE(call({{"cmd", "rule.add"}, {"prefix", "10.0.0.0/8"}, {"pref6", "2001:db8:2:46::/96"}})["ok"]);
  // The file drops the default rule and moves 198.51.100.0/24.
  std::string next = kPe;
  next = next.substr(0, next.find("[[pe.rule]]\nprefix = \"0.0.0.0/0\""));
  auto at = next.find("2001:db8:3:46::/96");
  next.replace(at, 18, "2001:db8:5:46::/96");
  write(next);
  auto r = call({{"cmd", "reload"}});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(egress("198.51.100.7"), "2001:db8:5:46::/96");
  EXPECT_EQ(egress("203.0.113.9"), "none");
  EXPECT_EQ(egress("10.1.2.3"), "2001:db8:2:46::/96");  // the ctl rule survived
}

TEST_F(ControlPe, RefusedReloadLeavesTheRulesAsTheyWere) {
  // A ctl EAM, then a file that moves a rule and adds an overlapping EAM:
  // the EAMT refuses the reload, and the MR-DB must not have moved.
  ASSERT_TRUE(call({{"cmd", "eamt.add"}, {"ipv6", "2001:db8:7::/120"}, {"ipv4", "198.18.0.0/24"}})["ok"]);
  std::string next = kPe;
  next.replace(next.find("2001:db8:3:46::/96"), 18, "2001:db8:5:46::/96");
  write(next + "[[eamt]]\nipv6 = \"2001:db8:9::/120\"\nipv4 = \"198.18.0.0/24\"\n");
  auto r = call({{"cmd", "reload"}});
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_EQ(egress("198.51.100.7"), "2001:db8:3:46::/96");
  // A rules file that does not load refuses the reload too.
  write(std::string(kPe) + "\n[pe.rules]\n");
  EXPECT_FALSE(call({{"cmd", "reload"}})["ok"].get<bool>());
  write(std::string(kPe).replace(std::string(kPe).find("[pe]\n"), 5, "[pe]\nrules-file = \"/nonexistent/rules\"\n"));
  r = call({{"cmd", "reload"}});
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_NE(r["error"].get<std::string>().find("rules-file"), std::string::npos) << r.dump();
  EXPECT_EQ(egress("198.51.100.7"), "2001:db8:3:46::/96");
}

TEST_F(ControlPe, KernelBlocksBecomeLocalRulesInBatches) {
  std::vector<PeStore::BlockChange> batch = {{true, net::Ipv4Prefix{net::Ipv4Addr{0xc6336480u}, 25}},
                                             {true, net::Ipv4Prefix{net::Ipv4Addr{0x0a000000u}, 8}}};
  {
    std::lock_guard lock(st.change_mutex);
    st.pe.kernel_blocks(batch);
  }
  // 198.51.100.128/25 is now ours: longer than the config /24.
  EXPECT_EQ(egress("198.51.100.130"), "2001:db8:1:46::/96");
  EXPECT_EQ(egress("198.51.100.7"), "2001:db8:3:46::/96");
  EXPECT_EQ(call({{"cmd", "rule.show"}, {"source", "local"}})["rules"].size(), 3u);
  // A reload keeps what the kernel said.
  ASSERT_TRUE(call({{"cmd", "reload"}})["ok"].get<bool>());
  EXPECT_EQ(egress("198.51.100.130"), "2001:db8:1:46::/96");
  {
    std::lock_guard lock(st.change_mutex);
    st.pe.kernel_block(net::Ipv4Prefix{net::Ipv4Addr{0xc6336480u}, 25}, false);
    // A configured block is not removed by the kernel's route going away.
    st.pe.kernel_block(net::Ipv4Prefix{net::Ipv4Addr{0xc0000200u}, 26}, true);
    st.pe.kernel_block(net::Ipv4Prefix{net::Ipv4Addr{0xc0000200u}, 26}, false);
  }
  EXPECT_EQ(egress("198.51.100.130"), "2001:db8:3:46::/96");
  EXPECT_EQ(egress("192.0.2.10"), "2001:db8:1:46::/96");
}

TEST_F(ControlPe, RuleCommandsNeedRolePe) {
  write("[daemon]\nrole = \"siit\"\n[translator]\npool6 = \"64:ff9b::/96\"\n");
  ASSERT_TRUE(call({{"cmd", "reload"}})["ok"].get<bool>());
  auto r = call({{"cmd", "rule.show"}});
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_NE(r["error"].get<std::string>().find("role pe"), std::string::npos);
}

}  // namespace
}  // namespace edge46::daemon
