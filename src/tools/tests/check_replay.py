#!/usr/bin/env python3
"""ctest checks of `edge46 replay` against independently computed expectations.

    check_replay.py hex  EDGE46 EXAMPLES_DIR WORKDIR
    check_replay.py pcap EDGE46 EXAMPLES_DIR WORKDIR

Inputs come from examples/make_sample_pcap.py; the expected translations are
built here from RFC 7915 / RFC 6052 rules (own address mapping and checksum
code), never captured from the tool. Fields the translator may choose (IPv4
Identification of 6->4 packets, TOS of its own ICMP errors) are ignored, and
then the checksums that cover them must still be valid.
"""
import re
import struct
import subprocess
import sys
from pathlib import Path

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)
    return cond


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = 0
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | data[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


# --- address mapping of examples/edge46.toml --------------------------------
POOL6_40 = bytes.fromhex("20010db801")          # 2001:db8:100::/40
EAM6 = bytes.fromhex("20010db8000300000000000000000000")[:15]  # 2001:db8:3::/120
EAM4 = bytes([1, 0, 0])                          # 1.0.0.0/24


def map46(a4: bytes) -> bytes:
    if a4[:3] == EAM4:
        return EAM6 + a4[3:]
    # RFC 6052 2.2, /40: v4[0:3] in bits 40-63, u-octet 0, v4[3] in bits 72-79.
    return POOL6_40 + a4[:3] + b"\0" + a4[3:] + bytes(6)


def map64(a6: bytes) -> bytes:
    if a6[:15] == EAM6:
        return EAM4 + a6[15:]
    assert a6[:5] == POOL6_40, a6.hex()
    return a6[5:8] + a6[9:10]


# --- expected translations ----------------------------------------------------
def xlat46(p: bytes) -> bytes:
    """RFC 7915 4.1 for an unfragmented IPv4 UDP packet without options."""
    tos, total, ttl, proto = p[1], struct.unpack("!H", p[2:4])[0], p[8], p[9]
    src, dst = map46(p[12:16]), map46(p[16:20])
    l4 = bytearray(p[20:total])
    assert proto == 17
    l4[6:8] = b"\0\0"
    pseudo = src + dst + struct.pack("!I3xB", len(l4), 17)
    l4[6:8] = struct.pack("!H", csum(pseudo + bytes(l4)) or 0xFFFF)
    hdr = struct.pack("!IHBB", (6 << 28) | (tos << 20), len(l4), 17, ttl - 1) + src + dst
    return hdr + bytes(l4)


def xlat64(p: bytes) -> bytes:
    """RFC 7915 5.1 for an IPv6 packet without extension headers (ID left 0)."""
    tc = (struct.unpack("!H", p[0:2])[0] >> 4) & 0xFF
    plen, nh, hlim = struct.unpack("!HBB", p[4:8])
    src, dst = map64(p[8:24]), map64(p[24:40])
    l4 = bytearray(p[40:40 + plen])
    if nh == 58:
        proto = 1
        l4[0] = {128: 8, 129: 0}[l4[0]]
        l4[2:4] = b"\0\0"
        l4[2:4] = struct.pack("!H", csum(bytes(l4)))
    else:
        proto = nh
        off = {17: 6, 6: 16}[nh]
        l4[off:off + 2] = b"\0\0"
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(l4))
        c = csum(pseudo + bytes(l4))
        l4[off:off + 2] = struct.pack("!H", (c or 0xFFFF) if nh == 17 else c)
    total = 20 + len(l4)
    flags = 0x4000 if total > 1260 else 0  # DF iff larger than 1260 (RFC 7915 5.1, Jool)
    hdr = bytearray(struct.pack("!BBHHHBBH", 0x45, tc, total, 0, flags, hlim - 1, proto, 0) + src + dst)
    hdr[10:12] = struct.pack("!H", csum(bytes(hdr)))
    return bytes(hdr) + bytes(l4)


def compare(name, expected: bytes, actual: bytes, ignore=()):
    if not check(len(expected) == len(actual), f"{name}: length {len(actual)}, expected {len(expected)}"):
        return
    for i, (e, a) in enumerate(zip(expected, actual)):
        if i not in ignore and e != a:
            check(False, f"{name}: byte {i} is {a:#04x}, expected {e:#04x}")
            return
    if 10 in ignore and actual[0] >> 4 == 4:
        ihl = (actual[0] & 0xF) * 4
        check(csum(actual[:ihl]) == 0, f"{name}: IPv4 header checksum invalid")


