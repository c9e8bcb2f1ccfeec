#!/bin/bash
# e2e.bgp_frr (issue 9; NOT registered yet): as bgp_bird.sh with FRR 8.4 as
# the route reflector and shape = "attribute" (standalone attribute 255): FRR
# drops attribute 23 from IPv4 unicast routes (measured by
# e2e.bgp_reflectors), passes 255 with Partial set.
. "$(dirname "$0")/lib_bgp.sh"
bgp_pe_scenario frr
