#!/bin/bash
# e2e.pe_control: the PE's control plane and section 7.1 protections, with
# edge46d as every PE of the framework's Figure 1/2 (tests/e2e/lib_pe.sh) in
# mixed mode (every PE accepts both modes; pe1 encapsulates, the others
# translate), with the hosts' own Linux stacks:
#   - `edge46ctl rule add/change/remove` on pe1 moves a live ping h1 -> h3 to
#     Pref6(pe2) and back without restarting anything: the p1-pe2 link sees
#     4in6 to Pref6(pe2)+h3 only in between, pe2 decapsulates and forwards
#     the packets on to pe3 through its own MR-DB, the ping loses at most 2
#     packets; `rule show --source ctl`, `rule lookup ... --from` (the IPv6
#     addresses computed here with Python's ipaddress) and `mrdb stats`
#     (rules per source) say so;
#   - the default rule: h1 -> hd works through it; reloaded without it, a
#     ping to hd gets ICMPv4 Destination Net Unreachable from pe1's
#     translator address and drop.no_mapping_rule counts it; with [pe]
#     no-rule = "drop" it is silent (counted, nothing comes back); a ctl
#     rule survives both reloads and still carries traffic;
#   - packets forged on p1 (a raw IPv6 socket that writes the whole header)
#     are dropped by name on pe1 and never reach h1: 4in6 from an unknown
#     Pref6 and translated UDP from it (pe_unknown_source), 4in6 whose inner
#     source disagrees with the outer (decap_address_mismatch); the same
#     packets made honest do reach h1 (the forging itself works).
#   - local rules follow the kernel's IPv4 routes ([pe.kernel-routes]): a
#     static route added on pe3 becomes a local rule, and goes with it.
. "$(dirname "$0")/lib_pe.sh"
pe_require tcpdump socat python3 ping
e2e_require_root tcpdump socat
pe_init pe_control
pe_topology_up
pe_start_edge46 mixed "$(printf '[pe.kernel-routes]\nprotocols = ["static"]')" || e2e_fail "PEs did not start"

e2e_log "local rules follow the kernel's IPv4 routes on pe3"
pe_ctl pe3 status | grep -q "^kernel_routes: *on" || e2e_fail "pe3's kernel route source is not on: $(pe_ctl pe3 status)"
ip -n "$(ns pe3)" route add 198.51.100.128/25 dev lan proto static || e2e_fail "route add in pe3"
ok=""
for _ in $(seq 1 40); do
  pe_ctl pe3 rule show --source local | grep -q "^198.51.100.128/25 " && ok=1 && break
  sleep 0.05
done
[ -n "$ok" ] || e2e_fail "no local rule for 198.51.100.128/25: $(pe_ctl pe3 rule show --source local)"
# Routes out of the TUN (into the core) and the default route never count.
! pe_ctl pe3 rule show --source local | grep -Eq "^(0\.0\.0\.0/0|192\.0\.2\.0/26|203\.0\.113\.0/24) " ||
  e2e_fail "a route into the TUN became a local rule: $(pe_ctl pe3 rule show --source local)"
ip -n "$(ns pe3)" route del 198.51.100.128/25 dev lan proto static || e2e_fail "route del in pe3"
gone=""
for _ in $(seq 1 40); do
  pe_ctl pe3 rule show --source local | grep -q "^198.51.100.128/25 " || { gone=1 && break; }
  sleep 0.05
done
[ -n "$gone" ] || e2e_fail "the local rule for 198.51.100.128/25 outlived its route"

# v6 <pref6/96> <ipv4>: Pref6 + IPv4 (Table 1) in RFC 5952 form, computed
# here, not by edge46.
v6() { python3 -c "import ipaddress as a, sys; n = a.IPv6Network(sys.argv[1]); print(a.IPv6Address(int(n.network_address) | int(a.IPv4Address(sys.argv[2]))))" "$1" "$2"; }
# cnt <pe> <counter>: one counter of that PE.
cnt() { pe_ctl "$1" --json stats | json_field counters "$2"; }

nx h1 ping -c 1 -W 2 "$H3_ADDR" >/dev/null || e2e_fail "h1 cannot ping h3 at the start"

