// Conformance run of the Jool graybox SIIT vectors (../shared/vectors/jool-siit,
// see CONFIG.md there) against xlat::translate.
//
//   vectors_jool_siit CASES.jsonl [--filter SUBSTRING] [--pcap-dir DIR] [--verbose]
//
// Each case carries the configuration Jool ran it with; we build an
// xlat::Config from it, translate `input_hex` on the side `direction` names,
// and compare the way graybox does: emitted packets leaving on the capture
// side are matched, in order, to the expected ones by (source, destination);
// packets with other addresses are ignored; every expected packet must be
// found, with the same length and the same bytes except `ignore_bytes`. When
// an IPv4 header checksum (or an ICMP checksum) is ignored because the ID it
// covers is free, the actual checksum must still be valid.
//
// Prints `PASS name` / `FAIL name: reason` / `SKIP name: reason`, then
// `N passed, M failed, K skipped`. A case whose `expected` is empty (graybox
// cannot express one, the self-test cases do) passes only when the verdict is
// a drop and nothing was emitted. Exit 1 if any case failed, 77 when the
// cases file is missing (ctest SKIP_RETURN_CODE) unless the environment has
// CI=true, where a missing file is a failure (exit 1), else 0. For every failure a
// pcap (LINKTYPE_RAW) is written with the input at t=0s, the expected packets
// at t=1s and the emitted packets at t=2s, for Wireshark.
#include <pcap/pcap.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/drop_reason.h"
#include "net/addr.h"
#include "tools/dissect.h"
#include "xlat/config.h"
#include "xlat/translate.h"

