// src/config: good files, one test per kind of error (with its place), and
// the dump/load round trip.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "config/loader.h"

namespace edge46::config {
namespace {

Settings load_ok(std::string_view text) {
  auto r = load_string(text, "t.toml");
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
  return r ? *r : Settings{};
}

ConfigError load_err(std::string_view text) {
  auto r = load_string(text, "t.toml");
  EXPECT_FALSE(r.has_value()) << "unexpectedly loaded:\n" << text;
  return r ? ConfigError{} : r.error();
}

constexpr std::string_view kFull = R"(# the graybox topology
[daemon]
role = "siit"
workers = 2
tun = "siit0"
tun-multiqueue = false
tun-offload = false
control-socket = "/tmp/e.sock"
log-level = "debug"

[translator]
pool6 = "2001:db8:100::/40"
eam-hairpin-mode = "simple"
denylist4 = ["192.0.2.0/24", "10.9.0.0/16"]
rfc6791v4-prefix = "203.0.113.8"
rfc6791v6-prefix = "2001:db8::/64"
randomize-rfc6791-addresses = false
ipv4-address = "198.51.100.1"
ipv6-address = "2001:db8:1c0:2:1::"
lowest-ipv6-mtu = 1402
ipv4-mtu = 1400
ipv6-mtu = 9000
mtu-plateaus = [1500, 9000, 1280, 1500]
zeroize-traffic-class = true
override-tos = true
tos = 184
amend-udp-checksum-zero = true

[[eamt]]
ipv6 = "2001:db8:3::/120"
ipv4 = "1.0.0.0/24"

[[eamt]]
ipv6 = "2001:db8:2::/120"
ipv4 = "10.0.0.0/24"

[siit-dc]
ingress-filter = true
drop-own-service-sources = false

[limits]
icmp-error-rate = 250
icmp-error-burst = 7
reassembly-slots = 16
reassembly-memory = 131072
reassembly-timeout-ms = 500
)";

TEST(Load, EmptyDocumentIsAllDefaults) {
  Settings s = load_ok("");
  EXPECT_EQ(s.daemon, DaemonSettings{});
  EXPECT_EQ(s.siit_dc, SiitDcSettings{});
  EXPECT_FALSE(s.xlat.pool6);
  EXPECT_TRUE(s.eamt.empty());
  EXPECT_EQ(s.xlat.hairpin, xlat::HairpinMode::kIntrinsic);
  EXPECT_EQ(s.xlat.lowest_ipv6_mtu, 1280u);
  EXPECT_EQ(s.source, "t.toml");
}

TEST(Load, EveryKey) {
  Settings s = load_ok(kFull);
  EXPECT_EQ(s.daemon.role, "siit");
  EXPECT_EQ(s.daemon.workers, 2u);
  EXPECT_EQ(s.daemon.tun, "siit0");
  EXPECT_FALSE(s.daemon.tun_multiqueue);
  EXPECT_FALSE(s.daemon.tun_offload);
  EXPECT_EQ(s.daemon.control_socket, "/tmp/e.sock");
  EXPECT_EQ(s.daemon.log_level, "debug");
  ASSERT_TRUE(s.xlat.pool6);
  EXPECT_EQ(net::to_string(s.xlat.pool6->prefix), "2001:db8:100::/40");
  EXPECT_EQ(s.xlat.pool6->layout, mapping::Pool6Layout::kRfc6052);
  EXPECT_EQ(s.xlat.hairpin, xlat::HairpinMode::kSimple);
  EXPECT_EQ(s.xlat.denylist4.size(), 2u);
  EXPECT_NE(s.xlat.denylist4.lookup(0xc0000221u), nullptr);  // 192.0.2.33
  EXPECT_EQ(s.xlat.denylist4.lookup(0xc6336402u), nullptr);  // 198.51.100.2
  ASSERT_TRUE(s.xlat.rfc6791v4);
  EXPECT_EQ(net::to_string(*s.xlat.rfc6791v4), "203.0.113.8/32");
  ASSERT_TRUE(s.xlat.rfc6791v6);
  EXPECT_EQ(s.xlat.rfc6791v6->len, 64);
  EXPECT_FALSE(s.xlat.randomize_rfc6791);
  EXPECT_EQ(s.xlat.own_ipv4, net::parse_ipv4("198.51.100.1"));
  EXPECT_EQ(s.xlat.own_ipv6, net::parse_ipv6("2001:db8:1c0:2:1::"));
  EXPECT_EQ(s.xlat.lowest_ipv6_mtu, 1402u);
  EXPECT_EQ(s.xlat.ipv4_mtu, 1400u);
  EXPECT_EQ(s.xlat.ipv6_mtu, 9000u);
  // Sorted largest first, duplicates removed.
  EXPECT_EQ(s.xlat.mtu_plateaus, (std::vector<uint16_t>{9000, 1500, 1280}));
  EXPECT_TRUE(s.xlat.zeroize_traffic_class);
  EXPECT_TRUE(s.xlat.override_tos);
  EXPECT_EQ(s.xlat.tos, 184);
  EXPECT_TRUE(s.xlat.amend_udp_checksum_zero);
  ASSERT_EQ(s.eamt.entries().size(), 2u);
  EXPECT_EQ(net::to_string(s.eamt.entries()[1].v4), "10.0.0.0/24");
  EXPECT_TRUE(s.siit_dc.ingress_filter);
  EXPECT_FALSE(s.siit_dc.drop_own_service_sources);
  EXPECT_EQ(s.limits, (LimitSettings{250, 7, 16, 131072, 500}));
}

TEST(Load, Pool6AsTableWithLayout) {
  Settings s = load_ok("[translator]\npool6 = { prefix = \"2001:db8:100::/40\", layout = \"low32\" }\n");
  ASSERT_TRUE(s.xlat.pool6);
  EXPECT_EQ(s.xlat.pool6->layout, mapping::Pool6Layout::kLow32);
}

TEST(Load, ShippedExampleLoads) {
  auto r = load_file(EDGE46_EXAMPLES_DIR "/edge46.toml");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->xlat.pool6);
  EXPECT_EQ(r->eamt.entries().size(), 2u);
}

