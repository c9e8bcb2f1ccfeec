#!/bin/bash
# e2e.siitdc: SIIT-DC dual translation (RFC 7756 Figure 2, 5.1, 6).
#
#   c4 (IPv4 client 203.0.113.2) -- br (edge46d siit-dc-br, also the IPv6 core router)
#                                     |-- era (edge46d siit-dc-er) -- appa (IPv4-only, 192.0.2.1)
#                                     `-- erb (edge46d siit-dc-er) -- appb (IPv4-only, 192.0.2.2)
#   BR EAMs: 2001:db8:a:: <-> 192.0.2.1, 2001:db8:b:: <-> 192.0.2.2, pool6 64:ff9b::/96
#   ER A: EAM {192.0.2.1, 2001:db8:a::}, ingress filtering on; ER B: {192.0.2.2, 2001:db8:b::}
#
# Checks: appa sees the client's real IPv4 address; appa <-> appb hairpinned
# at the BR (Figure 5); an IPv4 source without EAM is dropped by ER A
# (drop.er_ingress_filter); an IPv6 packet whose source translates to ER A's
# own service address is dropped (drop.er_spoofed_service_source).
. "$(dirname "$0")/lib.sh"
e2e_require_root socat ping
e2e_init siitdc

for n in c4 br era appa erb appb; do e2e_node $n; done
e2e_link c4 eth0 br v4
e2e_link br ea era u6
e2e_link br eb erb u6
e2e_link era va appa eth0
e2e_link erb vb appb eth0

# IPv4 Internet side.
ip -n "$(ns c4)" addr add 203.0.113.2/24 dev eth0
ip -n "$(ns c4)" route add default via 203.0.113.1
ip -n "$(ns br)" addr add 203.0.113.1/24 dev v4
# IPv6-only data centre.
ip -n "$(ns br)" addr add 2001:db8:e0a::1/64 dev ea
ip -n "$(ns br)" addr add 2001:db8:e0b::1/64 dev eb
ip -n "$(ns era)" addr add 2001:db8:e0a::2/64 dev u6
ip -n "$(ns erb)" addr add 2001:db8:e0b::2/64 dev u6
ip -n "$(ns era)" route add default via 2001:db8:e0a::1
ip -n "$(ns erb)" route add default via 2001:db8:e0b::1
ip -n "$(ns br)" route add 2001:db8:a::/128 via 2001:db8:e0a::2
ip -n "$(ns br)" route add 2001:db8:b::/128 via 2001:db8:e0b::2
# IPv4-only segments behind the ERs (network-based ER, RFC 7756 3.2).
for x in a b; do
  er=er$x app=app$x
  [ $x = a ] && svc=192.0.2.1 || svc=192.0.2.2
  ip -n "$(ns $er)" addr add 10.255.0.1/24 dev v$x
  ip -n "$(ns $er)" route add $svc/32 dev v$x
  ip -n "$(ns $app)" addr add $svc/32 dev eth0
  ip -n "$(ns $app)" route add 10.255.0.1/32 dev eth0
  ip -n "$(ns $app)" route add default via 10.255.0.1 src $svc
done

conf() {  # conf <name> <role> <extra daemon-independent toml>
  cat >"$E2E_DIR/$1.toml" <<EOC
[daemon]
role = "$2"
workers = 1
tun = "e46"
control-socket = "$E2E_DIR/$1.sock"

[translator]
pool6 = "64:ff9b::/96"
$3
EOC
}
conf br siit-dc-br '
[[eamt]]
ipv6 = "2001:db8:a::/128"
ipv4 = "192.0.2.1/32"
[[eamt]]
ipv6 = "2001:db8:b::/128"
ipv4 = "192.0.2.2/32"'
conf era siit-dc-er '
[[eamt]]
ipv6 = "2001:db8:a::/128"
ipv4 = "192.0.2.1/32"
[siit-dc]
ingress-filter = true
drop-own-service-sources = true'
conf erb siit-dc-er '
[[eamt]]
ipv6 = "2001:db8:b::/128"
ipv4 = "192.0.2.2/32"
[siit-dc]
ingress-filter = true'

