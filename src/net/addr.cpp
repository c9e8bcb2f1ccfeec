#include "net/addr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace edge46::net {

std::optional<Ipv4Addr> parse_ipv4(std::string_view s) {
  // inet_pton stops at a NUL: refuse one rather than ignore what follows.
  if (s.size() >= INET_ADDRSTRLEN || s.find('\0') != std::string_view::npos) return std::nullopt;
  char buf[INET_ADDRSTRLEN] = {};
  std::memcpy(buf, s.data(), s.size());
  in_addr a{};
  if (inet_pton(AF_INET, buf, &a) != 1) return std::nullopt;
  return Ipv4Addr{ntohl(a.s_addr)};
}

std::optional<Ipv6Addr> parse_ipv6(std::string_view s) {
  if (s.size() >= INET6_ADDRSTRLEN || s.find('\0') != std::string_view::npos) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, s.data(), s.size());
  Ipv6Addr out;
  if (inet_pton(AF_INET6, buf, out.bytes.data()) != 1) return std::nullopt;
  return out;
}

namespace {
std::optional<unsigned> parse_len(std::string_view s, unsigned max) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty() || v > max) return std::nullopt;
  return v;
}
}  // namespace

std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view s, bool allow_host_bits) {
  auto slash = s.find('/');
  auto a = parse_ipv4(s.substr(0, slash));
  if (!a) return std::nullopt;
  unsigned len = 32;
  if (slash != std::string_view::npos) {
    auto l = parse_len(s.substr(slash + 1), 32);
    if (!l) return std::nullopt;
    len = *l;
  }
  if (!allow_host_bits && (a->value & ~mask4(len)) != 0) return std::nullopt;
  return Ipv4Prefix{Ipv4Addr{a->value & mask4(len)}, static_cast<uint8_t>(len)};
}

std::optional<Ipv6Prefix> parse_ipv6_prefix(std::string_view s, bool allow_host_bits) {
  auto slash = s.find('/');
  auto a = parse_ipv6(s.substr(0, slash));
  if (!a) return std::nullopt;
  unsigned len = 128;
  if (slash != std::string_view::npos) {
    auto l = parse_len(s.substr(slash + 1), 128);
    if (!l) return std::nullopt;
    len = *l;
  }
  u128 v = a->to_u128();
  if (!allow_host_bits && (v & ~mask6(len)) != 0) return std::nullopt;
  return Ipv6Prefix{Ipv6Addr::from_u128(v & mask6(len)), static_cast<uint8_t>(len)};
}

std::string to_string(Ipv4Addr a) {
  in_addr x{htonl(a.value)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &x, buf, sizeof buf);
  return buf;
}
std::string to_string(const Ipv6Addr& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof buf);
  return buf;
}
std::string to_string(const Ipv4Prefix& p) {
  return to_string(p.addr) + "/" + std::to_string(p.len);
}
std::string to_string(const Ipv6Prefix& p) {
  return to_string(p.addr) + "/" + std::to_string(p.len);
}

}  // namespace edge46::net