TEST(Load, MissingFile) {
  auto r = load_file("/nonexistent/edge46.toml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().line, 0);
  EXPECT_NE(r.error().to_string().find("/nonexistent/edge46.toml: cannot open"), std::string::npos);
}

// A directory opens and reads as empty through an ifstream: it loaded as the
// all-defaults configuration (no pool6, no EAMs).
TEST(Load, DirectoryIsRefused) {
  const std::string dir = ::testing::TempDir() + "edge46-loader-dir-" + std::to_string(::getpid());
  std::filesystem::create_directory(dir);
  auto r = load_file(dir);
  std::filesystem::remove(dir);
  ASSERT_FALSE(r) << "a directory loaded as a configuration";
  EXPECT_EQ(r.error().to_string(), dir + ": is a directory, not a configuration file");
}

TEST(Load, FifoIsRefused) {
  const std::string fifo = ::testing::TempDir() + "edge46-loader-fifo-" + std::to_string(::getpid());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto r = load_file(fifo);  // must not block waiting for a writer either
  std::filesystem::remove(fifo);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not a regular file"), std::string::npos) << r.error().to_string();
}

TEST(Load, UnreadableFileIsRefused) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "root reads files whatever their mode";
  }
  const std::string f = ::testing::TempDir() + "edge46-loader-unreadable-" + std::to_string(::getpid());
  std::ofstream(f) << "[daemon]\n";
  ::chmod(f.c_str(), 0);
  auto r = load_file(f);
  std::remove(f.c_str());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot open"), std::string::npos);
}

// --- error messages quote bounded excerpts of the input ----------------------

TEST(Excerpt, ShortPrintableIsKept) {
  EXPECT_EQ(excerpt("64:ff9b::/97"), "64:ff9b::/97");
  EXPECT_EQ(excerpt("caf\xc3\xa9"), "caf\xc3\xa9");  // valid UTF-8 stays
}

TEST(Excerpt, LongIsCutWithItsLength) {
  const std::string big(10'000'000, 'a');
  EXPECT_EQ(excerpt(big), std::string(64, 'a') + "...(10000000 bytes)");
  EXPECT_EQ(excerpt(std::string(65, 'b'), 64), std::string(64, 'b') + "...(65 bytes)");
  EXPECT_EQ(excerpt(std::string(64, 'b'), 64), std::string(64, 'b'));
}

