#include "net/checksum.h"

#include <cstring>

#include "net/bytes.h"

namespace edge46::net {

uint64_t csum_add_bytes(uint64_t sum, const uint8_t* p, std::size_t n) noexcept {
  // 32-bit big-endian words into a 64-bit accumulator: no carry is lost for
  // any packet below 16 GiB.
  while (n >= 8) {
    sum += load32(p);
    sum += load32(p + 4);
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    sum += load32(p);
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    sum += load16(p);
    p += 2;
    n -= 2;
  }
  if (n == 1) sum += uint32_t{p[0]} << 8;
  return sum;
}

uint64_t csum_add_addr(uint64_t sum, const Ipv6Addr& a) noexcept {
  return csum_add_bytes(sum, a.bytes.data(), 16);
}

uint64_t pseudo_header_sum4(Ipv4Addr src, Ipv4Addr dst, uint8_t proto, uint32_t len) noexcept {
  uint64_t s = csum_add_addr(0, src);
  s = csum_add_addr(s, dst);
  return s + proto + len;
}

uint64_t pseudo_header_sum6(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next, uint32_t len) noexcept {
  uint64_t s = csum_add_addr(0, src);
  s = csum_add_addr(s, dst);
  return s + (len >> 16) + (len & 0xffffu) + next;
}

uint16_t ipv4_header_checksum(const uint8_t* hdr, std::size_t ihl_bytes) noexcept {
  uint64_t s = csum_add_bytes(0, hdr, 10);
  s = csum_add_bytes(s, hdr + 12, ihl_bytes - 12);
  return csum_finish(s);
}

}  // namespace edge46::net
