#!/bin/bash
# e2e.pe_<mode>: the framework's Figure 1/2 (tests/e2e/lib_pe.sh) with edge46d
# as every PE, in one mode (PE_MODE: encapsulate, translate or mixed). With
# the hosts' own Linux stacks, IPv4 hosts talk across the IPv6-only core:
#   - ping h1->h3 (other domain), h3->h1, h1->h2, and h1->hd (default rule);
#   - TCP h1->h3, 4 MiB, sha256 equal, h3 sees h1's real address; UDP h3->h1;
#   - 3000-byte UDP and ping (fragmented by the sending host) both ways;
#   - the p1-p2 capture holds only IPv6, every packet addressed
#     Pref6(ingress)+IPv4 src > Pref6(egress)+IPv4 dst (two conversions on
#     the path, Requirement 3), 4in6 where the mode encapsulates;
#   - Path MTU: a DF ping too big for the tunnel / core link gets
#     Fragmentation Needed with the right MTU; with the p1-p2 link at 1400,
#     the P router's Packet Too Big reaches h1 as Fragmentation Needed and a
#     TCP transfer still completes;
#   - the PEs' counters show the mode that was used.
. "$(dirname "$0")/lib_pe.sh"
MODE=${PE_MODE:-encapsulate}
pe_require tcpdump socat sha256sum python3 ping
e2e_require_root tcpdump socat
pe_init "pe_$MODE"
pe_topology_up
pe_start_edge46 "$MODE" || e2e_fail "PEs did not start"

pe_capture_start p1 p2 "$E2E_DIR/core.pcap"

# shellcheck disable=SC2086 # "host address" pairs split on purpose
for pair in "h1 $H3_ADDR" "h3 $H1_ADDR" "h1 $H2_ADDR" "h2 $H3_ADDR" "h1 $HD_ADDR" "hd $H1_ADDR"; do
  set -- $pair
  nx "$1" ping -c 2 -i 0.2 -W 2 "$2" >"$E2E_DIR/ping.out" 2>&1 ||
    e2e_fail "ping $1 -> $2: $(tail -n 3 "$E2E_DIR/ping.out")"
  e2e_log "ping $1 -> $2 ok"
done

e2e_log "3000-byte ping h1 -> h3 and h3 -> h1 (IPv4 fragments from the host, DF clear)"
nx h1 ping -c 2 -i 0.2 -W 2 -s 3000 -M dont "$H3_ADDR" >"$E2E_DIR/ping.out" 2>&1 ||
  e2e_fail "3000-byte ping h1 -> h3: $(tail -n 3 "$E2E_DIR/ping.out")"
nx h3 ping -c 2 -i 0.2 -W 2 -s 3000 -M dont "$H1_ADDR" >"$E2E_DIR/ping.out" 2>&1 ||
  e2e_fail "3000-byte ping h3 -> h1: $(tail -n 3 "$E2E_DIR/ping.out")"

e2e_log "TCP h1 -> h3: 4 MiB with a sha256 check"
pe_tcp_check h1 h3 5001

e2e_log "UDP h3 -> h1: 100 datagrams and one of 3000 bytes"
nx h1 timeout 10 socat -u UDP4-RECV:5002 CREATE:"$E2E_DIR/udp.got" &
E2E_PIDS+=($!)
urx=$!
sleep 0.3
python3 - "$E2E_DIR/udp.sent" <<'PY'
import os, sys
with open(sys.argv[1], "wb") as f:
    for i in range(100):
        f.write(b"%04d" % i + os.urandom(60))
    f.write(b"BIG!" + os.urandom(2996))
PY
python3 - "$E2E_DIR/udp.sent" >"$E2E_DIR/udp.lines" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
print(len(d))
PY
nx h3 python3 - "$E2E_DIR/udp.sent" "$H1_ADDR" <<'PY'
import socket, sys, time
d = open(sys.argv[1], "rb").read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(100):
    s.sendto(d[i * 64:(i + 1) * 64], (sys.argv[2], 5002))
    time.sleep(0.002)
s.sendto(d[6400:], (sys.argv[2], 5002))
PY
sleep 1
kill "$urx" 2>/dev/null
wait "$urx" 2>/dev/null
cmp -s "$E2E_DIR/udp.sent" "$E2E_DIR/udp.got" ||
  e2e_fail "UDP h3 -> h1: received $(stat -c %s "$E2E_DIR/udp.got" 2>/dev/null || echo 0) of $(cat "$E2E_DIR/udp.lines") bytes, or reordered"

