#include "tools/replay.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "core/drop_reason.h"
#include "pipeline/pipeline.h"
#include "tools/dissect.h"
#include "tools/pcap_io.h"
#include "xlat/translate.h"

namespace edge46::tools {

namespace {

using xlat::Family;

constexpr std::size_t kMaxPacket = 65535 + 40;  // an IPv6 jumbogram-free maximum

const char* outcome_name(xlat::Outcome o) {
  switch (o) {
    case xlat::Outcome::kTranslated: return "translated";
    case xlat::Outcome::kHairpinned: return "hairpinned";
    case xlat::Outcome::kIcmpError: return "icmp-error";
    case xlat::Outcome::kDropped: return "dropped";
    case xlat::Outcome::kEncapsulated: return "encapsulated";
    case xlat::Outcome::kDecapsulated: return "decapsulated";
  }
  return "?";
}

unsigned family_digit(Family f) {
  return f == Family::kV4 ? 4u : 6u;
}

void to_hex(std::span<const uint8_t> b, std::string& s) {
  static const char* const kDigits = "0123456789abcdef";
  for (uint8_t x : b) {
    s += kDigits[x >> 4];
    s += kDigits[x & 0xf];
  }
}

// Parses the hex part of a line; blanks between digits are allowed.
std::optional<std::vector<uint8_t>> parse_hex(std::string_view s, std::string& why) {
  std::vector<uint8_t> out;
  int pending = -1;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      continue;
    }
    int v = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (v < 0) {
      why = "non-hex character at column " + std::to_string(i + 3);
      return std::nullopt;
    }
    if (pending < 0) {
      pending = v;
    } else {
      out.push_back(static_cast<uint8_t>(pending << 4 | v));
      pending = -1;
      if (out.size() > kMaxPacket) {
        why = "packet longer than " + std::to_string(kMaxPacket) + " bytes";
        return std::nullopt;
      }
    }
  }
  if (pending >= 0) {
    why = "odd number of hex digits";
    return std::nullopt;
  }
  if (out.empty()) {
    why = "no packet bytes";
    return std::nullopt;
  }
  return out;
}

// What the pipeline did with a packet that emitted nothing: "held" for a
// fragment kept for reassembly, else "drop:<name>" (the pipeline's name for
// its own drops, the core's otherwise).
std::string not_emitted(const pipeline::Result& r) {
  if (r.held) return "held";
  if (r.pipeline_drop) return "drop:" + std::string(pipeline::pipeline_drop_name(*r.pipeline_drop));
  return "drop:" + std::string(core::drop_name(r.verdict.reason));
}

std::string not_emitted_why(const pipeline::Result& r) {
  if (r.held) return "fragment kept for reassembly";
  if (r.pipeline_drop) return std::string(pipeline::pipeline_drop_description(*r.pipeline_drop));
  return std::string(core::drop_description(r.verdict.reason));
}

// pcap timestamps may go backwards between frames; the reassembly table and
// the token buckets want a clock that does not.
uint64_t pcap_now_ns(const timeval& ts, uint64_t last) {
  const uint64_t t = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_usec) * 1000;
  return std::max(t, last);
}

}  // namespace

tl::expected<ReplayPipeline, std::string> ReplayPipeline::make(const config::Settings& s) {
  auto role = pipeline::parse_role(s.daemon.role);
  if (!role) {
    return tl::unexpected("daemon.role: unknown role '" + s.daemon.role + "' (siit, siit-dc-br, siit-dc-er)");
  }
  ReplayPipeline p;
  p.xcfg = &s.xlat;
  p.eamt = &s.eamt;
  p.role.role = *role;
  p.role.ingress_filter = s.siit_dc.ingress_filter;
  p.role.drop_own_service_sources = s.siit_dc.drop_own_service_sources;
  const auto& l = s.limits;
  p.ctx = std::make_unique<pipeline::WorkerContext>(
      pipeline::ReassemblyLimits{l.reassembly_slots, l.reassembly_memory, l.reassembly_timeout_ms},
      pipeline::RateLimit{l.icmp_error_rate, l.icmp_error_burst});
  p.counters = std::make_unique<pipeline::Counters>();
  p.out = std::make_unique<xlat::Output>();
  return p;
}

pipeline::Result ReplayPipeline::run(xlat::Family ingress, std::span<const uint8_t> in, uint64_t now_ns) {
  // process() tells the family by the version nibble, as the daemon's TUN
  // does; a line (or frame) that claims the other family is the core's
  // bad_version, and is not run (it would be held or counted as the other).
  if (auto fam = pipeline::classify(in); fam && *fam != ingress) {
    pipeline::Result r;
    r.verdict = {xlat::Outcome::kDropped, core::Drop::kBadVersion};
    out->count = 0;
    last_reassembled = false;
    return r;
  }
  ctx->now_ns = now_ns;
  const uint64_t before = counters->reassembled.get();
  const pipeline::Env env{*xcfg, role, *eamt};
  auto r = pipeline::process(env, in, *out, *counters, *ctx);
  last_reassembled = counters->reassembled.get() != before;
  return r;
}

