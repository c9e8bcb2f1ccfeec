#include "xlat/common.h"

namespace edge46::xlat::detail {

bool rfc6791_v4(const Config& cfg, Output& out, Ipv4Addr& addr) noexcept {
  if (cfg.rfc6791v4) {
    const auto& p = *cfg.rfc6791v4;
    uint32_t host = 0;
    if (cfg.randomize_rfc6791 && p.len < 32) host = next_rand(out) & ~net::mask4(p.len);
    addr = Ipv4Addr{p.addr.value | host};
    return true;
  }
  if (cfg.own_ipv4) {
    addr = *cfg.own_ipv4;
    return true;
  }
  return false;
}

bool rfc6791_v6(const Config& cfg, Output& out, Ipv6Addr& addr) noexcept {
  if (cfg.rfc6791v6) {
    const auto& p = *cfg.rfc6791v6;
    net::u128 host = 0;
    if (cfg.randomize_rfc6791 && p.len < 128) {
      net::u128 r = (net::u128{next_rand(out)} << 96) | (net::u128{next_rand(out)} << 64) |
                    (net::u128{next_rand(out)} << 32) | next_rand(out);
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

Verdict icmp4_error(const Config& cfg, Output& out, Drop reason, uint8_t type, uint8_t code, uint32_t rest,
                    std::span<const uint8_t> offending, const net::Ipv4Packet& parsed) noexcept {
  using namespace net;
  if (!cfg.own_ipv4 || !may_answer_ipv4(parsed)) return drop(reason);
  std::size_t quote = std::min<std::size_t>(offending.size(), kIcmp4ErrorMax - 28);
  uint8_t* o = out.buffer.data();
  auto total = static_cast<uint16_t>(28 + quote);
  write_ipv4_header(o, 0, total, static_cast<uint16_t>(out.ipv4_id++), 0, 64, proto::kIcmp, *cfg.own_ipv4, parsed.src);
  uint8_t* ic = o + 20;
  ic[icmp::kType] = type;
  ic[icmp::kCode] = code;
  store16(ic + icmp::kChecksum, 0);
  store32(ic + icmp::kRest, rest);
  std::memcpy(ic + 8, offending.data(), quote);
  store16(ic + icmp::kChecksum, csum_finish(csum_add_bytes(0, ic, 8 + quote)));
  emit(out, Family::kV4, 0, total);
  return Verdict{Outcome::kIcmpError, reason};
}

Verdict icmp6_error(const Config& cfg, Output& out, Drop reason, uint8_t type, uint8_t code, uint32_t rest,
                    std::span<const uint8_t> offending, const net::Ipv6Packet& parsed) noexcept {
  using namespace net;
  if (!cfg.own_ipv6 || !may_answer_ipv6(parsed)) return drop(reason);
  std::size_t quote = std::min<std::size_t>(offending.size(), kIcmp6ErrorMax - 48);
  uint8_t* o = out.buffer.data();
  auto plen = static_cast<uint16_t>(8 + quote);
  write_ipv6_header(o, 0, 0, plen, proto::kIcmp6, 64, *cfg.own_ipv6, parsed.src);
  uint8_t* ic = o + 40;
  ic[icmp::kType] = type;
  ic[icmp::kCode] = code;
  store16(ic + icmp::kChecksum, 0);
  store32(ic + icmp::kRest, rest);
  std::memcpy(ic + 8, offending.data(), quote);
  uint64_t sum = pseudo_header_sum6(*cfg.own_ipv6, parsed.src, proto::kIcmp6, plen);
  store16(ic + icmp::kChecksum, csum_finish(csum_add_bytes(sum, ic, plen)));
  emit(out, Family::kV6, 0, 40u + plen);
  return Verdict{Outcome::kIcmpError, reason};
}

}  // namespace edge46::xlat::detail
