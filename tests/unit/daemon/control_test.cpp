// The control protocol (src/daemon/control): status, EAMT changes through
// the Left-Right pair, reload refusing a bad file while the running snapshot
// keeps serving, readers racing changes.
#include "daemon/control.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "config/loader.h"

namespace edge46::daemon {
namespace {

const char* kGood = R"(
[daemon]
role = "siit"
[translator]
pool6 = "64:ff9b::/96"
[[eamt]]
ipv6 = "2001:db8:6::2/128"
ipv4 = "198.51.100.2/32"
)";

struct Control : ::testing::Test {
  std::string path = ::testing::TempDir() + "edge46-control-test-" + std::to_string(::getpid()) + ".toml";
  DaemonState st{1};

  void write(const std::string& text) {
    std::ofstream f(path);
    f << text;
  }
  void SetUp() override {
    write(kGood);
    auto s = config::load_file(path);
    ASSERT_TRUE(s) << s.error().to_string();
    st.config_path = path;
    st.tun_name = "test";
    st.eamt.init(s->eamt);
    st.snapshot.reset(std::move(*make_snapshot(*s, 0)));
  }
  void TearDown() override { std::remove(path.c_str()); }
  Json call(const Json& req) { return Json::parse(handle_request(st, req.dump())); }
};

TEST_F(Control, Status) {
  auto r = call({{"cmd", "status"}});
  EXPECT_TRUE(r["ok"].get<bool>());
  EXPECT_EQ(r["role"], "siit");
  EXPECT_EQ(r["tun"], "test");
  EXPECT_EQ(r["eamt_entries"], 1);
  EXPECT_EQ(r["pool6"]["prefix"], "64:ff9b::/96");
  // No route mirror in this test: the loop guard says it is off.
  EXPECT_EQ(r["loop_guard"], "off (no route mirror)");
}

// The route mirror's thread sets the loop guard's state while the control
// thread answers status: its own lock, so the two may run at once.
TEST_F(Control, StatusShowsTheLoopGuardSetFromAnotherThread) {
  st.set_loop_guard("on (1 IPv6 route into the TUN)");  // as TunRouteMirror::start leaves it
  std::atomic<bool> stop{false};
  std::thread mirror([&] {
    for (int i = 0; !stop.load(); ++i) {
      st.set_loop_guard("on (" + std::to_string(i % 3) + " IPv6 routes into the TUN)");
    }
  });
  for (int i = 0; i < 200; ++i) {
    const auto text = call({{"cmd", "status"}})["loop_guard"].get<std::string>();
    EXPECT_EQ(text.rfind("on (", 0), 0u) << text;
  }
  stop = true;
  mirror.join();
  st.set_loop_guard("off (route mirror: netlink bind: Operation not permitted)");
  EXPECT_EQ(call({{"cmd", "status"}})["loop_guard"], "off (route mirror: netlink bind: Operation not permitted)");
}

TEST_F(Control, BadRequestsAreAnsweredNotFatal) {
  EXPECT_FALSE(Json::parse(handle_request(st, "not json"))["ok"].get<bool>());
  EXPECT_FALSE(call({{"nocmd", 1}})["ok"].get<bool>());
  EXPECT_FALSE(call({{"cmd", "frobnicate"}})["ok"].get<bool>());
  EXPECT_FALSE(call({{"cmd", "eamt.add"}, {"ipv6", "zzz"}, {"ipv4", "1.2.3.4/32"}})["ok"].get<bool>());
}

TEST_F(Control, EamtAddRemoveIsLeftRightOutsideTheSnapshot) {
  // An EAMT change is applied to the standby copy of the runtime table,
  // which is published, and then to the other copy: the published table
  // alternates between the two, and the configuration snapshot is not
  // touched (no copy of the Settings, no new generation).
  const Snapshot* snap = st.snapshot.current();
  const uint64_t gen = snap->generation;
  const mapping::Eamt* before = &st.eamt.current();
  auto r = call({{"cmd", "eamt.add"}, {"ipv6", "2001:db8:7::/120"}, {"ipv4", "198.51.101.0/24"}});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  const mapping::Eamt* after = &st.eamt.current();
  EXPECT_NE(before, after);
  EXPECT_EQ(after->entries().size(), 2u);
  // The copy readers left has caught up (Left-Right).
  EXPECT_EQ(before->entries(), after->entries());
  EXPECT_EQ(st.snapshot.current(), snap);
  EXPECT_EQ(st.snapshot.current()->generation, gen);
  EXPECT_EQ(r["version"], st.eamt.version());

  auto show = call({{"cmd", "eamt.show"}});
  ASSERT_EQ(show["eamt"].size(), 2u);
  EXPECT_EQ(show["eamt"][0]["source"], "config");
  EXPECT_EQ(show["eamt"][1]["ipv6"], "2001:db8:7::/120");
  EXPECT_EQ(show["eamt"][1]["source"], "ctl");
  EXPECT_EQ(call({{"cmd", "status"}})["eamt_entries"], 2);

  // Collisions are refused and publish nothing.
  const uint64_t version = st.eamt.version();
  EXPECT_FALSE(
      call({{"cmd", "eamt.add"}, {"ipv6", "2001:db8:8::/128"}, {"ipv4", "198.51.100.2/32"}})["ok"].get<bool>());
  EXPECT_EQ(&st.eamt.current(), after);
  EXPECT_EQ(st.eamt.version(), version);
  // Removing something absent is refused; removing the entry works and
  // publishes the other copy again.
  EXPECT_FALSE(
      call({{"cmd", "eamt.remove"}, {"ipv6", "2001:db8:9::/128"}, {"ipv4", "198.51.100.9/32"}})["ok"].get<bool>());
  EXPECT_TRUE(
      call({{"cmd", "eamt.remove"}, {"ipv6", "2001:db8:7::/120"}, {"ipv4", "198.51.101.0/24"}})["ok"].get<bool>());
  EXPECT_EQ(&st.eamt.current(), before);
  EXPECT_EQ(before->entries().size(), 1u);
  EXPECT_EQ(after->entries().size(), 1u);
}

// A reload replaces the file's EAMs only: entries added with edge46ctl
// survive it, file entries that left the file go, new ones come, and a file
// entry removed with edge46ctl comes back (the file is true again).
TEST_F(Control, ReloadReplacesOnlyTheFileEams) {
  ASSERT_TRUE(call({{"cmd", "eamt.add"}, {"ipv6", "2001:db8:7::/120"}, {"ipv4", "198.51.101.0/24"}})["ok"]);
  write(std::string(kGood) + "[[eamt]]\nipv6 = \"2001:db8:5::1/128\"\nipv4 = \"198.51.100.5/32\"\n");
  ASSERT_TRUE(call({{"cmd", "reload"}})["ok"].get<bool>());
  auto show = call({{"cmd", "eamt.show"}})["eamt"];
  ASSERT_EQ(show.size(), 3u) << show.dump();
  std::map<std::string, std::string> by_v6;
  for (const auto& e : show) by_v6[e["ipv6"].get<std::string>()] = e["source"].get<std::string>();
  EXPECT_EQ(by_v6["2001:db8:6::2/128"], "config");
  EXPECT_EQ(by_v6["2001:db8:5::1/128"], "config");
  EXPECT_EQ(by_v6["2001:db8:7::/120"], "ctl");

  // The file loses 2001:db8:6::2; edge46ctl removes the file's 2001:db8:5::1.
  write(
      "[daemon]\nrole = \"siit\"\n[translator]\npool6 = \"64:ff9b::/96\"\n"
      "[[eamt]]\nipv6 = \"2001:db8:5::1/128\"\nipv4 = \"198.51.100.5/32\"\n");
  ASSERT_TRUE(call({{"cmd", "eamt.remove"}, {"ipv6", "2001:db8:5::1/128"}, {"ipv4", "198.51.100.5/32"}})["ok"]);
  ASSERT_TRUE(call({{"cmd", "reload"}})["ok"].get<bool>());
  show = call({{"cmd", "eamt.show"}})["eamt"];
  by_v6.clear();
  for (const auto& e : show) by_v6[e["ipv6"].get<std::string>()] = e["source"].get<std::string>();
  EXPECT_EQ(by_v6.size(), 2u) << show.dump();
  EXPECT_EQ(by_v6["2001:db8:5::1/128"], "config");
  EXPECT_EQ(by_v6["2001:db8:7::/120"], "ctl");

  // A file entry that overlaps an edge46ctl entry refuses the whole reload;
  // the table and the snapshot stay as they were.
  const uint64_t version = st.eamt.version();
  const Snapshot* snap = st.snapshot.current();
  write(std::string(kGood) + "[[eamt]]\nipv6 = \"2001:db8:9::/120\"\nipv4 = \"198.51.101.0/24\"\n");
  auto r = call({{"cmd", "reload"}});
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_NE(r["error"].get<std::string>().find("198.51.101.0/24"), std::string::npos) << r.dump();
  EXPECT_EQ(st.eamt.version(), version);
  EXPECT_EQ(st.snapshot.current(), snap);
  EXPECT_EQ(call({{"cmd", "eamt.show"}})["eamt"].size(), 2u);
}

// Item 7 of issue 7 through the control socket: an EAM overlapping a
// running one (contained, containing, or the catch-all) is refused with the
// running entry named, and nothing is published.
TEST_F(Control, EamtAddRefusesOverlapsNamingTheEntry) {
  const Snapshot* before = st.snapshot.current();
  const uint64_t gen = before->generation;
  const std::pair<const char*, const char*> overlapping[] = {
      {"2001:db8:7::/120", "198.51.100.0/24"},  // IPv4 around 198.51.100.2/32
      {"2001:db8:6::/120", "192.0.2.1/32"},     // IPv6 around 2001:db8:6::2/128
      {"::/0", "0.0.0.0/0"},
  };
  for (const auto& [v6, v4] : overlapping) {
    auto r = call({{"cmd", "eamt.add"}, {"ipv6", v6}, {"ipv4", v4}});
    ASSERT_FALSE(r["ok"].get<bool>()) << v6 << " " << v4;
    auto err = r["error"].get<std::string>();
    EXPECT_NE(err.find("overlaps the existing entry 2001:db8:6::2/128 <-> 198.51.100.2/32"), std::string::npos) << err;
  }
  EXPECT_EQ(st.snapshot.current(), before);
  EXPECT_EQ(st.snapshot.current()->generation, gen);
  EXPECT_EQ(call({{"cmd", "eamt.show"}})["eamt"].size(), 1u);
}

// Item 7 at reload: the file's overlapping entry is refused at its
// file:line:column, and the running configuration stays.
TEST_F(Control, ReloadRefusesOverlappingEamsAtTheirLine) {
  const Snapshot* before = st.snapshot.current();
  write(std::string(kGood) + "[[eamt]]\nipv6 = \"2001:db8:9::/120\"\nipv4 = \"198.51.100.0/24\"\n");
  auto r = call({{"cmd", "reload"}});
  ASSERT_FALSE(r["ok"].get<bool>());
  auto err = r["error"].get<std::string>();
  EXPECT_NE(err.find(path + ":9:1: eamt[1]: IPv4 prefix 198.51.100.0/24 overlaps the existing entry "
                            "2001:db8:6::2/128 <-> 198.51.100.2/32"),
            std::string::npos)
      << err;
  EXPECT_EQ(st.snapshot.current(), before);
}

TEST_F(Control, ReloadRefusesBadFileAndKeepsRunningConfig) {
  const Snapshot* before = st.snapshot.current();
  write("[translator]\npool6 = \"64:ff9b::/97\"\n");
  auto r = call({{"cmd", "reload"}});
  EXPECT_FALSE(r["ok"].get<bool>());
  auto err = r["error"].get<std::string>();
  EXPECT_NE(err.find(path + ":2:"), std::string::npos) << err;  // file:line
  EXPECT_EQ(st.snapshot.current(), before);
  auto status = call({{"cmd", "status"}});
  EXPECT_EQ(status["reloads_failed"], 1);
  EXPECT_FALSE(status["last_reload_error"].get<std::string>().empty());

  write(std::string(kGood) + "[[eamt]]\nipv6 = \"2001:db8:5::1/128\"\nipv4 = \"198.51.100.5/32\"\n");
  r = call({{"cmd", "reload"}});
  EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(st.eamt.current().entries().size(), 2u);
  EXPECT_EQ(call({{"cmd", "status"}})["reloads_ok"], 1);
}

TEST_F(Control, ReloadRefusesUnknownRole) {
  const Snapshot* before = st.snapshot.current();
  write("[daemon]\nrole = \"nat64\"\n");
  auto r = call({{"cmd", "reload"}});
  EXPECT_FALSE(r["ok"].get<bool>());
  const std::string why = path + ":2:8: daemon.role: \"nat64\" is not one of siit | siit-dc-br | siit-dc-er | pe";
  EXPECT_EQ(r["error"], "reload refused, running configuration kept: " + why);
  EXPECT_EQ(call({{"cmd", "status"}})["last_reload_error"], why);
  EXPECT_EQ(st.snapshot.current(), before);
}

// The live file replaced by a directory read as an empty file: the reload
// "succeeded" with the all-defaults configuration (no pool6, no EAMs).
TEST_F(Control, ReloadRefusesADirectory) {
  const Snapshot* before = st.snapshot.current();
  std::remove(path.c_str());
  std::filesystem::create_directory(path);
  auto r = call({{"cmd", "reload"}});
  std::filesystem::remove(path);
  EXPECT_FALSE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["error"],
            "reload refused, running configuration kept: " + path + ": is a directory, not a configuration file");
  EXPECT_EQ(st.snapshot.current(), before);
  EXPECT_TRUE(st.snapshot.current()->settings.xlat.pool6);
}

