#include "xlat/common.h"

#include <algorithm>
#include <cstring>

namespace edge46::xlat::detail {

bool rfc6791_v4(const Config& cfg, WorkerState& ws, Ipv4Addr& addr) noexcept {
  if (cfg.rfc6791v4) {
    const auto& p = *cfg.rfc6791v4;
    uint32_t host = 0;
    if (cfg.randomize_rfc6791 && p.len < 32) host = next_rand(ws) & ~net::mask4(p.len);
    addr = Ipv4Addr{p.addr.value | host};
    return true;
  }
  if (cfg.own_ipv4) {
    addr = *cfg.own_ipv4;
    return true;
  }
  return false;
}

bool rfc6791_v6(const Config& cfg, WorkerState& ws, Ipv6Addr& addr) noexcept {
  if (cfg.rfc6791v6) {
    const auto& p = *cfg.rfc6791v6;
    net::u128 host = 0;
    if (cfg.randomize_rfc6791 && p.len < 128) {
      net::u128 r = (net::u128{next_rand(ws)} << 96) | (net::u128{next_rand(ws)} << 64) |
                    (net::u128{next_rand(ws)} << 32) | next_rand(ws);
      host = r & ~net::mask6(p.len);
    }
    addr = Ipv6Addr::from_u128(p.addr.to_u128() | host);
    return true;
  }
  if (cfg.own_ipv6) {
    addr = *cfg.own_ipv6;
    return true;
  }
  return false;
}

namespace {

inline uint64_t rotl(uint64_t x, int b) noexcept {
  return (x << b) | (x >> (64 - b));
}

// SipHash-1-3 of the two words (m0, m1) under (k0, k1).
uint64_t siphash13(uint64_t k0, uint64_t k1, uint64_t m0, uint64_t m1) noexcept {
  uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
  uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
  auto round = [&] {
    v0 += v1;
    v1 = rotl(v1, 13) ^ v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16) ^ v2;
    v0 += v3;
    v3 = rotl(v3, 21) ^ v0;
    v2 += v1;
    v1 = rotl(v1, 17) ^ v2;
    v2 = rotl(v2, 32);
  };
  for (uint64_t m : {m0, m1, uint64_t{16} << 56}) {
    v3 ^= m;
    round();
    v0 ^= m;
  }
  v2 ^= 0xff;
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

}  // namespace

uint16_t next_ipv4_id(WorkerState& ws, Ipv4Addr src, Ipv4Addr dst, uint8_t protocol) noexcept {
  auto& st = ws.ipv4_ids;
  const uint64_t h = siphash13(st.key0, st.key1, (uint64_t{src.value} << 32) | dst.value, protocol);
  uint16_t& c = st.counters[h & (Ipv4IdState::kCounters - 1)];
  c = static_cast<uint16_t>(c + 1 + (next_rand(ws) & 7u));
  return static_cast<uint16_t>((h >> 48) + c);
}

void write_ipv4_header(uint8_t* o, uint8_t tos, uint16_t total_len, uint16_t id, uint16_t flags_frag, uint8_t ttl,
                       uint8_t protocol, Ipv4Addr src, Ipv4Addr dst) noexcept {
  using namespace net;
  o[ipv4::kVersionIhl] = 0x45;
  o[ipv4::kTos] = tos;
  store16(o + ipv4::kTotalLength, total_len);
  store16(o + ipv4::kId, id);
  store16(o + ipv4::kFlagsFragOff, flags_frag);
  o[ipv4::kTtl] = ttl;
  o[ipv4::kProtocol] = protocol;
  store16(o + ipv4::kChecksum, 0);
  write_ipv4(o + ipv4::kSrc, src);
  write_ipv4(o + ipv4::kDst, dst);
  store16(o + ipv4::kChecksum, ipv4_header_checksum(o, 20));
}

void write_ipv6_header(uint8_t* o, uint8_t tclass, uint32_t flow, uint16_t payload_len, uint8_t next, uint8_t hlim,
                       const Ipv6Addr& src, const Ipv6Addr& dst) noexcept {
  using namespace net;
  store32(o, (6u << 28) | (uint32_t{tclass} << 20) | (flow & 0xfffffu));
  store16(o + ipv6::kPayloadLength, payload_len);
  o[ipv6::kNextHeader] = next;
  o[ipv6::kHopLimit] = hlim;
  write_ipv6(o + ipv6::kSrc, src);
  write_ipv6(o + ipv6::kDst, dst);
}

bool may_answer_ipv4(const net::Ipv4Packet& p) noexcept {
  if (p.frag_offset != 0) return false;
  if ((p.dst.value >> 28) == 0xe || p.dst.value == 0xffffffffu) return false;
  if ((p.src.value >> 28) == 0xe || p.src.value == 0 || p.src.value == 0xffffffffu) return false;
  if (p.protocol == net::proto::kIcmp) {
    if (p.payload_avail() < 1 || is_icmp4_error(p.payload()[0]) || p.payload()[0] == 5 || p.payload()[0] == 4) {
      return false;
    }
  }
  return true;
}

bool may_answer_ipv6(const net::Ipv6Packet& p) noexcept {
  if (p.has_frag && p.frag_offset != 0) return false;
  if (p.dst.bytes[0] == 0xff || p.src.bytes[0] == 0xff) return false;
  if (p.src == Ipv6Addr{}) return false;
  if (p.protocol == net::proto::kIcmp6 && !p.ext_after_frag) {
    if (p.l4_avail() < 1 || is_icmp6_error(p.l4()[0])) return false;
  }
  return true;
}

uint32_t assemble_rfc4884(const IcmpErrorLayout& l, uint8_t* o, uint32_t quoted_out, const uint8_t* ie, uint32_t ie_len,
                          bool force_remove_ie, uint32_t& attr) noexcept {
  const uint32_t hdrs = l.hdrs();
  const uint32_t outlen = hdrs + quoted_out + ie_len;
  uint32_t quote = 0, pad = 0;
  bool keep_ie = false;
  attr = 0;
  if (ie_len == 0) {
    quote = std::min(quoted_out, l.max - hdrs);
  } else if (force_remove_ie || ie_len > l.max - hdrs - 128) {
    quote = std::min(outlen - ie_len, l.max) - hdrs;
  } else {
    // RFC 4884 4/5: the quote is padded to 128 bytes and a whole number of
    // units; the length attribute counts it in units.
    quote = (std::min(outlen, l.max) - ie_len - hdrs) & ~(l.unit - 1);
    pad = quote < 128 ? 128 - quote : 0;
    attr = (quote + pad) / l.unit;
    keep_ie = true;
  }
  uint8_t* tail = o + hdrs + quote;
  std::memset(tail, 0, pad);
  if (keep_ie) std::memcpy(tail + pad, ie, ie_len);
  return hdrs + quote + pad + (keep_ie ? ie_len : 0);
}

namespace {

// ICMP header and quote of a translator-generated error at `ic` (checksum
// left 0): as much of the offending packet as fits in l.max. Returns the
// ICMP length.
uint32_t write_own_error_body(const IcmpErrorLayout& l, uint8_t* ic, uint8_t type, uint8_t code, uint32_t rest,
                              std::span<const uint8_t> offending) noexcept {
  using namespace net;
  const std::size_t quote = std::min<std::size_t>(offending.size(), l.max - l.hdrs());
  ic[icmp::kType] = type;
  ic[icmp::kCode] = code;
  store16(ic + icmp::kChecksum, 0);
  store32(ic + icmp::kRest, rest);
  std::memcpy(ic + 8, offending.data(), quote);
  return static_cast<uint32_t>(8 + quote);
}

}  // namespace

Verdict icmp4_error(const Config& cfg, WorkerState& ws, Output& out, Drop reason, uint8_t type, uint8_t code,
                    uint32_t rest, std::span<const uint8_t> offending, const net::Ipv4Packet& parsed) noexcept {
  using namespace net;
  if (!cfg.own_ipv4 || !may_answer_ipv4(parsed)) return drop(reason);
  uint8_t* o = out.buffer.data();
  uint8_t* ic = o + kIcmp4Error.ip;
  const uint32_t icmp_len = write_own_error_body(kIcmp4Error, ic, type, code, rest, offending);
  const uint32_t total = kIcmp4Error.ip + icmp_len;
  write_ipv4_header(o, 0, static_cast<uint16_t>(total), next_ipv4_id(ws, *cfg.own_ipv4, parsed.src, proto::kIcmp), 0,
                    64, proto::kIcmp, *cfg.own_ipv4, parsed.src);
  store16(ic + icmp::kChecksum, csum_finish(csum_add_bytes(0, ic, icmp_len)));
  emit(out, Family::kV4, 0, total);
  return Verdict{Outcome::kIcmpError, reason};
}

Verdict icmp6_error(const Config& cfg, Output& out, Drop reason, uint8_t type, uint8_t code, uint32_t rest,
                    std::span<const uint8_t> offending, const net::Ipv6Packet& parsed) noexcept {
  using namespace net;
  if (!cfg.own_ipv6 || !may_answer_ipv6(parsed)) return drop(reason);
  uint8_t* o = out.buffer.data();
  uint8_t* ic = o + kIcmp6Error.ip;
  const uint32_t icmp_len = write_own_error_body(kIcmp6Error, ic, type, code, rest, offending);
  write_ipv6_header(o, 0, 0, static_cast<uint16_t>(icmp_len), proto::kIcmp6, 64, *cfg.own_ipv6, parsed.src);
  const uint64_t sum = pseudo_header_sum6(*cfg.own_ipv6, parsed.src, proto::kIcmp6, icmp_len);
  store16(ic + icmp::kChecksum, csum_finish(csum_add_bytes(sum, ic, icmp_len)));
  emit(out, Family::kV6, 0, kIcmp6Error.ip + icmp_len);
  return Verdict{Outcome::kIcmpError, reason};
}

}  // namespace edge46::xlat::detail
