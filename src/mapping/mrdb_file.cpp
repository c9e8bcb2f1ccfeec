#include "mapping/mrdb_file.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace edge46::mapping {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

std::string line_error(std::size_t line, std::string_view why) {
  return "line " + std::to_string(line) + ": " + std::string(why);
}

}  // namespace

tl::expected<std::vector<MrRule>, std::string> parse_rules(std::string_view text, RuleSource src) {
  std::vector<MrRule> out;
  // One allocation: at most one rule per line.
  out.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1);

  // Rule sets name few egress PEs: the last Pref6 text is parsed once and
  // reused while it repeats (inet_pton is most of the cost of a line).
  std::string_view last6_text;
  net::Ipv6Prefix last6{};

  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);

    std::string_view tok[6];
    std::size_t ntok = 0;
    for (std::size_t i = 0; i < line.size();) {
      while (i < line.size() && is_space(line[i])) ++i;
      if (i == line.size()) break;
      std::size_t j = i;
      while (j < line.size() && !is_space(line[j])) ++j;
      if (ntok == 5)
        return tl::unexpected(line_error(line_no, "unexpected '" + std::string(line.substr(i, j - i)) + "'"));
      tok[ntok++] = line.substr(i, j - i);
      i = j;
    }
    if (ntok == 0) continue;
    if (ntok < 2) {
      return tl::unexpected(line_error(line_no,
                                       "expected '<ipv4-prefix> <pref6-prefix> [translate|encapsulate|both] "
                                       "[low32|rfc6052] [pref=N]'"));
    }

    MrRule r;
    r.source = src;
    if (auto p = net::parse_ipv4_prefix(tok[0])) {
      r.prefix = *p;
    } else if (net::parse_ipv4_prefix(tok[0], true)) {
      return tl::unexpected(line_error(line_no, "IPv4 prefix '" + std::string(tok[0]) + "' has host bits set"));
    } else {
      return tl::unexpected(line_error(line_no, "bad IPv4 prefix '" + std::string(tok[0]) + "'"));
    }
    if (!last6_text.empty() && tok[1] == last6_text) {
      r.target.pool6.prefix = last6;
    } else if (auto p6 = net::parse_ipv6_prefix(tok[1])) {
      r.target.pool6.prefix = last6 = *p6;
      last6_text = tok[1];
    } else if (net::parse_ipv6_prefix(tok[1], true)) {
      return tl::unexpected(line_error(line_no, "Pref6 '" + std::string(tok[1]) + "' has host bits set"));
    } else {
      return tl::unexpected(line_error(line_no, "bad Pref6 '" + std::string(tok[1]) + "'"));
    }

    bool seen_modes = false, seen_layout = false, seen_pref = false;
    for (std::size_t k = 2; k < ntok; ++k) {
      const std::string_view t = tok[k];
      if (auto m = parse_modes(t)) {
        if (seen_modes) return tl::unexpected(line_error(line_no, "mode given twice"));
        seen_modes = true;
        r.target.modes = *m;
      } else if (auto l = parse_layout(t)) {
        if (seen_layout) return tl::unexpected(line_error(line_no, "layout given twice"));
        seen_layout = true;
        r.target.pool6.layout = *l;
      } else if (t.substr(0, 5) == "pref=") {
        if (seen_pref) return tl::unexpected(line_error(line_no, "pref given twice"));
        seen_pref = true;
        const std::string_view v = t.substr(5);
        uint32_t n = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || ec != std::errc{} || p != v.data() + v.size()) {
          return tl::unexpected(line_error(line_no, "bad preference '" + std::string(v) + "' (0-4294967295)"));
        }
        r.preference = n;
      } else {
        return tl::unexpected(line_error(
            line_no, "unknown word '" + std::string(t) + "' (translate, encapsulate, both, low32, rfc6052, pref=N)"));
      }
    }
    if (auto why = validate_pool6(r.target.pool6); !why.empty()) {
      return tl::unexpected(
          line_error(line_no, "Pref6 " + net::to_string(r.target.pool6.prefix) + ": " + std::string(why)));
    }
    out.push_back(r);
  }
  return out;
}

tl::expected<std::vector<MrRule>, std::string> load_rules_file(const std::string& path, RuleSource src) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected(path + ": cannot open: " + std::strerror(errno));
  std::string text;
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size > 0) {
    text.resize(static_cast<std::size_t>(size));
    in.seekg(0);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
  }
  if (in.bad()) return tl::unexpected(path + ": read error");
  auto rules = parse_rules(text, src);
  if (!rules) return tl::unexpected(path + ": " + rules.error());
  return rules;
}

std::string format_rule(const MrRule& r) {
  return net::to_string(r.prefix) + " " + net::to_string(r.target.pool6.prefix) + " " +
         std::string(modes_name(r.target.modes)) + " " + std::string(layout_name(r.target.pool6.layout)) +
         " pref=" + std::to_string(r.preference);
}

}  // namespace edge46::mapping
