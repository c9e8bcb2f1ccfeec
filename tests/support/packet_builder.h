// Test-only packet construction and checking, written independently of the
// code under test: byte access, addresses (libc inet_pton) and checksums
// (RFC 1071 section 4.1 word-at-a-time reference loop) are all
// re-implemented here so expectations never come from src/.
#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace edge46::test {

using Bytes = std::vector<uint8_t>;
using V6 = std::array<uint8_t, 16>;

// --- byte access ----------------------------------------------------------------
inline uint16_t get16(std::span<const uint8_t> b, std::size_t off) {
  return static_cast<uint16_t>((b[off] << 8) | b[off + 1]);
}
inline uint32_t get32(std::span<const uint8_t> b, std::size_t off) {
  return (uint32_t{b[off]} << 24) | (uint32_t{b[off + 1]} << 16) | (uint32_t{b[off + 2]} << 8) | b[off + 3];
}
inline void put16(Bytes& b, std::size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}
inline void put32(Bytes& b, std::size_t off, uint32_t v) {
  b[off] = static_cast<uint8_t>(v >> 24);
  b[off + 1] = static_cast<uint8_t>(v >> 16);
  b[off + 2] = static_cast<uint8_t>(v >> 8);
  b[off + 3] = static_cast<uint8_t>(v);
}
inline void append(Bytes& b, std::span<const uint8_t> x) {
  b.insert(b.end(), x.begin(), x.end());
}
inline Bytes slice(std::span<const uint8_t> b, std::size_t off, std::size_t n) {
  return Bytes(b.begin() + static_cast<std::ptrdiff_t>(off), b.begin() + static_cast<std::ptrdiff_t>(off + n));
}

// --- addresses ------------------------------------------------------------------
inline uint32_t a4(const char* s) {
  in_addr a{};
  if (inet_pton(AF_INET, s, &a) != 1) throw std::invalid_argument(s);
  return ntohl(a.s_addr);
}
inline V6 a6(const char* s) {
  V6 a{};
  if (inet_pton(AF_INET6, s, a.data()) != 1) throw std::invalid_argument(s);
  return a;
}
inline std::string str6(std::span<const uint8_t> b, std::size_t off) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, b.data() + off, buf, sizeof buf);
  return buf;
}
inline std::string str4(std::span<const uint8_t> b, std::size_t off) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, b.data() + off, buf, sizeof buf);
  return buf;
}

// --- RFC 1071 reference checksum ---------------------------------------------------
// One 16-bit word at a time with the end-around carry folded after every
// addition (RFC 1071 section 4.1, the textbook loop).
struct Sum {
  uint32_t acc = 0;
  void word(uint16_t w) {
    acc += w;
    acc = (acc & 0xffff) + (acc >> 16);
  }
  void bytes(std::span<const uint8_t> b) {
    std::size_t i = 0;
    for (; i + 1 < b.size(); i += 2) word(static_cast<uint16_t>((b[i] << 8) | b[i + 1]));
    if (i < b.size()) word(static_cast<uint16_t>(b[i] << 8));
  }
  void addr4(uint32_t a) {
    word(static_cast<uint16_t>(a >> 16));
    word(static_cast<uint16_t>(a));
  }
  void addr6(std::span<const uint8_t> a) { bytes(a.first(16)); }
  uint16_t folded() const { return static_cast<uint16_t>(acc); }
  uint16_t checksum() const { return static_cast<uint16_t>(~acc & 0xffff); }
};

inline uint16_t naive_checksum(std::span<const uint8_t> b) {
  Sum s;
  s.bytes(b);
  return s.checksum();
}

// --- IPv4 -----------------------------------------------------------------------
struct Ip4 {
  uint32_t src = 0, dst = 0;
  uint8_t tos = 0, ttl = 64, proto = 17;
  uint16_t id = 0x1234;
  bool df = false, mf = false;
  uint16_t frag_off = 0;  // bytes, multiple of 8
  Bytes options;          // multiple of 4
};

