#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets into OUT/corpus_{xlat46,xlat64,parse}/.

    fuzz/make_seeds.py BUILD_DIR

Seeds are well-formed packets with correct checksums (so the fuzzer starts
past the parsers): UDP, TCP, ICMP echo, ICMP errors quoting UDP/TCP/echo,
fragments, IPv4 options, IPv6 extension headers, hairpin and edge cases.
xlat seeds start with the config-variant byte described in fuzz_common.h.
"""
import hashlib
import ipaddress
import os
import struct
import sys

HOST4 = "198.51.100.10"   # IPv4 Internet host (pool6)
NODE4 = "192.0.2.16"      # EAM image of NODE6
NODE6 = "2001:db8:6::10"
NODE6B = "2001:db8:7::3"  # second EAM: 203.0.113.3
NODE4B = "203.0.113.3"
HAIR4 = "192.0.2.20"      # EAM-covered, reached through pool6 from IPv6: intrinsic hairpin


def host6(pool40):
    return "2001:db8:1c6:3364:a::" if pool40 else "64:ff9b::c633:640a"


def pool_addr(v4, pool40):
    b = ipaddress.IPv4Address(v4).packed
    if pool40:
        a = bytearray(ipaddress.IPv6Address("2001:db8:100::").packed)
        a[5], a[6], a[7], a[9] = b[0], b[1], b[2], b[3]
        return str(ipaddress.IPv6Address(bytes(a)))
    return str(ipaddress.IPv6Address(ipaddress.IPv6Address("64:ff9b::").packed[:12] + b))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def a4(s):
    return ipaddress.IPv4Address(s).packed


def a6(s):
    return ipaddress.IPv6Address(s).packed


def ph4(src, dst, proto, n):
    return a4(src) + a4(dst) + struct.pack("!BBH", 0, proto, n)


def ph6(src, dst, proto, n):
    return a6(src) + a6(dst) + struct.pack("!IxxxB", n, proto)


def put_csum(seg, off, pseudo, udp=False):
    seg = bytearray(seg)
    seg[off:off + 2] = b"\0\0"
    c = csum(bytes(pseudo) + bytes(seg))
    if udp and c == 0:
        c = 0xFFFF
    seg[off:off + 2] = struct.pack("!H", c)
    return bytes(seg)


def payload(n):
    return bytes((i * 7 + 3) & 0xFF for i in range(n))


def udp(n, sport=40000, dport=53):
    return struct.pack("!HHHH", sport, dport, 8 + n, 0) + payload(n)


def tcp(n):
    return struct.pack("!HHIIBBHHH", 443, 51000, 1, 2, 5 << 4, 0x18, 65000, 0, 0) + payload(n)


def echo(t, n):
    return struct.pack("!BBHHH", t, 0, 0, 0x1234, 1) + payload(n)


def ipv4(src, dst, proto, l4, ttl=64, df=True, mf=False, off=0, ident=0x1234, options=b"", tos=0):
    ihl = 5 + len(options) // 4
    ff = (0x4000 if df else 0) | (0x2000 if mf else 0) | (off // 8)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, ihl * 4 + len(l4), ident, ff, ttl, proto, 0, a4(src), a4(dst))
    h += options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + l4


def ipv4_l4(src, dst, proto, seg, **kw):
    if proto in (6, 17):
        seg = put_csum(seg, 16 if proto == 6 else 6, ph4(src, dst, proto, len(seg)), udp=proto == 17)
    elif proto == 1:
        seg = put_csum(seg, 2, b"")
    return ipv4(src, dst, proto, seg, **kw)


def ipv6(src, dst, nh, body, hlim=64, tc=0):
    return struct.pack("!IHBB", (6 << 28) | (tc << 20), len(body), nh, hlim) + a6(src) + a6(dst) + body


def ipv6_l4(src, dst, proto, seg, ext=b"", first_nh=None, **kw):
    if proto in (6, 17):
        seg = put_csum(seg, 16 if proto == 6 else 6, ph6(src, dst, proto, len(seg)), udp=proto == 17)
    elif proto == 58:
        seg = put_csum(seg, 2, ph6(src, dst, 58, len(seg)))
    return ipv6(src, dst, first_nh if first_nh is not None else proto, ext + seg, **kw)


def frag6(nh, off, mf, ident=0xABCD):
    return struct.pack("!BBHI", nh, 0, off | (1 if mf else 0), ident)


def icmp4_error(t, code, quote, rest=0, src=HOST4, dst=NODE4):
    seg = struct.pack("!BBHI", t, code, 0, rest) + quote
    return ipv4_l4(src, dst, 1, seg, df=False)


def icmp6_error(t, code, quote, pool40, rest=0, src=NODE6, dst=None):
    dst = dst or host6(pool40)
    seg = struct.pack("!BBHI", t, code, 0, rest) + quote
    return ipv6_l4(src, dst, 58, seg)


def v4_packets():
    p = {}
    p["udp64"] = ipv4_l4(HOST4, NODE4, 17, udp(36))
    p["udp_eam2"] = ipv4_l4(HOST4, NODE4B, 17, udp(20))
    p["tcp1400"] = ipv4_l4(HOST4, NODE4, 6, tcp(1360))
    p["tcp_syn"] = ipv4_l4(HOST4, NODE4, 6, tcp(0))
    p["echo"] = ipv4_l4(HOST4, NODE4, 1, echo(8, 32))
    p["echo_reply"] = ipv4_l4(HOST4, NODE4, 1, echo(0, 32))
    p["udp1500_df_clear"] = ipv4_l4(HOST4, NODE4, 17, udp(1472), df=False)
    p["udp1500_df"] = ipv4_l4(HOST4, NODE4, 17, udp(1472))
    p["udp_big_df_clear"] = ipv4_l4(HOST4, NODE4, 17, udp(8000), df=False)
    p["udp_zero_csum"] = ipv4(HOST4, NODE4, 17, udp(16))
    p["ttl1"] = ipv4_l4(HOST4, NODE4, 17, udp(16), ttl=1)
    p["frag_first"] = ipv4(HOST4, NODE4, 17, put_csum(udp(64), 6, ph4(HOST4, NODE4, 17, 72), True)[:40], df=False,
                           mf=True)
    p["frag_middle"] = ipv4(HOST4, NODE4, 17, payload(48), df=False, mf=True, off=40)
    p["frag_last"] = ipv4(HOST4, NODE4, 17, payload(32), df=False, off=88)
    p["lsrr_option"] = ipv4_l4(HOST4, NODE4, 17, udp(16), options=bytes([131, 7, 4, 1, 2, 3, 4, 0]))
    p["nop_options"] = ipv4_l4(HOST4, NODE4, 6, tcp(8), options=bytes([1, 1, 1, 0]))
    p["hairpin_src_eam"] = ipv4_l4(NODE4, HAIR4, 17, udp(16))
    p["denylisted"] = ipv4_l4("198.18.0.1", NODE4, 17, udp(16))
    p["unmapped_dst"] = ipv4_l4(HOST4, "8.8.8.8", 17, udp(16))
    # ICMP errors from the IPv4 host quoting the node's packets.
    q_udp = ipv4_l4(NODE4, HOST4, 17, udp(44))
    q_tcp = ipv4_l4(NODE4, HOST4, 6, tcp(100))
    q_echo = ipv4_l4(NODE4, HOST4, 1, echo(8, 20))
    p["err_port_unreach"] = icmp4_error(3, 3, q_udp)
    p["err_port_unreach_576"] = icmp4_error(3, 3, ipv4_l4(NODE4, HOST4, 17, udp(520)))
    p["err_frag_needed"] = icmp4_error(3, 4, q_tcp[:28], rest=1400)
    p["err_frag_needed_mtu0"] = icmp4_error(3, 4, q_tcp[:48], rest=0)
    p["err_proto_unreach"] = icmp4_error(3, 2, q_udp)
    p["err_time_exceeded"] = icmp4_error(11, 0, q_echo)
    p["err_param_problem"] = icmp4_error(12, 0, q_udp, rest=9 << 24)
    p["err_host_unreach"] = icmp4_error(3, 1, q_tcp[:28])
    inner_frag = ipv4(NODE4, HOST4, 17, payload(24), df=False, mf=True, off=64)
    p["err_quoting_fragment"] = icmp4_error(3, 3, inner_frag)
    # RFC 4884: 128 bytes of original datagram + an extension structure.
    orig = ipv4_l4(NODE4, HOST4, 17, udp(200))[:128]
    ext = struct.pack("!BBH", 0x20, 0, 0) + struct.pack("!HBB", 8, 1, 1) + b"\0\0\0\x05"
    ext = ext[:2] + struct.pack("!H", csum(ext)) + ext[4:]
    p["err_rfc4884"] = icmp4_error(11, 0, orig + ext, rest=(128 // 4) << 16)
    p["err_nested"] = icmp4_error(3, 3, icmp4_error(3, 3, q_udp[:28], src=NODE4, dst=HOST4)[:56])
    p["err_from_unmapped_src"] = icmp4_error(3, 0, q_udp, src="8.8.4.4")
    return p


def v6_packets(pool40):
    h6 = host6(pool40)
    p = {}
    p["udp64"] = ipv6_l4(NODE6, h6, 17, udp(16))
    p["udp_eam2"] = ipv6_l4(NODE6B, h6, 17, udp(16))
    p["tcp1400"] = ipv6_l4(NODE6, h6, 6, tcp(1340))
    p["tcp_syn"] = ipv6_l4(NODE6, h6, 6, tcp(0))
    p["echo"] = ipv6_l4(NODE6, h6, 58, echo(128, 32))
    p["echo_reply"] = ipv6_l4(NODE6, h6, 58, echo(129, 32))
    p["udp1500"] = ipv6_l4(NODE6, h6, 17, udp(1452))
    p["udp1300"] = ipv6_l4(NODE6, h6, 17, udp(1252))
    p["hlim1"] = ipv6_l4(NODE6, h6, 17, udp(16), hlim=1)
    p["tc_flow"] = ipv6_l4(NODE6, h6, 17, udp(16), tc=0xB8)
    u = put_csum(udp(64), 6, ph6(NODE6, h6, 17, 72), True)
    p["frag_first"] = ipv6(NODE6, h6, 44, frag6(17, 0, True) + u[:48])
    p["frag_middle"] = ipv6(NODE6, h6, 44, frag6(17, 48, True) + u[48:64])
    p["frag_last"] = ipv6(NODE6, h6, 44, frag6(17, 64, False) + u[64:])
    p["atomic_frag"] = ipv6(NODE6, h6, 44, frag6(17, 0, False) + u)
    hbh = bytes([44, 0, 1, 4, 0, 0, 0, 0])  # Hop-by-Hop (PadN) then Fragment
    p["hbh_frag"] = ipv6(NODE6, h6, 0, hbh + frag6(17, 0, False) + u)
    dst_opts = bytes([17, 0, 1, 4, 0, 0, 0, 0])
    p["destopts_udp"] = ipv6_l4(NODE6, h6, 17, udp(16), ext=dst_opts, first_nh=60)
    rh = bytes([17, 2, 0, 1, 0, 0, 0, 0]) + a6("2001:db8::1")  # type 0, segments left 1
    p["routing_segleft"] = ipv6_l4(NODE6, h6, 17, udp(16), ext=rh, first_nh=43)
    p["ext_after_frag"] = ipv6(NODE6, h6, 44, frag6(60, 0, False) + dst_opts + u)
    p["hairpin"] = ipv6_l4(NODE6, pool_addr(HAIR4, pool40), 17, udp(16))
    p["hairpin_tcp"] = ipv6_l4(NODE6, pool_addr(HAIR4, pool40), 6, tcp(64))
    p["unmapped_src"] = ipv6_l4("2001:db8:99::1", h6, 17, udp(16))
    p["reserved_dst"] = ipv6_l4(NODE6, pool_addr("127.0.0.1", pool40), 17, udp(16))
    # ICMPv6 errors from the node quoting the host's packets.
    q_udp = ipv6_l4(h6, NODE6, 17, udp(44))
    q_tcp = ipv6_l4(h6, NODE6, 6, tcp(100))
    q_echo = ipv6_l4(h6, NODE6, 58, echo(128, 20))
    p["err_port_unreach"] = icmp6_error(1, 4, q_udp, pool40)
    p["err_port_unreach_1280"] = icmp6_error(1, 4, ipv6_l4(h6, NODE6, 17, udp(1184)), pool40)
    p["err_ptb"] = icmp6_error(2, 0, q_tcp[:88], pool40, rest=1280)
    p["err_ptb_small"] = icmp6_error(2, 0, q_tcp[:88], pool40, rest=600)
    p["err_time_exceeded"] = icmp6_error(3, 0, q_echo, pool40)
    p["err_param_problem"] = icmp6_error(4, 0, q_udp, pool40, rest=7)
    p["err_param_nh"] = icmp6_error(4, 1, q_udp, pool40, rest=6)
    p["err_admin"] = icmp6_error(1, 1, q_tcp[:60], pool40)
    inner_frag = ipv6(h6, NODE6, 44, frag6(17, 0, True) + put_csum(udp(64), 6, ph6(h6, NODE6, 17, 72), True)[:32])
    p["err_quoting_fragment"] = icmp6_error(1, 4, inner_frag, pool40)
    orig = ipv6_l4(h6, NODE6, 17, udp(300))[:128]
    ext = struct.pack("!BBH", 0x20, 0, 0) + struct.pack("!HBB", 8, 1, 1) + b"\0\0\0\x05"
    ext = ext[:2] + struct.pack("!H", csum(ext)) + ext[4:]
    p["err_rfc4884"] = icmp6_error(1, 4, orig + ext, pool40, rest=(128 // 8) << 24)
    p["err_hairpin"] = icmp6_error(1, 4, ipv6_l4(pool_addr(HAIR4, pool40), NODE6, 17, udp(16)), pool40,
                                   dst=pool_addr(HAIR4, pool40))
    p["err_from_unmapped_src"] = icmp6_error(1, 0, q_udp, pool40, src="2001:db8:99::1")
    return p


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    h = hashlib.sha1(data).hexdigest()[:12]
    with open(os.path.join(d, f"{name}-{h}"), "wb") as f:
        f.write(data)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    d46, d64, dp = (os.path.join(out, f"corpus_{n}") for n in ("xlat46", "xlat64", "parse"))
    # Variant bytes: pool96/pool40 x intrinsic, plus simple hairpin, amend-udp,
    # lowest MTU 1400, RFC 6791 pools, no own addresses, hairpin off, jumbo MTUs.
    variants = [0x04, 0x05, 0x02, 0x0C, 0x14, 0x44, 0x84, 0x00, 0x34, 0x45, 0x85, 0x03]
    v4 = v4_packets()
    for name, pkt in v4.items():
        for v in variants:
            write(d46, f"{name}-v{v:02x}", bytes([v]) + pkt)
        write(dp, f"v4-{name}", pkt)
    for pool40 in (False, True):
        for name, pkt in v6_packets(pool40).items():
            for v in variants:
                if bool(v & 1) != pool40:
                    continue
                write(d64, f"{name}-v{v:02x}", bytes([v]) + pkt)
            write(dp, f"v6-{name}-{'p40' if pool40 else 'p96'}", pkt)
    # Quoted-packet shapes for the inner parsers: truncated packets.
    for name, pkt in v4.items():
        write(dp, f"v4cut-{name}", pkt[:28])
    for name, pkt in v6_packets(False).items():
        write(dp, f"v6cut-{name}", pkt[:56])
    for d in (d46, d64, dp):
        print(d, len(os.listdir(d)))


if __name__ == "__main__":
    main()
