#!/bin/bash
# e2e.bgp_bird (issue 9; NOT registered yet: the lead registers it once
# edge46d has [bgp]): edge46d as every PE of Figure 1, rules exchanged only
# over BGP through a BIRD 2 route reflector (extended next hop on, igp table
# master6): byte-for-byte attribute 23 (BIRD sets Partial), traffic with
# BGP-learned rules, withdrawal, stale rules on a dead PE, restart.
# The body: bgp_pe_scenario in lib_bgp.sh.
. "$(dirname "$0")/lib_bgp.sh"
bgp_pe_scenario bird