inline Bytes ipv4(const Ip4& h, std::span<const uint8_t> payload) {
  const std::size_t ihl = 20 + h.options.size();
  Bytes b(ihl, 0);
  b[0] = static_cast<uint8_t>(0x40 | (ihl / 4));
  b[1] = h.tos;
  put16(b, 2, static_cast<uint16_t>(ihl + payload.size()));
  put16(b, 4, h.id);
  put16(b, 6, static_cast<uint16_t>((h.df ? 0x4000 : 0) | (h.mf ? 0x2000 : 0) | (h.frag_off / 8)));
  b[8] = h.ttl;
  b[9] = h.proto;
  put32(b, 12, h.src);
  put32(b, 16, h.dst);
  for (std::size_t i = 0; i < h.options.size(); ++i) b[20 + i] = h.options[i];
  put16(b, 10, naive_checksum({b.data(), ihl}));
  append(b, payload);
  return b;
}

inline std::size_t ihl_of(std::span<const uint8_t> p) {
  return (p[0] & 0x0fu) * 4u;
}

inline void refresh_ipv4_checksum(Bytes& p) {
  put16(p, 10, 0);
  put16(p, 10, naive_checksum({p.data(), ihl_of(p)}));
}

// --- IPv6 -----------------------------------------------------------------------
struct Ip6 {
  V6 src{}, dst{};
  uint8_t tc = 0;
  uint32_t flow = 0;
  uint8_t hlim = 64;
  uint8_t next = 17;
};

inline Bytes ipv6(const Ip6& h, std::span<const uint8_t> payload) {
  Bytes b(40, 0);
  put32(b, 0, (6u << 28) | (uint32_t{h.tc} << 20) | (h.flow & 0xfffff));
  put16(b, 4, static_cast<uint16_t>(payload.size()));
  b[6] = h.next;
  b[7] = h.hlim;
  for (int i = 0; i < 16; ++i) {
    b[8 + i] = h.src[i];
    b[24 + i] = h.dst[i];
  }
  append(b, payload);
  return b;
}

// Generic extension header (HBH, Routing, Destination Options) of 8*(hlen+1)
// bytes.
inline Bytes ext_header(uint8_t next, uint8_t hlen = 0) {
  Bytes b(8u * (hlen + 1u), 0);
  b[0] = next;
  b[1] = hlen;
  if (b.size() >= 8) {
    b[2] = 1;  // PadN option covering the rest
    b[3] = static_cast<uint8_t>(b.size() - 4);
  }
  return b;
}
inline Bytes routing_header(uint8_t next, uint8_t segments_left) {
  Bytes b(24, 0);  // type 0 shape with one address
  b[0] = next;
  b[1] = 2;
  b[2] = 0;
  b[3] = segments_left;
  return b;
}
inline Bytes frag_header(uint8_t next, uint16_t offset_bytes, bool mf, uint32_t id) {
  Bytes b(8, 0);
  b[0] = next;
  put16(b, 2, static_cast<uint16_t>(offset_bytes | (mf ? 1 : 0)));
  put32(b, 4, id);
  return b;
}

// --- transport --------------------------------------------------------------------
inline constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmp6 = 58, kFrag = 44, kHbh = 0, kRouting = 43,
                         kDestOpts = 60;

inline Bytes udp(uint16_t sport, uint16_t dport, std::span<const uint8_t> data) {
  Bytes b(8, 0);
  put16(b, 0, sport);
  put16(b, 2, dport);
  put16(b, 4, static_cast<uint16_t>(8 + data.size()));
  append(b, data);
  return b;
}
inline Bytes tcp(uint16_t sport, uint16_t dport, uint32_t seq, std::span<const uint8_t> data) {
  Bytes b(20, 0);
  put16(b, 0, sport);
  put16(b, 2, dport);
  put32(b, 4, seq);
  put32(b, 8, 0x01020304);
  b[12] = 0x50;
  b[13] = 0x18;  // PSH+ACK
  put16(b, 14, 0xffff);
  append(b, data);
  return b;
}
inline Bytes icmp(uint8_t type, uint8_t code, uint32_t rest, std::span<const uint8_t> data) {
  Bytes b(8, 0);
  b[0] = type;
  b[1] = code;
  put32(b, 4, rest);
  append(b, data);
  return b;
}