std::string replay_hex_line(ReplayPipeline& pl, const std::string& line, std::ostream* trace) {
  xlat::Output& out = *pl.out;
  std::string_view l(line);
  while (!l.empty() && (l.back() == '\r' || l.back() == ' ' || l.back() == '\t')) {
    l.remove_suffix(1);
  }
  if (l.empty()) {
    return "error:empty line";
  }
  if (l[0] != '4' && l[0] != '6') {
    return "error:line must start with the ingress family 4 or 6";
  }
  if (l.size() < 2 || (l[1] != ' ' && l[1] != '\t')) {
    return "error:expected '<4|6> <hex>'";
  }
  const Family ingress = l[0] == '4' ? Family::kV4 : Family::kV6;
  std::string why;
  auto bytes = parse_hex(l.substr(2), why);
  if (!bytes) {
    return "error:" + why;
  }
  if (trace != nullptr) {
    *trace << "in  " << family_digit(ingress) << ": " << dissect(*bytes).summary << "\n";
  }
  // The hex mode has no clock: every line at the same instant, as one
  // burst of the daemon (reassembly never times out, the ICMP error bucket
  // never refills).
  const auto r = pl.run(ingress, *bytes, kHexClockNs);
  const auto& v = r.verdict;
  if (!r.emitted() || out.count == 0) {
    const std::string what = not_emitted(r);
    if (trace != nullptr) {
      *trace << "    " << what << ": " << not_emitted_why(r) << "\n";
    }
    return what;
  }
  std::string s;
  for (uint32_t i = 0; i < out.count; ++i) {
    if (i != 0) {
      s += ' ';
    }
    s += std::to_string(family_digit(out.packets[i].family)) + ":";
    to_hex(out.packet(i), s);
    if (trace != nullptr) {
      *trace << "out " << family_digit(out.packets[i].family) << ": " << dissect(out.packet(i)).summary << "\n";
    }
  }
  if (trace != nullptr && pl.last_reassembled) {
    *trace << "    reassembled\n";
  }
  if (trace != nullptr && v.outcome != xlat::Outcome::kTranslated) {
    *trace << "    " << outcome_name(v.outcome) << ": " << core::drop_name(v.reason) << "\n";
  }
  return s;
}

int replay_hex(const config::Settings& s, const ReplayOptions& o, std::istream& in, std::ostream& out,
               std::ostream& trace) {
  auto pl = ReplayPipeline::make(s);
  if (!pl) {
    std::cerr << s.source << ": " << pl.error() << "\n";
    return 2;
  }
  std::string line;
  while (std::getline(in, line)) {
    out << replay_hex_line(*pl, line, o.trace ? &trace : nullptr) << "\n";
    out.flush();
  }
  return 0;
}

int replay_pcap(const config::Settings& s, const ReplayOptions& o, std::ostream& report) {
  PcapReader reader;
  if (auto err = reader.open(o.in_path); !err.empty()) {
    std::cerr << "edge46 replay: " << o.in_path << ": " << err << "\n";
    return 1;
  }
  PcapWriter writer;
  if (!o.out_path.empty()) {
    if (auto err = writer.open(o.out_path); !err.empty()) {
      std::cerr << "edge46 replay: " << o.out_path << ": " << err << "\n";
      return 1;
    }
  }
  auto pl = ReplayPipeline::make(s);
  if (!pl) {
    std::cerr << s.source << ": " << pl.error() << "\n";
    return 2;
  }
  xlat::Output* buf = pl->out.get();
  uint64_t n = 0, translated = 0, dropped = 0, held = 0, skipped = 0, written = 0, now = 0;
  Frame f;
  while (reader.next(f)) {
    ++n;
    if (!f.skip.empty()) {
      report << "#" << n << " skipped: " << f.skip << "\n";
      ++skipped;
      continue;
    }
    const Family ingress = f.family == 4 ? Family::kV4 : Family::kV6;
    report << "#" << n << " in=" << f.family << " " << f.l3.size() << "B ->";
    now = pcap_now_ns(f.ts, now);
    const auto r = pl->run(ingress, f.l3, now);
    const auto& v = r.verdict;
    if (!r.emitted() || buf->count == 0) {
      report << " " << not_emitted(r) << "\n";
      ++(r.held ? held : dropped);
    } else {
      for (uint32_t i = 0; i < buf->count; ++i) {
        report << " " << family_digit(buf->packets[i].family) << "/" << buf->packets[i].length << "B";
        if (!o.out_path.empty()) {
          writer.write(buf->packet(i), f.ts);
          ++written;
        }
      }
      if (v.outcome != xlat::Outcome::kTranslated) {
        report << " (" << outcome_name(v.outcome) << ": " << core::drop_name(v.reason) << ")";
      }
      report << "\n";
      ++translated;
    }
    if (o.trace) {
      report << "    in:  " << dissect(f.l3).summary << "\n";
      for (uint32_t i = 0; r.emitted() && i < buf->count; ++i) {
        report << "    out: " << dissect(buf->packet(i)).summary << "\n";
      }
    }
  }
  if (!reader.error().empty()) {
    std::cerr << "edge46 replay: " << o.in_path << ": " << reader.error() << "\n";
    return 1;
  }
  report << n << " frames (" << reader.linktype_name() << "): " << translated << " emitted, " << held << " held, "
         << dropped << " dropped, " << skipped << " skipped";
  if (!o.out_path.empty()) {
    report << "; " << written << " packets written to " << o.out_path;
  }
  report << "\n";
  return 0;
}

}  // namespace edge46::tools
