#!/bin/bash
# e2e.traceroute: traceroute from each side lists the routers on both sides
# of the translator: Time Exceeded errors are translated (RFC 7915 4.2/5.2)
# with RFC 6052 / RFC 6791 sources.
. "$(dirname "$0")/lib.sh"
e2e_require_root traceroute
e2e_init traceroute
e2e_basic_topology

e2e_log "h6: traceroute -6 -n 64:ff9b::192.0.2.2"
out6=$(nx h6 timeout 20 traceroute -6 -n -q 1 -w 1 -m 6 64:ff9b::192.0.2.2) || e2e_fail "traceroute from h6: $out6"
echo "$out6"
echo "$out6" | grep -q " 2001:db8:6::1 " || e2e_fail "IPv6-side router 2001:db8:6::1 missing"
echo "$out6" | grep -q " 64:ff9b::c000:201 " || e2e_fail "IPv4-side router 192.0.2.1 (as 64:ff9b::c000:201) missing"
echo "$out6" | tail -n 1 | grep -q " 64:ff9b::c000:202 " || e2e_fail "destination not reached"

e2e_log "h4: traceroute -n 198.51.100.2"
out4=$(nx h4 timeout 20 traceroute -4 -n -q 1 -w 1 -m 6 198.51.100.2) || e2e_fail "traceroute from h4: $out4"
echo "$out4"
echo "$out4" | grep -q " 192.0.2.1 " || e2e_fail "IPv4-side router 192.0.2.1 missing"
echo "$out4" | grep -q " 198.51.100.1 " || e2e_fail "IPv6-side router (RFC 6791 source 198.51.100.1) missing"
echo "$out4" | tail -n 1 | grep -q " 198.51.100.2 " || e2e_fail "destination not reached"
echo PASS
