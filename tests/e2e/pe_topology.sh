#!/bin/bash
# e2e.pe_topology: the framework's Figure 1/2 topology (tests/e2e/lib_pe.sh)
# carries IPv4 across an IPv6-only core with the Linux kernel's own 4in6
# (seg6 encap.red + End.DX4) as the PEs: the baseline the edge46d PE tests
# and bench/pe.sh build on. Asserts:
#   - P routers have no IPv4 address and IPv4 forwarding off; hosts no IPv6;
#   - without a PE function, IPv4 does not cross (the core really is IPv6-only);
#   - ping h1->h3 (other domain), h1->h2 (same P router), h3->h1, h1->hd
#     (default rule only);
#   - TCP h1->h3, 4 MiB, sha256 equal, and h3 sees h1's real 192.0.2.2;
#   - the p1-p2 capture holds only IPv6 (no IPv4 or ARP ethertype), 4in6
#     packets with Next Header 4 and no SRH, each addressed
#     Pref6(ingress)+IPv4 src > Pref6(egress)+IPv4 dst with the inner
#     addresses equal to the embedded ones.
. "$(dirname "$0")/lib_pe.sh"
pe_require tcpdump socat sha256sum python3 ping
[ -e /proc/sys/net/ipv6/seg6_flowlabel ] ||
  e2e_skip "this kernel has no seg6 lightweight tunnels (CONFIG_IPV6_SEG6_LWTUNNEL): no kernel 4in6 baseline"
pe_init pe_topology
pe_topology_up

e2e_log "P routers: IPv6 only"
for p in $P_NODES; do
  a=$(ip -n "$(ns "$p")" -4 -o addr show)
  [ -z "$a" ] || e2e_fail "$p has an IPv4 address: $a"
  [ "$(nx "$p" sysctl -n net.ipv4.ip_forward)" = 0 ] || e2e_fail "$p forwards IPv4"
  [ "$(nx "$p" sysctl -n net.ipv6.conf.all.forwarding)" = 1 ] || e2e_fail "$p does not forward IPv6"
done
for h in $PE_HOSTS; do
  a=$(ip -n "$(ns "$h")" -6 -o addr show)
  [ -z "$a" ] || e2e_fail "$h has an IPv6 address: $a"
done

e2e_log "no PE function yet: IPv4 h1 -> h3 must not cross"
nx h1 ping -c 1 -W 1 "$H3_ADDR" >/dev/null 2>&1 && e2e_fail "h1 reached h3 without any PE function"

e2e_log "kernel 4in6 as the PEs (seg6 encap.red, End.DX4)"
pe_kernel_encap_up
pe_capture_start p1 p2 "$E2E_DIR/core.pcap"

# shellcheck disable=SC2086 # "host address" pairs split on purpose
for pair in "h1 $H3_ADDR" "h1 $H2_ADDR" "h3 $H1_ADDR" "h1 $HD_ADDR" "h2 $H3_ADDR"; do
  set -- $pair
  nx "$1" ping -c 2 -i 0.2 -W 2 "$2" >"$E2E_DIR/ping.out" 2>&1 ||
    e2e_fail "ping $1 -> $2: $(tail -n 3 "$E2E_DIR/ping.out")"
  e2e_log "ping $1 -> $2 ok"
done

e2e_log "TCP h1 -> h3: 4 MiB with a sha256 check"
pe_tcp_check h1 h3 5001

