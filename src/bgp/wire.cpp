// BGP-4 message codec (wire.h). Every read goes through Reader, which checks
// the remaining length first; a short read is reported, never performed.
#include "bgp/wire.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace edge46::bgp {

namespace {

// Bounds-checked big-endian reader over a span.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> s) : s_(s) {}
  std::size_t left() const { return s_.size() - pos_; }
  bool empty() const { return pos_ == s_.size(); }
  bool has(std::size_t n) const { return left() >= n; }
  uint8_t u8() { return s_[pos_++]; }
  uint16_t u16() {
    uint16_t v = static_cast<uint16_t>(s_[pos_] << 8 | s_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  uint32_t u32() {
    uint32_t v = uint32_t{s_[pos_]} << 24 | uint32_t{s_[pos_ + 1]} << 16 | uint32_t{s_[pos_ + 2]} << 8 | s_[pos_ + 3];
    pos_ += 4;
    return v;
  }
  std::span<const uint8_t> take(std::size_t n) {
    auto out = s_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  std::span<const uint8_t> rest() { return take(left()); }
  std::size_t pos() const { return pos_; }

 private:
  std::span<const uint8_t> s_;
  std::size_t pos_ = 0;
};

void put8(std::vector<uint8_t>& v, uint8_t x) {
  v.push_back(x);
}
void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
void put32(std::vector<uint8_t>& v, uint32_t x) {
  put16(v, static_cast<uint16_t>(x >> 16));
  put16(v, static_cast<uint16_t>(x));
}
void put_bytes(std::vector<uint8_t>& v, std::span<const uint8_t> b) {
  v.insert(v.end(), b.begin(), b.end());
}

// A message with its 19-octet header (RFC 4271 4.1) around `body`.
std::vector<uint8_t> frame(MsgType type, std::span<const uint8_t> body) {
  std::vector<uint8_t> m(16, 0xff);
  m.reserve(kHeaderLen + body.size());
  put16(m, static_cast<uint16_t>(kHeaderLen + body.size()));
  put8(m, static_cast<uint8_t>(type));
  put_bytes(m, body);
  return m;
}

Notification notif(uint8_t code, uint8_t subcode, std::vector<uint8_t> data = {}) {
  return Notification{code, subcode, std::move(data)};
}

std::vector<uint8_t> be16_bytes(uint16_t x) {
  return {static_cast<uint8_t>(x >> 8), static_cast<uint8_t>(x)};
}

constexpr uint16_t kAfiIpv4 = 1, kAfiIpv6 = 2;
constexpr uint32_t kAsTrans = 23456;  // RFC 6793 9

// Capability codes (IANA, RFC 5492).
constexpr uint8_t kCapMp = 1, kCapRouteRefresh = 2, kCapExtNextHop = 5, kCapGracefulRestart = 64, kCapFourOctetAs = 65;

// One Capabilities optional parameter value (RFC 5492 4): a list of
// (code, length, value). Unknown capabilities are ignored (RFC 5492 5);
// a known one with a wrong length is ignored too (nothing to negotiate from).
bool parse_capabilities(std::span<const uint8_t> v, const CodePoints& cp, Capabilities& caps) {
  Reader r(v);
  while (!r.empty()) {
    if (!r.has(2)) return false;
    const uint8_t code = r.u8();
    const uint8_t len = r.u8();
    if (!r.has(len)) return false;
    Reader c(r.take(len));
    switch (code) {
      case kCapMp:  // RFC 4760 8: AFI(2) Res(1) SAFI(1)
        if (len == 4) {
          const uint16_t afi = c.u16();
          c.u8();
          const uint8_t safi = c.u8();
          if (afi == kAfiIpv4 && safi == cp.safi) caps.mp_ipv4 = true;
          if (afi == kAfiIpv6 && safi == 1) caps.mp_ipv6 = true;
        }
        break;
      case kCapRouteRefresh:  // RFC 2918 2: length 0
        caps.route_refresh = true;
        break;
      case kCapExtNextHop:  // RFC 8950 3: (NLRI AFI(2), NLRI SAFI(2), Next Hop AFI(2))*
        if (len % 6 == 0) {
          while (c.has(6)) {
            const uint16_t afi = c.u16(), safi = c.u16(), nh_afi = c.u16();
            if (afi == kAfiIpv4 && safi == cp.safi && nh_afi == kAfiIpv6) caps.ext_next_hop = true;
          }
        }
        break;
      case kCapGracefulRestart:  // RFC 4724 3: R(1) N(1) Res(2) Time(12), then (AFI(2) SAFI(1) Flags(1))*
        if (len >= 2 && (len - 2) % 4 == 0) {
          caps.graceful_restart = true;
          caps.gr_time = c.u16() & 0x0fff;
          while (c.has(4)) {
            const uint16_t afi = c.u16();
            const uint8_t safi = c.u8(), flags = c.u8();
            if (afi == kAfiIpv4 && safi == cp.safi) {
              caps.gr_ipv4 = true;
              caps.gr_forwarding = (flags & 0x80) != 0;
            }
          }
        }
        break;
      case kCapFourOctetAs:  // RFC 6793 3: the 4-octet AS
        if (len == 4) {
          caps.four_octet_as = true;
          caps.as4 = c.u32();
        }
        break;
      default: break;
    }
  }
  return true;
}

// Attribute type codes (IANA BGP Path Attributes).
namespace attr {
constexpr uint8_t kOrigin = 1, kAsPath = 2, kNextHop = 3, kMed = 4, kLocalPref = 5, kAtomicAggregate = 6,
                  kAggregator = 7, kCommunities = 8, kOriginatorId = 9, kClusterList = 10, kMpReach = 14,
                  kMpUnreach = 15, kAs4Path = 17, kTunnelEncap = 23;
}  // namespace attr

// Attribute Flags (RFC 4271 4.3).
constexpr uint8_t kOptional = 0x80, kTransitive = 0x40, kExtLength = 0x10;  // Partial (0x20) is kept as received
constexpr uint8_t kWellKnown = kTransitive, kOptTrans = kOptional | kTransitive, kOptNonTrans = kOptional;

constexpr uint8_t kSubTlvEgress = 6;  // RFC 9012 3.1 Tunnel Egress Endpoint

// NLRI prefixes (RFC 4271 4.3, RFC 4760 5): length octet + ceil(len/8)
// octets. False on a length > 32 or a truncated prefix. Host bits past the
// length are cleared (RFC 4271 only says they are irrelevant).
bool parse_prefixes(std::span<const uint8_t> b, std::vector<net::Ipv4Prefix>& out) {
  Reader r(b);
  while (!r.empty()) {
    const uint8_t len = r.u8();
    if (len > 32) return false;
    const std::size_t n = (len + 7u) / 8u;
    if (!r.has(n)) return false;
    uint32_t a = 0;
    auto bytes = r.take(n);
    for (std::size_t i = 0; i < n; ++i) a |= uint32_t{bytes[i]} << (24 - 8 * i);
    out.push_back(net::Ipv4Prefix{net::Ipv4Addr{a & net::mask4(len)}, len});
  }
  return true;
}

std::size_t prefix_wire_len(const net::Ipv4Prefix& p) {
  return 1 + (p.len + 7u) / 8u;
}

void put_prefix(std::vector<uint8_t>& v, const net::Ipv4Prefix& p) {
  put8(v, p.len);
  const uint32_t a = p.addr.value & net::mask4(p.len);
  for (unsigned i = 0; i < (p.len + 7u) / 8u; ++i) put8(v, static_cast<uint8_t>(a >> (24 - 8 * i)));
}

// A path attribute: flags, type, 1 or 2 length octets (Extended Length only
// when the value needs it), value.
void put_attr(std::vector<uint8_t>& v, uint8_t flags, uint8_t type, std::span<const uint8_t> value) {
  flags &= static_cast<uint8_t>(~kExtLength);
  if (value.size() > 255) {
    put8(v, flags | kExtLength);
    put8(v, type);
    put16(v, static_cast<uint16_t>(value.size()));
  } else {
    put8(v, flags);
    put8(v, type);
    put8(v, static_cast<uint8_t>(value.size()));
  }
  put_bytes(v, value);
}

// AS_PATH / AS4_PATH segments (RFC 4271 4.3, RFC 6793 3). Malformed per
// RFC 7606 7.2: an unknown segment type, a zero count, an overrun.
bool parse_as_path(std::span<const uint8_t> v, std::size_t asn_size, std::vector<AsSegment>& out) {
  Reader r(v);
  while (!r.empty()) {
    if (!r.has(2)) return false;
    AsSegment seg;
    seg.type = r.u8();
    const uint8_t count = r.u8();
    if (seg.type < 1 || seg.type > 4 || count == 0 || !r.has(count * asn_size)) return false;
    for (unsigned i = 0; i < count; ++i) seg.asns.push_back(asn_size == 4 ? r.u32() : r.u16());
    out.push_back(std::move(seg));
  }
  return true;
}

// Segments of at most 255 ASNs each (the count is one octet).
std::vector<uint8_t> encode_as_path(const std::vector<AsSegment>& path, bool four, bool* has_big) {
  std::vector<uint8_t> v;
  for (const auto& seg : path) {
    for (std::size_t i = 0; i < seg.asns.size(); i += 255) {
      const std::size_t n = std::min<std::size_t>(255, seg.asns.size() - i);
      put8(v, seg.type);
      put8(v, static_cast<uint8_t>(n));
      for (std::size_t k = i; k < i + n; ++k) {
        const uint32_t asn = seg.asns[k];
        if (four) {
          put32(v, asn);
        } else {
          if (asn > 0xffff && has_big) *has_big = true;
          put16(v, static_cast<uint16_t>(asn > 0xffff ? kAsTrans : asn));  // RFC 6793 4.2.2
        }
      }
    }
  }
  return v;
}

bool flags_ok(uint8_t flags, uint8_t want) {
  return (flags & (kOptional | kTransitive)) == want;
}

// Sub-TLVs of one Tunnel TLV (RFC 9012 2): type(1), length 1 octet for
// types 0-127 and 2 octets for 128-255, value. Fills `rule` from ours and
// the Tunnel Egress Endpoint; the reason on anything broken.
std::optional<std::string> parse_tunnel_subtlvs(std::span<const uint8_t> v, const CodePoints& cp, FourMap6& rule) {
  Reader r(v);
  bool ours = false;
  while (!r.empty()) {
    const uint8_t type = r.u8();
    const bool two = type >= 128;
    if (!r.has(two ? 2 : 1)) return "sub-TLV header truncated";
    const uint16_t len = two ? r.u16() : r.u8();
    if (!r.has(len)) return "sub-TLV " + std::to_string(type) + " overruns its Tunnel TLV";
    auto value = r.take(len);
    if (type == cp.sub_tlv) {
      if (ours) continue;  // the first one counts
      auto body = decode_rule_body(value);
      if (!body) return "4map6 sub-TLV: " + body.error();
      const auto egress = rule.egress;
      rule = *body;
      rule.egress = egress;
      ours = true;
    } else if (type == kSubTlvEgress) {
      // RFC 9012 3.1: Reserved(4) AFI(2) Address; the length must agree
      // with the AFI (0: no address, 1: 4 octets, 2: 16). (The AS field of
      // the tunnel-encaps drafts is not in the RFC; GoBGP reads it the
      // RFC's way and drops an attribute written the drafts' way.)
      Reader e(value);
      if (!e.has(6)) return "Tunnel Egress Endpoint sub-TLV too short";
      e.take(4);
      const uint16_t afi = e.u16();
      const std::size_t want = afi == 0 ? 0 : afi == kAfiIpv4 ? 4 : afi == kAfiIpv6 ? 16 : e.left();
      if (e.left() != want) return "Tunnel Egress Endpoint length disagrees with its AFI";
      if (afi == kAfiIpv6) {
        net::Ipv6Addr a;
        std::memcpy(a.bytes.data(), e.take(16).data(), 16);
        rule.egress = a;
      }
    }
    // Other sub-TLVs: ignored, the rule kept (issue 9).
  }
  if (!ours) return "Tunnel TLV of our type without the 4map6 sub-TLV";
  return std::nullopt;
}

// Tunnel Encapsulation attribute value (RFC 9012 2): Tunnel TLVs of
// Type(2) Length(2) sub-TLVs. nullopt when no TLV has our type; else the
// rule or the reason it is malformed.
std::optional<tl::expected<FourMap6, std::string>> parse_tunnel_encap(std::span<const uint8_t> v,
                                                                      const CodePoints& cp) {
  Reader r(v);
  std::optional<tl::expected<FourMap6, std::string>> found;
  while (!r.empty()) {
    if (!r.has(4)) return tl::unexpected(std::string("Tunnel TLV header truncated"));
    const uint16_t type = r.u16();
    const uint16_t len = r.u16();
    if (!r.has(len)) return tl::unexpected(std::string("Tunnel TLV overruns the attribute"));
    auto value = r.take(len);
    if (type != cp.tunnel_type || found) continue;  // other tunnel types ignored; the first of ours counts
    FourMap6 rule;
    if (auto why = parse_tunnel_subtlvs(value, cp, rule)) {
      found = tl::unexpected(*why);
    } else {
      found = rule;
    }
  }
  return found;
}

}  // namespace

tl::expected<std::optional<Header>, Notification> parse_header(std::span<const uint8_t> buf) {
  if (buf.size() < kHeaderLen) return std::optional<Header>{};
  // RFC 4271 6.1: marker not all ones -> Connection Not Synchronized.
  for (std::size_t i = 0; i < 16; ++i) {
    if (buf[i] != 0xff) return tl::unexpected(notif(err::kHeader, err::kConnNotSynced));
  }
  const uint16_t len = static_cast<uint16_t>(buf[16] << 8 | buf[17]);
  const uint8_t type = buf[18];
  // RFC 4271 6.1: Bad Message Length carries the erroneous Length field.
  const auto bad_length = [&] { return tl::unexpected(notif(err::kHeader, err::kBadLength, be16_bytes(len))); };
  if (len < kHeaderLen || len > kMaxMessage) return bad_length();
  std::size_t min = 0;
  switch (static_cast<MsgType>(type)) {
    case MsgType::kOpen: min = 29; break;
    case MsgType::kUpdate: min = 23; break;
    case MsgType::kNotification: min = 21; break;
    case MsgType::kKeepalive:
      if (len != kHeaderLen) return bad_length();
      min = kHeaderLen;
      break;
    case MsgType::kRouteRefresh: min = 23; break;  // RFC 2918 3 (exact length: parse_route_refresh)
    default: return tl::unexpected(notif(err::kHeader, err::kBadType, {type}));
  }
  if (len < min) return bad_length();
  return std::optional<Header>{Header{static_cast<MsgType>(type), len}};
}

tl::expected<Open, Notification> parse_open(std::span<const uint8_t> body, const CodePoints& cp) {
  Reader r(body);
  if (!r.has(10))
    return tl::unexpected(
        notif(err::kHeader, err::kBadLength, be16_bytes(static_cast<uint16_t>(kHeaderLen + body.size()))));
  Open o;
  o.version = r.u8();
  // RFC 4271 6.2: the data is the largest locally supported version, 2 octets.
  if (o.version != 4) return tl::unexpected(notif(err::kOpen, err::kUnsupportedVersion, {0, 4}));
  const uint16_t my_as = r.u16();
  o.hold_time = r.u16();
  // RFC 4271 6.2: a Hold Time of one or two seconds MUST be rejected.
  if (o.hold_time == 1 || o.hold_time == 2) return tl::unexpected(notif(err::kOpen, err::kUnacceptableHoldTime));
  o.bgp_id = r.u32();
  // RFC 6286 2.2: any non-zero 4 octets are a valid BGP Identifier.
  if (o.bgp_id == 0) return tl::unexpected(notif(err::kOpen, err::kBadBgpId));
  uint16_t opt_len = r.u8();
  bool extended = false;
  // RFC 9072 2: Non-Ext OP Len 255 and Non-Ext OP Type 255 announce the
  // extended form (2-octet lengths).
  if (opt_len == 255 && r.has(3) && body[r.pos()] == 255) {
    r.u8();
    opt_len = r.u16();
    extended = true;
  }
  // RFC 4271 4.5: no subcode fits an inconsistent parameters length -> 0 (Unspecific).
  if (r.left() != opt_len) return tl::unexpected(notif(err::kOpen, 0));
  while (!r.empty()) {
    if (!r.has(extended ? 3 : 2)) return tl::unexpected(notif(err::kOpen, 0));
    const uint8_t type = r.u8();
    const uint16_t len = extended ? r.u16() : r.u8();
    if (!r.has(len)) return tl::unexpected(notif(err::kOpen, 0));
    auto value = r.take(len);
    // RFC 5492 4 / RFC 4271 6.2: only Capabilities (2) is known.
    if (type != 2) return tl::unexpected(notif(err::kOpen, err::kUnsupportedOptParam));
    if (!parse_capabilities(value, cp, o.caps)) return tl::unexpected(notif(err::kOpen, 0));
  }
  // RFC 6793 4.1: the 4-octet AS capability carries the real AS.
  o.asn = o.caps.four_octet_as ? o.caps.as4 : my_as;
  return o;
}

std::vector<uint8_t> encode_open(const Open& open, const CodePoints& cp) {
  std::vector<uint8_t> caps;
  const auto cap = [&caps](uint8_t code, std::span<const uint8_t> v) {
    put8(caps, code);
    put8(caps, static_cast<uint8_t>(v.size()));
    put_bytes(caps, v);
  };
  if (open.caps.mp_ipv4) cap(kCapMp, std::array<uint8_t, 4>{0, kAfiIpv4, 0, cp.safi});
  if (open.caps.mp_ipv6) cap(kCapMp, std::array<uint8_t, 4>{0, kAfiIpv6, 0, 1});
  if (open.caps.route_refresh) cap(kCapRouteRefresh, {});
  // RFC 8950 3: exactly the tuple (AFI 1, our SAFI, next hop AFI 2).
  if (open.caps.ext_next_hop) cap(kCapExtNextHop, std::array<uint8_t, 6>{0, kAfiIpv4, 0, cp.safi, 0, kAfiIpv6});
  if (open.caps.graceful_restart) {
    std::vector<uint8_t> v;
    put16(v, static_cast<uint16_t>(std::min<unsigned>(open.caps.gr_time, 0x0fff)));
    if (open.caps.gr_ipv4) {
      put16(v, kAfiIpv4);
      put8(v, cp.safi);
      put8(v, open.caps.gr_forwarding ? 0x80 : 0);
    }
    cap(kCapGracefulRestart, v);
  }
  if (open.caps.four_octet_as) {
    std::vector<uint8_t> v;
    put32(v, open.asn);
    cap(kCapFourOctetAs, v);
  }
  std::vector<uint8_t> b;
  put8(b, 4);
  put16(b, static_cast<uint16_t>(open.asn > 0xffff ? kAsTrans : open.asn));  // RFC 6793 4.1
  put16(b, open.hold_time);
  put32(b, open.bgp_id);
  if (caps.empty()) {
    put8(b, 0);
  } else {
    // One Capabilities parameter holding all of them (RFC 5492 4 allows either).
    put8(b, static_cast<uint8_t>(caps.size() + 2));
    put8(b, 2);
    put8(b, static_cast<uint8_t>(caps.size()));
    put_bytes(b, caps);
  }
  return frame(MsgType::kOpen, b);
}

std::vector<uint8_t> encode_keepalive() {
  return frame(MsgType::kKeepalive, {});
}

std::vector<uint8_t> encode_notification(const Notification& n) {
  std::vector<uint8_t> b{n.code, n.subcode};
  const std::size_t room = kMaxMessage - kHeaderLen - 2;
  b.insert(b.end(), n.data.begin(), n.data.begin() + static_cast<std::ptrdiff_t>(std::min(n.data.size(), room)));
  return frame(MsgType::kNotification, b);
}

Notification parse_notification(std::span<const uint8_t> body) {
  Notification n;
  if (body.size() < 2) return n;
  n.code = body[0];
  n.subcode = body[1];
  n.data.assign(body.begin() + 2, body.end());
  return n;
}

std::vector<uint8_t> encode_route_refresh(const CodePoints& cp) {
  return frame(MsgType::kRouteRefresh, std::array<uint8_t, 4>{0, kAfiIpv4, 0, cp.safi});
}

tl::expected<std::pair<uint16_t, uint8_t>, Notification> parse_route_refresh(std::span<const uint8_t> body) {
  if (body.size() != 4) {
    // RFC 7313 5: Invalid Message Length; the data is the whole message.
    return tl::unexpected(notif(err::kRouteRefresh, 1, frame(MsgType::kRouteRefresh, body)));
  }
  // body[2] is the Reserved octet (RFC 2918) or the RFC 7313 subtype: ignored.
  return std::pair<uint16_t, uint8_t>{static_cast<uint16_t>(body[0] << 8 | body[1]), body[3]};
}

tl::expected<Update, Notification> parse_update(std::span<const uint8_t> body, const SessionContext& ctx) {
  const CodePoints& cp = ctx.cp;
  const auto reset = [](uint8_t subcode, std::vector<uint8_t> data = {}) {
    return tl::unexpected(notif(err::kUpdate, subcode, std::move(data)));
  };
  Update u;
  PathAttrs& pa = u.attrs;
  const auto withdraw = [&u](const std::string& why) {  // RFC 7606 2 treat-as-withdraw
    u.treat_as_withdraw = true;
    u.error += (u.error.empty() ? "" : "; ") + why;
  };
  const auto discard = [&u](const std::string& why) {  // RFC 7606 2 attribute discard: logged only
    u.error += (u.error.empty() ? "" : "; ") + why;
  };

  // RFC 4271 4.3 / 6.3: lengths that overrun the message are a Malformed
  // Attribute List.
  Reader r(body);
  if (!r.has(2)) return reset(err::kMalformedAttrList);
  const uint16_t wlen = r.u16();
  if (!r.has(wlen)) return reset(err::kMalformedAttrList);
  auto wd_field = r.take(wlen);
  if (!r.has(2)) return reset(err::kMalformedAttrList);
  const uint16_t alen = r.u16();
  if (!r.has(alen)) return reset(err::kMalformedAttrList);
  auto attrs = r.take(alen);
  auto nlri_field = r.rest();

  // RFC 7606 5.3: a prefix that cannot be parsed leaves the rest of the
  // field unlocatable -> session reset (RFC 4271 6.3 Invalid Network Field).
  std::vector<net::Ipv4Prefix> classic_wd, classic_nlri;
  if (!parse_prefixes(wd_field, classic_wd)) return reset(err::kInvalidNetwork);
  if (!parse_prefixes(nlri_field, classic_nlri)) return reset(err::kInvalidNetwork);

  std::array<bool, 256> seen{};
  unsigned attr_count = 0;
  bool have_origin = false, have_as_path = false, mp_seen = false, mp_reach_ours = false, eor_candidate = false;
  std::optional<uint32_t> next_hop4;
  using RuleResult = tl::expected<FourMap6, std::string>;
  std::optional<RuleResult> tunnel_rule, attr_rule;
  std::vector<uint8_t> tunnel_raw, attr_raw;
  bool list_broken = false;

  Reader a(attrs);
  while (!a.empty()) {
    const std::size_t start = a.pos();
    if (!a.has(3)) {
      list_broken = true;
      break;
    }
    const uint8_t flags = a.u8();
    const uint8_t type = a.u8();
    if ((flags & kExtLength) && !a.has(2)) {
      list_broken = true;
      break;
    }
    const uint16_t len = (flags & kExtLength) ? a.u16() : a.u8();
    if (!a.has(len)) {
      list_broken = true;
      break;
    }
    auto v = a.take(len);
    auto raw = attrs.subspan(start, a.pos() - start);
    const std::string name = "attribute " + std::to_string(type);
    if (seen[type]) {
      // RFC 7606 3 g: a repeated MP_REACH/MP_UNREACH is a Malformed
      // Attribute List; any other repeat is discarded, the first kept.
      if (type == attr::kMpReach || type == attr::kMpUnreach) return reset(err::kMalformedAttrList);
      discard("duplicate " + name + " discarded (RFC 7606 3 g)");
      continue;
    }
    seen[type] = true;
    ++attr_count;
    Reader vr(v);

    if (type == cp.attribute) {
      // The standalone 4map6 attribute: optional transitive, our body.
      attr_raw.assign(raw.begin(), raw.end());
      if (!flags_ok(flags, kOptTrans)) {
        attr_rule = tl::unexpected(std::string("standalone 4map6 attribute with wrong flags"));
      } else {
        auto rule = decode_rule_body(v);
        attr_rule =
            rule ? RuleResult(*rule) : RuleResult(tl::unexpected("standalone 4map6 attribute: " + rule.error()));
      }
      continue;
    }

    switch (type) {
      case attr::kOrigin:  // RFC 7606 7.1
        have_origin = true;
        if (!flags_ok(flags, kWellKnown) || len != 1 || v[0] > 2) {
          withdraw("malformed ORIGIN (RFC 7606 7.1)");
        } else {
          pa.origin = v[0];
        }
        break;
      case attr::kAsPath:  // RFC 7606 7.2
        have_as_path = true;
        if (!flags_ok(flags, kWellKnown) || !parse_as_path(v, ctx.four_octet_as ? 4 : 2, pa.as_path)) {
          pa.as_path.clear();
          withdraw("malformed AS_PATH (RFC 7606 7.2)");
        }
        break;
      case attr::kNextHop:  // RFC 7606 7.3
        if (!flags_ok(flags, kWellKnown) || len != 4) {
          withdraw("malformed NEXT_HOP (RFC 7606 7.3)");
        } else {
          next_hop4 = vr.u32();
        }
        break;
      case attr::kMed:  // RFC 7606 7.4
        if (!flags_ok(flags, kOptNonTrans) || len != 4) {
          withdraw("malformed MULTI_EXIT_DISC (RFC 7606 7.4)");
        } else {
          pa.med = vr.u32();
        }
        break;
      case attr::kLocalPref:  // RFC 7606 7.5: disregarded from an external peer
        if (!ctx.ibgp) {
          discard("LOCAL_PREF from an eBGP peer disregarded (RFC 7606 7.5)");
        } else if (!flags_ok(flags, kWellKnown) || len != 4) {
          withdraw("malformed LOCAL_PREF (RFC 7606 7.5)");
        } else {
          pa.local_pref = vr.u32();
        }
        break;
      case attr::kAtomicAggregate:  // RFC 7606 7.6: attribute discard
        if (!flags_ok(flags, kWellKnown) || len != 0) {
          discard("malformed ATOMIC_AGGREGATE discarded (RFC 7606 7.6)");
        } else {
          pa.atomic_aggregate = true;
        }
        break;
      case attr::kAggregator:  // not used; RFC 7606 7.7 would discard a malformed one anyway
        break;
      case attr::kCommunities:  // RFC 7606 7.8 (and 3 f: zero length is malformed)
        if (!flags_ok(flags, kOptTrans) || len == 0 || len % 4 != 0) {
          withdraw("malformed COMMUNITIES (RFC 7606 7.8)");
        } else {
          while (vr.has(4)) pa.communities.push_back(vr.u32());
        }
        break;
      case attr::kOriginatorId:  // RFC 7606 7.9
        if (!ctx.ibgp) {
          discard("ORIGINATOR_ID from an eBGP peer discarded (RFC 7606 7.9)");
        } else if (!flags_ok(flags, kOptNonTrans) || len != 4) {
          withdraw("malformed ORIGINATOR_ID (RFC 7606 7.9)");
        } else {
          pa.originator_id = vr.u32();
        }
        break;
      case attr::kClusterList:  // RFC 7606 7.10
        if (!ctx.ibgp) {
          discard("CLUSTER_LIST from an eBGP peer discarded (RFC 7606 7.10)");
        } else if (!flags_ok(flags, kOptNonTrans) || len == 0 || len % 4 != 0) {
          withdraw("malformed CLUSTER_LIST (RFC 7606 7.10)");
        } else {
          while (vr.has(4)) pa.cluster_list.push_back(vr.u32());
        }
        break;
      case attr::kMpReach: {
        // RFC 4760 3: AFI(2) SAFI(1) NH len(1) NH Reserved(1) NLRI. Anything
        // that hides the NLRI is a reset (RFC 7606 7.11; RFC 4760 7 names
        // Optional Attribute Error). Wrong flags leave the NLRI readable:
        // treat-as-withdraw (RFC 7606 3 c).
        mp_seen = true;
        if (!vr.has(5)) return reset(err::kOptionalAttr);
        const uint16_t afi = vr.u16();
        const uint8_t safi = vr.u8();
        const uint8_t nh_len = vr.u8();
        if (!vr.has(nh_len + 1u)) return reset(err::kOptionalAttr);
        auto nh = vr.take(nh_len);
        vr.u8();  // Reserved (RFC 4760 3: ignored on receipt)
        if (afi != kAfiIpv4 || safi != cp.safi) {
          u.other_families = true;
          break;
        }
        if (!flags_ok(flags, kOptNonTrans)) withdraw("MP_REACH_NLRI with wrong flags (RFC 7606 3 c)");
        // RFC 8950 3: 16 (global) or 32 (global + link-local); 4 is a plain
        // IPv4 next hop (RFC 4760), stored IPv4-mapped. Any other length:
        // RFC 7606 7.11 "session reset".
        if (nh_len == 16 || nh_len == 32) {
          std::memcpy(pa.next_hop.bytes.data(), nh.data(), 16);
          if (nh_len == 32) {
            net::Ipv6Addr ll;
            std::memcpy(ll.bytes.data(), nh.data() + 16, 16);
            pa.next_hop_link_local = ll;
          }
        } else if (nh_len == 4) {
          pa.next_hop = net::Ipv6Addr{};
          pa.next_hop.bytes[10] = pa.next_hop.bytes[11] = 0xff;
          std::memcpy(pa.next_hop.bytes.data() + 12, nh.data(), 4);
        } else {
          return reset(err::kOptionalAttr);
        }
        if (!parse_prefixes(vr.rest(), u.announced)) return reset(err::kOptionalAttr);
        mp_reach_ours = true;
        break;
      }
      case attr::kMpUnreach: {  // RFC 4760 4: AFI(2) SAFI(1) Withdrawn Routes
        mp_seen = true;
        if (!vr.has(3)) return reset(err::kOptionalAttr);
        const uint16_t afi = vr.u16();
        const uint8_t safi = vr.u8();
        if (afi != kAfiIpv4 || safi != cp.safi) {
          u.other_families = true;
          break;
        }
        eor_candidate = vr.empty();
        if (!parse_prefixes(vr.rest(), u.withdrawn)) return reset(err::kOptionalAttr);
        break;
      }
      case attr::kAs4Path:
        // Not merged (RFC 6793 4.2.3 is optional for us): with 4-octet AS
        // negotiated it must be ignored anyway (RFC 6793 4.1); without,
        // AS_TRANS stays in the path (length and loop checks still work).
        break;
      case attr::kTunnelEncap:
        if (!flags_ok(flags, kOptTrans)) {
          tunnel_rule = RuleResult(tl::unexpected(std::string("Tunnel Encapsulation attribute with wrong flags")));
          tunnel_raw.assign(raw.begin(), raw.end());
        } else if (auto t = parse_tunnel_encap(v, cp)) {
          if (!*t) t = RuleResult(tl::unexpected("Tunnel Encapsulation: " + t->error()));
          tunnel_rule = std::move(*t);
          tunnel_raw.assign(raw.begin(), raw.end());
        }
        break;
      default:
        // RFC 4271 6.3: an unrecognized well-known attribute is an error;
        // RFC 4271 5: optional transitive ones are passed on, optional
        // non-transitive ones quietly ignored.
        if (!(flags & kOptional)) return reset(err::kUnrecognizedWellKnown, {raw.begin(), raw.end()});
        if (flags & kTransitive) pa.other.push_back(RawAttr{flags, type, {v.begin(), v.end()}});
        break;
    }
  }

  if (list_broken) {
    // RFC 7606 4: treat-as-withdraw, the NLRI located through the Total
    // Path Attribute Length. Our routes travel in MP_REACH/MP_UNREACH
    // (which RFC 7606 5.1 puts first): when neither was seen before the
    // break and there is no classic NLRI, they may sit in the unparsed part,
    // the NLRI cannot be located, and only a reset is safe.
    if (mp_seen || !classic_wd.empty() || !classic_nlri.empty()) {
      withdraw("attribute list overruns the Total Path Attribute Length (RFC 7606 4)");
    } else {
      return reset(err::kMalformedAttrList);
    }
  }

  // Classic Withdrawn Routes / NLRI are AFI 1 / SAFI 1.
  if (cp.safi == 1) {
    u.withdrawn.insert(u.withdrawn.end(), classic_wd.begin(), classic_wd.end());
    if (!classic_nlri.empty()) {
      u.announced.insert(u.announced.end(), classic_nlri.begin(), classic_nlri.end());
      if (!next_hop4) {
        withdraw("NLRI without NEXT_HOP (RFC 7606 3 d)");
      } else if (!mp_reach_ours) {
        pa.next_hop = net::Ipv6Addr{};
        pa.next_hop.bytes[10] = pa.next_hop.bytes[11] = 0xff;
        for (int i = 0; i < 4; ++i) pa.next_hop.bytes[12 + i] = static_cast<uint8_t>(*next_hop4 >> (24 - 8 * i));
      }
    }
  } else if (!classic_wd.empty() || !classic_nlri.empty()) {
    u.other_families = true;
  }

  if (!u.announced.empty()) {
    // RFC 7606 3 d: a missing well-known mandatory attribute.
    if (!have_origin) withdraw("missing ORIGIN (RFC 7606 3 d)");
    if (!have_as_path) withdraw("missing AS_PATH (RFC 7606 3 d)");
  }

  // The rule: a valid attribute 23 wins, then a valid standalone attribute;
  // otherwise a broken one makes it malformed.
  const auto take_rule = [&pa](RuleResult& res, Shape shape, std::vector<uint8_t>& raw) {
    pa.rule_shape = shape;
    pa.rule_attr_raw = std::move(raw);
    if (res) {
      pa.rule_state = PathAttrs::RuleState::kPresent;
      pa.rule = *res;
    } else {
      pa.rule_state = PathAttrs::RuleState::kMalformed;
      pa.rule_error = res.error();
    }
  };
  if (tunnel_rule && *tunnel_rule) {
    take_rule(*tunnel_rule, Shape::kTunnelEncap, tunnel_raw);
  } else if (attr_rule && *attr_rule) {
    take_rule(*attr_rule, Shape::kAttribute, attr_raw);
  } else if (tunnel_rule) {
    take_rule(*tunnel_rule, Shape::kTunnelEncap, tunnel_raw);
  } else if (attr_rule) {
    take_rule(*attr_rule, Shape::kAttribute, attr_raw);
  }

  // RFC 4724 2: End-of-RIB.
  const bool no_routes = classic_wd.empty() && classic_nlri.empty();
  u.end_of_rib =
      no_routes && ((eor_candidate && attr_count == 1 && !list_broken) || (cp.safi == 1 && body.size() == 4));
  return u;
}

namespace {

std::vector<uint8_t> encode_rule_body(const FourMap6& rule) {
  std::vector<uint8_t> b;
  const uint8_t len = std::min<uint8_t>(rule.pref6.len, 128);
  put8(b, static_cast<uint8_t>((rule.translate ? 0x80 : 0) | (rule.is_default ? 0x40 : 0)));
  put8(b, len);
  const auto bits = net::Ipv6Addr::from_u128(rule.pref6.addr.to_u128() & net::mask6(len));
  b.insert(b.end(), bits.bytes.begin(), bits.bytes.begin() + (len + 7) / 8);
  return b;
}

// The UPDATE body around `attrs` (no Withdrawn Routes, no classic NLRI).
std::vector<uint8_t> update_with_attrs(std::span<const uint8_t> attrs) {
  std::vector<uint8_t> b;
  b.reserve(4 + attrs.size());
  put16(b, 0);
  put16(b, static_cast<uint16_t>(attrs.size()));
  put_bytes(b, attrs);
  return frame(MsgType::kUpdate, b);
}

// Splits `prefixes` into runs whose NLRI encoding fits in `budget` octets
// (at least one prefix per run).
template <typename F>
void for_each_chunk(std::span<const net::Ipv4Prefix> prefixes, std::size_t budget, F&& emit) {
  std::size_t i = 0;
  while (i < prefixes.size()) {
    std::vector<uint8_t> nlri;
    std::size_t j = i;
    while (j < prefixes.size() && (j == i || nlri.size() + prefix_wire_len(prefixes[j]) <= budget)) {
      put_prefix(nlri, prefixes[j]);
      ++j;
    }
    emit(nlri);
    i = j;
  }
}

}  // namespace

std::vector<uint8_t> encode_rule_attribute(const FourMap6& rule, Shape shape, const CodePoints& cp) {
  std::vector<uint8_t> out;
  const auto body = encode_rule_body(rule);
  if (shape == Shape::kAttribute) {
    put_attr(out, kOptTrans, cp.attribute, body);
    return out;
  }
  // RFC 9012 2: one Tunnel TLV of our type; sub-TLV lengths are 1 octet
  // below type 128, 2 octets from 128 on.
  std::vector<uint8_t> subs;
  put8(subs, cp.sub_tlv);
  if (cp.sub_tlv >= 128) {
    put16(subs, static_cast<uint16_t>(body.size()));
  } else {
    put8(subs, static_cast<uint8_t>(body.size()));
  }
  put_bytes(subs, body);
  if (rule.egress) {
    // RFC 9012 3.1: Reserved(4) AFI 2 Address(16).
    put8(subs, kSubTlvEgress);
    put8(subs, 22);
    put32(subs, 0);
    put16(subs, kAfiIpv6);
    put_bytes(subs, rule.egress->bytes);
  }
  std::vector<uint8_t> tlv;
  put16(tlv, cp.tunnel_type);
  put16(tlv, static_cast<uint16_t>(subs.size()));
  put_bytes(tlv, subs);
  put_attr(out, kOptTrans, attr::kTunnelEncap, tlv);
  return out;
}

tl::expected<FourMap6, std::string> decode_rule_body(std::span<const uint8_t> body) {
  if (body.size() < 2) return tl::unexpected("body of " + std::to_string(body.size()) + " octets, at least 2 needed");
  const uint8_t flags = body[0];
  const uint8_t len = body[1];
  if (len > 128) return tl::unexpected("Pref6 length " + std::to_string(len) + " > 128");
  const std::size_t n = (len + 7u) / 8u;
  if (body.size() != 2 + n) {
    return tl::unexpected("body of " + std::to_string(body.size()) + " octets for a /" + std::to_string(len) +
                          ", expected " + std::to_string(2 + n));
  }
  net::Ipv6Addr a;
  std::memcpy(a.bytes.data(), body.data() + 2, n);
  if ((a.to_u128() & ~net::mask6(len)) != 0) {
    return tl::unexpected("Pref6 has bits set past /" + std::to_string(len));
  }
  FourMap6 rule;
  rule.translate = (flags & 0x80) != 0;
  rule.is_default = (flags & 0x40) != 0;
  rule.pref6 = net::Ipv6Prefix{a, len};  // bits 5-0 reserved: ignored on receipt
  return rule;
}

std::vector<std::vector<uint8_t>> encode_announce(std::span<const net::Ipv4Prefix> prefixes, const Announce& an,
                                                  const SessionContext& ctx) {
  std::vector<std::vector<uint8_t>> out;
  if (prefixes.empty()) return out;
  // The attributes after MP_REACH_NLRI, ascending by type (RFC 4271 5).
  std::vector<uint8_t> rest;
  put_attr(rest, kWellKnown, attr::kOrigin, std::array<uint8_t, 1>{an.origin});
  bool has_big = false;
  put_attr(rest, kWellKnown, attr::kAsPath, encode_as_path(an.as_path, ctx.four_octet_as, &has_big));
  std::vector<uint8_t> v;
  if (an.med) {
    put32(v, *an.med);
    put_attr(rest, kOptNonTrans, attr::kMed, v);
  }
  if (ctx.ibgp) {  // RFC 4271 5.1.5: LOCAL_PREF to internal peers only
    v.clear();
    put32(v, an.local_pref.value_or(100));
    put_attr(rest, kWellKnown, attr::kLocalPref, v);
  }
  if (!an.communities.empty()) {
    v.clear();
    for (uint32_t c : an.communities) put32(v, c);
    put_attr(rest, kOptTrans, attr::kCommunities, v);
  }
  if (has_big) {  // RFC 6793 4.2.2: the true path for an old speaker to pass on
    put_attr(rest, kOptTrans, attr::kAs4Path, encode_as_path(an.as_path, true, nullptr));
  }
  const auto rule_attr = encode_rule_attribute(an.rule, an.shape, ctx.cp);
  // MP_REACH_NLRI value before the NLRI (RFC 4760 3, RFC 8950 3).
  std::vector<uint8_t> mp_head;
  put16(mp_head, kAfiIpv4);
  put8(mp_head, ctx.cp.safi);
  put8(mp_head, an.next_hop_link_local ? 32 : 16);
  put_bytes(mp_head, an.next_hop.bytes);
  if (an.next_hop_link_local) put_bytes(mp_head, an.next_hop_link_local->bytes);
  put8(mp_head, 0);  // Reserved
  const std::size_t fixed =
      kHeaderLen + 4 + 4 /* MP_REACH header, extended */ + mp_head.size() + rest.size() + rule_attr.size();
  const std::size_t budget = fixed < kMaxMessage ? kMaxMessage - fixed : 0;
  for_each_chunk(prefixes, budget, [&](const std::vector<uint8_t>& nlri) {
    std::vector<uint8_t> mp = mp_head;
    put_bytes(mp, nlri);
    std::vector<uint8_t> attrs;
    // RFC 7606 5.1: MP_REACH_NLRI SHALL be the very first attribute.
    put_attr(attrs, kOptNonTrans, attr::kMpReach, mp);
    put_bytes(attrs, rest);
    put_bytes(attrs, rule_attr);
    out.push_back(update_with_attrs(attrs));
  });
  return out;
}

std::vector<std::vector<uint8_t>> encode_withdraw(std::span<const net::Ipv4Prefix> prefixes,
                                                  const SessionContext& ctx) {
  std::vector<std::vector<uint8_t>> out;
  const std::size_t budget = kMaxMessage - kHeaderLen - 4 - 4 - 3;
  for_each_chunk(prefixes, budget, [&](const std::vector<uint8_t>& nlri) {
    std::vector<uint8_t> mp;
    put16(mp, kAfiIpv4);
    put8(mp, ctx.cp.safi);
    put_bytes(mp, nlri);
    std::vector<uint8_t> attrs;
    put_attr(attrs, kOptNonTrans, attr::kMpUnreach, mp);
    out.push_back(update_with_attrs(attrs));
  });
  return out;
}

std::vector<uint8_t> encode_end_of_rib(const SessionContext& ctx) {
  // RFC 4724 2: for IPv4 unicast the marker is an UPDATE with nothing in
  // it; for any other SAFI an MP_UNREACH_NLRI with no prefixes.
  if (ctx.cp.safi == 1) return update_with_attrs({});
  std::vector<uint8_t> attrs;
  put_attr(attrs, kOptNonTrans, attr::kMpUnreach, std::array<uint8_t, 3>{0, kAfiIpv4, ctx.cp.safi});
  return update_with_attrs(attrs);
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

}  // namespace edge46::bgp