inline std::size_t csum_offset(uint8_t proto) {
  return proto == kTcp ? 16 : proto == kUdp ? 6 : 2;
}

// The pseudo-header sums (RFC 768 / RFC 793 for IPv4, RFC 8200 8.1 for IPv6)
// of an upper-layer segment of `len` bytes.
inline Sum pseudo4(uint32_t src, uint32_t dst, uint8_t proto, std::size_t len) {
  Sum s;
  s.addr4(src);
  s.addr4(dst);
  s.word(proto);
  s.word(static_cast<uint16_t>(len));
  return s;
}
inline Sum pseudo6(const V6& src, const V6& dst, uint8_t proto, std::size_t len) {
  Sum s;
  s.addr6(src);
  s.addr6(dst);
  s.word(static_cast<uint16_t>(len >> 16));
  s.word(static_cast<uint16_t>(len));
  s.word(proto);
  return s;
}

// Fills the checksum of segment `seg` (of protocol proto) for IPv4.
inline void fill_csum4(Bytes& seg, uint8_t proto, uint32_t src, uint32_t dst) {
  const std::size_t off = csum_offset(proto);
  put16(seg, off, 0);
  Sum s = proto != kIcmp ? pseudo4(src, dst, proto, seg.size()) : Sum{};
  s.bytes(seg);
  uint16_t c = s.checksum();
  if (proto == kUdp && c == 0) c = 0xffff;
  put16(seg, off, c);
}
inline void fill_csum6(Bytes& seg, uint8_t proto, const V6& src, const V6& dst) {
  const std::size_t off = csum_offset(proto);
  put16(seg, off, 0);
  Sum s = pseudo6(src, dst, proto, seg.size());
  s.bytes(seg);
  uint16_t c = s.checksum();
  if (proto == kUdp && c == 0) c = 0xffff;
  put16(seg, off, c);
}

// Complete packets with valid checksums.
inline Bytes v4_packet(Ip4 h, Bytes seg) {
  fill_csum4(seg, h.proto, h.src, h.dst);
  return ipv4(h, seg);
}
inline Bytes v6_packet(Ip6 h, Bytes seg) {
  fill_csum6(seg, h.next, h.src, h.dst);
  return ipv6(h, seg);
}

// --- checking -----------------------------------------------------------------------
inline bool ipv4_header_valid(std::span<const uint8_t> p) {
  Sum s;
  s.bytes(p.first(ihl_of(p)));
  return s.folded() == 0xffff;
}
// Verifies the L4 checksum of an unfragmented IPv4 packet (UDP 0 = none).
inline bool l4_valid4(std::span<const uint8_t> p) {
  const std::size_t ihl = ihl_of(p);
  const std::size_t len = get16(p, 2) - ihl;
  const uint8_t proto = p[9];
  auto seg = p.subspan(ihl, len);
  if (proto == kUdp && get16(seg, 6) == 0) return true;
  Sum s;
  if (proto != kIcmp) {
    s.addr4(get32(p, 12));
    s.addr4(get32(p, 16));
    s.word(proto);
    s.word(static_cast<uint16_t>(len));
  }
  s.bytes(seg);
  return s.folded() == 0xffff;
}
// Verifies the L4 checksum of an IPv6 packet whose upper layer starts at
// l4off (no Fragment header or a whole first fragment).
inline bool l4_valid6(std::span<const uint8_t> p, std::size_t l4off, uint8_t proto) {
  const std::size_t len = 40 + get16(p, 4) - l4off;
  auto seg = p.subspan(l4off, len);
  Sum s;
  s.addr6(p.subspan(8, 16));
  s.addr6(p.subspan(24, 16));
  s.word(static_cast<uint16_t>(len >> 16));
  s.word(static_cast<uint16_t>(len));
  s.word(proto);
  s.bytes(seg);
  return s.folded() == 0xffff;
}

inline Bytes pattern(std::size_t n, uint8_t seed = 0) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return b;
}

}  // namespace edge46::test