TEST(Excerpt, BadBytesAndControlsAreHex) {
  EXPECT_EQ(excerpt("a\xff\nb"), "a\\xff\\x0ab");
  EXPECT_EQ(excerpt("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a UTF-16 surrogate is ill-formed UTF-8
  EXPECT_EQ(excerpt("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  // A character that would cross the limit is left out whole.
  EXPECT_EQ(excerpt("ab\xc3\xa9", 3), "ab...(4 bytes)");
}

TEST(Errors, TenMegabyteValueIsNotEchoed) {
  const std::string big(10'000'000, 'x');
  for (const char* key : {"pool6", "ipv4-address", "eam-hairpin-mode"}) {
    auto e = load_err("[translator]\n" + std::string(key) + " = \"" + big + "\"\n");
    const auto msg = e.to_string();
    EXPECT_LT(msg.size(), 400u) << key << ": " << msg.substr(0, 400);
    EXPECT_NE(msg.find("...(10000000 bytes)"), std::string::npos) << key << ": " << msg.substr(0, 400);
  }
  auto e = load_err("[[eamt]]\nipv6 = \"" + big + "\"\nipv4 = \"192.0.2.1\"\n");
  EXPECT_LT(e.to_string().size(), 400u);
  e = load_err("[daemon]\n" + std::string(1'000'000, 'k') + " = 1\n");  // an unknown key
  EXPECT_LT(e.to_string().size(), 600u) << e.to_string().substr(0, 600);
  EXPECT_NE(e.to_string().find("...(1000000 bytes)"), std::string::npos);
}

TEST(Errors, TenMegabyteValueInAFileIsNotEchoed) {
  const std::string f = ::testing::TempDir() + "edge46-loader-big-" + std::to_string(::getpid()) + ".toml";
  std::ofstream(f) << "[translator]\npool6 = \"" << std::string(10'000'000, 'z') << "\"\n";
  auto r = load_file(f);
  std::remove(f.c_str());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().to_string(),
            f + ":2:9: translator.pool6: \"" + std::string(64, 'z') +
                "...(10000000 bytes)\" is not an IPv6 prefix (x:x::/len, or a bare address for /128)");
}

// --- errors: each kind, with its place -----------------------------------------

TEST(Errors, TomlSyntax) {
  auto e = load_err("[daemon]\nworkers = = 3\n");
  EXPECT_EQ(e.file, "t.toml");
  EXPECT_EQ(e.line, 2);
  EXPECT_TRUE(e.key.empty());
}

TEST(Errors, UnknownTopLevelTable) {
  auto e = load_err("[daemon]\nworkers = 1\n\n[translater]\npool6 = \"64:ff9b::/96\"\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "translater");
  EXPECT_NE(e.message.find("unknown key"), std::string::npos);
}

TEST(Errors, UnknownKeyWithPathAndColumn) {
  auto e = load_err("[translator]\npool6 = \"64:ff9b::/96\"\n  lowest-ipv6-mru = 1280\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.column, 3);
  EXPECT_EQ(e.key, "translator.lowest-ipv6-mru");
  EXPECT_EQ(e.to_string().rfind("t.toml:3:3: translator.lowest-ipv6-mru: unknown key", 0), 0u) << e.to_string();
}

TEST(Errors, UnknownKeyInsidePool6Table) {
  auto e = load_err("[translator]\npool6 = { prefix = \"64:ff9b::/96\", lay0ut = \"low32\" }\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.key, "translator.pool6.lay0ut");
}

TEST(Errors, UnknownKeyInEamt) {
  auto e = load_err("[[eamt]]\nipv6 = \"2001:db8:3::/120\"\nipv4 = \"1.0.0.0/24\"\nipv5 = \"x\"\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "eamt[0].ipv5");
}

TEST(Errors, WrongType) {
  auto e = load_err("[daemon]\nrole = \"siit\"\nworkers = \"4\"\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "daemon.workers");
  EXPECT_EQ(e.message, "expected an integer, got a string");
}

TEST(Errors, WrongTypeTableExpected) {
  auto e = load_err("daemon = 3\n");
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.key, "daemon");
}

TEST(Errors, BadChoice) {
  auto e = load_err("[translator]\n\neam-hairpin-mode = \"always\"\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "translator.eam-hairpin-mode");
  EXPECT_NE(e.message.find("off | simple | intrinsic"), std::string::npos);
}

TEST(Errors, PrefixWithHostBits) {
  auto e = load_err("[translator]\ndenylist4 = [\"10.0.0.0/8\",\n  \"192.0.2.1/24\"]\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "translator.denylist4[1]");
  EXPECT_NE(e.message.find("host bits"), std::string::npos);
}

TEST(Errors, NotAPrefix) {
  auto e = load_err("[translator]\nrfc6791v6-prefix = \"2001:db8::zz/64\"\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.key, "translator.rfc6791v6-prefix");
}

TEST(Errors, Pool6BadLength) {
  auto e = load_err("[translator]\npool6 = \"2001:db8::/44\"\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.key, "translator.pool6");
  EXPECT_NE(e.message.find("32, 40, 48, 56, 64 or 96"), std::string::npos);
}

TEST(Errors, OutOfRange) {
  auto e = load_err("[translator]\nlowest-ipv6-mtu = 1279\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.key, "translator.lowest-ipv6-mtu");
  EXPECT_EQ(e.message, "1279 is out of range 1280..65535");
}

TEST(Errors, LimitsOutOfRange) {
  for (const char* doc : {"[limits]\nicmp-error-burst = 0\n", "[limits]\nreassembly-memory = 4096\n",
                          "[limits]\nreassembly-timeout-ms = 99\n", "[limits]\nreassembly-slots = 4097\n"}) {
    auto r = load_string(doc, "t.toml");
    EXPECT_FALSE(r) << doc;
  }
  EXPECT_EQ(load_ok("").limits, LimitSettings{});
}

TEST(Errors, PlateauOutOfRange) {
  auto e = load_err("[translator]\nmtu-plateaus = [1500, 20]\n");
  EXPECT_EQ(e.key, "translator.mtu-plateaus[1]");
}

TEST(Errors, EamtCollisionUsesEamtAddMessage) {
  auto e = load_err(
      "[[eamt]]\nipv6 = \"2001:db8:3::/120\"\nipv4 = \"1.0.0.0/24\"\n\n"
      "[[eamt]]\nipv6 = \"2001:db8:4::/120\"\nipv4 = \"1.0.0.0/24\"\n");
  EXPECT_EQ(e.key, "eamt[1]");
  EXPECT_EQ(e.line, 5);  // the [[eamt]] header of the entry
  EXPECT_EQ(e.message, "IPv4 prefix 1.0.0.0/24 overlaps the existing entry 2001:db8:3::/120 <-> 1.0.0.0/24");
}

TEST(Errors, EamtSuffixTooLong) {
  auto e = load_err("[[eamt]]\nipv6 = \"2001:db8:3::/120\"\nipv4 = \"1.0.0.0/16\"\n");
  EXPECT_EQ(e.key, "eamt[0]");
  EXPECT_NE(e.message.find("too long"), std::string::npos);
}

TEST(Errors, EamtMissingKey) {
  auto e = load_err("[[eamt]]\nipv6 = \"2001:db8:3::/120\"\n");
  EXPECT_EQ(e.key, "eamt[0]");
  EXPECT_EQ(e.message, "missing key \"ipv4\"");
}

TEST(Errors, OwnAddressMustBeAnAddress) {
  auto e = load_err("[translator]\nipv4-address = \"198.51.100.1/24\"\n");
  EXPECT_EQ(e.key, "translator.ipv4-address");
  EXPECT_EQ(e.line, 2);
}

TEST(Errors, EdgeRelayNeedsEams) {
  auto e = load_err("[daemon]\nrole = \"siit-dc-er\"\n");
  EXPECT_EQ(e.key, "daemon.role");
  EXPECT_EQ(e.line, 2);
}

TEST(Errors, TunNameTooLong) {
  auto e = load_err("[daemon]\ntun = \"a-very-long-interface\"\n");
  EXPECT_EQ(e.key, "daemon.tun");
}

// --- dump / load -----------------------------------------------------------------

TEST(RoundTrip, FullDocument) {
  Settings s = load_ok(kFull);
  std::string text = dump_toml(s);
  auto again = load_string(text, "dump.toml");
  ASSERT_TRUE(again) << again.error().to_string() << "\n" << text;
  EXPECT_TRUE(*again == s) << text;
  // Dumping again gives the same text (but for the provenance comment line).
  auto body = [](const std::string& t) { return t.substr(t.find('\n')); };
  EXPECT_EQ(body(dump_toml(*again)), body(text));
}

TEST(RoundTrip, DefaultsAndUnsetOptionals) {
  Settings s = load_ok("");
  auto again = load_string(dump_toml(s), "dump.toml");
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_TRUE(*again == s);
  EXPECT_FALSE(again->xlat.pool6);
  EXPECT_FALSE(again->xlat.rfc6791v4);
}

TEST(RoundTrip, Low32AndStringEscapes) {
  Settings s = load_ok(
      "[daemon]\ncontrol-socket = \"/tmp/we\\\"ird\\\\path\"\n"
      "[translator]\npool6 = { prefix = \"2001:db8::/64\", layout = \"low32\" }\n");
  auto again = load_string(dump_toml(s), "dump.toml");
  ASSERT_TRUE(again) << again.error().to_string() << dump_toml(s);
  EXPECT_TRUE(*again == s);
  EXPECT_EQ(again->daemon.control_socket, "/tmp/we\"ird\\path");
}

TEST(RoundTrip, DifferentSettingsCompareUnequal) {
  Settings a = load_ok(kFull);
  Settings b = load_ok(kFull);
  b.xlat.tos = 1;
  EXPECT_FALSE(a == b);
}

TEST(Json, Shape) {
  Settings s = load_ok(kFull);
  auto j = to_json(s);
  EXPECT_EQ(j["translator"]["pool6"]["prefix"], "2001:db8:100::/40");
  EXPECT_EQ(j["eamt"].size(), 2u);
  EXPECT_EQ(j["daemon"]["workers"], 2);
  EXPECT_TRUE(to_json(load_ok(""))["translator"]["pool6"].is_null());
}

// --- [pe] (role pe) -------------------------------------------------------------------------------

const char* kPeDoc = R"(
[daemon]
role = "pe"
[pe]
prefixes = ["2001:db8:1:46::/96", "2001:db8:1:47::/96"]
accept = "encapsulate"
prefer = "translate"
ipv4 = ["192.0.2.0/26", "192.0.2.128/25"]
hop-limit = 32
core-mtu = 9000
pmtu-timeout = 300
no-rule = "drop"
trusted = ["2001:db8:ff::/48"]
ingress-rate = 5000
ingress-burst = 100
rules-file = "/etc/edge46/rules.txt"
[pe.kernel-routes]
tables = [254, 100]
protocols = ["bird", "static"]
include-connected = false
exclude-devices = ["mgmt0"]
[[pe.rule]]
prefix = "198.51.100.0/24"
pref6 = "2001:db8:3:46::/96"
modes = "translate"
[[pe.rule]]
prefix = "0.0.0.0/0"
pref6 = "2001:db8:d::/48"
layout = "rfc6052"
preference = 50
)";

TEST(LoadPe, EveryKey) {
  auto s = load_ok(kPeDoc);
  const auto& pe = s.pe;
  ASSERT_EQ(pe.prefixes.size(), 2u);
  EXPECT_EQ(net::to_string(pe.prefixes[1].prefix), "2001:db8:1:47::/96");
  EXPECT_EQ(pe.prefixes[0].layout, mapping::Pool6Layout::kLow32);  // the framework's Table 1 by default
  EXPECT_EQ(pe.accept, mapping::kModeEncapsulate);
  EXPECT_EQ(pe.prefer, mapping::kModeTranslate);
  ASSERT_EQ(pe.ipv4.size(), 2u);
  EXPECT_EQ(pe.hop_limit, 32);
  EXPECT_EQ(pe.core_mtu, 9000u);
  EXPECT_EQ(pe.pmtu_timeout_s, 300u);
  EXPECT_FALSE(pe.no_rule_unreachable);
  ASSERT_EQ(pe.trusted.size(), 1u);
  EXPECT_EQ(pe.ingress_rate, 5000u);
  EXPECT_EQ(pe.ingress_burst, 100u);
  EXPECT_EQ(pe.rules_file, "/etc/edge46/rules.txt");
  EXPECT_TRUE(pe.kernel_routes.enabled);
  EXPECT_EQ(pe.kernel_routes.tables, (std::vector<uint32_t>{254, 100}));
  EXPECT_EQ(pe.kernel_routes.protocols, (std::vector<std::string>{"bird", "static"}));
  EXPECT_FALSE(pe.kernel_routes.include_connected);
  ASSERT_EQ(pe.rules.size(), 2u);
  EXPECT_EQ(pe.rules[0].target.modes, mapping::kModeTranslate);
  EXPECT_EQ(pe.rules[0].source, mapping::RuleSource::kConfig);
  EXPECT_EQ(pe.rules[1].target.pool6.layout, mapping::Pool6Layout::kRfc6052);
  EXPECT_EQ(pe.rules[1].target.modes, mapping::kModeBoth);
  EXPECT_EQ(pe.rules[1].preference, 50u);
  // The dump loads back to the same settings.
  auto again = load_string(dump_toml(s), "again.toml");
  ASSERT_TRUE(again) << again.error().to_string() << "\n" << dump_toml(s);
  EXPECT_TRUE(*again == s);
  EXPECT_EQ(to_json(s)["pe"]["rule"].size(), 2u);
}

TEST(LoadPe, RefusedWithTheKeyAndTheReason) {
  auto e = load_err("[daemon]\nrole = \"pe\"\n");
  EXPECT_EQ(e.key, "daemon.role");
  EXPECT_NE(e.message.find("prefixes"), std::string::npos) << e.message;
  e = load_err(
      "[daemon]\nrole = \"pe\"\n[translator]\npool6 = \"64:ff9b::/96\"\n[pe]\nprefixes = [\"2001:db8:1:46::/96\"]\n");
  EXPECT_EQ(e.key, "translator.pool6");
  e = load_err("[pe]\nprefixes = [\"2001:db8:1:46::/100\"]\n");  // no room for 32 bits
  EXPECT_EQ(e.key, "pe.prefixes");
  e = load_err("[pe]\naccept = \"tunnel\"\n");
  EXPECT_EQ(e.key, "pe.accept");
  e = load_err("[pe]\ncore-mtu = 1000\n");
  EXPECT_EQ(e.key, "pe.core-mtu");
  e = load_err("[pe]\nbogus = 1\n");
  EXPECT_EQ(e.key, "pe.bogus");
  e = load_err("[[pe.rule]]\nprefix = \"198.51.100.0/24\"\n");
  EXPECT_EQ(e.key, "pe.rule[0]");
  EXPECT_NE(e.message.find("pref6"), std::string::npos);
  e = load_err("[[pe.rule]]\nprefix = \"198.51.100.1/24\"\npref6 = \"2001:db8:3:46::/96\"\n");
  EXPECT_EQ(e.key, "pe.rule[0].prefix");
  e = load_err("[[pe.rule]]\nprefix = \"198.51.100.0/24\"\npref6 = \"2001:db8:3:46::/96\"\nmodes = \"all\"\n");
  EXPECT_EQ(e.key, "pe.rule[0].modes");
  e = load_err("[pe.kernel-routes]\ntables = [\"main\"]\n");
  EXPECT_EQ(e.key, "pe.kernel-routes.tables");
}


constexpr const char* kBgpDoc = R"(
[daemon]
role = "pe"
[pe]
prefixes = ["2001:db8:1:46::/96"]
[bgp]
asn = 4200000001
router-id = "192.0.2.1"
next-hop = "2001:db8:ffff::1"
listen = false
listen-address = "2001:db8:ffff::1"
port = 1179
hold-time = 30
connect-retry = 2
connect-retry-max = 60
stale-time = 0
egress-endpoint = false
layout = "rfc6052"
preference = 70
reject-invalid = false
authorization-file = "/etc/edge46/moa.txt"
advertise-default = true
advertise-mode = "translate"
[bgp.codepoints]
safi = 128
tunnel-type = 65000
sub-tlv = 127
attribute = 250
[[bgp.peer]]
name = "rr"
address = "2001:db8:ffff::ff"
port = 2179
local-address = "2001:db8:ffff::1"
asn = 65000
passive = true
shape = "attribute"
inside-domain = false
accept-default = true
import = ["198.51.100.0/22 le 24", "203.0.113.0/24 ge 25 le 28"]
export = ["192.0.2.0/24"]
max-prefix = 1000
max-prefix-action = "teardown"
password = "s3cret"
hold-time = 9
[[bgp.peer]]
address = "2001:db8:ffff::3"
asn = 65003
)";

TEST(LoadBgp, EveryKey) {
  auto s = load_ok(kBgpDoc);
  const auto& b = s.bgp;
  const auto& sc = b.speaker;
  EXPECT_TRUE(b.enabled);
  EXPECT_EQ(sc.asn, 4200000001u);
  EXPECT_EQ(net::to_string(sc.router_id), "192.0.2.1");
  EXPECT_EQ(net::to_string(sc.next_hop), "2001:db8:ffff::1");
  EXPECT_FALSE(sc.listen);
  EXPECT_EQ(net::to_string(sc.listen_address), "2001:db8:ffff::1");
  EXPECT_EQ(sc.port, 1179);
  EXPECT_EQ(sc.hold_time, 30);
  EXPECT_EQ(sc.connect_retry, 2u);
  EXPECT_EQ(sc.connect_retry_max, 60u);
  EXPECT_EQ(sc.stale_time, 0u);
  EXPECT_FALSE(sc.egress_endpoint);
  EXPECT_EQ(sc.layout, mapping::Pool6Layout::kRfc6052);
  EXPECT_EQ(sc.preference, 70u);
  EXPECT_FALSE(sc.reject_invalid);
  EXPECT_EQ(sc.authorization_file, "/etc/edge46/moa.txt");
  EXPECT_TRUE(b.advertise_default);
  ASSERT_TRUE(b.advertise_translate.has_value());
  EXPECT_TRUE(*b.advertise_translate);
  EXPECT_EQ(sc.cp.safi, 128);
  EXPECT_EQ(sc.cp.tunnel_type, 65000);
  EXPECT_EQ(sc.cp.sub_tlv, 127);
  EXPECT_EQ(sc.cp.attribute, 250);
  ASSERT_EQ(sc.peers.size(), 2u);
  const auto& rr = sc.peers[0];
  EXPECT_EQ(rr.name, "rr");
  EXPECT_EQ(net::to_string(rr.address), "2001:db8:ffff::ff");
  EXPECT_EQ(rr.port, 2179);
  ASSERT_TRUE(rr.local_address.has_value());
  EXPECT_EQ(rr.asn, 65000u);
  EXPECT_TRUE(rr.passive);
  EXPECT_EQ(rr.shape, bgp::Shape::kAttribute);
  ASSERT_TRUE(rr.inside_domain.has_value());
  EXPECT_FALSE(*rr.inside_domain);
  EXPECT_TRUE(rr.accept_default);
  ASSERT_EQ(rr.import.entries().size(), 2u);
  EXPECT_TRUE(rr.import.accepts(*net::parse_ipv4_prefix("198.51.101.0/24")));
  EXPECT_FALSE(rr.import.accepts(*net::parse_ipv4_prefix("198.51.101.0/25")));
  EXPECT_TRUE(rr.import.accepts(*net::parse_ipv4_prefix("203.0.113.16/28")));
  EXPECT_FALSE(rr.import.accepts(*net::parse_ipv4_prefix("203.0.113.0/24")));
  EXPECT_TRUE(rr.export_.accepts(*net::parse_ipv4_prefix("192.0.2.0/24")));
  EXPECT_FALSE(rr.export_.accepts(*net::parse_ipv4_prefix("192.0.2.0/25")));
  EXPECT_EQ(rr.max_prefix, 1000u);
  EXPECT_EQ(rr.max_prefix_action, bgp::MaxPrefixAction::kTeardown);
  EXPECT_EQ(rr.password, "s3cret");
  ASSERT_TRUE(rr.hold_time.has_value());
  EXPECT_EQ(*rr.hold_time, 9);
  // Defaults of a minimal peer; the name is its address.
  const auto& p3 = sc.peers[1];
  EXPECT_EQ(p3.name, "2001:db8:ffff::3");
  EXPECT_EQ(p3.port, 179);
  EXPECT_FALSE(p3.passive);
  EXPECT_EQ(p3.shape, bgp::Shape::kTunnelEncap);
  EXPECT_FALSE(p3.inside_domain.has_value());
  EXPECT_TRUE(p3.import.empty());
  EXPECT_EQ(p3.max_prefix_action, bgp::MaxPrefixAction::kWarn);
  // The dump never shows the TCP MD5 key, in either form.
  EXPECT_EQ(dump_toml(s).find("s3cret"), std::string::npos);
  EXPECT_EQ(to_json(s).dump().find("s3cret"), std::string::npos);
  // Without the key the dump loads back to the same settings.
  s.bgp.speaker.peers[0].password.clear();
  auto again = load_string(dump_toml(s), "again.toml");
  ASSERT_TRUE(again) << again.error().to_string() << "\n" << dump_toml(s);
  EXPECT_TRUE(*again == s) << dump_toml(s);
}

TEST(LoadBgp, Defaults) {
  auto s = load_ok(
      "[daemon]\nrole = \"pe\"\n[pe]\nprefixes = [\"2001:db8:1:46::/96\"]\n[bgp]\nasn = 65001\nrouter-id = "
      "\"192.0.2.1\"\nnext-hop = \"2001:db8:ffff::1\"\n");
  const auto& sc = s.bgp.speaker;
  EXPECT_TRUE(sc.listen);
  EXPECT_EQ(sc.port, 179);
  EXPECT_EQ(sc.hold_time, 90);
  EXPECT_EQ(sc.stale_time, 120u);
  EXPECT_EQ(sc.layout, mapping::Pool6Layout::kLow32);
  EXPECT_TRUE(sc.reject_invalid);
  EXPECT_EQ(sc.cp, bgp::CodePoints{});
  EXPECT_EQ(sc.cp.tunnel_type, 0xFFFE);
  EXPECT_EQ(sc.cp.sub_tlv, 126);
  EXPECT_EQ(sc.cp.attribute, 255);
  EXPECT_FALSE(s.bgp.advertise_default);
  EXPECT_FALSE(s.bgp.advertise_translate.has_value());
  EXPECT_FALSE(load_ok("[daemon]\nrole = \"siit\"\n").bgp.enabled);
}

TEST(LoadBgp, RefusedWithTheKeyAndTheReason) {
  const std::string head =
      "[daemon]\nrole = \"pe\"\n[pe]\nprefixes = [\"2001:db8:1:46::/96\"]\n[bgp]\nasn = 65001\nrouter-id = "
      "\"192.0.2.1\"\nnext-hop = \"2001:db8:ffff::1\"\n";
  auto e = load_err("[daemon]\nrole = \"pe\"\n[pe]\nprefixes = [\"2001:db8:1:46::/96\"]\n[bgp]\nasn = 65001\n");
  EXPECT_EQ(e.key, "bgp");
  EXPECT_NE(e.message.find("router-id"), std::string::npos) << e.message;
  e = load_err("[bgp]\nasn = 65001\nrouter-id = \"192.0.2.1\"\nnext-hop = \"2001:db8::1\"\n");
  EXPECT_EQ(e.key, "bgp");
  EXPECT_NE(e.message.find("role \"pe\""), std::string::npos) << e.message;
  e = load_err(
      "[daemon]\nrole = \"pe\"\n[pe]\nprefixes = [\"2001:db8:1:46::/96\"]\n[bgp]\nasn = 65001\nrouter-id = "
      "\"0.0.0.0\"\nnext-hop = \"2001:db8:ffff::1\"\n");
  EXPECT_EQ(e.key, "bgp.router-id");
  e = load_err(head + "hold-time = 2\n");
  EXPECT_EQ(e.key, "bgp.hold-time");
  e = load_err(head + "bogus = 1\n");
  EXPECT_EQ(e.key, "bgp.bogus");
  e = load_err(head + "[bgp.codepoints]\nattribute = 254\n");
  EXPECT_EQ(e.key, "bgp.codepoints.attribute");
  EXPECT_NE(e.message.find("BIRD"), std::string::npos) << e.message;
  e = load_err(head + "[bgp.codepoints]\nattribute = 23\n");
  EXPECT_EQ(e.key, "bgp.codepoints.attribute");
  e = load_err(head + "[bgp.codepoints]\nsub-tlv = 6\n");
  EXPECT_EQ(e.key, "bgp.codepoints.sub-tlv");
  e = load_err(head + "[[bgp.peer]]\nasn = 65000\n");
  EXPECT_EQ(e.key, "bgp.peer[0]");
  EXPECT_NE(e.message.find("address"), std::string::npos) << e.message;
  e = load_err(head + "[[bgp.peer]]\naddress = \"2001:db8::2\"\nasn = 65000\nimport = [\"10.0.0.1/8\"]\n");
  EXPECT_EQ(e.key, "bgp.peer[0].import");
  e = load_err(head + "[[bgp.peer]]\naddress = \"2001:db8::2\"\nasn = 65000\nimport = [\"10.0.0.0/8 le 4\"]\n");
  EXPECT_EQ(e.key, "bgp.peer[0].import");
  e = load_err(head + "[[bgp.peer]]\naddress = \"2001:db8::2\"\nasn = 65000\nshape = \"tlv\"\n");
  EXPECT_EQ(e.key, "bgp.peer[0].shape");
  e = load_err(head + "[[bgp.peer]]\naddress = \"2001:db8::2\"\nasn = 65000\n[[bgp.peer]]\naddress = "
                      "\"2001:db8::2\"\nasn = 65001\n");
  EXPECT_EQ(e.key, "bgp.peer[1]");
  EXPECT_NE(e.message.find("second peer"), std::string::npos) << e.message;
  e = load_err(head + "[[bgp.peer]]\naddress = \"2001:db8::2\"\nasn = 65000\nname = \"a b\"\n");
  EXPECT_EQ(e.key, "bgp.peer[0].name");
  e = load_err(head + "[[bgp.peer]]\naddress = \"2001:db8::2\"\nasn = 65000\npassword = \"" + std::string(81, 'k') +
               "\"\n");
  EXPECT_EQ(e.key, "bgp.peer[0].password");
}

}  // namespace
}  // namespace edge46::config