# ---------------------------------------------------------------------------
e2e_log "rule add/change/remove on pe1 moves a live ping h1 -> h3 to pe2 and back"
A1=$(v6 "$PE1_PREF6" "$H1_ADDR") A3_VIA_PE2=$(v6 "$PE2_PREF6" "$H3_ADDR") A3=$(v6 "$PE3_PREF6" "$H3_ADDR")
pe_capture_start p1 pe2 "$E2E_DIR/pe2link.pcap"
sleep 0.3
dec0=$(cnt pe2 decapsulated)
nx h1 ping -i 0.1 -c 40 -W 1 "$H3_ADDR" >"$E2E_DIR/live.out" 2>&1 &
E2E_PIDS+=($!)
ping_pid=$!
sleep 1
pe_ctl pe1 rule add "$PE3_BLOCK4" "$PE2_PREF6" || e2e_fail "rule add"
e2e_log "ctl rule $PE3_BLOCK4 -> $PE2_PREF6 added"
pe_ctl pe1 rule show --source ctl | tee "$E2E_DIR/show.ctl"
# The table's row: prefix, Pref6, layout, modes, source, pref, used (*).
grep -Eq "^$PE3_BLOCK4 +$PE2_PREF6 +low32 +both +ctl +100 +\*" "$E2E_DIR/show.ctl" ||
  e2e_fail "rule show --source ctl does not list the ctl rule as used"
pe_ctl pe1 rule show >"$E2E_DIR/show.all"
grep -Eq "^$PE3_BLOCK4 +$PE3_PREF6 +low32 +both +config +100 *$" "$E2E_DIR/show.all" ||
  e2e_fail "the config rule of $PE3_BLOCK4 is missing or still used: $(cat "$E2E_DIR/show.all")"
pe_ctl pe1 rule lookup "$H3_ADDR" --from "$H1_ADDR" | tee "$E2E_DIR/lookup"
grep -q "^rule: *$PE3_BLOCK4 -> $PE2_PREF6 (low32, both, source ctl, preference 100)$" "$E2E_DIR/lookup" ||
  e2e_fail "rule lookup does not name the ctl rule"
grep -q "^mode: *encapsulate$" "$E2E_DIR/lookup" || e2e_fail "rule lookup: pe1 prefers encapsulation"
grep -q "^IPv6 destination: *$A3_VIA_PE2$" "$E2E_DIR/lookup" || e2e_fail "rule lookup: IPv6 destination is not $A3_VIA_PE2"
grep -q "^IPv6 source: *$A1$" "$E2E_DIR/lookup" || e2e_fail "rule lookup: IPv6 source is not $A1"
pe_ctl pe1 mrdb stats | tee "$E2E_DIR/mrdb"
# pe1: config = pe2's block, pe3's block and the default rule; local = its
# own block; ctl = the one just added.
pe_ctl pe1 --json mrdb stats | python3 -c '
import json, sys
d = json.load(sys.stdin)
want = {"config": 3, "local": 1, "ctl": 1, "bgp": 0}
if d["per_source"] != want or d["rules"] != 5:
    sys.exit("mrdb stats: per_source %s, rules %s; want %s, 5" % (d["per_source"], d["rules"], want))