pe_capture_stop
e2e_log "what the p1-p2 link carried"
pe_pcap_flows "$E2E_DIR/core.pcap" | head -n 12
PE_PCAP_NEED_4IN6=1 pe_pcap_check "$E2E_DIR/core.pcap" || e2e_fail "the core link broke the framework's rules"
# The TCP data went h1 -> h3 over p1-p2 as plain 4in6 (Next Header 4, no
# SRH), under exactly the framework's addresses.
want6="ipv6 nh=4 $(python3 -c "import ipaddress as a; print(a.IPv6Address('$(pe_embed "$PE1_PREF6" "$H1_ADDR")'), '>', a.IPv6Address('$(pe_embed "$PE3_PREF6" "$H3_ADDR")'))")"
# All 4 MiB of it (plus headers), whatever the GSO packet sizes.
line=$(pe_pcap_flows "$E2E_DIR/core.pcap" | grep -F "$want6 inner ipv4 $H1_ADDR > $H3_ADDR proto=6")
n=${line%% *} bytes=${line##*bytes=}
[ "${bytes:-0}" -gt 4194304 ] || e2e_fail "expected the 4 MiB as '$want6' on p1-p2, saw: ${line:-nothing}"
! pe_pcap_flows "$E2E_DIR/core.pcap" | grep -q "nh=43" || e2e_fail "an SRH (next header 43) on the core link"
for p in $P_NODES; do
  [ -z "$(ip -n "$(ns "$p")" -4 -o addr show)" ] || e2e_fail "$p got an IPv4 address"
done

# pe_core_mtu: p1 cannot put a 1500-byte 4in6 packet on a 1400 link and
# tells the ingress side with a Packet Too Big addressed to
# Pref6(PE1)+h1 (what edge46d's PMTU handling will read). The kernel
# baseline drops it (its End.DX4 route swallows it): no assertion on h1.
e2e_log "pe_core_mtu 1400: p1 answers a 1500-byte 4in6 packet with Packet Too Big"
pe_core_mtu 1400
[ "$(ip -n "$(ns p2)" -o link show p1 | grep -o 'mtu [0-9]*')" = "mtu 1400" ] || e2e_fail "p2's end of the core link"
pe_capture_start p1 pe1 "$E2E_DIR/ptb.pcap"
nx h1 ping -c 1 -W 1 -M "do" -s 1432 "$H3_ADDR" >/dev/null 2>&1
pe_capture_stop
pe_core_mtu 1500
PE_PCAP_NEED_4IN6=1 pe_pcap_check "$E2E_DIR/ptb.pcap" >"$E2E_DIR/check.out" ||
  e2e_fail "p1-pe1 link: $(cat "$E2E_DIR/check.out")"
grep -q "core-icmp6-errors=[1-9]" "$E2E_DIR/check.out" || e2e_fail "no ICMPv6 error from p1: $(cat "$E2E_DIR/check.out")"
ptb="$PE1_GW6 > $(python3 -c "import ipaddress as a; print(a.IPv6Address('$(pe_embed "$PE1_PREF6" "$H1_ADDR")'))"): ICMP6, packet too big, mtu 1400"
nx p1 tcpdump -r "$E2E_DIR/ptb.pcap" -nn 2>/dev/null | grep -qF "$ptb" ||
  e2e_fail "no '$ptb' on p1-pe1: $(nx p1 tcpdump -r "$E2E_DIR/ptb.pcap" -nn 2>/dev/null | head -5)"

# The checker must be able to fail: IPv4 frames (h1's own link), and 4in6
# under a wrong Pref6 (pe2 claiming to be pe1 as its tunnel source).
e2e_log "pe_pcap_check on traffic that breaks the rules must fail"
pe_capture_start pe1 lan "$E2E_DIR/lan.pcap"
nx h1 ping -c 1 -W 2 "$H3_ADDR" >/dev/null || e2e_fail "ping h1 -> h3 (checker self-test)"
pe_capture_stop
pe_pcap_check "$E2E_DIR/lan.pcap" >"$E2E_DIR/check.out" && e2e_fail "pe_pcap_check accepted IPv4 frames"
grep -q "not IPv6: ethertype 0x0800" "$E2E_DIR/check.out" || e2e_fail "IPv4 not named: $(cat "$E2E_DIR/check.out")"
ip -n "$(ns pe2)" sr tunsrc set "$(pe_embed "$PE1_PREF6" "$H2_ADDR")"
pe_capture_start p1 p2 "$E2E_DIR/forged.pcap"
nx h2 ping -c 1 -W 1 "$H3_ADDR" >/dev/null  # only the outer source is wrong; the result does not matter
pe_capture_stop
pe_pcap_check "$E2E_DIR/forged.pcap" >"$E2E_DIR/check.out" && e2e_fail "pe_pcap_check accepted a wrong Pref6"
grep -q "under Pref6(pe1), its rule says Pref6(pe2)" "$E2E_DIR/check.out" ||
  e2e_fail "wrong Pref6 not named: $(cat "$E2E_DIR/check.out")"

# The hooks for edge46d PEs: after pe_kernel_encap_down (which must leave
# no route behind, or these adds fail), a TUN "pe0" in every PE gets the
# routes pe_tun_routes promises.
e2e_log "pe_kernel_encap_down, then pe_tun_routes on a bare TUN pe0 in each PE"
pe_kernel_encap_down
for pe in $PE_NODES; do
  ip -n "$(ns "$pe")" tuntap add pe0 mode tun || e2e_fail "tuntap in $pe"
  pe_tun_routes "$pe"
done
# 192.0.2.200: in no block (the /26s stop at .127), so only the default rule.
route_dev() { ip -n "$(ns "$1")" route get "$2" 2>&1 | grep -o 'dev [a-z0-9]*\|unreachable' | head -1; }
for check in "pe1 $H3_ADDR dev pe0" "pe1 $H2_ADDR dev pe0" "pe1 $HD_ADDR dev pe0" "pe1 $H1_ADDR dev lan" \
  "pe3 $H1_ADDR dev pe0" "pe3 192.0.2.200 dev pe0" "ped $H1_ADDR dev pe0" "ped $HD_ADDR dev lan" \
  "ped 192.0.2.200 unreachable" "pe1 $(pe_embed "$PE1_PREF6" "$H1_ADDR") dev pe0" \
  "pe3 $(pe_embed "$PE1_PREF6" "$H1_ADDR") dev core" "pe3 $(pe_embed "$PE3_PREF6" "$H3_ADDR") dev pe0"; do
  # shellcheck disable=SC2086
  set -- $check
  got=$(route_dev "$1" "$2")
  [ "$got" = "${*:3}" ] || e2e_fail "route to $2 in $1: got '$got', want '${*:3}'"
done
echo "PASS (kernel 4in6 across an IPv6-only core: $bytes bytes in $n TCP packets h1 -> h3 as $want6)"
