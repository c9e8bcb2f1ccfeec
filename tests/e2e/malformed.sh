#!/bin/bash
# e2e.malformed: packets the kernel forwards but the translator cannot
# (truncated UDP/TCP headers, sent from raw sockets) are dropped and counted
# by name; the daemon keeps running and translating.
. "$(dirname "$0")/lib.sh"
e2e_require_root ping python3
e2e_init malformed
e2e_basic_topology

drops() { ctl --json stats | python3 -c "
import json, sys
c = json.load(sys.stdin)['counters']
print(sum(v for k, v in c.items() if k.startswith('drop.') and k != 'drop.no_mapping_dst'))"; }
before=$(drops)
e2e_log "h6 sends 20 IPv6 packets with a 3-byte 'UDP header'; h4 sends 20 IPv4 packets with a 5-byte 'TCP header'"
nx h6 python3 -c "
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_UDP)
for _ in range(20): s.sendto(b'\x01\x02\x03', ('64:ff9b::192.0.2.2', 0))"
nx h4 python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for _ in range(20): s.sendto(b'\x01\x02\x03\x04\x05', ('198.51.100.2', 0))"
sleep 0.3
after=$(drops)
ctl stats --nonzero | grep "^drop\." || true
[ $((after - before)) -ge 40 ] || e2e_fail "expected >= 40 named drops, counted $((after - before))"
kill -0 "$E2E_DAEMON_PID" || e2e_fail "edge46d died"
nx h6 ping -6 -c 2 -i 0.2 -W 2 64:ff9b::192.0.2.2 >/dev/null || e2e_fail "no translation after malformed input"
echo "PASS ($((after - before)) drops counted, daemon still translating)"
