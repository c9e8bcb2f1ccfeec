// IPv4 / IPv6 addresses and prefixes: value types, parsing, printing.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace edge46::net {

using u128 = unsigned __int128;

struct Ipv4Addr {
  uint32_t value = 0;  // host byte order
  friend bool operator==(Ipv4Addr, Ipv4Addr) = default;
  friend auto operator<=>(Ipv4Addr, Ipv4Addr) = default;
};

struct Ipv6Addr {
  std::array<uint8_t, 16> bytes{};
  friend bool operator==(const Ipv6Addr&, const Ipv6Addr&) = default;
  friend auto operator<=>(const Ipv6Addr&, const Ipv6Addr&) = default;

  u128 to_u128() const noexcept {
    uint64_t hi, lo;
    std::memcpy(&hi, bytes.data(), 8);
    std::memcpy(&lo, bytes.data() + 8, 8);
    return (u128{be64(hi)} << 64) | be64(lo);
  }
  static Ipv6Addr from_u128(u128 v) noexcept {
    Ipv6Addr a;
    uint64_t hi = be64(static_cast<uint64_t>(v >> 64)), lo = be64(static_cast<uint64_t>(v));
    std::memcpy(a.bytes.data(), &hi, 8);
    std::memcpy(a.bytes.data() + 8, &lo, 8);
    return a;
  }

 private:
  static uint64_t be64(uint64_t x) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
      return __builtin_bswap64(x);
    } else {
      return x;
    }
  }

 public:
};

inline uint32_t mask4(unsigned len) noexcept {
  return len == 0 ? 0u : ~uint32_t{0} << (32 - len);
}
inline u128 mask6(unsigned len) noexcept {
  return len == 0 ? u128{0} : ~u128{0} << (128 - len);
}

struct Ipv4Prefix {
  Ipv4Addr addr;
  uint8_t len = 32;
  bool contains(Ipv4Addr a) const noexcept { return ((a.value ^ addr.value) & mask4(len)) == 0; }
  friend bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) = default;
};

struct Ipv6Prefix {
  Ipv6Addr addr;
  uint8_t len = 128;
  bool contains(const Ipv6Addr& a) const noexcept { return ((a.to_u128() ^ addr.to_u128()) & mask6(len)) == 0; }
  friend bool operator==(const Ipv6Prefix&, const Ipv6Prefix&) = default;
};

std::optional<Ipv4Addr> parse_ipv4(std::string_view s);
std::optional<Ipv6Addr> parse_ipv6(std::string_view s);
// "a.b.c.d/len" (a bare address means /32). Host bits must be zero unless
// allow_host_bits is set.
std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view s, bool allow_host_bits = false);
std::optional<Ipv6Prefix> parse_ipv6_prefix(std::string_view s, bool allow_host_bits = false);

std::string to_string(Ipv4Addr a);
std::string to_string(const Ipv6Addr& a);
std::string to_string(const Ipv4Prefix& p);
std::string to_string(const Ipv6Prefix& p);

}  // namespace edge46::net
