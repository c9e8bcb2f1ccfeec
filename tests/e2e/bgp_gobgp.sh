#!/bin/bash
# e2e.bgp_gobgp (issue 9; NOT registered yet): as bgp_bird.sh with a GoBGP
# route reflector (attribute 23 passed with flags unchanged, 0xC0), plus the
# scale case of the issue: 100 k rules injected into the reflector (an MRT
# TABLE_DUMP_V2 file through `gobgp mrt inject global`, next hop pe3's core
# address, Pref6(pe3)) reach pe1, which installs and uses them; the time to
# converge is printed. BGP_SCALE_N overrides 100000.
# Measured without edge46 (ExaBGP receiving, e2e harness, 2 vCPUs shared):
# GoBGP takes 100 k from MRT in ~7 s and a receiving ExaBGP has them all
# after ~22 s; edge46 should be well under that. Register it with TIMEOUT
# 180 (the default 60 s is tight for the whole scenario plus 100 k).
. "$(dirname "$0")/lib_bgp.sh"
scale_case() {
  local n=${BGP_SCALE_N:-100000} t0 el want
  e2e_log "scale: $n rules through GoBGP"
  bgp_gen_mrt "$E2E_DIR/scale.mrt" "$n" "$PE3_CORE6" 23
  # What reached pe1's MR-DB (source bgp), counted from the start of the
  # injection; the injection runs meanwhile (GoBGP passes routes on as it
  # takes them), so the figure is the whole path: MRT file -> GoBGP ->
  # pe1's speaker -> RIB -> MR-DB.
  local base inj
  base=$(pe_ctl pe1 --json mrdb stats | json_field per_source bgp)
  pe1_bgp_rules() { echo $(($(pe_ctl pe1 --json mrdb stats | json_field per_source bgp) - base)); }
  t0=$(date +%s.%N)
  bgp_gobgp rr mrt inject global "$E2E_DIR/scale.mrt" 2>>"$E2E_DIR/inject.log" &
  inj=$!
  el=$(bgp_wait_count 150 "$n" pe1_bgp_rules) || e2e_fail "pe1 did not install $n rules: $(pe1_bgp_rules)"
  wait "$inj" || e2e_fail "gobgp mrt inject"
  echo "CONVERGED: $n rules from GoBGP in pe1's MR-DB $el s after the injection began (RSS of pe1's edge46d: $(ps -o rss= -p "${BGP_PE_PID[pe1]}") KiB)"
  # Used: an address in the last injected /24 maps to Pref6(pe3) + it.
  local last
  last=$(python3 -c "import ipaddress as a; print(a.IPv4Address(int(a.IPv4Address('16.0.0.0')) + (($n - 1) << 8) + 1))")
  want=$(python3 -c "import ipaddress as a, sys; n = a.IPv6Network(sys.argv[1]); print(a.IPv6Address(int(n.network_address) | int(a.IPv4Address(sys.argv[2]))))" "$PE3_PREF6" "$last")
  pe_ctl pe1 rule lookup "$last" | grep -q "^IPv6 destination: *$want$" ||
    e2e_fail "pe1: rule lookup $last: $(pe_ctl pe1 rule lookup "$last")"
  # And used: h1 -> that address is encapsulated by pe1 towards pe3 and
  # decapsulated there (pe3 has no route onwards: the ping itself fails).
  local d0
  d0=$(pe_ctl pe3 --json stats | json_field counters decapsulated)
  nx h1 ping -c 3 -i 0.2 -W 1 "$last" >/dev/null 2>&1
  [ "$(pe_ctl pe3 --json stats | json_field counters decapsulated)" -ge $((d0 + 3)) ] ||
    e2e_fail "h1 -> $last did not reach pe3 through pe1's BGP-learned rule"
  # Removed again so the rest of the scenario sees a small table.
  bgp_gobgp rr global rib -a ipv4 del all || e2e_fail "gobgp global rib del all"
}
# shellcheck disable=SC2034 # read by bgp_pe_scenario
BGP_SCENARIO_HOOK=scale_case
bgp_pe_scenario gobgp