' || e2e_fail "mrdb stats"
sleep 1.5
dec1=$(cnt pe2 decapsulated)
[ $((dec1 - dec0)) -ge 8 ] || e2e_fail "pe2 decapsulated only $((dec1 - dec0)) packets while the rule pointed at it"
e2e_log "pe2 decapsulated $((dec1 - dec0)) packets of the live ping and sent them on to pe3"
pe_ctl pe1 rule change "$PE3_BLOCK4" "$PE3_PREF6" || e2e_fail "rule change"
e2e_log "ctl rule changed back to $PE3_PREF6"
pe_ctl pe1 rule lookup "$H3_ADDR" | grep -q "^IPv6 destination: *$A3$" || e2e_fail "rule lookup after change"
sleep 0.3
dec2=$(cnt pe2 decapsulated)
sleep 1
dec3=$(cnt pe2 decapsulated)
[ "$dec3" = "$dec2" ] || e2e_fail "pe2 still decapsulates after rule change ($dec2 -> $dec3)"
pe_ctl pe1 rule remove "$PE3_BLOCK4" || e2e_fail "rule remove"
! pe_ctl pe1 rule show --source ctl | grep -qE '^[0-9]' || e2e_fail "a ctl rule is left after rule remove"
pe_ctl pe1 rule lookup "$H3_ADDR" | grep -q "source config" || e2e_fail "the config rule is not back in use"
wait "$ping_pid" || true
tail -n 2 "$E2E_DIR/live.out"
read -r tx rx < <(sed -nE 's/^([0-9]+) packets transmitted, ([0-9]+) received.*/\1 \2/p' "$E2E_DIR/live.out")
[ -n "${tx:-}" ] && [ "$tx" -ge 35 ] || e2e_fail "the live ping did not run: $(cat "$E2E_DIR/live.out")"
[ $((tx - rx)) -le 2 ] || e2e_fail "the live ping lost $((tx - rx)) of $tx packets across the rule changes"
pe_capture_stop
pe_pcap_flows "$E2E_DIR/pe2link.pcap" | tee "$E2E_DIR/pe2link.flows"
n=$(grep -F "ipv6 nh=4 $A1 > $A3_VIA_PE2 inner ipv4 $H1_ADDR > $H3_ADDR proto=1 " "$E2E_DIR/pe2link.flows" | cut -d' ' -f1)
[ "${n:-0}" -ge 8 ] || e2e_fail "the p1-pe2 link did not carry h1's ping to Pref6(pe2)+h3 as 4in6"
[ "${n:-0}" -le $((dec3 - dec0)) ] || e2e_fail "$n packets to Pref6(pe2) on the wire, pe2 decapsulated $((dec3 - dec0))"
# pe2 sent them on with its own rule for h3 (it prefers translation):
# Pref6(pe2)+h1 > Pref6(pe3)+h3, ICMPv6 echo requests.
grep -qF "ipv6 nh=58 $(v6 "$PE2_PREF6" "$H1_ADDR") > $A3 " "$E2E_DIR/pe2link.flows" ||
  e2e_fail "pe2 did not send the decapsulated ping on to Pref6(pe3)+h3"
e2e_log "the flow moved: $n packets to $A3_VIA_PE2 in between, $((tx - rx)) of $tx lost"

# ---------------------------------------------------------------------------
e2e_log "forged packets from inside the core (p1) are dropped by name on pe1"
UNKNOWN_PREF6=2001:db8:9:46::/96
FORGED_SRC=198.51.100.99
unk0=$(cnt pe1 drop.pe_unknown_source) mis0=$(cnt pe1 drop.decap_address_mismatch)
decap0=$(cnt pe1 decapsulated)
nx h1 timeout 8 socat -u UDP4-RECV:7777 CREATE:"$E2E_DIR/h1.udp" &
E2E_PIDS+=($!)
rx_pid=$!
sleep 0.3
# forge <4in6|udp6> <outer src> <outer dst> <inner src> <inner dst> <tag>:
# one packet from p1 to pe1, through a raw IPv6 socket with the whole header
# written here (IPPROTO_RAW implies IPV6_HDRINCL). The inner / translated
# payload is UDP to port 7777 carrying <tag>.
forge() {
  nx p1 python3 - "$@" <<'PY' || e2e_fail "forging $*"
import ipaddress, socket, struct, sys
kind, s6, d6, s4, d4, tag = sys.argv[1:]
s6, d6 = ipaddress.IPv6Address(s6).packed, ipaddress.IPv6Address(d6).packed
data = tag.encode()
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
ulen = 8 + len(data)
if kind == "4in6":
    s4, d4 = ipaddress.IPv4Address(s4).packed, ipaddress.IPv4Address(d4).packed
    udp = struct.pack("!HHHH", 4000, 7777, ulen, 0) + data
    ck = csum(s4 + d4 + struct.pack("!BBH", 0, 17, ulen) + udp)
    udp = udp[:6] + struct.pack("!H", ck or 0xFFFF) + udp[8:]
    ip4 = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0x4646, 0x4000, 64, 17, 0, s4, d4)
    ip4 = ip4[:10] + struct.pack("!H", csum(ip4)) + ip4[12:]
    payload, nh = ip4 + udp, 4
