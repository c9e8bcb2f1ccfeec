// libFuzzer: IPv4 ingress. Input = variant byte (see fuzz_common.h) + IPv4 packet.
#include "fuzz_common.h"

using namespace edge46;

namespace {

// A translated unfragmented TCP/UDP/ICMP echo keeps its checksum exactly as
// valid (or invalid) as it was: RFC 1624 updates carry wrongness over.
void check_checksum_carried(const xlat::Config& cfg, std::span<const uint8_t> in, xlat::Verdict v,
                            const xlat::Output& out) {
  if (v.outcome != xlat::Outcome::kTranslated || out.count != 1) return;
  net::Ipv4Packet ip;
  if (net::parse_ipv4(in, ip, true) != core::Drop::kNone || ip.is_fragment()) return;
  net::Ipv6Packet op;
  if (net::parse_ipv6(out.packet(0), op) != core::Drop::kNone || op.has_frag) return;
  const uint32_t n = ip.payload_length();
  bool in_ok = false;
  if (ip.protocol == net::proto::kTcp || ip.protocol == net::proto::kUdp) {
    if (ip.protocol == net::proto::kUdp && net::load16(ip.payload() + 6) == 0) {
      EDGE46_FUZZ_CHECK(cfg.amend_udp_checksum_zero, "zero UDP checksum translated without amend-udp");
      in_ok = true;  // amended: must come out valid
    } else {
      in_ok = fuzz::l4_sum_ok4(ip.src, ip.dst, ip.protocol, ip.payload(), n);
    }
  } else if (ip.protocol == net::proto::kIcmp) {
    if (ip.payload()[0] != 0 && ip.payload()[0] != 8) return;  // translated ICMP error: fresh checksum
    if (fuzz::icmp4_all_zero(ip.payload(), n)) return;
    in_ok = fuzz::icmp4_sum_ok(ip.payload(), n);
  } else {
    return;
  }
  const uint8_t proto6 = ip.protocol == net::proto::kIcmp ? net::proto::kIcmp6 : ip.protocol;
  EDGE46_FUZZ_CHECK(op.l4_length() == n, "l4 length %u -> %u", n, op.l4_length());
  EDGE46_FUZZ_CHECK(op.protocol == proto6, "protocol %u -> %u", ip.protocol, op.protocol);
  const bool out_ok = fuzz::l4_sum_ok6(op.src, op.dst, proto6, op.l4(), n);
  EDGE46_FUZZ_CHECK(in_ok == out_ok, "proto %u checksum validity %d -> %d", ip.protocol, in_ok, out_ok);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const xlat::Config& cfg = fuzz::config(data[0]);
  // Copy so ASan sees reads past the packet (the fuzzer's buffer is exact too,
  // but a copy also proves the input is left intact).
  std::span<const uint8_t> in{data + 1, size - 1};
  xlat::Output& out = fuzz::output();
  xlat::Verdict v = xlat::translate(cfg, fuzz::eamt(), fuzz::worker_state(), xlat::Family::kV4, in, out);
  net::Ipv4Packet ip;
  const bool opaque = net::parse_ipv4(in, ip, false) == core::Drop::kNone && ip.protocol == net::proto::kIcmp6;
  const bool parsed = net::parse_ipv4(in, ip, false) == core::Drop::kNone;
  const bool ext =
      parsed && (ip.protocol == 0 || ip.protocol == 43 || ip.protocol == 44 || ip.protocol == 51 || ip.protocol == 60);
  fuzz::check_output(cfg, xlat::Family::kV4, v, out, opaque || ext, ext);
  check_checksum_carried(cfg, in, v, out);
  return 0;
}