for n in br era erb; do
  e2e_start_daemon $n "$E2E_DIR/$n.toml" "$E2E_DIR/$n.sock"
  ip -n "$(ns $n)" link set e46 up
done
ip -n "$(ns br)" route add 64:ff9b::/96 dev e46
ip -n "$(ns br)" route add 192.0.2.0/24 dev e46
ip -n "$(ns era)" route add 2001:db8:a::/128 dev e46
ip -n "$(ns era)" route add default dev e46
ip -n "$(ns erb)" route add 2001:db8:b::/128 dev e46
ip -n "$(ns erb)" route add default dev e46

e2e_log "c4 -> appa (192.0.2.1) through BR and ER A: ping"
nx c4 ping -c 3 -i 0.2 -W 2 192.0.2.1 || e2e_fail "ping c4 -> appa"

e2e_log "appa's TCP server reports the peer address it sees"
nx appa socat TCP4-LISTEN:8080,reuseaddr,fork SYSTEM:'echo peer=\$SOCAT_PEERADDR' &
E2E_PIDS+=($!)
nx appb socat TCP4-LISTEN:8080,reuseaddr,fork SYSTEM:'echo peer=\$SOCAT_PEERADDR' &
E2E_PIDS+=($!)
sleep 0.3
seen=$(nx c4 timeout 5 socat -T 3 - TCP4:192.0.2.1:8080,retry=30,interval=0.1 </dev/null)
echo "appa saw: $seen"
[ "$seen" = "peer=203.0.113.2" ] || e2e_fail "appa did not see the client's real IPv4 address (got '$seen')"

e2e_log "hairpinning at the BR: appa -> appb (192.0.2.2), RFC 7756 Figure 5"
seen=$(nx appa timeout 5 socat -T 3 - TCP4:192.0.2.2:8080,retry=30,interval=0.1 </dev/null)
echo "appb saw: $seen"
[ "$seen" = "peer=192.0.2.1" ] || e2e_fail "hairpinned connection appa -> appb (got '$seen')"
nx appb ping -c 2 -i 0.2 -W 2 192.0.2.1 || e2e_fail "hairpinned ping appb -> appa"
hp=$(E2E_SOCK="$E2E_DIR/br.sock" counter hairpinned)
[ "$hp" -gt 0 ] || e2e_fail "BR hairpinned counter is $hp"

e2e_log "spoofing: appa sends from 192.0.2.99 (no EAM) -> dropped by ER A's ingress filter"
ip -n "$(ns appa)" addr add 192.0.2.99/32 dev eth0
nx appa ping -c 2 -i 0.2 -W 1 -I 192.0.2.99 203.0.113.2 && e2e_fail "spoofed IPv4 source got through"
d=$(E2E_SOCK="$E2E_DIR/era.sock" counter drop.er_ingress_filter)
[ "$d" -ge 2 ] || e2e_fail "drop.er_ingress_filter is $d"

e2e_log "spoofing: IPv6 source 64:ff9b::192.0.2.1 (ER A's own service address) -> dropped by ER A"
ip -n "$(ns br)" addr add 64:ff9b::c000:201/128 dev lo nodad
nx br ping -6 -c 2 -i 0.2 -W 1 -I 64:ff9b::c000:201 2001:db8:a:: && e2e_fail "spoofed IPv6 source got through"
d=$(E2E_SOCK="$E2E_DIR/era.sock" counter drop.er_spoofed_service_source)
[ "$d" -ge 2 ] || e2e_fail "drop.er_spoofed_service_source is $d"
E2E_SOCK="$E2E_DIR/era.sock" ctl stats --nonzero
echo PASS
