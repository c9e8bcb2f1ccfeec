#!/usr/bin/env python3
"""Writes examples/sample.pcap: a handful of packets for `edge46 replay`.

The packets fit examples/edge46.toml (the Jool graybox topology: n6 is
2001:db8:1c0:2:21:: = 192.0.2.33 through pool6 2001:db8:100::/40, n4 is
198.51.100.2 = 2001:db8:1c6:3364:2::). Built from scratch with the standard
library only, so the expected translations can be checked independently.

    make_sample_pcap.py [--link raw|ethernet|sll] OUT.pcap
"""
import argparse
import struct


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(s: str) -> bytes:
    return bytes(int(x) for x in s.split("."))


def ip6(s: str) -> bytes:
    head, _, tail = s.partition("::")
    h = [int(x, 16) for x in head.split(":") if x]
    t = [int(x, 16) for x in tail.split(":") if x] if "::" in s else []
    words = h + [0] * (8 - len(h) - len(t)) + t
    return struct.pack("!8H", *words)


def ipv4(src, dst, proto, payload, ttl=64, ident=0x1234, df=True, tos=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(payload), ident, 0x4000 if df else 0,
                      ttl, proto, 0, ip4(src), ip4(dst))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def ipv6(src, dst, nh, payload, hlim=64, tc=0):
    return struct.pack("!IHBB16s16s", (6 << 28) | (tc << 20), len(payload), nh, hlim,
                       ip6(src), ip6(dst)) + payload


def udp4(src, dst, sport, dport, data):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = csum(ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 17, len(u)) + u) or 0xFFFF
    return u[:6] + struct.pack("!H", c) + u[8:]


def udp6(src, dst, sport, dport, data):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = csum(ip6(src) + ip6(dst) + struct.pack("!I3xB", len(u), 17) + u) or 0xFFFF
    return u[:6] + struct.pack("!H", c) + u[8:]


def icmp6(src, dst, typ, code, body):
    m = struct.pack("!BBH", typ, code, 0) + body
    c = csum(ip6(src) + ip6(dst) + struct.pack("!I3xB", len(m), 58) + m)
    return m[:2] + struct.pack("!H", c) + m[4:]


N6 = "2001:db8:1c0:2:21::"     # 192.0.2.33 on the IPv4 side
N4 = "198.51.100.2"             # 2001:db8:1c6:3364:2:: on the IPv6 side
N4_AS_V6 = "2001:db8:1c6:3364:2::"
N6_AS_V4 = "192.0.2.33"
EAM_HOST6 = "2001:db8:3::5"     # 1.0.0.5 through the EAM 2001:db8:3::/120 <-> 1.0.0.0/24


def packets():
    """(description, packet) in file order."""
    udp46 = ipv4(N4, N6_AS_V4, 17, udp4(N4, N6_AS_V4, 4000, 2000, b"hello from n4"))
    echo64 = ipv6(N6, N4_AS_V6, 58,
                  icmp6(N6, N4_AS_V6, 128, 0, struct.pack("!HH", 0x4646, 1) + b"ping from n6"))
    ttl1 = ipv4(N4, N6_AS_V4, 17, udp4(N4, N6_AS_V4, 4000, 2000, b"last hop"), ttl=1, ident=0x77)
    eam64 = ipv6(EAM_HOST6, N4_AS_V6, 17, udp6(EAM_HOST6, N4_AS_V6, 5353, 53, b"via the EAMT"))
    bad = bytearray(ipv4(N4, N6_AS_V4, 17, udp4(N4, N6_AS_V4, 4000, 2000, b"corrupted")))
    bad[10] ^= 0xFF  # wrong IPv4 header checksum
    return [
        ("UDP 4->6 (n4 -> n6 via pool6)", udp46),
        ("ICMPv6 echo request 6->4", echo64),
        ("UDP 4->6 with TTL 1 (translator answers ICMPv4 Time Exceeded)", ttl1),
        ("UDP 6->4 from an EAM host", eam64),
        ("malformed: IPv4 header checksum wrong", bytes(bad)),
    ]


def frame(pkt: bytes, link: str) -> bytes:
    etype = 0x0800 if pkt[0] >> 4 == 4 else 0x86DD
    if link == "ethernet":
        return bytes.fromhex("020000000002") + bytes.fromhex("020000000001") + struct.pack("!H", etype) + pkt
    if link == "sll":
        return struct.pack("!HHH8sH", 0, 1, 6, bytes.fromhex("0200000000010000"), etype) + pkt
    return pkt


LINKTYPES = {"raw": 101, "ethernet": 1, "sll": 113}


def write_pcap(path, pkts, link="raw"):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPES[link]))
        for i, p in enumerate(pkts):
            data = frame(p, link)
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(data), len(data)) + data)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--link", choices=sorted(LINKTYPES), default="raw")
    ap.add_argument("out")
    a = ap.parse_args()
    write_pcap(a.out, [p for _, p in packets()], a.link)


if __name__ == "__main__":
    main()