// printf '{"cmd":"\xff"}\n' into the socket killed edge46d: the parse error
// quoted the bad byte and the reply was serialised outside the try.
TEST_F(Control, InvalidUtf8IsAnsweredNotFatal) {
  for (std::string line :
       {std::string("{\"cmd\":\"\xff\"}"),
        std::string("{\"cmd\":\"eamt.add\",\"ipv6\":\"2001:db8::\xff/120\",\"ipv4\":\"1.2.3.0/24\"}"),
        std::string("\xff\xfe"), std::string("{\"\xc0\xaf\":1}")}) {
    std::string reply;
    ASSERT_NO_THROW(reply = handle_request(st, line)) << line;
    Json r;
    ASSERT_NO_THROW(r = Json::parse(reply)) << reply;  // the reply itself is valid UTF-8 JSON
    EXPECT_FALSE(r["ok"].get<bool>());
    EXPECT_TRUE(r["error"].get<std::string>().starts_with("bad request: not JSON")) << reply;
  }
  auto r = Json::parse(handle_request(st, "{\"cmd\":\"\xff\"}"));
  EXPECT_NE(r["error"].get<std::string>().find("\\xff"), std::string::npos) << r.dump();  // named, in hex
  EXPECT_TRUE(call({{"cmd", "status"}})["ok"].get<bool>());
}

