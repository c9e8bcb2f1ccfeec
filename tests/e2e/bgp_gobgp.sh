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
  local n=${BGP_SCALE_N:-100000} t0 el
  e2e_log "scale: $n rules through GoBGP"
  bgp_gen_mrt "$E2E_DIR/scale.mrt" "$n" "$PE3_CORE6" 23
  # TODO(lead): the counter name of accepted prefixes per peer is TBD
  # (bgp.<peer>.*); mrdb stats per_source.bgp counts what reached the MR-DB.
  local base
  base=$(pe_ctl pe1 --json mrdb stats | json_field per_source bgp)
  t0=$(date +%s.%N)
  bgp_gobgp rr mrt inject global "$E2E_DIR/scale.mrt" 2>>"$E2E_DIR/inject.log" || e2e_fail "gobgp mrt inject"
  e2e_log "gobgp mrt inject returned after $(python3 -c "print('%.1f' % ($(date +%s.%N) - $t0))") s"
  [ "$(bgp_wait_count 60 "$n" bgp_gobgp_rib_count rr)" ] || e2e_fail "GoBGP did not take $n routes"
  pe1_bgp_rules() { echo $(($(pe_ctl pe1 --json mrdb stats | json_field per_source bgp) - base)); }
  el=$(bgp_wait_count 120 "$n" pe1_bgp_rules) || e2e_fail "pe1 did not install $n rules: $(pe1_bgp_rules)"
  echo "CONVERGED: $n rules from GoBGP in pe1's MR-DB after $el s (from the start of the injection)"
  # Used: an address in the last injected /24 maps to Pref6(pe3) + it.
  local last
  last=$(python3 -c "import ipaddress as a; print(a.IPv4Address(int(a.IPv4Address('16.0.0.0')) + (($n - 1) << 8) + 1))")
  pe_ctl pe1 rule lookup "$last" | grep -q "^IPv6 destination: *$(pe_embed "$PE3_PREF6" "$last")$" ||
    e2e_fail "pe1: rule lookup $last: $(pe_ctl pe1 rule lookup "$last")"
  # Removed again so the rest of the scenario sees a small table.
  bgp_gobgp rr global rib -a ipv4 del all || e2e_fail "gobgp global rib del all"
}
# shellcheck disable=SC2034 # read by bgp_pe_scenario
BGP_SCENARIO_HOOK=scale_case
bgp_pe_scenario gobgp
