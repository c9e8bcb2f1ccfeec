// libFuzzer: the packet parsers (outer and quoted variants, both families).
// Whatever they accept must describe bytes inside the input.
#include "fuzz_common.h"

using namespace edge46;

namespace {

volatile uint8_t g_sink;

void touch(const uint8_t* p, uint32_t n) {
  uint8_t x = 0;
  for (uint32_t i = 0; i < n; ++i) x ^= p[i];
  g_sink = x;
}

void check_v4(std::span<const uint8_t> in, const net::Ipv4Packet& p, bool outer) {
  EDGE46_FUZZ_CHECK(p.hdr == in.data(), "hdr not at the input");
  EDGE46_FUZZ_CHECK(p.ihl >= 20 && p.ihl <= 60 && p.ihl % 4 == 0, "ihl %u", p.ihl);
  EDGE46_FUZZ_CHECK(p.ihl <= p.avail, "ihl %u > avail %u", p.ihl, p.avail);
  EDGE46_FUZZ_CHECK(p.avail <= in.size(), "avail %u > size %zu", p.avail, in.size());
  EDGE46_FUZZ_CHECK(p.avail <= p.total_length, "avail %u > total length %u", p.avail, p.total_length);
  if (outer) EDGE46_FUZZ_CHECK(p.avail == p.total_length, "outer avail %u != total %u", p.avail, p.total_length);
  EDGE46_FUZZ_CHECK(p.frag_offset % 8 == 0 && p.frag_offset <= 0x1fff * 8, "frag offset %u", p.frag_offset);
  touch(p.hdr, p.avail);
  touch(p.payload(), p.payload_avail());
}

void check_v6(std::span<const uint8_t> in, const net::Ipv6Packet& p, bool outer) {
  EDGE46_FUZZ_CHECK(p.hdr == in.data(), "hdr not at the input");
  EDGE46_FUZZ_CHECK(p.avail >= 40 && p.avail <= in.size(), "avail %u size %zu", p.avail, in.size());
  EDGE46_FUZZ_CHECK(p.avail <= 40u + p.payload_length, "avail %u > 40 + payload %u", p.avail, p.payload_length);
  if (outer) EDGE46_FUZZ_CHECK(p.avail == 40u + p.payload_length, "outer avail %u", p.avail);
  EDGE46_FUZZ_CHECK(p.l4_offset >= 40 && p.l4_offset <= p.avail, "l4 offset %u avail %u", p.l4_offset, p.avail);
  if (p.has_frag) {
    EDGE46_FUZZ_CHECK(p.frag_header_offset >= 40 && p.frag_header_offset + 8 <= p.l4_offset,
                      "fragment header at %u, l4 at %u", p.frag_header_offset, p.l4_offset);
    EDGE46_FUZZ_CHECK(p.hdr[p.frag_header_offset + 0] == p.protocol || p.ext_after_frag ||
                          p.frag_header_offset + 8 != p.l4_offset,
                      "fragment header next %u vs protocol %u", p.hdr[p.frag_header_offset], p.protocol);
  }
  if (p.segments_left_offset != 0) {
    EDGE46_FUZZ_CHECK(p.segments_left_offset < p.l4_offset && p.hdr[p.segments_left_offset] != 0,
                      "segments left at %u", p.segments_left_offset);
  }
  touch(p.l4(), p.l4_avail());
  // l4_length() is per header: for an outer packet it is what is present.
  if (outer) EDGE46_FUZZ_CHECK(p.l4_length() == p.l4_avail(), "l4 length %u avail %u", p.l4_length(), p.l4_avail());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in{data, size};
  {
    net::Ipv4Packet p;
    if (net::parse_ipv4(in, p, false) == core::Drop::kNone) {
      check_v4(in, p, true);
      net::Ipv4Packet q;
      const core::Drop d = net::parse_ipv4(in, q, true);
      EDGE46_FUZZ_CHECK(d == core::Drop::kNone || d == core::Drop::kBadIpv4Checksum, "verify changed %d",
                        static_cast<int>(d));
      if (d == core::Drop::kNone) {
        EDGE46_FUZZ_CHECK(net::ipv4_header_checksum(p.hdr, p.ihl) == net::load16(p.hdr + 10), "checksum accepted");
      }
    }
  }
  {
    net::Ipv4Packet p;
    if (net::parse_ipv4_inner(in, p) == core::Drop::kNone) check_v4(in, p, false);
  }
  {
    net::Ipv6Packet p;
    if (net::parse_ipv6(in, p) == core::Drop::kNone) check_v6(in, p, true);
  }
  {
    net::Ipv6Packet p;
    if (net::parse_ipv6_inner(in, p) == core::Drop::kNone) check_v6(in, p, false);
  }
  return 0;
}