else:  # a translated UDP datagram (RFC 7915): the checksum over the IPv6 pseudo-header
    udp = struct.pack("!HHHH", 4000, 7777, ulen, 0) + data
    ck = csum(s6 + d6 + struct.pack("!I3xB", ulen, 17) + udp)
    payload, nh = udp[:6] + struct.pack("!H", ck or 0xFFFF) + udp[8:], 17
hdr = struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, 64, s6, d6)
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(hdr + payload, (str(ipaddress.IPv6Address(d6)), 0))
PY
}
# (a) 4in6 from a Pref6 nobody knows, inner addresses consistent with it.
forge 4in6 "$(v6 "$UNKNOWN_PREF6" "$H3_ADDR")" "$A1" "$H3_ADDR" "$H1_ADDR" "FORGED-A;"
# (b) 4in6 from Pref6(pe3)+h3 whose inner source is another address.
forge 4in6 "$(v6 "$PE3_PREF6" "$H3_ADDR")" "$A1" "$FORGED_SRC" "$H1_ADDR" "FORGED-B;"
# (c) translated UDP from the unknown Pref6.
forge udp6 "$(v6 "$UNKNOWN_PREF6" "$H3_ADDR")" "$A1" - - "FORGED-C;"
sleep 0.5
unk1=$(cnt pe1 drop.pe_unknown_source) mis1=$(cnt pe1 drop.decap_address_mismatch)
[ $((unk1 - unk0)) = 2 ] || e2e_fail "drop.pe_unknown_source went $unk0 -> $unk1, want +2 (4in6 and translated)"
[ $((mis1 - mis0)) = 1 ] || e2e_fail "drop.decap_address_mismatch went $mis0 -> $mis1, want +1"
e2e_log "pe1 counted drop.pe_unknown_source +2, drop.decap_address_mismatch +1"
# The same packets made honest reach h1: the forging and the listener work.
forge 4in6 "$(v6 "$PE3_PREF6" "$H3_ADDR")" "$A1" "$H3_ADDR" "$H1_ADDR" "HONEST-4IN6;"
forge udp6 "$(v6 "$PE3_PREF6" "$H3_ADDR")" "$A1" - - "HONEST-UDP6;"
sleep 0.5
kill "$rx_pid" 2>/dev/null
wait "$rx_pid" 2>/dev/null
got=$(cat "$E2E_DIR/h1.udp" 2>/dev/null || true)
e2e_log "h1 received: '$got'"
[ "$(cnt pe1 decapsulated)" -gt "$decap0" ] || e2e_fail "pe1 did not decapsulate the honest 4in6 packet"
case $got in *FORGED*) e2e_fail "a forged packet reached h1: $got" ;; esac
case $got in *HONEST-4IN6*) ;; *) e2e_fail "the honest 4in6 packet did not reach h1 (the check above proves nothing)" ;; esac
case $got in *HONEST-UDP6*) ;; *) e2e_fail "the honest translated packet did not reach h1" ;; esac

