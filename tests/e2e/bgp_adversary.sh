#!/bin/bash
# e2e.bgp_adversary (issue 9): an ExaBGP adversary (AS 65099, node "adv" on its own
# link to p1) is an eBGP peer of pe1 and sends, each in its own UPDATE
# (bgp_exabgp_adversary, whose bytes e2e.bgp_reflectors checks on the wire):
#   valid     198.18.0.0/24 -> 2001:db8:a::/48         accepted (NotFound)
#   sublen    198.18.1.0/24, sub-TLV longer than TLV    malformed: treat-as-withdraw
#   plen129   198.18.2.0/24, Pref6 length 129 (attr 23) malformed
#   plen129a  198.18.3.0/24, the same in attribute 255  malformed
#   unauth    198.51.100.0/24 -> 2001:db8:bad::/48      Invalid (the authorization
#             file allows only Pref6(pe3) for it): rejected
#   default   0.0.0.0/0 flag D over eBGP                refused (no accept-default)
#   extra     198.19.0-2.0/24, over max-prefix = 2      refused (action "refuse")
# Each is rejected and counted by reason (`edge46ctl bgp neighbors adv`:
# rib.rejected.<reason>), nothing of
# it reaches pe1's MR-DB, and the session stays up throughout (RFC 7606:
# treat-as-withdraw, never a reset, for a malformed attribute; max-prefix
# action "refuse" keeps the session).
. "$(dirname "$0")/lib_bgp.sh"
bgp_require exabgp python3
e2e_require_root
pe_init bgp_adversary
pe_topology_up
bgp_pe_rr_node adv  # the adversary sits at $BGP_RR6

# The rule authorization file (docs/configuration.md): only Pref6(pe3) may
# carry pe3's block.
cat >"$E2E_DIR/auth.txt" <<EOF
# IPV4-PREFIX [maxlen N] PREF6 [as ASN]
$PE3_BLOCK4 maxlen 24 $PE3_PREF6
EOF
for p in $PE_NODES; do
  bgp_pe_write_config "$p" encapsulate tunnel-encap "" ""
done
# pe1: the adversary instead of a reflector; listen for it (passive).
python3 - "$E2E_DIR/pe1.toml" "$BGP_RR6" "$E2E_DIR/auth.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
t = t[:t.index("\n[[bgp.peer]]")]
t = t.replace("listen = false", 'listen = true\nreject-invalid = true\nauthorization-file = "%s"' % sys.argv[3])
t += '''
[[bgp.peer]]
name = "adv"
address = "%s"
asn = 65099
passive = true
shape = "tunnel-encap"
inside-domain = false
accept-default = false
max-prefix = 2
max-prefix-action = "refuse"
''' % sys.argv[2]
open(sys.argv[1], "w").write(t)
PY
bgp_pe_start_one pe1

bgp_exabgp_adversary "$E2E_DIR/adv.routes" "$BGP_RR6" 3 | tee "$E2E_DIR/adv.list"
bgp_start_exabgp adv 10.0.0.99 65099 "$BGP_RR6" "$E2E_DIR/adv.routes" "$PE1_CORE6,65000"
bgp_wait_exabgp adv "$PE1_CORE6"
sleep 3  # the whole file is a dozen UPDATEs

e2e_log "pe1's view of the adversary"
pe_ctl pe1 bgp neighbors adv | tee "$E2E_DIR/neigh"
grep -q "Established" "$E2E_DIR/neigh" || e2e_fail "the session with the adversary is not Established"
! grep -q '"state": "down"' "$E2E_DIR/exabgp-adv.json" || e2e_fail "the session went down: $(grep '"state": "down"' "$E2E_DIR/exabgp-adv.json")"
pe_ctl pe1 bgp routes received --peer adv | tee "$E2E_DIR/received"
pe_ctl pe1 --json bgp neighbors adv | python3 -c '
import json, sys
for k, v in sorted(json.load(sys.stdin)["peers"][0]["rib"]["rejected"].items()):
    print(k, v)' | tee "$E2E_DIR/counters"

# count <reason>: rejections of that reason (edge46ctl bgp neighbors).
count() { awk -v r="$1" '$1 == r { print $2 }' "$E2E_DIR/counters"; }
[ "$(count malformed)" -ge 3 ] || e2e_fail "malformed: want >= 3 counted (sublen, plen129, plen129a)"
[ "$(count invalid)" -ge 1 ] || e2e_fail "unauthorized Pref6 not counted"
[ "$(count default-policy)" -ge 1 ] || e2e_fail "default rule over eBGP not counted"
[ "$(count max-prefix)" -ge 1 ] || e2e_fail "max-prefix refusals not counted"
pe_ctl pe1 stats --prometheus | grep -q '^edge46_bgp_rejected_total{peer="adv",reason="malformed"} [1-9]' ||
  e2e_fail "no Prometheus series for the malformed rules"

e2e_log "nothing bad in the MR-DB"
bgp_pe_rule_is pe1 198.18.0.1 "198.18.0.0/24 -> 2001:db8:a::/48 .*source bgp" ||
  e2e_fail "the valid route was not installed: $(pe_ctl pe1 rule lookup 198.18.0.1)"
for a in 198.18.1.1 198.18.2.1 198.18.3.1; do
  ! bgp_pe_rule_is pe1 "$a" "198.18.[123].0/24" || e2e_fail "a malformed rule for $a was installed"
done
[ "$(bgp_pe_route_json pe1 received "$PE3_BLOCK4" validity --peer adv)" = invalid ] ||
  e2e_fail "198.51.100.0/24 from adv is not Invalid"
! bgp_pe_rule_is pe1 "$H3_ADDR" ".*2001:db8:bad::" || e2e_fail "the unauthorized Pref6 is in use"
! bgp_pe_rule_is pe1 203.0.113.99 "0.0.0.0/0 -> 2001:db8:a::" || e2e_fail "the eBGP default rule is in use"
n=$(pe_ctl pe1 --json mrdb stats | json_field per_source bgp)
[ "$n" -le 2 ] || e2e_fail "pe1 holds $n BGP rules from a peer with max-prefix 2"
e2e_log "still up after all of it:"
pe_ctl pe1 bgp summary
grep -q "Established" <(pe_ctl pe1 bgp neighbors adv) || e2e_fail "the session did not stay up"
echo "PASS (malformed, unauthorized, default over eBGP, over the limit: rejected and counted, session up)"