def check_time_exceeded(name, offending: bytes, actual: bytes):
    """The translator's own ICMPv4 Time Exceeded (RFC 792, RFC 1812 4.3.2.3)."""
    if not check(len(actual) >= 28 + 28 and actual[0] == 0x45, f"{name}: not an IPv4 ICMP error"):
        return
    check(actual[9] == 1, f"{name}: protocol {actual[9]}, expected 1")
    check(actual[8] == 64, f"{name}: TTL {actual[8]}, expected 64")
    check(actual[12:16] == bytes([198, 51, 100, 1]), f"{name}: source is not the translator's ipv4-address")
    check(actual[16:20] == offending[12:16], f"{name}: not sent back to the offending source")
    check(csum(actual[:20]) == 0, f"{name}: IPv4 header checksum invalid")
    check(struct.unpack("!H", actual[2:4])[0] == len(actual), f"{name}: total length wrong")
    check(actual[20:22] == b"\x0b\x00", f"{name}: ICMP type/code {actual[20]}/{actual[21]}, expected 11/0")
    check(csum(actual[20:]) == 0, f"{name}: ICMP checksum invalid")
    quoted = actual[28:]
    check(quoted == offending[:len(quoted)] and len(quoted) >= 28,
          f"{name}: quoted packet differs from the offending packet")


def load_inputs(examples: Path):
    sys.dont_write_bytecode = True  # keep the source tree clean
    sys.path.insert(0, str(examples))
    import make_sample_pcap as gen  # noqa: E402
    return gen


def run(args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60)


def check_bad_config(edge46, workdir: Path):
    bad = workdir / "bad.toml"
    bad.write_text('[translator]\npool6 = "2001:db8:100::/40"\npool7 = "x"\n')
    r = run([edge46, "replay", "--config", str(bad), "--hex"], stdin="")
    check(r.returncode == 2, f"bad config: exit {r.returncode}, expected 2")
    check(r.stderr.strip().startswith(f"{bad}:3:1: translator.pool7: unknown key"),
          f"bad config: stderr {r.stderr.strip()!r}")


def hex_mode(edge46, examples: Path, workdir: Path):
    gen = load_inputs(examples)
    pk = [p for _, p in gen.packets()]
    lines = [
        "4 " + pk[0].hex(),
        "6 " + pk[1].hex().upper(),
        "4 " + pk[2].hex(),
        "6 " + " ".join(pk[3].hex()[i:i + 2] for i in range(0, len(pk[3]) * 2, 2)),
        "4 " + pk[4].hex(),
        "",
        "4 zz",
        "6 abc",
        "5 " + pk[0].hex(),
        "4",
        "4 4500",
    ]
    r = run([edge46, "replay", "--config", str(examples / "edge46.toml"), "--hex"], stdin="\n".join(lines) + "\n")
    check(r.returncode == 0, f"hex: exit {r.returncode}: {r.stderr}")
    out = r.stdout.split("\n")
    if out and out[-1] == "":
        out.pop()
    if not check(len(out) == len(lines), f"hex: {len(out)} output lines for {len(lines)} input lines"):
        print(r.stdout)
        return

    def one(i, family):
        toks = out[i].split(" ")
        if not check(len(toks) == 1 and toks[0].startswith(f"{family}:"), f"line {i + 1}: got {out[i][:80]!r}"):
            return b""
        return bytes.fromhex(toks[0][2:])

    compare("hex line 1 (UDP 4->6)", xlat46(pk[0]), one(0, 6))
    compare("hex line 2 (echo 6->4)", xlat64(pk[1]), one(1, 4), ignore={4, 5, 10, 11})
    check_time_exceeded("hex line 3 (TTL 1)", pk[2], one(2, 4))
    compare("hex line 4 (UDP 6->4, EAM)", xlat64(pk[3]), one(3, 4), ignore={4, 5, 10, 11})
    check(out[4] == "drop:bad_ipv4_checksum", f"line 5: {out[4]!r}, expected drop:bad_ipv4_checksum")
    for i in range(5, 10):
        check(out[i].startswith("error:"), f"line {i + 1} ({lines[i]!r}): {out[i]!r}, expected error:...")
    check(out[10].startswith("drop:"), f"line 11 (truncated packet): {out[10]!r}, expected drop:...")
    # --trace goes to stderr and leaves stdout one line per input line.
    r = run([edge46, "replay", "--config", str(examples / "edge46.toml"), "--hex", "--trace"],
            stdin=lines[0] + "\n")
    check(r.stdout.count("\n") == 1 and "IPv4 198.51.100.2->192.0.2.33" in r.stderr,
          f"hex --trace: stdout {r.stdout[:40]!r} stderr {r.stderr[:200]!r}")
    check_bad_config(edge46, workdir)
    hex_fragmented_ping(edge46, examples, pk[1])


def fragment6(p: bytes, off: int, n: int, more: bool, ident: int) -> bytes:
    """The IPv6 fragment of p's upper-layer message at byte off, n bytes (RFC 8200 4.5)."""
    plen, nh = struct.unpack("!HB", p[4:7])
    msg = p[40:40 + plen]
    frag = struct.pack("!BBHI", nh, 0, off | int(more), ident) + msg[off:off + n]
    return p[:4] + struct.pack("!HB", len(frag), 44) + p[7:40] + frag


