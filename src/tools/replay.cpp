#include "tools/replay.h"

#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "core/drop_reason.h"
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

}  // namespace

std::string replay_hex_line(const xlat::Config& cfg, const std::string& line, xlat::Output& out, std::ostream* trace) {
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
  out.count = 0;
  const auto v = xlat::translate(cfg, ingress, *bytes, out);
  if (!v.emitted() || out.count == 0) {
    if (trace != nullptr) {
      *trace << "    drop " << core::drop_name(v.reason) << ": " << core::drop_description(v.reason) << "\n";
    }
    return "drop:" + std::string(core::drop_name(v.reason));
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
  if (trace != nullptr && v.outcome != xlat::Outcome::kTranslated) {
    *trace << "    " << outcome_name(v.outcome) << ": " << core::drop_name(v.reason) << "\n";
  }
  return s;
}

int replay_hex(const config::Settings& s, const ReplayOptions& o, std::istream& in, std::ostream& out,
               std::ostream& trace) {
  auto buf = std::make_unique<xlat::Output>();
  std::string line;
  while (std::getline(in, line)) {
    out << replay_hex_line(s.xlat, line, *buf, o.trace ? &trace : nullptr) << "\n";
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
  auto buf = std::make_unique<xlat::Output>();
  uint64_t n = 0, translated = 0, dropped = 0, skipped = 0, written = 0;
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
    buf->count = 0;
    const auto v = xlat::translate(s.xlat, ingress, f.l3, *buf);
    if (!v.emitted() || buf->count == 0) {
      report << " drop:" << core::drop_name(v.reason) << "\n";
      ++dropped;
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
      for (uint32_t i = 0; v.emitted() && i < buf->count; ++i) {
        report << "    out: " << dissect(buf->packet(i)).summary << "\n";
      }
    }
  }
  if (!reader.error().empty()) {
    std::cerr << "edge46 replay: " << o.in_path << ": " << reader.error() << "\n";
    return 1;
  }
  report << n << " frames (" << reader.linktype_name() << "): " << translated << " emitted, " << dropped << " dropped, "
         << skipped << " skipped";
  if (!o.out_path.empty()) {
    report << "; " << written << " packets written to " << o.out_path;
  }
  report << "\n";
  return 0;
}

}  // namespace edge46::tools
