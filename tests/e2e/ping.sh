#!/bin/bash
# e2e.ping: ICMP echo through edge46d both ways (RFC 7915 4.2 / 5.2).
. "$(dirname "$0")/lib.sh"
e2e_require_root ping
e2e_init ping
e2e_basic_topology

e2e_log "h6 -> h4: ping 64:ff9b::192.0.2.2"
nx h6 ping -6 -c 3 -i 0.2 -W 2 64:ff9b::192.0.2.2 || e2e_fail "ping from h6 to h4"
e2e_log "h4 -> h6: ping 198.51.100.2"
nx h4 ping -4 -c 3 -i 0.2 -W 2 198.51.100.2 || e2e_fail "ping from h4 to h6"
e2e_log "h6 -> h4: 1400-byte echo"
nx h6 ping -6 -c 2 -i 0.2 -W 2 -s 1400 64:ff9b::192.0.2.2 || e2e_fail "large ping from h6 to h4"

t=$(counter translated)
[ "$t" -ge 16 ] || e2e_fail "translated counter is $t, expected >= 16"
echo "PASS (translated=$t)"
