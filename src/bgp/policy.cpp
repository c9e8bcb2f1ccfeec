// Prefix lists and the rule authorization file (policy.h).
#include "bgp/policy.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace edge46::bgp {

namespace {

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\r') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<uint32_t> parse_u32(std::string_view s) {
  uint32_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// The prefix with a reason for each way it can be wrong (host bits named
// apart: it is the usual typo).
tl::expected<net::Ipv4Prefix, std::string> parse_v4(std::string_view s) {
  auto loose = net::parse_ipv4_prefix(s, true);
  if (!loose) return tl::unexpected("bad IPv4 prefix '" + std::string(s) + "'");
  if (!net::parse_ipv4_prefix(s, false)) return tl::unexpected("host bits set in '" + std::string(s) + "'");
  return *loose;
}

// Key of the sorted tuple array: masked address, then length.
bool prefix_less(const net::Ipv4Prefix& a, const net::Ipv4Prefix& b) noexcept {
  return a.addr.value != b.addr.value ? a.addr.value < b.addr.value : a.len < b.len;
}

}  // namespace

tl::expected<PrefixList, std::string> PrefixList::parse(const std::vector<std::string>& entries) {
  PrefixList list;
  for (const auto& text : entries) {
    auto words = split_words(text);
    auto fail = [&](const std::string& why) { return tl::unexpected("prefix list entry '" + text + "': " + why); };
    if (words.empty()) return fail("empty");
    auto p = parse_v4(words[0]);
    if (!p) return fail(p.error());
    std::optional<uint32_t> ge, le;
    for (std::size_t i = 1; i < words.size(); i += 2) {
      const bool is_ge = words[i] == "ge", is_le = words[i] == "le";
      if (!is_ge && !is_le) return fail("expected 'ge' or 'le', got '" + std::string(words[i]) + "'");
      auto& slot = is_ge ? ge : le;
      if (slot) return fail("'" + std::string(words[i]) + "' given twice");
      if (i + 1 >= words.size()) return fail("'" + std::string(words[i]) + "' needs a length");
      auto v = parse_u32(words[i + 1]);
      if (!v || *v < p->len || *v > 32) {
        return fail("'" + std::string(words[i]) + " " + std::string(words[i + 1]) + "' outside " +
                    std::to_string(p->len) + "..32");
      }
      slot = *v;
    }
    if (ge && le && *ge > *le) return fail("ge " + std::to_string(*ge) + " > le " + std::to_string(*le));
    // Normal form (0 = unset): "ge len" is "le 32"; "le len" is the exact
    // prefix. So "0.0.0.0/0 ge 0" keeps its meaning although its ge is 0.
    PrefixListEntry e{*p, 0, 0};
    const uint32_t lo = ge.value_or(p->len), hi = le ? *le : (ge ? 32 : p->len);
    if (lo > p->len) e.ge = static_cast<uint8_t>(lo);
    if (hi != (e.ge ? 32u : p->len)) e.le = static_cast<uint8_t>(hi);
    list.entries_.push_back(e);
  }
  return list;
}

bool PrefixList::accepts(net::Ipv4Prefix p) const noexcept {
  if (entries_.empty()) return true;
  for (const auto& e : entries_) {
    if (p.len < e.prefix.len || !e.prefix.contains(p.addr)) continue;
    const unsigned lo = e.ge ? e.ge : e.prefix.len;
    const unsigned hi = e.le ? e.le : (e.ge ? 32u : e.prefix.len);
    if (p.len >= lo && p.len <= hi) return true;
  }
  return false;
}

std::string_view validity_name(Validity v) noexcept {
  switch (v) {
    case Validity::kNotFound: return "not-found";
    case Validity::kValid: return "valid";
    case Validity::kInvalid: return "invalid";
  }
  return "?";
}

tl::expected<Authorization, std::string> Authorization::parse(std::string_view text) {
  Authorization auth;
  std::size_t line_no = 0, pos = 0;
  while (pos <= text.size()) {
    auto nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    auto words = split_words(line);
    if (words.empty()) continue;
    auto fail = [&](const std::string& why) { return tl::unexpected("line " + std::to_string(line_no) + ": " + why); };

    AuthTuple t;
    auto p = parse_v4(words[0]);
    if (!p) return fail(p.error());
    t.prefix = *p;
    t.max_length = p->len;
    std::size_t i = 1;
    if (i < words.size() && words[i] == "maxlen") {
      if (i + 1 >= words.size()) return fail("'maxlen' needs a length");
      auto v = parse_u32(words[i + 1]);
      if (!v || *v < p->len || *v > 32) {
        return fail("maxlen '" + std::string(words[i + 1]) + "' outside " + std::to_string(p->len) + "..32");
      }
      t.max_length = static_cast<uint8_t>(*v);
      i += 2;
    }
    if (i >= words.size()) return fail("missing the Pref6 after " + std::string(words[i - 1]));
    auto p6 = net::parse_ipv6_prefix(words[i], false);
    if (!p6) {
      if (net::parse_ipv6_prefix(words[i], true)) {
        return fail("host bits set in Pref6 '" + std::string(words[i]) + "'");
      }
      return fail("bad Pref6 '" + std::string(words[i]) + "'");
    }
    t.pref6 = *p6;
    ++i;
    if (i < words.size() && words[i] == "as") {
      if (i + 1 >= words.size()) return fail("'as' needs an AS number");
      std::string_view a = words[i + 1];
      if (a.size() > 2 && (a.substr(0, 2) == "AS" || a.substr(0, 2) == "as")) a.remove_prefix(2);
      auto v = parse_u32(a);
      if (!v) return fail("bad AS number '" + std::string(words[i + 1]) + "'");
      t.asn = *v;
      i += 2;
    }
    if (i < words.size()) return fail("unexpected '" + std::string(words[i]) + "'");
    auth.tuples_.push_back(t);
  }
  std::stable_sort(auth.tuples_.begin(), auth.tuples_.end(),
                   [](const AuthTuple& a, const AuthTuple& b) { return prefix_less(a.prefix, b.prefix); });
  return auth;
}

tl::expected<Authorization, std::string> Authorization::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return tl::unexpected(path + ": read error");
  auto a = parse(ss.str());
  if (!a) return tl::unexpected(path + ": " + a.error());
  return a;
}

Validity Authorization::validate(net::Ipv4Prefix p, const net::Ipv6Prefix& pref6,
                                 std::optional<uint32_t> origin_as) const {
  // RFC 6811 2: the covering tuples are those whose prefix holds P; with the
  // tuples sorted by (masked address, length) each candidate length is one
  // binary search, so at most 33 searches whatever the file size.
  bool covered = false;
  for (unsigned len = 0; len <= p.len; ++len) {
    const net::Ipv4Prefix key{net::Ipv4Addr{p.addr.value & net::mask4(len)}, static_cast<uint8_t>(len)};
    auto it = std::lower_bound(tuples_.begin(), tuples_.end(), key,
                               [](const AuthTuple& t, const net::Ipv4Prefix& k) { return prefix_less(t.prefix, k); });
    for (; it != tuples_.end() && it->prefix == key; ++it) {
      covered = true;
      if (p.len <= it->max_length && it->pref6 == pref6 && (!it->asn || (origin_as && *it->asn == *origin_as))) {
        return Validity::kValid;
      }
    }
  }
  return covered ? Validity::kInvalid : Validity::kNotFound;
}

}  // namespace edge46::bgp
