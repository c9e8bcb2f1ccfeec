#include "tools/dissect.h"

#include <algorithm>
#include <cstdio>

#include "net/addr.h"
#include "net/bytes.h"
#include "net/checksum.h"

namespace edge46::tools {

namespace {

using net::load16;
using net::load32;

std::string hex16(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

class Dissector {
 public:
  explicit Dissector(std::span<const uint8_t> p) : p_(p) {}

  Dissection run() {
    ip(0, static_cast<uint32_t>(p_.size()), "", false);
    return std::move(d_);
  }

 private:
  // Adds [begin, begin+len) clipped to `end`; returns false when nothing of
  // it is present.
  bool add(uint32_t begin, uint32_t len, uint32_t end, const std::string& name) {
    if (begin >= end) {
      return false;
    }
    const uint64_t stop = std::min<uint64_t>(uint64_t{begin} + len, end);
    d_.fields.push_back(Field{begin, static_cast<uint32_t>(stop), name});
    return true;
  }

  void ip(uint32_t at, uint32_t end, const std::string& pre, bool inner) {
    if (at >= end) {
      return;
    }
    const unsigned version = p_[at] >> 4;
    if (version == 4) {
      ipv4(at, end, pre, inner);
    } else if (version == 6) {
      ipv6(at, end, pre, inner);
    } else {
      add(at, end - at, end, pre + "data (IP version " + std::to_string(version) + ")");
      d_.summary += "not IP (version " + std::to_string(version) + ")";
    }
  }

  void ipv4(uint32_t at, uint32_t end, const std::string& pre, bool inner) {
    const std::string h = pre + "IPv4.";
    const uint8_t* b = p_.data() + at;
    add(at + 0, 1, end, h + "version/ihl");
    add(at + 1, 1, end, h + "tos");
    add(at + 2, 2, end, h + "total-length");
    add(at + 4, 2, end, h + "identification");
    add(at + 6, 2, end, h + "flags/fragment-offset");
    add(at + 8, 1, end, h + "ttl");
    add(at + 9, 1, end, h + "protocol");
    add(at + 10, 2, end, h + "header-checksum");
    add(at + 12, 4, end, h + "source");
    add(at + 16, 4, end, h + "destination");
    if (end - at < 20) {
      d_.summary += "IPv4 (truncated header)";
      return;
    }
    const uint32_t ihl = (b[0] & 0xfu) * 4u;
    const uint32_t total = load16(b + 2);
    const uint16_t ff = load16(b + 6);
    const uint32_t frag_off = (ff & 0x1fffu) * 8u;
    const bool mf = (ff & 0x2000) != 0;
    const uint8_t proto = b[9];
    if (ihl > 20) {
      add(at + 20, ihl - 20, end, h + "options");
    }
    if (ihl >= 20 && at + ihl <= end) {
      d_.checksums.push_back(
          Checksum{at + 10, h + "header-checksum", net::ipv4_header_checksum(b, ihl) == load16(b + 10)});
    }
    d_.summary += "IPv4 " + net::to_string(net::Ipv4Addr{load32(b + 12)}) + "->" +
                  net::to_string(net::Ipv4Addr{load32(b + 16)}) + " len=" + std::to_string(total) +
                  " ttl=" + std::to_string(b[8]) + " id=" + hex16(load16(b + 4)) + ((ff & 0x4000) ? " DF" : "") +
                  (mf ? " MF" : "") + (frag_off ? " off=" + std::to_string(frag_off) : "") +
                  " proto=" + std::to_string(proto);
    if (ihl < 20) {
      add(at + 20, end - at - 20, end, h + "payload (bad ihl)");
      return;
    }
    // An outer packet ends where its total length says (link padding after).
    uint32_t stop = end;
    if (!inner && total >= ihl && at + total < end) {
      stop = at + total;
      add(stop, end - stop, end, "trailing bytes past IPv4 total-length");
    }
    const uint32_t l4 = at + ihl;
    if (frag_off != 0) {
      add(l4, stop - l4, stop, pre + "fragment payload");
      return;
    }
    auto pseudo = [&](uint32_t len) {
      return net::pseudo_header_sum4(net::Ipv4Addr{load32(b + 12)}, net::Ipv4Addr{load32(b + 16)}, proto, len);
    };
    transport(proto, l4, stop, pre, inner || mf, false, pseudo);
  }

  void ipv6(uint32_t at, uint32_t end, const std::string& pre, bool inner) {
    const std::string h = pre + "IPv6.";
    const uint8_t* b = p_.data() + at;
    add(at + 0, 1, end, h + "version/traffic-class");
    add(at + 1, 3, end, h + "traffic-class/flow-label");
    add(at + 4, 2, end, h + "payload-length");
    add(at + 6, 1, end, h + "next-header");
    add(at + 7, 1, end, h + "hop-limit");
    add(at + 8, 16, end, h + "source");
    add(at + 24, 16, end, h + "destination");
    if (end - at < 40) {
      d_.summary += "IPv6 (truncated header)";
      return;
    }
    net::Ipv6Addr src, dst;
    std::copy(b + 8, b + 24, src.bytes.begin());
    std::copy(b + 24, b + 40, dst.bytes.begin());
    const uint32_t plen = load16(b + 4);
    d_.summary += "IPv6 " + net::to_string(src) + "->" + net::to_string(dst) + " len=" + std::to_string(40 + plen) +
                  " hlim=" + std::to_string(b[7]);
    if (const uint32_t tc = (load16(b) >> 4) & 0xffu; tc != 0) {
      d_.summary += " tc=" + hex16(tc);
    }
    if (const uint32_t fl = load32(b) & 0xfffffu; fl != 0) {
      d_.summary += " flow=" + hex16(fl);
    }
    uint32_t stop = end;
    if (!inner && at + 40 + plen < end) {
      stop = at + 40 + plen;
      add(stop, end - stop, end, "trailing bytes past IPv6 payload-length");
    }
    uint8_t next = b[6];
    uint32_t off = at + 40;
    bool fragmented = false;
    for (int n = 0; n < 16; ++n) {
      if (next == 44) {
        add(off + 0, 1, stop, pre + "Fragment.next-header");
        add(off + 1, 1, stop, pre + "Fragment.reserved");
        add(off + 2, 2, stop, pre + "Fragment.offset/flags");
        add(off + 4, 4, stop, pre + "Fragment.identification");
        if (off + 8 > stop) {
          return;
        }
        const uint16_t om = load16(p_.data() + off + 2);
        const uint32_t id = load32(p_.data() + off + 4);
        d_.summary += " frag(id=" + hex16(id) + " off=" + std::to_string((om >> 3) * 8u) + ((om & 1) ? " M" : "") + ")";
        fragmented = true;
        next = p_[off];
        off += 8;
        if ((om >> 3) != 0) {
          add(off, stop - off, stop, pre + "fragment payload");
          return;
        }
      } else if (next == 0 || next == 43 || next == 60) {
        const std::string name = next == 0 ? "Hop-by-Hop" : next == 43 ? "Routing" : "Destination-Options";
        if (off + 2 > stop) {
          add(off, stop - off, stop, pre + name + " header");
          return;
        }
        const uint32_t len = (p_[off + 1] + 1u) * 8u;
        add(off + 0, 1, stop, pre + name + ".next-header");
        add(off + 1, 1, stop, pre + name + ".length");
        if (next == 43) {
          add(off + 2, 1, stop, pre + "Routing.type");
          add(off + 3, 1, stop, pre + "Routing.segments-left");
          add(off + 4, len - 4, stop, pre + "Routing.data");
        } else {
          add(off + 2, len - 2, stop, pre + name + ".options");
        }
        d_.summary += " +" + name;
        next = p_[off];
        off += len;
      } else {
        break;
      }
    }
    auto pseudo = [&](uint32_t len) { return net::pseudo_header_sum6(src, dst, next, len); };
    transport(next, off, stop, pre, inner || fragmented, true, pseudo);
  }

  // The upper layer at [l4, stop). `partial`: the bytes may not be the whole
  // datagram (quoted or fragmented), so its checksum is not judged.
  template <class Pseudo>
  void transport(uint8_t proto, uint32_t l4, uint32_t stop, const std::string& pre, bool partial, bool v6,
                 Pseudo pseudo) {
    if (l4 > stop) {
      return;
    }
    const uint32_t len = stop - l4;
    const uint8_t* t = p_.data() + l4;
    auto judge = [&](uint32_t csum_off, const std::string& name, bool with_pseudo) {
      if (partial || csum_off + 2 > len) {
        return;
      }
      uint64_t s = net::csum_add_bytes(with_pseudo ? pseudo(len) : 0, t, len);
      d_.checksums.push_back(Checksum{l4 + csum_off, name, net::csum_fold(s) == 0xffff});
    };
    if ((proto == 1 && !v6) || (proto == 58 && v6)) {
      icmp(l4, stop, pre, v6);
      judge(2, pre + (v6 ? "ICMPv6" : "ICMPv4") + ".checksum", v6);
    } else if (proto == 17) {
      const std::string h = pre + "UDP.";
      add(l4, 2, stop, h + "source-port");
      add(l4 + 2, 2, stop, h + "destination-port");
      add(l4 + 4, 2, stop, h + "length");
      add(l4 + 6, 2, stop, h + "checksum");
      add(l4 + 8, len > 8 ? len - 8 : 0, stop, pre + "UDP payload");
      if (len >= 8) {
        d_.summary += " | UDP " + std::to_string(load16(t)) + "->" + std::to_string(load16(t + 2)) +
                      " csum=" + hex16(load16(t + 6));
        if (!(load16(t + 6) == 0 && !v6)) {
          judge(6, h + "checksum", true);
        }
      }
    } else if (proto == 6) {
      const std::string h = pre + "TCP.";
      add(l4, 2, stop, h + "source-port");
      add(l4 + 2, 2, stop, h + "destination-port");
      add(l4 + 4, 4, stop, h + "sequence");
      add(l4 + 8, 4, stop, h + "acknowledgment");
      add(l4 + 12, 2, stop, h + "data-offset/flags");
      add(l4 + 14, 2, stop, h + "window");
      add(l4 + 16, 2, stop, h + "checksum");
      add(l4 + 18, 2, stop, h + "urgent-pointer");
      uint32_t hl = len > 12 ? (t[12] >> 4) * 4u : 20;
      if (hl > 20) {
        add(l4 + 20, hl - 20, stop, h + "options");
      }
      add(l4 + std::max(hl, 20u), len, stop, pre + "TCP payload");
      if (len >= 4) {
        d_.summary += " | TCP " + std::to_string(load16(t)) + "->" + std::to_string(load16(t + 2));
      }
      judge(16, h + "checksum", true);
    } else {
      add(l4, len, stop, pre + "payload (protocol " + std::to_string(proto) + ")");
      d_.summary += " | proto " + std::to_string(proto) + " " + std::to_string(len) + "B";
    }
  }

  void icmp(uint32_t l4, uint32_t stop, const std::string& pre, bool v6) {
    const std::string h = pre + (v6 ? "ICMPv6." : "ICMPv4.");
    const uint32_t len = stop - l4;
    add(l4, 1, stop, h + "type");
    add(l4 + 1, 1, stop, h + "code");
    add(l4 + 2, 2, stop, h + "checksum");
    if (len < 2) {
      return;
    }
    const uint8_t type = p_[l4];
    const uint8_t code = p_[l4 + 1];
    d_.summary +=
        std::string(" | ") + (v6 ? "ICMPv6" : "ICMPv4") + " " + std::to_string(type) + "/" + std::to_string(code);
    const bool echo = v6 ? (type == 128 || type == 129) : (type == 0 || type == 8);
    const bool error = v6 ? type < 128 : (type == 3 || type == 11 || type == 12);
    if (echo) {
      add(l4 + 4, 2, stop, h + "identifier");
      add(l4 + 6, 2, stop, h + "sequence");
      add(l4 + 8, len > 8 ? len - 8 : 0, stop, h + "data");
      return;
    }
    if (!error) {
      add(l4 + 4, len > 4 ? len - 4 : 0, stop, h + "body");
      return;
    }
    // Rest of header; the RFC 4884 length counts 32-bit (v4) / 64-bit (v6) words.
    uint32_t length_words = 0;
    if (v6) {
      if (type == 2) {
        add(l4 + 4, 4, stop, h + "mtu");
      } else if (type == 4) {
        add(l4 + 4, 4, stop, h + "pointer");
      } else {
        add(l4 + 4, 1, stop, h + "length");
        add(l4 + 5, 3, stop, h + "unused");
        length_words = len > 4 ? p_[l4 + 4] : 0;
      }
    } else {
      if (type == 12) {
        add(l4 + 4, 1, stop, h + "pointer");
      } else {
        add(l4 + 4, 1, stop, h + "unused");
      }
      add(l4 + 5, 1, stop, h + "length");
      add(l4 + 6, 2, stop, h + (type == 3 && code == 4 ? "next-hop-mtu" : "unused"));
      length_words = len > 5 ? p_[l4 + 5] : 0;
    }
    if (v6 && type == 2 && len >= 8) {
      d_.summary += " mtu=" + std::to_string(load32(p_.data() + l4 + 4));
    } else if (!v6 && type == 3 && code == 4 && len >= 8) {
      d_.summary += " mtu=" + std::to_string(load16(p_.data() + l4 + 6));
    }
    const uint32_t inner = l4 + 8;
    if (inner >= stop) {
      return;
    }
    uint32_t inner_end = stop;
    if (length_words != 0) {
      inner_end = std::min(stop, inner + length_words * (v6 ? 8u : 4u));
      d_.summary += " ext-len=" + std::to_string(length_words);
    }
    d_.summary += " [inner ";
    ip(inner, inner_end, pre + "inner ", true);
    d_.summary += "]";
    if (inner_end < stop) {
      add(inner_end, stop - inner_end, stop, h + "extension");
      d_.summary += " +ext " + std::to_string(stop - inner_end) + "B";
    }
  }

  std::span<const uint8_t> p_;
  Dissection d_;
};

}  // namespace

Dissection dissect(std::span<const uint8_t> packet) {
  return Dissector(packet).run();
}

std::string field_at(const Dissection& d, uint32_t offset) {
  for (const auto& f : d.fields) {
    if (offset >= f.begin && offset < f.end) {
      if (f.end - f.begin > 4 || f.name.find("payload") != std::string::npos ||
          f.name.find("data") != std::string::npos) {
        return f.name + "[+" + std::to_string(offset - f.begin) + "]";
      }
      return f.name;
    }
  }
  return "past the end";
}

std::string endpoints(std::span<const uint8_t> p) {
  if (p.size() >= 20 && (p[0] >> 4) == 4) {
    return net::to_string(net::Ipv4Addr{load32(p.data() + 12)}) + "->" +
           net::to_string(net::Ipv4Addr{load32(p.data() + 16)});
  }
  if (p.size() >= 40 && (p[0] >> 4) == 6) {
    net::Ipv6Addr s, d;
    std::copy(p.begin() + 8, p.begin() + 24, s.bytes.begin());
    std::copy(p.begin() + 24, p.begin() + 40, d.bytes.begin());
    return net::to_string(s) + "->" + net::to_string(d);
  }
  return {};
}

}  // namespace edge46::tools
