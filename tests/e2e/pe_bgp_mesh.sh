#!/bin/bash
# e2e.pe_bgp_mesh: the framework's Figure 1/2 (tests/e2e/lib_pe.sh) with no
# static rule anywhere: the four edge46 PEs learn each other's rules over a
# full iBGP mesh of their own speakers, across the IPv6-only core (sessions
# between the PEs' loopbacks; the P routers carry them as any IPv6 traffic).
#   - each PE installs the other three blocks and ped's default rule as bgp
#     rules; h1 reaches h3 (ping, 1 MiB TCP with sha256, h3 sees h1's own
#     address) and hd (only through the default rule);
#   - a block that appears and goes on pe3 ([pe.kernel-routes], a static
#     route) appears and goes on pe1 within seconds;
#   - pe3 killed: pe1 keeps forwarding on the stale rule until stale-time,
#     then the default rule takes 198.51.100.0/24; pe3 restarted: its rule
#     is back and h1 -> h3 flows again.
. "$(dirname "$0")/lib_pe.sh"
pe_require socat python3 ping
e2e_require_root socat
pe_init pe_bgp_mesh
pe_topology_up
export PE_RULES=bgp PE_BGP_EXTRA="stale-time = 4"
pe_start_edge46 encapsulate "$(printf '[pe.kernel-routes]\nprotocols = ["static"]\ninclude-connected = false')" ||
  e2e_fail "PEs did not start"

# pe1 learns pe2's, pe3's and ped's blocks and ped's default rule.
pe_bgp_wait pe1 4 20 || e2e_fail "pe1 did not learn 4 rules: $(pe_ctl pe1 bgp summary) $(pe_ctl pe1 rule show)"
pe_bgp_wait pe3 4 20 || e2e_fail "pe3 did not learn 4 rules: $(pe_ctl pe3 bgp summary)"
e2e_log "$(pe_ctl pe1 bgp summary)"
e2e_log "$(pe_ctl pe1 bgp routes)"
r=$(pe_ctl pe1 --json rule lookup "$H3_ADDR")
[ "$(json_field rule source <<<"$r")" = bgp ] || e2e_fail "pe1's rule for h3 is not from bgp: $r"
[ "$(json_field rule pref6 <<<"$r")" = "$PE3_PREF6" ] || e2e_fail "pe1's rule for h3: $r"
[ "$(json_field rule prefix <<<"$(pe_ctl pe1 --json rule lookup "$HD_ADDR")")" = 203.0.113.0/24 ] ||
  e2e_fail "pe1 has no rule for hd's block"
[ "$(json_field rule prefix <<<"$(pe_ctl pe1 --json rule lookup 100.64.0.1)")" = 0.0.0.0/0 ] ||
  e2e_fail "pe1 has no default rule from ped"
# The default rule went only inside the domain (all iBGP here), with NO_EXPORT.
d=$(pe_ctl pe1 --json bgp routes received 0.0.0.0/0)
python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin)["routes"] if x["prefix"]=="0.0.0.0/0"]; assert r and r[0]["default"] and 4294967041 in r[0]["communities"], r' <<<"$d" ||
  e2e_fail "the default rule on pe1 lacks D or NO_EXPORT: $d"

nx h1 ping -c 3 -i 0.2 -W 2 "$H3_ADDR" >/dev/null || e2e_fail "ping h1 -> h3 over BGP-learned rules"
nx h1 ping -c 3 -i 0.2 -W 2 "$HD_ADDR" >/dev/null || e2e_fail "ping h1 -> hd over BGP-learned rules"
pe_tcp_check h1 h3 5001 1M

e2e_log "a block appears and goes on pe3"
ip -n "$(ns pe3)" route add 198.51.100.128/25 dev lan proto static || e2e_fail "route add in pe3"
ok=""
for _ in $(seq 1 50); do
  [ "$(json_field rule prefix <<<"$(pe_ctl pe1 --json rule lookup 198.51.100.130)")" = 198.51.100.128/25 ] && ok=1 && break
  sleep 0.1
done
[ -n "$ok" ] || e2e_fail "pe1 did not learn 198.51.100.128/25: $(pe_ctl pe1 bgp routes)"
t0=$(date +%s.%N)
ip -n "$(ns pe3)" route del 198.51.100.128/25 dev lan proto static || e2e_fail "route del in pe3"
ok=""
for _ in $(seq 1 50); do
  [ "$(json_field rule prefix <<<"$(pe_ctl pe1 --json rule lookup 198.51.100.130)")" = 198.51.100.0/24 ] && ok=1 && break
  sleep 0.1
done
[ -n "$ok" ] || e2e_fail "pe1 kept 198.51.100.128/25 after pe3 withdrew it"
e2e_log "withdrawn on pe1 $(python3 -c "import time; print(round(time.time() - $t0, 2))") s after the route went on pe3"

e2e_log "pe3 killed: stale, then the default rule"
pid3=$(ip netns pids "$(ns pe3)" | while read -r p; do [ "$(cat /proc/"$p"/comm 2>/dev/null)" = edge46d ] && echo "$p"; done)
[ -n "$pid3" ] || e2e_fail "no edge46d in pe3"
kill -9 "$pid3"
sleep 1.5
r=$(pe_ctl pe1 --json bgp routes received 198.51.100.0/24 --peer pe3)
python3 -c 'import json,sys; r=json.load(sys.stdin)["routes"]; assert r and r[0]["stale"], r' <<<"$r" ||
  e2e_fail "pe3's route on pe1 is not stale after the session went: $r"
[ "$(json_field rule pref6 <<<"$(pe_ctl pe1 --json rule lookup "$H3_ADDR")")" = "$PE3_PREF6" ] ||
  e2e_fail "pe1 dropped pe3's rule before stale-time"
ok=""
for _ in $(seq 1 100); do
  [ "$(json_field rule prefix <<<"$(pe_ctl pe1 --json rule lookup "$H3_ADDR")")" = 0.0.0.0/0 ] && ok=1 && break
  sleep 0.1
done
[ -n "$ok" ] || e2e_fail "pe1 still uses pe3's rule long after stale-time: $(pe_ctl pe1 rule lookup "$H3_ADDR")"

e2e_log "pe3 restarted: its rule is back"
e2e_start_daemon pe3 "$E2E_DIR/pe3.toml" "$E2E_DIR/pe3.sock"
pe_tun_routes pe3 pe0
ok=""
for _ in $(seq 1 150); do
  [ "$(json_field rule pref6 <<<"$(pe_ctl pe1 --json rule lookup "$H3_ADDR")")" = "$PE3_PREF6" ] && ok=1 && break
  sleep 0.1
done
[ -n "$ok" ] || e2e_fail "pe3's rule did not come back on pe1: $(pe_ctl pe1 bgp summary)"
nx h1 ping -c 3 -i 0.2 -W 2 "$H3_ADDR" >/dev/null || e2e_fail "ping h1 -> h3 after pe3 came back"
echo "PASS (rules learned over an iBGP mesh of edge46 PEs carry traffic; a block withdrawn on pe3 goes on pe1; stale rules until stale-time, then the default rule; pe3 back, rule back)"
