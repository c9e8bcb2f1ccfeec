#!/bin/bash
# edge46 demo: edge46d as the PEs of a multi-domain IPv6-only underlay
# (draft-ietf-v6ops-framework-md-ipv6only-underlay, Figures 1 and 2). IPv4-only
# hosts in two domains talk across a core whose P routers have no IPv4 at all.
#
#              domain A                                domain B
#   h1 192.0.2.2 --- pe1 --+                  +-- pe3 --- h3 198.51.100.2
#                          p1 -------------- p2
#   h2 192.0.2.66 -- pe2 --+   IPv6 only      +-- ped --- hd 203.0.113.2
#                                                 (reached by the default rule only)
#
# Each PE owns a Pref6 (pe1 2001:db8:1:46::/96, pe2 ...:2:46::/96, pe3
# ...:3:46::/96, ped ...:d:46::/96) and an IPv4 block. No PE is told another's
# rules: each advertises "its block -> its Pref6" (ped also 0.0.0.0/0 ->
# Pref6(ped), the default rule) over MP-BGP to the others, its embedded
# speaker in a full iBGP mesh across the core (draft-ietf-idr-mpbgp-extension-4map6
# encoding, docs/bgp-4map6.md), and installs what it learns. A packet from h1
# to h3 crosses the core as Pref6(pe1)+192.0.2.2 > Pref6(pe3)+198.51.100.2:
# RFC 2473 4in6 in encapsulate mode, RFC 7915 translation in translate mode.
# The demo runs both modes (restarting the PEs in between), and prints per mode
# the traffic, the rules pe1 used, the counters of pe1 and pe3 and what the
# core links carried. The topology is the e2e tests' (tests/e2e/lib_pe.sh).
#
# Usage: sudo scripts/demo_pe.sh [build-dir]   (builds edge46d/edge46ctl if needed)
# Needs root (network namespaces, TUN), tcpdump, socat and python3.
# Everything it creates is removed on exit.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${EDGE46_BUILD:-$ROOT/build}}
export EDGE46D=${EDGE46D:-$BUILD/src/daemon/edge46d}
export EDGE46CTL=${EDGE46CTL:-$BUILD/src/cli/edge46ctl}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
if [ "$(id -u)" != 0 ]; then
  echo "demo_pe.sh: needs root (it creates network namespaces and TUN devices); try: sudo $0" >&2
  exit 1
fi
for t in tcpdump socat python3 ping sha256sum; do
  command -v "$t" >/dev/null || {
    echo "demo_pe.sh: needs $t (apt-get install tcpdump socat python3 iputils-ping)" >&2
    exit 1
  }
done
if [ ! -x "$EDGE46D" ] || [ ! -x "$EDGE46CTL" ]; then
  say "building edge46d and edge46ctl in $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    cmake --build "$BUILD" -j"$(nproc)" --target edge46d edge46ctl || exit 1
fi

. "$ROOT/tests/e2e/lib_pe.sh"
pe_init demo_pe "e46pe$$"
export PE_RULES=bgp  # every rule learned over BGP (lib_pe.sh pe_bgp_toml)
started=$(date +%s.%N)

# v6 <pref6/96> <ipv4>: Pref6 + IPv4 as the core writes it (Python's ipaddress).
v6() { python3 -c "import ipaddress as a, sys; n = a.IPv6Network(sys.argv[1]); print(a.IPv6Address(int(n.network_address) | int(a.IPv4Address(sys.argv[2]))))" "$1" "$2"; }
A1=$(v6 "$PE1_PREF6" "$H1_ADDR") A3=$(v6 "$PE3_PREF6" "$H3_ADDR")

say "building Figure 1/2 in network namespaces $E2E_ID-*"
sed -n '6,10p' "$0" | sed 's/^# \{0,1\}//'
pe_topology_up || e2e_fail "topology"
echo "P routers p1, p2: IPv6 only (no IPv4 address, IPv4 forwarding off); hosts: IPv4 only"

