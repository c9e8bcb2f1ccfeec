#!/bin/bash
# e2e.loop: no forwarding loop through the TUN (issue 7 item 8).
#
# In the basic topology tr routes 198.51.100.0/24 and 64:ff9b::/96 into the
# TUN. A packet from h4 to an IPv4 address no EAM maps (198.51.100.7) is
# translated 4->6 through pool6 to 64:ff9b::198.51.100.7, which the kernel
# routes straight back into the TUN: without a guard it is translated back
# to the same IPv4 packet, and again, until the TTL runs out (20 pings made
# 640 translations). edge46d mirrors the routes into its TUN and drops such
# a packet once, as `routing_loop`; a packet to the translator's own IPv4
# address is dropped as `to_own_address`. Route changes at run time take
# effect within a second. `edge46ctl status` says whether the guard works
# and how many IPv6 routes into the TUN it knows (field loop_guard).
. "$(dirname "$0")/lib.sh"
e2e_require_root ping python3
e2e_init loop
e2e_basic_topology

N=20
# ping4 <dst> <count>: h4 pings dst; replies are not expected.
ping4() { nx h4 ping -4 -n -q -c "$2" -i 0.02 -W 1 "$1" >/dev/null 2>&1; }

# The counters of interest, one line: translated routing_loop to_own_address
# packets_in.ipv4 (only what h4 sends: a packet that came back after a 4->6
# translation would be counted again; IPv6 input is not counted because the
# kernel sends its own MLD reports into the TUN now and then).
snap() {
  ctl --json stats | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
print(c["translated"], c.get("drop.routing_loop", -1), c.get("drop.to_own_address", -1), c["packets_in.ipv4"])'
}
# guard_state: the status field loop_guard.
guard_state() {
  ctl --json status | python3 -c 'import json, sys; print(json.load(sys.stdin)["loop_guard"])'
}
# tun_routes: the kernel's unicast IPv6 routes into e46 in the main table,
# counted by ip(8), not by edge46d.
tun_routes() {
  nx tr ip -6 route show table main dev e46 | grep -cvE '^(unreachable|blackhole|prohibit|throw|local|multicast|anycast|broadcast) '
}
# expect_guard <what>: loop_guard says on, with as many routes as ip(8) shows.
expect_guard() {
  local n state want
  n=$(tun_routes)
  state=$(guard_state) || e2e_fail "$1: status has no loop_guard field"
  want="on ($n IPv6 route$([ "$n" = 1 ] || echo s) into the TUN)"
  [ "$state" = "$want" ] || e2e_fail "$1: loop_guard is '$state', want '$want'"
  echo "ok: loop_guard $state ($1)"
}

expect_guard "at start"
[ "$(tun_routes)" -ge 1 ] || e2e_fail "no IPv6 route into e46 in the topology"

# delta <before> <after> <field index 1..4>
delta() { echo $(($(echo "$2" | cut -d' ' -f"$3") - $(echo "$1" | cut -d' ' -f"$3"))); }

# check <what> <before> <after> <translated> <routing_loop> <to_own_address> <packets_in.ipv4>
check() {
  local what=$1 b=$2 a=$3 i name want got
  local names=(translated drop.routing_loop drop.to_own_address packets_in.ipv4)
  local wants=("$4" "$5" "$6" "$7")
  for i in 1 2 3 4; do
    want=${wants[$((i - 1))]}
    got=$(delta "$b" "$a" "$i")
    name=${names[$((i - 1))]}
    [ "$got" = "$want" ] || e2e_fail "$what: $name grew by $got, expected $want (before: $b, after: $a)"
  done
  echo "ok: $what ($a)"
}

e2e_log "h4 -> 198.51.100.7 (unmapped, pool6 routed into the TUN): $N pings"
b=$(snap)
ping4 198.51.100.7 "$N"
a=$(snap)
check "unmapped pool address" "$b" "$a" 0 "$N" 0 "$N"

e2e_log "h4 -> 198.51.100.1 (the translator's own ipv4-address): $N pings"
b=$(snap)
ping4 198.51.100.1 "$N"
a=$(snap)
check "own address" "$b" "$a" 0 0 "$N" "$N"

e2e_log "a more specific blackhole route for 64:ff9b::198.51.100.7 takes precedence over the TUN route"
nx tr ip -6 route add blackhole 64:ff9b::198.51.100.7/128
sleep 1
b=$(snap)
ping4 198.51.100.7 5
a=$(snap)
check "blackhole /128 added" "$b" "$a" 5 0 0 5
nx tr ip -6 route del blackhole 64:ff9b::198.51.100.7/128
sleep 1
b=$(snap)
ping4 198.51.100.7 5
a=$(snap)
check "blackhole /128 removed" "$b" "$a" 0 5 0 5

e2e_log "h4 -> h6 (198.51.100.2, EAM) works; routing h6's address into the TUN makes it a loop"
nx h4 ping -4 -c 2 -i 0.2 -W 2 198.51.100.2 >/dev/null || e2e_fail "ping from h4 to h6 before the route change"
nx tr ip -6 route add 2001:db8:6::2/128 dev e46
sleep 1
b=$(snap)
ping4 198.51.100.2 5
a=$(snap)
check "2001:db8:6::2/128 dev e46 added" "$b" "$a" 0 5 0 5
before=$(tun_routes)
expect_guard "2001:db8:6::2/128 dev e46 added"
nx tr ip -6 route del 2001:db8:6::2/128 dev e46
sleep 1
[ "$(tun_routes)" = $((before - 1)) ] || e2e_fail "ip(8) still shows the deleted route"
expect_guard "2001:db8:6::2/128 dev e46 removed"
nx h4 ping -4 -c 2 -i 0.2 -W 2 198.51.100.2 >/dev/null || e2e_fail "ping from h4 to h6 after the route was removed"

echo "PASS"
