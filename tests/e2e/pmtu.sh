#!/bin/bash
# e2e.pmtu: Path MTU discovery across the translator with lowered MTUs.
#  a) h4 -> h6, IPv6 link at 1280: a 1428-byte DF ping draws ICMPv6 Packet
#     Too Big from tr's kernel, translated to ICMPv4 Fragmentation Needed
#     (RFC 7915 5.2): h4 learns MTU 1260 and a 1260-byte DF ping then passes.
#  b) h6 -> h4, IPv4 link at 1000: a TCP transfer whose first segments are too
#     big draws ICMPv4 Fragmentation Needed, translated to Packet Too Big
#     (RFC 7915 4.2); the transfer completes intact.
. "$(dirname "$0")/lib.sh"
e2e_require_root ping socat sha256sum
e2e_init pmtu
e2e_basic_topology

# The offload variant must really run with offloads, and its TCP transfers
# (b, c) must bring super-packets in and translate some whole; with
# tun-offload = false the gso counters stay 0.
e2e_offload_check

ip -n "$(ns tr)" link set v6 mtu 1280
ip -n "$(ns h6)" link set eth0 mtu 1280

e2e_log "a) h4: ping -M do -s 1400 198.51.100.2 (too big for the 1280 IPv6 link)"
if nx h4 ping -4 -M do -c 1 -W 2 -s 1400 198.51.100.2; then
  e2e_fail "oversize DF ping went through a 1280-byte IPv6 link"
fi
sleep 0.2
nx h4 ip route get 198.51.100.2 | tee "$E2E_DIR/route" | grep -q "mtu 1260" ||
  e2e_fail "h4 did not learn PMTU 1260 ($(cat "$E2E_DIR/route"))"
e2e_log "h4: ping -M do -s 1232 198.51.100.2 (1260 bytes) after the error"
nx h4 ping -4 -M do -c 2 -i 0.2 -W 2 -s 1232 198.51.100.2 || e2e_fail "ping at the learned PMTU"

e2e_log "b) IPv4 link at 1000; TCP h6 -> h4"
ip -n "$(ns h6)" link set eth0 mtu 1500
ip -n "$(ns tr)" link set v6 mtu 1500
ip -n "$(ns tr)" link set v4 mtu 1000
ip -n "$(ns h4)" link set eth0 mtu 1000
head -c 2M /dev/urandom >"$E2E_DIR/data"
want=$(sha256sum <"$E2E_DIR/data" | cut -d' ' -f1)
gin=$(counter gso_in) gout=$(counter gso_out)
nx h4 socat -u TCP4-LISTEN:5003,reuseaddr OPEN:"$E2E_DIR/got",creat,trunc &
E2E_PIDS+=($!)
sleep 0.3
nx h6 timeout 20 socat -u OPEN:"$E2E_DIR/data" TCP6:[64:ff9b::192.0.2.2]:5003,retry=30,interval=0.1 || e2e_fail "TCP send h6 -> h4"
for _ in $(seq 1 50); do [ "$(stat -c %s "$E2E_DIR/got" 2>/dev/null)" = 2097152 ] && break; sleep 0.1; done
got=$(sha256sum <"$E2E_DIR/got" | cut -d' ' -f1)
[ "$got" = "$want" ] || e2e_fail "content differs"
e2e_gso_check "b) TCP h6 -> h4" "$gin" "$gout"

e2e_log "h6 ping -M do -s 1400 (IPv6 1448 bytes -> IPv4 1428 > 1000)"
nx h6 ping -6 -M do -c 1 -W 2 -s 1400 64:ff9b::192.0.2.2 >"$E2E_DIR/p1" 2>&1
cat "$E2E_DIR/p1"
sleep 0.2
nx h6 ip -6 route get 64:ff9b::192.0.2.2 | tee "$E2E_DIR/route6"
grep -q "mtu 1280" "$E2E_DIR/route6" || e2e_fail "h6 did not learn a PMTU of 1280 (IPv4 MTU 1000 + 20, floored at 1280)"
# (A 1400-byte echo would now leave h6 as IPv6 fragments, which the pipeline
# reassembles before translating: e2e.ping_big covers that. The follow-up
# here is UDP, whose fragments are translated one by one.)
e2e_log "h6: 1400-byte UDP datagram after the PTB: sent as fragments, translated"
nx h4 socat -u UDP4-RECV:7009 OPEN:"$E2E_DIR/udp",creat,trunc &
E2E_PIDS+=($!)
sleep 0.3
head -c 1400 /dev/urandom >"$E2E_DIR/dgram"
nx h6 socat -u OPEN:"$E2E_DIR/dgram" UDP6-SENDTO:[64:ff9b::192.0.2.2]:7009 || e2e_fail "UDP send"
for _ in $(seq 1 30); do [ "$(stat -c %s "$E2E_DIR/udp" 2>/dev/null)" = 1400 ] && break; sleep 0.1; done
cmp -s "$E2E_DIR/dgram" "$E2E_DIR/udp" || e2e_fail "fragmented UDP datagram not received intact"

# c) h6 advertises MSS 1440 but tr's IPv6 link is 1280: the translated
#    segments (GSO super-packets when offloads are on) draw Packet Too Big.
e2e_log "c) h4 -> h6 TCP across a 1280-byte IPv6 link behind the translator"
ip -n "$(ns tr)" link set v4 mtu 1500
ip -n "$(ns h4)" link set eth0 mtu 1500
ip -n "$(ns tr)" link set v6 mtu 1280
nx h6 ip -6 route flush cache
nx h4 ip route flush cache
gin=$(counter gso_in) gout=$(counter gso_out)
nx h6 socat -u TCP6-LISTEN:5004,reuseaddr OPEN:"$E2E_DIR/got2",creat,trunc &
E2E_PIDS+=($!)
sleep 0.3
nx h4 timeout 20 socat -u OPEN:"$E2E_DIR/data" TCP4:198.51.100.2:5004,retry=30,interval=0.1 || e2e_fail "TCP send h4 -> h6"
for _ in $(seq 1 50); do [ "$(stat -c %s "$E2E_DIR/got2" 2>/dev/null)" = 2097152 ] && break; sleep 0.1; done
got=$(sha256sum <"$E2E_DIR/got2" | cut -d' ' -f1)
[ "$got" = "$want" ] || e2e_fail "content differs (h4 -> h6 across the 1280 link)"
nx h4 ip route get 198.51.100.2 | tee "$E2E_DIR/route4c"
grep -q "mtu 1260" "$E2E_DIR/route4c" || e2e_fail "h4 did not learn PMTU 1260 from the translated PTB"
e2e_gso_check "c) TCP h4 -> h6" "$gin" "$gout"
echo "icmp_errors=$(counter icmp_errors) translated=$(counter translated) gso_out=$(counter gso_out)"
echo PASS
