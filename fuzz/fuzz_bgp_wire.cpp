// libFuzzer: the BGP codec (bgp/wire.h), every parser of peer input.
// Input = selector octet + bytes.
//   selector bits 0-2  0: parse_header, 1: parse_open, 2/6/7: parse_update,
//                      3: parse_notification, 4: parse_route_refresh, 5: decode_rule_body
//   selector bit 3     SessionContext::four_octet_as
//   selector bit 4     SessionContext::ibgp
//   selector bit 5     SAFI 2 instead of 1
//   selector bit 6     our sub-TLV 200 (2-octet length) instead of 126
// Invariants: no read outside the input (ASan); a parsed header has a length
// in 19..4096; an UPDATE whose rule is present and not treat-as-withdraw
// re-encodes with encode_announce into messages of at most 4096 octets that
// parse back to the same prefixes and the same rule.
#include <cstdio>
#include <vector>

#include "bgp/wire.h"
#include "fuzz_check.h"

using namespace edge46;
using namespace edge46::bgp;

namespace {

void round_trip(const Update& u, const SessionContext& ctx) {
  const PathAttrs& pa = u.attrs;
  Announce a;
  a.origin = pa.origin;
  a.as_path = pa.as_path;
  a.local_pref = pa.local_pref;
  a.med = pa.med;
  a.communities = pa.communities;
  a.next_hop = pa.next_hop;
  a.next_hop_link_local = pa.next_hop_link_local;
  a.rule = pa.rule;
  a.shape = pa.rule_shape;
  auto msgs = encode_announce(u.announced, a, ctx);
  std::vector<net::Ipv4Prefix> back;
  for (const auto& m : msgs) {
    EDGE46_FUZZ_CHECK(m.size() <= kMaxMessage, "UPDATE of %zu octets", m.size());
    auto h = parse_header(m);
    EDGE46_FUZZ_CHECK(h && *h && (*h)->type == MsgType::kUpdate && (*h)->length == m.size(), "bad header");
    auto r = parse_update(std::span(m).subspan(kHeaderLen), ctx);
    EDGE46_FUZZ_CHECK(r.has_value(), "re-encoded UPDATE refused: %s", describe(r.error()).c_str());
    EDGE46_FUZZ_CHECK(!r->treat_as_withdraw, "re-encoded UPDATE treat-as-withdraw: %s", r->error.c_str());
    EDGE46_FUZZ_CHECK(r->attrs.rule_state == PathAttrs::RuleState::kPresent, "rule lost: %s",
                      r->attrs.rule_error.c_str());
    EDGE46_FUZZ_CHECK(r->attrs.rule == pa.rule, "rule changed");
    EDGE46_FUZZ_CHECK(r->attrs.rule_shape == pa.rule_shape, "shape changed");
    EDGE46_FUZZ_CHECK(r->attrs.next_hop == pa.next_hop, "next hop changed");
    back.insert(back.end(), r->announced.begin(), r->announced.end());
  }
  EDGE46_FUZZ_CHECK(back == u.announced, "prefixes changed: %zu -> %zu", u.announced.size(), back.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t sel = data[0];
  const std::span<const uint8_t> in(data + 1, size - 1);
  SessionContext ctx;
  ctx.four_octet_as = (sel & 0x08) != 0;
  ctx.ibgp = (sel & 0x10) != 0;
  ctx.cp.safi = (sel & 0x20) ? 2 : 1;
  ctx.cp.sub_tlv = (sel & 0x40) ? 200 : 126;
  switch (sel & 7) {
    case 0: {
      auto h = parse_header(in);
      if (h && *h)
        EDGE46_FUZZ_CHECK((*h)->length >= kHeaderLen && (*h)->length <= kMaxMessage, "length %u", (*h)->length);
      if (h && !*h) EDGE46_FUZZ_CHECK(in.size() < kHeaderLen, "nullopt with %zu octets", in.size());
      break;
    }
    case 1: {
      auto o = parse_open(in, ctx.cp);
      if (o) {
        // Re-encoding what was understood must parse to the same.
        auto m = encode_open(*o, ctx.cp);
        auto back = parse_open(std::span(m).subspan(kHeaderLen), ctx.cp);
        EDGE46_FUZZ_CHECK(back.has_value(), "re-encoded OPEN refused");
        Capabilities want = o->caps;
        want.as4 = want.four_octet_as ? o->asn : 0;
        Capabilities got = back->caps;
        if (!got.four_octet_as) got.as4 = 0;
        EDGE46_FUZZ_CHECK(got == want, "capabilities changed");
        EDGE46_FUZZ_CHECK(back->asn == o->asn && back->hold_time == o->hold_time && back->bgp_id == o->bgp_id,
                          "OPEN fields changed");
      }
      break;
    }
    case 3: {
      auto n = parse_notification(in);
      auto m = encode_notification(n);
      EDGE46_FUZZ_CHECK(m.size() <= kMaxMessage, "NOTIFICATION of %zu octets", m.size());
      break;
    }
    case 4: (void)parse_route_refresh(in); break;
    case 5: {
      auto r = decode_rule_body(in);
      if (r) {
        auto attr = encode_rule_attribute(*r, Shape::kAttribute, ctx.cp);
        auto back = decode_rule_body(std::span(attr).subspan(3));
        EDGE46_FUZZ_CHECK(back && *back == *r, "rule body does not round-trip");
      }
      break;
    }
    default: {
      auto u = parse_update(in, ctx);
      if (u && !u->treat_as_withdraw && u->attrs.rule_state == PathAttrs::RuleState::kPresent &&
          !u->announced.empty() && in.size() <= 3000) {
        round_trip(*u, ctx);
      }
      break;
    }
  }
  return 0;
}