// The issue's payload: 400 KB, under the request size limit; it overflowed
// the stack (SIGSEGV).
std::string deep_request(std::size_t depth) {
  return R"({"cmd":"eamt.add","ipv6":)" + std::string(depth, '[') + std::string(depth, ']') +
         R"(,"ipv4":"1.2.3.0/24"})";
}

TEST_F(Control, DeepNestingIsRefusedBeforeParsing) {
  std::string reply;
  ASSERT_NO_THROW(reply = handle_request(st, deep_request(200'000)));
  auto r = Json::parse(reply);
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_EQ(r["error"], "bad request: JSON nested deeper than 16 levels");
  EXPECT_EQ(st.eamt.current().entries().size(), 1u);
}

TEST_F(Control, NestingUpToTheLimitIsParsed) {
  // The object is level 1: 15 more arrays make 16 levels, one more is refused.
  auto at = [&](std::size_t arrays) {
    return Json::parse(
        handle_request(st, R"({"cmd":"status","x":)" + std::string(arrays, '[') + std::string(arrays, ']') + "}"));
  };
  EXPECT_TRUE(at(15)["ok"].get<bool>()) << at(15).dump();
  EXPECT_EQ(at(16)["error"], "bad request: JSON nested deeper than 16 levels");
}

TEST_F(Control, TenMegabyteValuesAreNotEchoed) {
  const std::string big(10'000'000, 'q');
  auto r = call({{"cmd", big}});
  EXPECT_EQ(r["error"], "unknown command '" + std::string(64, 'q') + "...(10000000 bytes)'");
  r = call({{"cmd", "eamt.add"}, {"ipv6", big}, {"ipv4", "1.2.3.0/24"}});
  EXPECT_EQ(r["error"], "not an IPv6 prefix (host bits must be zero): " + std::string(64, 'q') + "...(10000000 bytes)");
  r = call({{"cmd", "eamt.add"}, {"ipv6", "2001:db8:7::/120"}, {"ipv4", big}});
  EXPECT_EQ(r["error"], "not an IPv4 prefix (host bits must be zero): " + std::string(64, 'q') + "...(10000000 bytes)");
  // A broken request quotes an excerpt of its last token only.
  r = Json::parse(handle_request(st, "{\"cmd\":\"" + big));
  EXPECT_LT(r["error"].get<std::string>().size(), 400u);
}

TEST_F(Control, ReloadWithATenMegabyteValueIsNotEchoed) {
  write("[translator]\npool6 = \"" + std::string(10'000'000, 'p') + "\"\n");
  auto r = call({{"cmd", "reload"}});
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_LT(r["error"].get<std::string>().size(), 400u);
  EXPECT_NE(r["error"].get<std::string>().find("...(10000000 bytes)"), std::string::npos);
  EXPECT_LT(call({{"cmd", "status"}})["last_reload_error"].get<std::string>().size(), 400u);
}

TEST_F(Control, ReloadKeepsRestartOnlyKeys) {
  write(std::string("[daemon]\ntun = \"other\"\nrole = \"siit-dc-br\"\n") + "[translator]\npool6 = \"64:ff9b::/96\"\n");
  auto r = call({{"cmd", "reload"}});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_TRUE(r.contains("warning"));
  const Snapshot* snap = st.snapshot.current();
  EXPECT_EQ(snap->settings.daemon.tun, "edge46");
  EXPECT_EQ(snap->role.role, pipeline::Role::kSiitDcBr);
}

// The reassembly bounds are read once, when the workers start: a reload
// that changes them keeps the running values, says so, and config.show shows
// what is in force. The reloadable [limits] keys still change.
TEST_F(Control, ReloadKeepsRestartOnlyReassemblyLimits) {
  const auto before = st.snapshot.current()->settings.limits;
  ASSERT_EQ(before.reassembly_slots, 64u);  // the defaults of kGood
  write(std::string(kGood) +
        "[limits]\nreassembly-slots = 4096\nreassembly-memory = 8388608\nreassembly-timeout-ms = 500\n"
        "icmp-error-rate = 7\n");
  auto r = call({{"cmd", "reload"}});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  ASSERT_TRUE(r.contains("warning")) << r.dump();
  const auto w = r["warning"].get<std::string>();
  EXPECT_NE(w.find("reassembly-slots"), std::string::npos) << w;
  EXPECT_NE(w.find("reassembly-memory"), std::string::npos) << w;
  EXPECT_NE(w.find("reassembly-timeout-ms"), std::string::npos) << w;
  const auto& now = st.snapshot.current()->settings.limits;
  EXPECT_EQ(now.reassembly_slots, 64u);
  EXPECT_EQ(now.reassembly_memory, before.reassembly_memory);
  EXPECT_EQ(now.reassembly_timeout_ms, before.reassembly_timeout_ms);
  EXPECT_EQ(now.icmp_error_rate, 7u);
  auto show = call({{"cmd", "config.show"}}).dump();
  EXPECT_EQ(show.find("4096"), std::string::npos) << show;
  // Only the reassembly keys changed: no daemon warning.
  EXPECT_EQ(w.find("daemon.tun"), std::string::npos) << w;
}

TEST_F(Control, StatsListEveryCounter) {
  st.counters.worker(0).drop(core::Drop::kNoMappingDst);
  auto r = call({{"cmd", "stats"}});
  ASSERT_TRUE(r["ok"].get<bool>());
  EXPECT_EQ(r["counters"]["drop.no_mapping_dst"], 1);
  EXPECT_TRUE(r["counters"].contains("drop.er_ingress_filter"));
  EXPECT_TRUE(r["help"].contains("packets_in.ipv4"));
}

// Item 15 of issue 7: readers (registered RCU readers, like the workers)
// hammer the published snapshot while the control plane adds and removes
// thousands of EAMs and reloads (freeing whole pairs). Every version a
// reader sees is whole: the generation never goes back and each EAM it finds
// maps as configured. Run under the sanitizer build, a read of a freed or
// half-changed version would be reported.
TEST_F(Control, ReadersHammerWhileEamsChange) {
  constexpr uint32_t kEams = 1000;
  auto v6_of = [](uint32_t i) { return "2001:db8:100::" + std::to_string(i) + "/128"; };
  auto v4_of = [](uint32_t i) { return "10.0." + std::to_string(i >> 8) + "." + std::to_string(i & 255) + "/32"; };
  // 2001:db8:100::<i> is written in hex digits of i's decimal spelling.
  auto v6_value = [](uint32_t i) {
    net::u128 low = 0;
    for (char ch : std::to_string(i)) low = low * 16 + static_cast<unsigned>(ch - '0');
    return (net::u128{0x20010db8} << 96) | (net::u128{0x0100} << 80) | low;
  };
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, bad{0};
  std::vector<std::thread> readers;
  // An ASSERT below returns from the test: the readers are stopped and
  // joined on the way out, or std::terminate would end the whole run.
  struct JoinReaders {
    std::atomic<bool>& stop;
    std::vector<std::thread>& readers;
    ~JoinReaders() {
      stop = true;
      for (auto& t : readers) {
        if (t.joinable()) t.join();
      }
    }
  } join_readers{stop, readers};
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      RcuReaderThread reader;
      std::mt19937 rng(static_cast<unsigned>(t));
      uint64_t last_gen = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const Snapshot* p = st.snapshot.read();
        if (p->generation < last_gen) ++bad;
        last_gen = p->generation;
        const auto& eamt = *st.eamt.read();
        for (int k = 0; k < 16; ++k) {
          auto i = static_cast<uint32_t>(rng() % kEams);
          auto got = eamt.to_v6(net::Ipv4Addr{0x0a000000u | i});
          if (got && got->to_u128() != v6_value(i)) ++bad;
        }
        if (eamt.entries().size() > kEams + 1) ++bad;
        ++reads;
        RcuReaderThread::quiescent();
      }
    });
  }
  for (int round = 0; round < 2; ++round) {
    for (uint32_t i = 0; i < kEams; ++i) {
      auto r = call({{"cmd", "eamt.add"}, {"ipv6", v6_of(i)}, {"ipv4", v4_of(i)}});
      ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    }
    ASSERT_EQ(call({{"cmd", "status"}})["eamt_entries"], kEams + 1);
    for (uint32_t i = 0; i < kEams; i += 2) {
      ASSERT_TRUE(call({{"cmd", "eamt.remove"}, {"ipv6", v6_of(i)}, {"ipv4", v4_of(i)}})["ok"].get<bool>());
    }
    // A reload replaces (and frees) the whole snapshot pair under the
    // readers; the EAMs added with edge46ctl survive it (tables.h).
    ASSERT_TRUE(call({{"cmd", "reload"}})["ok"].get<bool>());
    ASSERT_EQ(call({{"cmd", "status"}})["eamt_entries"], 1 + kEams / 2);
    for (uint32_t i = 1; i < kEams; i += 2) {
      ASSERT_TRUE(call({{"cmd", "eamt.remove"}, {"ipv6", v6_of(i)}, {"ipv4", v4_of(i)}})["ok"].get<bool>());
    }
    ASSERT_EQ(call({{"cmd", "status"}})["eamt_entries"], 1);
  }
  // Reloads in a row: each frees a pair that readers were just using.
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(call({{"cmd", "reload"}})["ok"].get<bool>());
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
}

}  // namespace
}  // namespace edge46::daemon
