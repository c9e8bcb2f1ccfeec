#include "net/checksum.h"

#include <cstring>

#include "net/bytes.h"

namespace edge46::net {

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

}  // namespace edge46::net
