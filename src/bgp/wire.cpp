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
constexpr uint8_t kCapMp = 1, kCapRouteRefresh = 2, kCapExtNextHop = 5, kCapFourOctetAs = 65;

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
