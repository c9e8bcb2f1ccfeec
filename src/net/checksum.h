// Internet checksum (RFC 1071) and incremental update (RFC 1624).
//
// Sums are kept as 64-bit one's-complement accumulators ("partial sums") and
// folded to 16 bits at the end. A partial sum of a byte range treats the
// range as big-endian 16-bit words; an odd trailing byte is padded with zero.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/addr.h"
#include "net/bytes.h"

namespace edge46::net {

// Adds the bytes [p, p+n) to sum. n may be odd only for the last range of a
// message (the pad byte is implied). Inline: most calls are short and of a
// constant length (addresses, headers), which the compiler unrolls.
inline uint64_t csum_add_bytes(uint64_t sum, const uint8_t* p, std::size_t n) noexcept {
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

inline uint16_t csum_fold(uint64_t sum) noexcept {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The checksum field value for a message whose partial sum is `sum`.
inline uint16_t csum_finish(uint64_t sum) noexcept {
  return static_cast<uint16_t>(~csum_fold(sum));
}

inline uint64_t csum_add_addr(uint64_t sum, Ipv4Addr a) noexcept {
  return sum + (a.value >> 16) + (a.value & 0xffffu);
}
inline uint64_t csum_add_addr(uint64_t sum, const Ipv6Addr& a) noexcept {
  return csum_add_bytes(sum, a.bytes.data(), 16);
}

// Partial sum of a pseudo-header (RFC 768/793 for IPv4, RFC 8200 8.1 for IPv6).
uint64_t pseudo_header_sum4(Ipv4Addr src, Ipv4Addr dst, uint8_t proto, uint32_t len) noexcept;
uint64_t pseudo_header_sum6(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next, uint32_t len) noexcept;

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). `removed` and `added` are partial
// sums of what left and what entered the covered data. The update keeps a
// wrong checksum equivalently wrong.
inline uint16_t csum_update(uint16_t old_csum, uint64_t removed, uint64_t added) noexcept {
  uint64_t sum = static_cast<uint16_t>(~old_csum);
  sum += static_cast<uint16_t>(~csum_fold(removed));
  sum += csum_fold(added);
  return static_cast<uint16_t>(~csum_fold(sum));
}

// Full IPv4 header checksum of hdr[0, ihl_bytes) with the checksum field
// taken as zero.
inline uint16_t ipv4_header_checksum(const uint8_t* hdr, std::size_t ihl_bytes) noexcept {
  uint64_t s = uint64_t{load32(hdr)} + load32(hdr + 4) + load16(hdr + 8) + load32(hdr + 12) + load32(hdr + 16);
  if (ihl_bytes > 20) s = csum_add_bytes(s, hdr + 20, ihl_bytes - 20);
  return csum_finish(s);
}

}  // namespace edge46::net