def hex_fragmented_ping(edge46, examples: Path, echo: bytes):
    """A fragmented ICMPv6 echo: the daemon holds the first fragment and
    translates the whole message when the second completes it (RFC 7915 5.1:
    Identification from the Fragment header, DF clear), as replay must too."""
    ident = 0x1234ABCD
    msg_len = struct.unpack("!H", echo[4:6])[0]
    frags = [fragment6(echo, 0, 8, True, ident), fragment6(echo, 8, msg_len - 8, False, ident)]
    r = run([edge46, "replay", "--config", str(examples / "edge46.toml"), "--hex"],
            stdin="".join("6 " + f.hex() + "\n" for f in frags))
    out = r.stdout.splitlines()
    if not check(r.returncode == 0 and len(out) == 2, f"hex fragments: exit {r.returncode}, {out!r} {r.stderr}"):
        return
    check(out[0] == "held", f"hex fragment 1: {out[0]!r}, expected held")
    if not check(out[1].startswith("4:") and " " not in out[1], f"hex fragment 2: {out[1][:80]!r}"):
        return
    got = bytes.fromhex(out[1][2:])
    compare("hex fragments (echo 6->4, reassembled)", xlat64(echo), got, ignore={4, 5, 10, 11})
    check(got[4:6] == struct.pack("!H", ident & 0xFFFF), f"hex fragments: ID {got[4:6].hex()}, expected 0xabcd")
    check(got[6] & 0x40 == 0, "hex fragments: DF set on a packet that came fragmented")


def read_pcap(path: Path):
    data = path.read_bytes()
    magic, _, _, _, _, _, link = struct.unpack("<IHHiIII", data[:24])
    assert magic == 0xA1B2C3D4, hex(magic)
    recs, off = [], 24
    while off < len(data):
        _, _, caplen, _ = struct.unpack("<IIII", data[off:off + 16])
        recs.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return link, recs


def pcap_mode(edge46, examples: Path, workdir: Path):
    gen = load_inputs(examples)
    pk = [p for _, p in gen.packets()]
    expected_report = [
        rf"#1 in=4 {len(pk[0])}B -> 6/{len(pk[0]) + 20}B",
        rf"#2 in=6 {len(pk[1])}B -> 4/{len(pk[1]) - 20}B",
        rf"#3 in=4 {len(pk[2])}B -> 4/\d+B \(icmp-error: ttl_exceeded\)",
        rf"#4 in=6 {len(pk[3])}B -> 4/{len(pk[3]) - 20}B",
        rf"#5 in=4 {len(pk[4])}B -> drop:bad_ipv4_checksum",
    ]
    for link in ("raw", "ethernet", "sll"):
        src = workdir / f"sample-{link}.pcap"
        dst = workdir / f"out-{link}.pcap"
        gen.write_pcap(src, pk, link)
        r = run([edge46, "replay", "--config", str(examples / "edge46.toml"), "--in", str(src), "--out", str(dst)])
        if not check(r.returncode == 0, f"pcap {link}: exit {r.returncode}: {r.stderr}"):
            continue
        report = r.stdout.splitlines()
        for i, pat in enumerate(expected_report):
            check(i < len(report) and re.fullmatch(pat, report[i]),
                  f"pcap {link}: report line {i + 1} {report[i] if i < len(report) else None!r} !~ {pat!r}")
        linktype, recs = read_pcap(dst)
        check(linktype == 101, f"pcap {link}: output linktype {linktype}, expected 101 (LINKTYPE_RAW)")
        if check(len(recs) == 4, f"pcap {link}: {len(recs)} packets written, expected 4"):
            compare(f"pcap {link} #1", xlat46(pk[0]), recs[0])
            compare(f"pcap {link} #2", xlat64(pk[1]), recs[1], ignore={4, 5, 10, 11})
            check_time_exceeded(f"pcap {link} #3", pk[2], recs[2])
            compare(f"pcap {link} #4", xlat64(pk[3]), recs[3], ignore={4, 5, 10, 11})
    # The shipped sample is what the generator writes.
    check((examples / "sample.pcap").read_bytes() == (workdir / "sample-raw.pcap").read_bytes(),
          "examples/sample.pcap is stale: rerun examples/make_sample_pcap.py examples/sample.pcap")
    r = run([edge46, "replay", "--config", str(examples / "edge46.toml"), "--in", str(examples / "sample.pcap"),
             "--trace"])
    check(r.returncode == 0 and "    out: IPv6 2001:db8:1c6:3364:2::->2001:db8:1c0:2:21::" in r.stdout,
          f"pcap --trace: {r.stdout[:300]!r}")
    r = run([edge46, "replay", "--config", str(examples / "edge46.toml"), "--in", str(workdir / "missing.pcap")])
    check(r.returncode == 1, f"missing input: exit {r.returncode}, expected 1")


def main():
    mode, edge46, examples, workdir = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    workdir.mkdir(parents=True, exist_ok=True)
    {"hex": hex_mode, "pcap": pcap_mode}[mode](edge46, examples, workdir)
    print(f"{mode}: {'FAILED, ' + str(len(FAILURES)) + ' problem(s)' if FAILURES else 'all checks passed'}")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