namespace {

using edge46::xlat::Family;
using Bytes = std::vector<uint8_t>;
using nlohmann::json;

// Cases not run, by exact name, each with the reason. Only cases whose
// expectation we knowingly do not meet belong here; translator bugs do not.
const std::map<std::string, std::string>& skip_table() {
  static const std::map<std::string, std::string> table = {
      // RFC 7915 4.1 (Source Address): "If the translator gets an illegal source
      // address (e.g., 0.0.0.0, 127.0.0.1, etc.), the translator SHOULD silently
      // drop the packet (as discussed in Section 5.3.7 of [RFC1812])". Jool makes an
      // exception for ICMPv4 errors and translates these via pool6; edge46 drops
      // them (reserved_source, issue 7 item 10).
      {"siit/rfc7915/hat1->hae1", "ICMPv4 error from 127.0.0.1: dropped (RFC 7915 4.1, RFC 1812 5.3.7)"},
      {"siit/rfc7915/hat2->hae2", "ICMPv4 error from 0.0.0.0: dropped (RFC 7915 4.1, RFC 1812 5.3.7)"},
      // The input is a DF-set IPv4 fragment (MF): translated it gains a Fragment
      // header, 28 bytes in all, so the largest fragment that fits the 1280-byte
      // IPv6 link is 1252 bytes. Jool reports 1260, which the sender's next
      // fragment still exceeds (a PMTU black hole); edge46 reports 1252 (issue 7
      // item 11, RFC 7915 4.1 / 4.2).
      {"siit/rfc7915/cat2->cae2", "Fragmentation Needed for a DF fragment reports 1252, not 1260 (PMTU black hole)"},
  };
  return table;
}

std::optional<Bytes> from_hex(const std::string& s) {
  if (s.size() % 2 != 0) {
    return std::nullopt;
  }
  Bytes out;
  out.reserve(s.size() / 2);
  for (std::size_t i = 0; i < s.size(); i += 2) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = nib(s[i]);
    int lo = nib(s[i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

std::string hex2(unsigned v) {
  char b[8];
  std::snprintf(b, sizeof b, "0x%02x", v & 0xffu);
  return b;
}

// --- configuration -------------------------------------------------------------

struct BadConfig {
  std::string why;
};

std::string strip_len(const std::string& s) {
  return s.substr(0, s.find('/'));
}

// The translator's settings and its EAMT (a runtime table, kept apart from
// the configuration as in the daemon).
struct Setup {
  edge46::xlat::Config cfg;
  edge46::mapping::Eamt eamt;
};

Setup build_config(const json& c) {
  using namespace edge46;
  Setup setup;
  xlat::Config& cfg = setup.cfg;
  auto need = [](auto opt, const std::string& what, const std::string& s) {
    if (!opt) {
      throw BadConfig{what + ": cannot parse \"" + s + "\""};
    }
    return *opt;
  };
  if (c.contains("pool6") && !c["pool6"].is_null()) {
    auto s = c["pool6"].get<std::string>();
    cfg.pool6 = mapping::Pool6{need(net::parse_ipv6_prefix(s), "pool6", s), mapping::Pool6Layout::kRfc6052};
  }
  for (const auto& e : c.value("eamt", json::array())) {
    auto s6 = e["ipv6"].get<std::string>();
    auto s4 = e["ipv4"].get<std::string>();
    auto why = setup.eamt.add(mapping::Eam{need(net::parse_ipv6_prefix(s6), "eamt.ipv6", s6),
                                           need(net::parse_ipv4_prefix(s4), "eamt.ipv4", s4)});
    if (!why.empty()) {
      throw BadConfig{"eamt: " + why};
    }
  }
  for (const auto& d : c.value("denylist4", json::array())) {
    auto s = d.get<std::string>();
    auto p = need(net::parse_ipv4_prefix(s), "denylist4", s);
    cfg.denylist4.insert(p.addr.value, p.len, true);
  }
  cfg.lowest_ipv6_mtu = c.value("lowest-ipv6-mtu", cfg.lowest_ipv6_mtu);
  cfg.zeroize_traffic_class = c.value("zeroize-traffic-class", cfg.zeroize_traffic_class);
  cfg.override_tos = c.value("override-tos", cfg.override_tos);
  cfg.tos = c.value("tos", cfg.tos);
  cfg.amend_udp_checksum_zero = c.value("amend-udp-checksum-zero", cfg.amend_udp_checksum_zero);
  cfg.randomize_rfc6791 = c.value("randomize-rfc6791-addresses", cfg.randomize_rfc6791);
  if (c.contains("mtu-plateaus")) {
    cfg.mtu_plateaus = c["mtu-plateaus"].get<std::vector<uint16_t>>();
  }
  if (c.contains("eam-hairpin-mode")) {
    auto m = c["eam-hairpin-mode"].get<std::string>();
    if (m == "off") {
      cfg.hairpin = xlat::HairpinMode::kOff;
    } else if (m == "simple") {
      cfg.hairpin = xlat::HairpinMode::kSimple;
    } else if (m == "intrinsic") {
      cfg.hairpin = xlat::HairpinMode::kIntrinsic;
    } else {
      throw BadConfig{"eam-hairpin-mode: " + m};
    }
  }
  if (c.contains("rfc6791v4-prefix") && !c["rfc6791v4-prefix"].is_null()) {
    auto s = c["rfc6791v4-prefix"].get<std::string>();
    cfg.rfc6791v4 = need(net::parse_ipv4_prefix(s), "rfc6791v4-prefix", s);  // bare address = /32
  }
  if (c.contains("rfc6791v6-prefix") && !c["rfc6791v6-prefix"].is_null()) {
    auto s = c["rfc6791v6-prefix"].get<std::string>();
    cfg.rfc6791v6 = need(net::parse_ipv6_prefix(s), "rfc6791v6-prefix", s);
  }
  if (c.contains("translator_ipv4_addresses") && !c["translator_ipv4_addresses"].empty()) {
    auto s = strip_len(c["translator_ipv4_addresses"][0].get<std::string>());
    cfg.own_ipv4 = need(net::parse_ipv4(s), "translator_ipv4_addresses", s);
  }
  if (c.contains("translator_ipv6_addresses") && !c["translator_ipv6_addresses"].empty()) {
    auto s = strip_len(c["translator_ipv6_addresses"][0].get<std::string>());
    cfg.own_ipv6 = need(net::parse_ipv6(s), "translator_ipv6_addresses", s);
  }
  cfg.ipv4_mtu = c.value("ipv4_link_mtu", cfg.ipv4_mtu);
  cfg.ipv6_mtu = c.value("ipv6_link_mtu", cfg.ipv6_mtu);
  auto why = cfg.validate();
  if (!why.empty()) {
    throw BadConfig{why};
  }
  return setup;
}

// --- comparison ----------------------------------------------------------------

struct Packet {
  Family family;
  Bytes bytes;
};

std::string fam(Family f) {
  return f == Family::kV4 ? "IPv4" : "IPv6";
}

std::string outcome_name(edge46::xlat::Outcome o) {
  switch (o) {
    case edge46::xlat::Outcome::kTranslated: return "translated";
    case edge46::xlat::Outcome::kHairpinned: return "hairpinned";
    case edge46::xlat::Outcome::kIcmpError: return "icmp-error";
    case edge46::xlat::Outcome::kDropped: return "dropped";
    case edge46::xlat::Outcome::kEncapsulated: return "encapsulated";
    case edge46::xlat::Outcome::kDecapsulated: return "decapsulated";
  }
  return "?";
}

// Empty when `actual` is acceptable for `expected`, else the reason.
std::string compare(const Bytes& expected, const Bytes& actual, const std::set<uint32_t>& ignore) {
  using edge46::tools::dissect;
  using edge46::tools::field_at;
  const auto de = dissect(expected);
  std::string reason;
  if (expected.size() != actual.size()) {
    reason = "length expected " + std::to_string(expected.size()) + ", actual " + std::to_string(actual.size());
  }
  for (std::size_t i = 0; i < std::min(expected.size(), actual.size()); ++i) {
    if (ignore.count(static_cast<uint32_t>(i)) == 0 && expected[i] != actual[i]) {
      std::string diff = "byte " + std::to_string(i) + " (" + field_at(de, static_cast<uint32_t>(i)) + "): expected " +
                         hex2(expected[i]) + ", actual " + hex2(actual[i]);
      return reason.empty() ? diff : reason + "; first difference at " + diff;
    }
  }
  if (!reason.empty()) {
    return reason;
  }
  // Ignored checksum bytes: the value is free, but it must be right.
  const auto da = dissect(actual);
  for (const auto& c : da.checksums) {
    if (ignore.count(c.offset) != 0 && ignore.count(c.offset + 1) != 0 && !c.valid) {
      return c.name + " at byte " + std::to_string(c.offset) +
             " is invalid (its bytes are ignored, so it must be valid)";
    }
  }
  return {};
}

struct Result {
  bool pass = false;
  std::string reason;
};

bool same_endpoints(const Bytes& a, const Bytes& b) {
  auto ea = edge46::tools::endpoints(a);
  return !ea.empty() && ea == edge46::tools::endpoints(b);
}

Result run_case(const json& c, std::vector<Packet>& emitted, edge46::xlat::Output& out) {
  const auto dir = c["direction"].get<std::string>();
  if (dir.size() != 4 || (dir[0] != '4' && dir[0] != '6') || (dir[3] != '4' && dir[3] != '6')) {
    return {false, "bad direction \"" + dir + "\""};
  }
  const Family ingress = dir[0] == '4' ? Family::kV4 : Family::kV6;
  const Family capture = dir[3] == '4' ? Family::kV4 : Family::kV6;
  Setup setup;
  try {
    setup = build_config(c["config"]);
  } catch (const BadConfig& e) {
    return {false, "configuration: " + e.why};
  }
  auto input = from_hex(c["input_hex"].get<std::string>());
  if (!input) {
    return {false, "input_hex is not hex"};
  }
  if (c.contains("extra_inputs") && !c["extra_inputs"].empty()) {
    return {false, "extra_inputs are not supported by the SIIT harness"};
  }
  out.count = 0;
  // A fresh worker state per case: the IDs of one case never depend on the
  // cases run before it.
  edge46::xlat::WorkerState ws;
  const auto verdict = edge46::xlat::translate(setup.cfg, setup.eamt, ws, ingress, *input, out);
  for (uint32_t i = 0; i < out.count && i < edge46::xlat::Output::kMaxPackets; ++i) {
    auto p = out.packet(i);
    emitted.push_back(Packet{out.packets[i].family, Bytes(p.begin(), p.end())});
  }
  const auto& exp_hex = c["expected"];
  const auto& ignores = c["ignore_bytes"];
  if (exp_hex.empty()) {
    if (verdict.outcome != edge46::xlat::Outcome::kDropped || !emitted.empty()) {
      return {false, "expected no packet (a drop); verdict " + outcome_name(verdict.outcome) + "/" +
                         std::string(edge46::core::drop_name(verdict.reason)) + ", " + std::to_string(emitted.size()) +
                         " packet(s) emitted"};
    }
    return {true, {}};
  }
  std::size_t next = 0;  // emitted packet to look at
  for (std::size_t j = 0; j < exp_hex.size(); ++j) {
    auto expected = from_hex(exp_hex[j].get<std::string>());
    if (!expected) {
      return {false, "expected[" + std::to_string(j) + "] is not hex"};
    }
    std::set<uint32_t> ignore;
    if (j < ignores.size()) {
      for (const auto& o : ignores[j]) {
        ignore.insert(o.get<uint32_t>());
      }
    }
    bool found = false;
    for (; next < emitted.size(); ++next) {
      const auto& e = emitted[next];
      if (e.family == capture && same_endpoints(e.bytes, *expected)) {
        found = true;
        break;
      }
    }
    if (!found) {
      std::string got;
      for (const auto& e : emitted) {
        got += (got.empty() ? "" : ", ") + fam(e.family) + " " + std::to_string(e.bytes.size()) + "B " +
               edge46::tools::endpoints(e.bytes);
      }
      return {false, "expected packet " + std::to_string(j) + " (" + fam(capture) + " " +
                         edge46::tools::endpoints(*expected) + ", " + std::to_string(expected->size()) +
                         "B) not emitted; verdict " + outcome_name(verdict.outcome) + "/" +
                         std::string(edge46::core::drop_name(verdict.reason)) + "; emitted [" + got + "]"};
    }
    auto why = compare(*expected, emitted[next].bytes, ignore);
    if (!why.empty()) {
      return {false, "packet " + std::to_string(j) + ": " + why};
    }
    ++next;
  }
  return {true, {}};
}

// --- pcap of a failure ---------------------------------------------------------------

std::string file_name(const std::string& case_name) {
  std::string s;
  for (char ch : case_name) {
    s += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '+') ? ch : '_';
  }
  return s + ".pcap";
}

std::string write_pcap(const std::string& dir, const json& c, const std::vector<Packet>& emitted) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path = dir + "/" + file_name(c["name"].get<std::string>());
  pcap_t* dead = pcap_open_dead(DLT_RAW, 65535);
  if (dead == nullptr) {
    return {};
  }
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  if (dumper == nullptr) {
    pcap_close(dead);
    return {};
  }
  auto put = [&](const Bytes& b, long sec, long usec) {
    pcap_pkthdr h{};
    h.ts.tv_sec = sec;
    h.ts.tv_usec = usec;
    h.caplen = h.len = static_cast<bpf_u_int32>(b.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &h, b.data());
  };
  if (auto in = from_hex(c["input_hex"].get<std::string>())) {
    put(*in, 0, 0);
  }
  long i = 0;
  for (const auto& e : c["expected"]) {
    if (auto b = from_hex(e.get<std::string>())) {
      put(*b, 1, i++);
    }
  }
  i = 0;
  for (const auto& e : emitted) {
    put(e.bytes, 2, i++);
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
  return path;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cases_path;
  std::string filter;
  std::string pcap_dir = EDGE46_VECTORS_PCAP_DIR;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--filter" && i + 1 < argc) {
      filter = argv[++i];
    } else if (a == "--pcap-dir" && i + 1 < argc) {
      pcap_dir = argv[++i];
    } else if (a == "--verbose" || a == "-v") {
      verbose = true;
    } else if (a == "-h" || a == "--help") {
      std::cout << "usage: vectors_jool_siit CASES.jsonl [--filter SUBSTRING] [--pcap-dir DIR] [--verbose]\n";
      return 0;
    } else {
      cases_path = a;
    }
  }
  std::ifstream in(cases_path);
  const char* ci = std::getenv("CI");
  if ((cases_path.empty() || !in) && ci != nullptr && std::string(ci) == "true") {
    std::cout << "vectors_jool_siit: cases file \"" << cases_path
              << "\" not found and CI=true: the conformance vectors are required in CI (set EDGE46_SHARED_DIR)\n"
              << "0 passed, 1 failed, 0 skipped\n";
    return 1;
  }
  if (cases_path.empty() || !in) {
    std::cout << "vectors_jool_siit: cases file \"" << cases_path
              << "\" not found (set EDGE46_SHARED_DIR to the folder holding vectors/jool-siit); skipping\n"
              << "0 passed, 0 failed, 0 skipped\n";
    return 77;
  }
  auto out = std::make_unique<edge46::xlat::Output>();
  int passed = 0, failed = 0, skipped = 0;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) {
      continue;
    }
    json c;
    try {
      c = json::parse(line);
    } catch (const json::exception& e) {
      std::cout << "FAIL " << cases_path << ":" << lineno << ": not JSON: " << e.what() << "\n";
      ++failed;
      continue;
    }
    const auto name = c.value("name", "line " + std::to_string(lineno));
    if (!filter.empty() && name.find(filter) == std::string::npos) {
      continue;
    }
    if (auto s = skip_table().find(name); s != skip_table().end()) {
      std::cout << "SKIP " << name << ": " << s->second << "\n";
      ++skipped;
      continue;
    }
    std::vector<Packet> emitted;
    Result r;
    try {
      r = run_case(c, emitted, *out);
    } catch (const json::exception& e) {
      r = {false, std::string("malformed case: ") + e.what()};
    }
    const auto status = c.value("status", "active");
    if (r.pass) {
      ++passed;
      std::cout << "PASS " << name << "\n";
    } else {
      ++failed;
      std::cout << "FAIL " << name << (status != "active" ? " [" + status + "]" : "") << ": " << r.reason << "\n";
      auto path = write_pcap(pcap_dir, c, emitted);
      if (!path.empty()) {
        std::cout << "     pcap: " << path << "\n";
      }
    }
    if (verbose || !r.pass) {
      if (auto b = from_hex(c.value("input_hex", ""))) {
        std::cout << "     in:       " << edge46::tools::dissect(*b).summary << "\n";
      }
      for (const auto& e : c.value("expected", json::array())) {
        if (auto b = from_hex(e.get<std::string>())) {
          std::cout << "     expected: " << edge46::tools::dissect(*b).summary << "\n";
        }
      }
      for (const auto& e : emitted) {
        std::cout << "     emitted:  " << edge46::tools::dissect(e.bytes).summary << "\n";
      }
    }
  }
  std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
  return failed == 0 ? 0 : 1;
}
