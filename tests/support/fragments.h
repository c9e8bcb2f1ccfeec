// Test-only fragmentation of whole L4 segments into IPv4 / IPv6 fragments,
// built with the independent packet builder (support/packet_builder.h):
// one fragment at a chosen offset, or the fragments a link of a given MTU
// would carry (RFC 791 3.2, RFC 8200 4.5: every fragment but the last holds
// a multiple of 8 bytes).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "support/packet_builder.h"

namespace edge46::test {

// The IPv4 fragment of `seg` at byte `off`, `len` bytes, MF as given; the
// rest of the header from `h`.
inline Bytes fragment4(Ip4 h, const Bytes& seg, std::size_t off, std::size_t len, bool mf) {
  h.frag_off = static_cast<uint16_t>(off);
  h.mf = mf;
  return ipv4(h, slice(seg, off, len));
}

// The IPv6 fragment of `seg` (an upper-layer message of protocol `next`) at
// byte `off`, `len` bytes: header `h` (its next must be kFrag) and a Fragment
// header with Identification `id`.
inline Bytes fragment6(const Ip6& h, const Bytes& seg, std::size_t off, std::size_t len, bool mf, uint32_t id,
                       uint8_t next = kIcmp6) {
  auto payload = frag_header(next, static_cast<uint16_t>(off), mf, id);
  append(payload, slice(seg, off, len));
  return ipv6(h, payload);
}

// The IPv4 fragments of `seg`, each at most `mtu` bytes (20-byte header).
inline std::vector<Bytes> fragments4(const Ip4& h, const Bytes& seg, std::size_t mtu) {
  std::vector<Bytes> v;
  const std::size_t chunk = (mtu - 20) & ~std::size_t{7};
  for (std::size_t off = 0; off < seg.size(); off += chunk) {
    const std::size_t n = std::min(chunk, seg.size() - off);
    v.push_back(fragment4(h, seg, off, n, off + n < seg.size()));
  }
  return v;
}

// The IPv6 fragments of `seg`, each at most `mtu` bytes (40-byte header and
// an 8-byte Fragment header).
inline std::vector<Bytes> fragments6(const Ip6& h, const Bytes& seg, std::size_t mtu, uint32_t id,
                                     uint8_t next = kIcmp6) {
  std::vector<Bytes> v;
  const std::size_t chunk = (mtu - 48) & ~std::size_t{7};
  for (std::size_t off = 0; off < seg.size(); off += chunk) {
    const std::size_t n = std::min(chunk, seg.size() - off);
    v.push_back(fragment6(h, seg, off, n, off + n < seg.size(), id, next));
  }
  return v;
}

}  // namespace edge46::test
