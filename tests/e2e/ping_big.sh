#!/bin/bash
# e2e.ping_big: a 3000-byte ping crosses the translator both ways (issue 7
# item 12). The echo leaves its sender in fragments; edge46d reassembles
# fragmented ICMP / ICMPv6 (the checksum covers the whole message), translates
# it whole and fragments it again: to lowest-ipv6-mtu 4->6 (RFC 7915 4.1), to
# the IPv4 MTU with DF clear 6->4 (RFC 7915 5.1).
#
# Runs with the daemon's default number of workers (one per core, one TUN
# queue each): the fragments of one datagram must meet in one worker (the
# TUN's flow hash ignores ports for every fragment, see src/daemon/worker.cpp).
. "$(dirname "$0")/lib.sh"
e2e_require_root ping
e2e_init ping_big
E2E_WORKERS=${E2E_WORKERS:-0}
e2e_basic_topology

e2e_log "h6 -> h4: ping -s 3000 64:ff9b::192.0.2.2"
nx h6 ping -6 -c 3 -i 0.2 -W 2 -s 3000 64:ff9b::192.0.2.2 || e2e_fail "3000-byte ping from h6 to h4"
e2e_log "h4 -> h6: ping -s 3000 198.51.100.2"
nx h4 ping -4 -c 3 -i 0.2 -W 2 -s 3000 198.51.100.2 || e2e_fail "3000-byte ping from h4 to h6"
e2e_log "both ways at once, 8000 bytes"
nx h6 ping -6 -c 5 -i 0.1 -W 2 -s 8000 64:ff9b::192.0.2.2 >"$E2E_DIR/p6.out" 2>&1 &
p6=$!
nx h4 ping -4 -c 5 -i 0.1 -W 2 -s 8000 198.51.100.2 >"$E2E_DIR/p4.out" 2>&1 || e2e_fail "8000-byte ping from h4: $(cat "$E2E_DIR/p4.out")"
wait $p6 || e2e_fail "8000-byte ping from h6: $(cat "$E2E_DIR/p6.out")"

# Each echo and each reply crossed as one reassembled datagram.
r=$(counter reassembled)
f=$(counter drop.fragmented_icmp)
t=$(counter drop.reasm_timeout)
echo "reassembled=$r drop.fragmented_icmp=$f drop.reasm_timeout=$t workers=$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin).get("workers"))')"
[ "$r" -ge 32 ] || e2e_fail "reassembled is $r, expected >= 32 (16 echoes and 16 replies)"
[ "$f" -eq 0 ] || e2e_fail "drop.fragmented_icmp is $f"
[ "$t" -eq 0 ] || e2e_fail "drop.reasm_timeout is $t: fragments of one datagram went to different workers?"
echo "PASS (reassembled=$r)"