# ---------------------------------------------------------------------------
e2e_log "the default rule: h1 -> hd only through it"
nx h1 ping -c 2 -i 0.2 -W 2 "$HD_ADDR" >"$E2E_DIR/hd.out" 2>&1 || e2e_fail "h1 -> hd through the default rule: $(cat "$E2E_DIR/hd.out")"
pe_ctl pe1 rule lookup "$HD_ADDR" | grep -q "^rule: *0.0.0.0/0 -> $PED_PREF6 " || e2e_fail "rule lookup $HD_ADDR does not name the default rule"
# A ctl rule beside hd (not covering it) that must outlive the reloads.
KEEP=203.0.113.128/25
pe_ctl pe1 rule add "$KEEP" "$PED_PREF6" || e2e_fail "rule add $KEEP"
python3 - "$E2E_DIR/pe1.toml" <<'PY' || e2e_fail "rewriting pe1.toml"
import sys
t = open(sys.argv[1]).read()
blocks = t.split("\n[[pe.rule]]\n")
kept = [blocks[0]] + [b for b in blocks[1:] if 'prefix = "0.0.0.0/0"' not in b]
assert len(kept) == len(blocks) - 1, "no default rule in the file"
open(sys.argv[1], "w").write("\n[[pe.rule]]\n".join(kept))
PY
pe_ctl pe1 reload || e2e_fail "reload without the default rule"
pe_ctl pe1 rule lookup "$HD_ADDR" | tee "$E2E_DIR/lookup.hd"
grep -q "no rule: drop (no_mapping_rule), ICMPv4 3/0" "$E2E_DIR/lookup.hd" || e2e_fail "rule lookup: hd still has a rule"
nr0=$(cnt pe1 drop.no_mapping_rule)
XLAT4=$(pe_xlat4 pe1)
nx h1 ping -c 2 -i 0.2 -W 1 "$HD_ADDR" >"$E2E_DIR/hd.out" 2>&1 && e2e_fail "h1 -> hd answered without the default rule"
cat "$E2E_DIR/hd.out"
grep -q "^From $XLAT4 icmp_seq=[0-9]* Destination Net Unreachable" "$E2E_DIR/hd.out" ||
  e2e_fail "no Destination Net Unreachable from $XLAT4"
nr1=$(cnt pe1 drop.no_mapping_rule)
[ $((nr1 - nr0)) -ge 2 ] || e2e_fail "drop.no_mapping_rule went $nr0 -> $nr1 for 2 pings"
e2e_log "no rule: ICMPv4 3/0 from $XLAT4, drop.no_mapping_rule +$((nr1 - nr0))"

sed -i 's/^\[pe\]$/[pe]\nno-rule = "drop"/' "$E2E_DIR/pe1.toml"
grep -q '^no-rule = "drop"$' "$E2E_DIR/pe1.toml" || e2e_fail "could not set no-rule"
pe_ctl pe1 reload || e2e_fail "reload with no-rule = drop"
nx h1 ping -c 2 -i 0.2 -W 1 "$HD_ADDR" >"$E2E_DIR/hd.out" 2>&1 && e2e_fail "h1 -> hd answered (no-rule = drop)"
cat "$E2E_DIR/hd.out"
! grep -q "Unreachable" "$E2E_DIR/hd.out" || e2e_fail "no-rule = drop still answers: $(cat "$E2E_DIR/hd.out")"
grep -q "^2 packets transmitted, 0 received" "$E2E_DIR/hd.out" || e2e_fail "unexpected ping output"
nr2=$(cnt pe1 drop.no_mapping_rule)
[ $((nr2 - nr1)) -ge 2 ] || e2e_fail "drop.no_mapping_rule went $nr1 -> $nr2 (no-rule = drop)"
e2e_log "no-rule = drop: silent, drop.no_mapping_rule +$((nr2 - nr1))"

pe_ctl pe1 rule show --source ctl | tee "$E2E_DIR/show.ctl"
grep -Eq "^$KEEP +$PED_PREF6 +low32 +both +ctl +100 +\*" "$E2E_DIR/show.ctl" || e2e_fail "the ctl rule $KEEP did not survive the reloads"
pe_ctl pe1 --json mrdb stats | python3 -c '
import json, sys
d = json.load(sys.stdin)["per_source"]
sys.exit(0 if d == {"config": 2, "local": 1, "ctl": 1, "bgp": 0} else f"per_source after the reloads: {d}")
' || e2e_fail "mrdb stats after the reloads"
# A ctl rule carries traffic like any other: hd reachable again.
pe_ctl pe1 rule add "$PED_BLOCK4" "$PED_PREF6" || e2e_fail "rule add $PED_BLOCK4"
nx h1 ping -c 2 -i 0.2 -W 2 "$HD_ADDR" >"$E2E_DIR/hd.out" 2>&1 || e2e_fail "h1 -> hd through a ctl rule: $(cat "$E2E_DIR/hd.out")"

echo "PASS (rule add/change/remove moves a live flow, default rule and no-rule, reload keeps ctl rules, forged core packets dropped by name)"