# The PEs of one mode: started by pe_start_edge46 (E2E_PIDS), stopped here.
PE_PIDS_FROM=${#E2E_PIDS[@]}
stop_pes() {
  local p
  for p in "${E2E_PIDS[@]:$PE_PIDS_FROM}"; do kill "$p" 2>/dev/null; done
  for p in "${E2E_PIDS[@]:$PE_PIDS_FROM}"; do wait "$p" 2>/dev/null; done
  E2E_PIDS=("${E2E_PIDS[@]:0:$PE_PIDS_FROM}")
}

# ping_row <from> <to> <what>
ping_row() {
  local out
  out=$(nx "$1" ping -c 3 -i 0.2 -W 2 "$2" 2>&1) || {
    echo "$out"
    e2e_fail "ping $1 -> $2"
  }
  printf '  ping %s -> %-14s %-24s %s\n' "$1" "$2" "$3" "$(grep -oE '[0-9]+ received, [0-9.]+% packet loss' <<<"$out")"
}

# path_rows: per core link on the path h1 -> h3, the packets
# Pref6(pe1)+h1 > Pref6(pe3)+h3 it carried.
path_rows() {
  local link f n
  for link in "pe1-p1:$E2E_DIR/l1.pcap" "p1-p2:$E2E_DIR/l2.pcap" "p2-pe3:$E2E_DIR/l3.pcap"; do
    f=${link#*:}
    n=$(pe_pcap_flows "$f" | awk -v s="$A1" -v d="$A3" '$2 == "ipv6" && $4 == s && $6 == d { n += $1 } END { print n + 0 }')
    printf '  %-7s %4s packets %s > %s\n' "${link%%:*}" "$n" "$A1" "$A3"
  done
}

# notes: the counters above that need a word.
notes() {
  local c
  c=$(pe_ctl pe1 --json stats) || return 0
  if [ "$(json_field counters drop.frag_needed <<<"$c")" != 0 ]; then
    echo "  pe1 drop.frag_needed: h1's first full-size TCP segments (1500 bytes) did not fit the tunnel"
    echo "    (1500 - 40): pe1 answered ICMPv4 Fragmentation Needed and TCP lowered its segment size."
  fi
  if [ "$(json_field counters drop.not_own_pref6 <<<"$c")" != 0 ]; then
    echo "  drop.not_own_pref6: link-local IPv6 packets the PE's own kernel sends"
    echo "    into the TUN when it comes up (before any traffic), addressed to no Pref6."
  fi
}

run_mode() {
  local mode=$1 what=$2 want peer
  say "mode $mode: $what"
  pe_start_edge46 "$mode" || e2e_fail "PEs did not start"
  echo "edge46d (role pe) runs in pe1, pe2, pe3 and ped, each on TUN pe0"
  local t0 pe
  t0=$(date +%s.%N)
  for pe in $PE_NODES; do
    # Three blocks of the others, plus ped's default rule on the rest.
    pe_bgp_wait "$pe" "$([ "$pe" = ped ] && echo 3 || echo 4)" 30 || e2e_fail "$pe did not learn the rules over BGP"
  done
  echo "every PE learned the others' rules over BGP in $(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s; pe1's sessions and routes (edge46ctl bgp summary, bgp routes):"
  pe_ctl pe1 bgp summary | sed 's/^/    /'
  pe_ctl pe1 bgp routes | sed 's/^/    /'
  echo
  if [ "$mode" = encapsulate ]; then
    echo "pe1's configuration (the others differ only in their own Pref6 and block):"
    sed 's/^/    /' "$E2E_DIR/pe1.toml"
  else
    echo "the same configurations with accept = prefer = modes = \"$mode\""
  fi
  pe_capture_start p1 pe1 "$E2E_DIR/l1.pcap"
  pe_capture_start p1 p2 "$E2E_DIR/l2.pcap"
  pe_capture_start p2 pe3 "$E2E_DIR/l3.pcap"

  echo
  echo "traffic (the hosts' own IPv4 stacks):"
  ping_row h1 "$H3_ADDR" "(domain A -> B)"
  ping_row h3 "$H1_ADDR" "(domain B -> A)"
  ping_row h1 "$H2_ADDR" "(within domain A)"
  ping_row h1 "$HD_ADDR" "(the default rule)"
  head -c 1M /dev/urandom >"$E2E_DIR/data"
  want=$(sha256sum <"$E2E_DIR/data" | cut -c1-16)
  nx h3 timeout 20 socat -u TCP4-LISTEN:5001,reuseaddr \
    SYSTEM:"echo \$SOCAT_PEERADDR >'$E2E_DIR/peer'; cat >'$E2E_DIR/got'" &
  local rx=$!
  sleep 0.3
  nx h1 timeout 20 socat -u OPEN:"$E2E_DIR/data" TCP4:"$H3_ADDR":5001,retry=20,interval=0.1 ||
    e2e_fail "TCP h1 -> h3"
  wait "$rx" || e2e_fail "TCP receiver on h3"
  [ "$(sha256sum <"$E2E_DIR/got" | cut -c1-16)" = "$want" ] || e2e_fail "TCP h1 -> h3: content differs"
  peer=$(cat "$E2E_DIR/peer")
  echo "  TCP  h1 -> $H3_ADDR   1 MiB, sha256 $want... equal; h3 saw the connection come from $peer (h1's own address)"
  sleep 0.2
  pe_capture_stop

  echo
  echo "the path h1 -> pe1 -> p1 -> p2 -> pe3 -> h3 (captures on the three core links):"
  path_rows

  echo
  echo "the rules pe1 used (edge46ctl rule lookup <dst> --from $H1_ADDR):"
  pe_ctl pe1 rule lookup "$H3_ADDR" --from "$H1_ADDR" | sed 's/^/    /'
  echo
  pe_ctl pe1 rule lookup "$HD_ADDR" --from "$H1_ADDR" | sed 's/^/    /'

  echo
  echo "counters of pe1 (ingress for h1's packets) and pe3 (their egress), edge46ctl stats --nonzero:"
  for pe in pe1 pe3; do
    echo "  $pe:"
    pe_ctl "$pe" stats --nonzero | sed 's/^/    /'
  done

  notes

  echo
  echo "what the p1-p2 link carried (one line per header tuple; ND and other native IPv6 left out):"
  pe_pcap_flows "$E2E_DIR/l2.pcap" | grep -F ":46::" | sed 's/^/    /'
  echo "  Every packet is IPv6 and reads Pref6(ingress PE)+IPv4 source > Pref6(egress PE)+IPv4 destination:"
  echo "  $A1 is pe1's Pref6 $PE1_PREF6 with h1's $H1_ADDR in its last 32 bits (c000:202 = 192.0.2.2)."
  case $mode in
    encapsulate) echo "  nh=4: RFC 2473 4in6, the IPv4 packet travels whole inside (inner addresses shown)." ;;
    translate) echo "  nh=1/6/58: RFC 7915, the IPv4 header was replaced (ICMP becomes ICMPv6, nh=58)." ;;
  esac
  printf '  framework check (tests/e2e/lib_pe.sh pe_pcap_check): '
  pe_pcap_check "$E2E_DIR/l2.pcap" || e2e_fail "the core link broke the framework's rules"
  stop_pes
}

run_mode encapsulate "RFC 2473 4in6 (Next Header 4) between the PEs"
run_mode translate "RFC 7915 translation between the PEs"

say "done in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s; cleaning up"
echo "more: tests/e2e/pe_modes.sh (fragments, UDP, path MTU), tests/e2e/pe_control.sh (edge46ctl rule add/change, forged packets),"
echo "      tests/e2e/pe_bgp_mesh.sh (withdrawal, stale rules, restart), tests/e2e/bgp_*.sh (BIRD, GoBGP, FRR reflectors, a hostile ExaBGP peer)"