pe_capture_stop
e2e_log "what the p1-p2 link carried"
pe_pcap_flows "$E2E_DIR/core.pcap" | head -n 14
need=""
[ "$MODE" = translate ] || need=1
PE_PCAP_NEED_4IN6=$need pe_pcap_check "$E2E_DIR/core.pcap" || e2e_fail "the core link broke the framework's rules"
flows=$(pe_pcap_flows "$E2E_DIR/core.pcap")
a1=$(python3 -c "import ipaddress as a; print(a.IPv6Address('$(pe_embed "$PE1_PREF6" "$H1_ADDR")'))")
a3=$(python3 -c "import ipaddress as a; print(a.IPv6Address('$(pe_embed "$PE3_PREF6" "$H3_ADDR")'))")
case $MODE in
  encapsulate)
    grep -qF "ipv6 nh=4 $a1 > $a3 inner ipv4 $H1_ADDR > $H3_ADDR proto=6" <<<"$flows" || e2e_fail "no 4in6 TCP h1 -> h3 on the core"
    ! grep -q "ipv6 nh=6 " <<<"$flows" || e2e_fail "translated TCP on the core in encapsulate mode"
    ;;
  translate)
    grep -qF "ipv6 nh=6 $a1 > $a3" <<<"$flows" || e2e_fail "no translated TCP h1 -> h3 on the core"
    ! grep -q "ipv6 nh=4 " <<<"$flows" || e2e_fail "4in6 on the core in translate mode"
    ;;
  mixed)
    # pe1 prefers encapsulation, pe3 translation: both directions of one flow.
    grep -qF "ipv6 nh=4 $a1 > $a3 inner ipv4 $H1_ADDR > $H3_ADDR proto=6" <<<"$flows" || e2e_fail "pe1 did not encapsulate"
    grep -qF "ipv6 nh=6 $a3 > $a1" <<<"$flows" || e2e_fail "pe3 did not translate its answers"
    ;;
esac

e2e_log "counters of pe1"
pe_ctl pe1 stats --nonzero | tee "$E2E_DIR/pe1.stats"
case $MODE in
  encapsulate) grep -Eq "^encapsulated +[1-9]" "$E2E_DIR/pe1.stats" && grep -Eq "^decapsulated +[1-9]" "$E2E_DIR/pe1.stats" ;;
  translate) grep -Eq "^translated +[1-9]" "$E2E_DIR/pe1.stats" && ! grep -Eq "^(en|de)capsulated +[1-9]" "$E2E_DIR/pe1.stats" ;;
  mixed) grep -Eq "^encapsulated +[1-9]" "$E2E_DIR/pe1.stats" && grep -Eq "^translated +[1-9]" "$E2E_DIR/pe1.stats" ;;
esac || e2e_fail "pe1's counters do not show mode $MODE"

e2e_log "Path MTU: a DF packet too big for the path gets Fragmentation Needed from the PE"
# 1488 bytes of IPv4 with DF: the tunnel MTU is 1500 - 40 = 1460
# (encapsulation); translated it would be 1508 bytes of IPv6, so the largest
# IPv4 packet that fits is 1480 (RFC 7915 4).
case $MODE in
  translate) want_mtu=1480 ;;
  mixed) want_mtu=1460 ;;  # pe1 encapsulates towards h3
  *) want_mtu=1460 ;;
esac
nx h1 ip route flush cache 2>/dev/null
nx h1 ping -c 2 -i 0.3 -W 2 -s 1460 -M do "$H3_ADDR" >"$E2E_DIR/pmtu.out" 2>&1 && e2e_fail "a 1488-byte DF ping crossed"
nx h1 ip route get "$H3_ADDR" >"$E2E_DIR/route.out"
grep -q "mtu $want_mtu" "$E2E_DIR/route.out" || grep -q "mtu = $want_mtu" "$E2E_DIR/pmtu.out" ||
  e2e_fail "no Fragmentation Needed with MTU $want_mtu: $(cat "$E2E_DIR/pmtu.out"); route: $(cat "$E2E_DIR/route.out")"
e2e_log "h1 learned $want_mtu from its PE"
nx h1 ip route flush cache 2>/dev/null

e2e_log "Path MTU through the core: p1-p2 at 1400, the P router's Packet Too Big reaches h1"
pe_core_mtu 1400
nx h1 ping -c 3 -i 0.3 -W 2 -s 1400 -M do "$H3_ADDR" >"$E2E_DIR/pmtu2.out" 2>&1 || true
nx h1 ip route get "$H3_ADDR" >"$E2E_DIR/route.out"
case $MODE in
  translate) want_mtu=1380 ;;  # 1400 - 20 (RFC 7915 5.2)
  *) want_mtu=1360 ;;          # 1400 - 40 (RFC 2473 tunnel header)
esac
grep -q "mtu $want_mtu" "$E2E_DIR/route.out" || grep -q "mtu = $want_mtu" "$E2E_DIR/pmtu2.out" ||
  e2e_fail "h1 did not learn MTU $want_mtu: $(cat "$E2E_DIR/pmtu2.out") / $(cat "$E2E_DIR/route.out")"
e2e_log "h1 learned $want_mtu: $(cat "$E2E_DIR/route.out" | head -n 1)"

e2e_log "TCP h1 -> h3 over the 1400-byte core link"
pe_tcp_check h1 h3 5003

echo "PASS ($MODE: ping, TCP, UDP, fragments, default rule, only IPv6 on the core, PMTU)"
