// libFuzzer: IPv6 ingress. Input = variant byte (see fuzz_common.h) + IPv6 packet.
#include "fuzz_common.h"

using namespace edge46;

namespace {

// As in fuzz_xlat46: checksum validity is carried over by translation.
void check_checksum_carried(std::span<const uint8_t> in, xlat::Verdict v, const xlat::Output& out) {
  if (v.outcome != xlat::Outcome::kTranslated || out.count != 1) return;
  net::Ipv6Packet ip;
  if (net::parse_ipv6(in, ip) != core::Drop::kNone || ip.is_fragment() || ip.ext_after_frag) return;
  net::Ipv4Packet op;
  if (net::parse_ipv4(out.packet(0), op, true) != core::Drop::kNone || op.is_fragment()) return;
  const uint32_t n = ip.l4_length();
  bool in_ok = false, out_ok = false;
  const bool echo = ip.protocol == net::proto::kIcmp6 && n >= 1 && (ip.l4()[0] == 128 || ip.l4()[0] == 129);
  if (ip.protocol == net::proto::kTcp || ip.protocol == net::proto::kUdp || echo) {
    EDGE46_FUZZ_CHECK(op.payload_length() == n, "l4 length %u -> %u", n, op.payload_length());
  }
  if (ip.protocol == net::proto::kTcp || ip.protocol == net::proto::kUdp) {
    in_ok = fuzz::l4_sum_ok6(ip.src, ip.dst, ip.protocol, ip.l4(), n);
    out_ok = fuzz::l4_sum_ok4(op.src, op.dst, ip.protocol, op.payload(), n);
  } else if (ip.protocol == net::proto::kIcmp6) {
    if (ip.l4()[0] != 128 && ip.l4()[0] != 129) return;  // translated error: fresh checksum
    in_ok = fuzz::l4_sum_ok6(ip.src, ip.dst, net::proto::kIcmp6, ip.l4(), n);
    if (fuzz::icmp4_all_zero(op.payload(), n)) return;  // see fuzz_common.h
    out_ok = fuzz::icmp4_sum_ok(op.payload(), n);
  } else {
    return;
  }
  EDGE46_FUZZ_CHECK(in_ok == out_ok, "proto %u checksum validity %d -> %d", ip.protocol, in_ok, out_ok);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const xlat::Config& cfg = fuzz::config(data[0]);
  std::span<const uint8_t> in{data + 1, size - 1};
  xlat::Output& out = fuzz::output();
  xlat::Verdict v = xlat::translate(cfg, fuzz::eamt(), fuzz::worker_state(), xlat::Family::kV6, in, out);
  net::Ipv6Packet ip;
  const bool opaque = net::parse_ipv6(in, ip) == core::Drop::kNone && ip.protocol == net::proto::kIcmp;
  fuzz::check_output(cfg, xlat::Family::kV6, v, out, opaque);
  check_checksum_carried(in, v, out);
  return 0;
}
