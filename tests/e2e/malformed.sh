#!/bin/bash
# e2e.malformed: packets the kernel forwards but the translator cannot
# (truncated UDP/TCP headers, ICMP errors quoting garbage; sent from raw
# sockets) are each dropped and counted under their own reason, in both
# directions; no other drop counter moves, nothing is translated, and the
# daemon keeps running and translating.
. "$(dirname "$0")/lib.sh"
e2e_require_root ping python3
e2e_init malformed
e2e_basic_topology

# snapshot <file>: all counters as JSON.
snapshot() { ctl --json stats >"$1" || e2e_fail "stats"; }

# expect_drop <reason> <count> <node> <python sender>: the sender's packets
# must raise drop.<reason> by exactly <count>; every other drop counter and
# "translated" stay as they were. drop.no_mapping_dst is left out of that
# comparison: the TUN's own link-local traffic (MLD, router solicitations)
# lands there whenever the kernel sends it.
expect_drop() {
  local reason=$1 n=$2 node=$3 code=$4
  snapshot "$E2E_DIR/before.json"
  nx "$node" python3 -c "$code" || e2e_fail "$node: sender failed"
  for _ in $(seq 1 40); do
    snapshot "$E2E_DIR/after.json"
    python3 - "$E2E_DIR/before.json" "$E2E_DIR/after.json" "drop.$reason" "$n" <<'PY' && break
import json, sys
b = json.load(open(sys.argv[1]))['counters']
a = json.load(open(sys.argv[2]))['counters']
sys.exit(0 if a[sys.argv[3]] - b[sys.argv[3]] >= int(sys.argv[4]) else 1)
PY
    sleep 0.05
  done
  sleep 0.2
  snapshot "$E2E_DIR/after.json"
  python3 - "$E2E_DIR/before.json" "$E2E_DIR/after.json" "drop.$reason" "$n" <<'PY' || e2e_fail "drop.$reason"
import json, sys
b = json.load(open(sys.argv[1]))['counters']
a = json.load(open(sys.argv[2]))['counters']
name, n = sys.argv[3], int(sys.argv[4])
if name not in a:
    sys.exit(f"no counter named {name}")
bad = []
if a[name] - b[name] != n:
    bad.append(f"{name} +{a[name] - b[name]}, expected +{n}")
for k in a:
    if k != name and (k.startswith('drop.') and k != 'drop.no_mapping_dst' or k == 'translated') and a[k] != b[k]:
        bad.append(f"{k} +{a[k] - b[k]}, expected +0")
print(f"{name} +{a[name] - b[name]}")
sys.exit("; ".join(bad) if bad else 0)
PY
}

e2e_log "h6 sends 20 IPv6 packets with a 3-byte 'UDP header'"
expect_drop bad_l4_header 20 h6 "
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_UDP)
for _ in range(20): s.sendto(b'\x01\x02\x03', ('64:ff9b::192.0.2.2', 0))"

e2e_log "h4 sends 20 IPv4 packets with a 5-byte 'TCP header'"
expect_drop bad_l4_header 20 h4 "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for _ in range(20): s.sendto(b'\x01\x02\x03\x04\x05', ('198.51.100.2', 0))"

# ICMP errors whose quoted packet is 8 bytes with the right version nibble: an
# IP header cut short (RFC 7915 4.2/5.2 translate the quoted packet, which
# cannot be parsed).
e2e_log "h6 sends 20 ICMPv6 Destination Unreachable quoting a cut IPv6 header"
expect_drop bad_inner_packet 20 h6 "
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
msg = bytes([1, 0, 0, 0, 0, 0, 0, 0]) + bytes([0x60, 0, 0, 0, 0, 8, 17, 64])
for _ in range(20): s.sendto(msg, ('64:ff9b::192.0.2.2', 0))  # the kernel fills the checksum"

e2e_log "h4 sends 20 ICMPv4 Destination Unreachable quoting a cut IPv4 header"
expect_drop bad_inner_packet 20 h4 "
import socket
def csum(b):
    s = sum(int.from_bytes(b[i:i + 2], 'big') for i in range(0, len(b), 2))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s & 0xffff).to_bytes(2, 'big')
body = bytes([0x45, 0, 0, 28, 0, 0, 0, 0])
msg = bytes([3, 1, 0, 0, 0, 0, 0, 0]) + body
msg = msg[:2] + csum(msg) + msg[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for _ in range(20): s.sendto(msg, ('198.51.100.2', 0))"

ctl stats --nonzero | grep "^drop\." || true
kill -0 "$E2E_DAEMON_PID" || e2e_fail "edge46d died"
nx h6 ping -6 -c 2 -i 0.2 -W 2 64:ff9b::192.0.2.2 >/dev/null || e2e_fail "no translation after malformed input"
echo "PASS (each malformation counted under its own reason, daemon still translating)"
