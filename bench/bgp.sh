#!/bin/bash
# bench/bgp.sh: the rule exchange at scale (issue 9; by hand, as root, not in
# CI). SKELETON: the parts that need edge46d's [bgp] are marked TODO(edge46)
# and run only with -e; without it a stand-in (ExaBGP as pe1) measures the
# reflector side, so the figures of the harness itself are known.
#
#   1. N rules (default 1 M /24s from 16.0.0.0, Pref6(pe3), next hop pe3's
#      core address) injected into a GoBGP route reflector with
#      `gobgp mrt inject global` (an MRT TABLE_DUMP_V2 file from
#      bgp_gen_mrt): time until GoBGP holds them, time until pe1 holds them
#      (edge46: in its MR-DB, `mrdb stats`; stand-in: ExaBGP's NLRI count),
#      pe1's RSS (edge46d, /proc/PID/status VmRSS) before and after.
#   2. 64-byte UDP packets/s h1 -> h3 through pe1 (bench/pe.sh's traffic:
#      bench/udpflood.cpp, 8 flows), once with a quiet table and once while
#      the table churns: K routes re-announced alternately with two Pref6s
#      (each route flips = one update), by repeated `gobgp mrt inject`,
#      paced towards R updates/s (default 10 k/s); prints the churn rate
#      reached. TODO(edge46): the traffic part needs edge46 PEs with BGP.
#
# Usage: sudo bench/bgp.sh [-n RULES] [-k CHURN_ROUTES] [-r RATE] [-t SECONDS] [-b BUILD_DIR] [-e]
#   -e  edge46 PEs (needs edge46d with [bgp]); default: ExaBGP stand-in.
#   -i  injector: mrt (default; `gobgp mrt inject global`), or exabgp[:P]
#       (stand-in only: ExaBGP in node pe3 announcing through its API, P
#       NLRI per "announce attributes ... nlri" line, default 1 =
#       "announce route" per prefix).
# Figures measured with the stand-in on the development VM (2 vCPUs shared
# with other work), `sudo bench/bgp.sh -n 100000`: see the report in
# docs/performance.md once edge46 runs; GoBGP took 100 k from MRT in ~7 s.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=1000000 K=20000 RATE=10000 DUR=10 BUILD="$ROOT/build" EDGE=0 INJ=mrt
while getopts "n:k:r:t:b:ei:" o; do
  case $o in
    n) N=$OPTARG ;; k) K=$OPTARG ;; r) RATE=$OPTARG ;; t) DUR=$OPTARG ;; b) BUILD=$OPTARG ;; e) EDGE=1 ;;
    i) INJ=$OPTARG ;;
    *) echo "usage: $0 [-n rules] [-k churn-routes] [-r rate] [-t seconds] [-b build-dir] [-e] [-i mrt|exabgp[:per-line]]" >&2; exit 2 ;;
  esac
done
export EDGE46D=${EDGE46D:-$BUILD/src/daemon/edge46d} EDGE46CTL=${EDGE46CTL:-$BUILD/src/cli/edge46ctl}
. "$ROOT/tests/e2e/lib_bgp.sh"
[ "$(id -u)" = 0 ] || { echo "bench/bgp.sh: needs root" >&2; exit 1; }
bgp_require gobgpd gobgp exabgp python3 g++
el() { python3 -c "print('%.1f' % ($(date +%s.%N) - $1))"; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

pe_init bgpbench
pe_topology_up
bgp_pe_rr_node rr
mapfile -t PEERS < <(bgp_pe_peers)
bgp_start_gobgp_rr rr 10.0.0.100 65000 "${PEERS[@]}"

if [ "$EDGE" = 1 ]; then
  # TODO(edge46): PEs with BGP, rules only from BGP (lib_bgp.sh).
  bgp_pe_start encapsulate tunnel-encap || exit 1
  for p in "${PEERS[@]}"; do bgp_wait_gobgp rr "$p" 60; done
  rules_pe1() { pe_ctl pe1 --json mrdb stats | json_field per_source bgp; }
  RSS0=$(rss_kib "${BGP_PE_PID[pe1]}")
else
  # Stand-in: ExaBGP as pe1 (its NLRI count), nothing in the data path.
  bgp_start_exabgp pe1 10.0.0.1 65000 "$PE1_CORE6" "" "$BGP_RR6"
  bgp_wait_exabgp pe1 "$BGP_RR6" 60
  rules_pe1() { bgp_exabgp_nlri_count pe1; }
  RSS0=0
fi

echo "== 1. $N rules through GoBGP ($INJ)"
if [ "${INJ%%:*}" = exabgp ] && [ "$EDGE" = 0 ]; then
  per=1
  [ "$INJ" = exabgp ] || per=${INJ#exabgp:}
  bgp_gen_routes "$E2E_DIR/all.txt" "$N" "$PE3_CORE6" 23 "$per"
  bgp_exabgp_helpers
  BGP_EXABGP_FEEDER="/usr/bin/python3 $E2E_DIR/exabgp-feed.py $E2E_DIR/all.txt 0 $E2E_DIR/go" \
    bgp_start_exabgp pe3 10.0.0.3 65000 "$PE3_CORE6" "" "$BGP_RR6"
  bgp_wait_exabgp pe3 "$BGP_RR6" 60
  T0=$(date +%s.%N)
  touch "$E2E_DIR/go"
  TR=$(bgp_wait_count 1800 "$N" bgp_gobgp_rib_count rr) || exit 1
  echo "GoBGP RIB: $N after $TR s; $(grep -h '# fed' "$E2E_DIR"/exabgp-pe3.log)"
  bgp_wait_count 1800 "$N" rules_pe1 >/dev/null || exit 1
  echo "CONVERGED pe1: $N rules after $(el "$T0") s from the start of the feed"
  exit 0
fi
t=$(date +%s.%N)
bgp_gen_mrt "$E2E_DIR/all.mrt" "$N" "$PE3_CORE6" 23
echo "MRT file: $(($(stat -c %s "$E2E_DIR/all.mrt") / 1048576)) MiB in $(el "$t") s"
T0=$(date +%s.%N)
bgp_gobgp rr mrt inject global "$E2E_DIR/all.mrt" 2>"$E2E_DIR/inject.err" || { cat "$E2E_DIR/inject.err"; exit 1; }
echo "gobgp mrt inject returned after $(el "$T0") s"
TR=$(bgp_wait_count 1200 "$N" bgp_gobgp_rib_count rr) || exit 1
echo "GoBGP RIB: $N after $(el "$T0") s (polled: $TR s after the inject returned)"
bgp_wait_count 1800 "$N" rules_pe1 >/dev/null || exit 1
echo "CONVERGED pe1: $N rules after $(el "$T0") s from the start of the injection"
if [ "$EDGE" = 1 ]; then
  echo "edge46d pe1 RSS: $RSS0 KiB before, $(rss_kib "${BGP_PE_PID[pe1]}") KiB with $N rules"
fi

echo "== 2. churn: $K routes flipping between two Pref6s, aiming at $RATE updates/s"
BGP_GEN_BASE=16.0.0.0 BGP_GEN_PREF6=2001:db8:3:47::/96 bgp_gen_mrt "$E2E_DIR/flipB.mrt" "$K" "$PE3_CORE6" 23 0
BGP_GEN_BASE=16.0.0.0 BGP_GEN_PREF6=2001:db8:3:46::/96 bgp_gen_mrt "$E2E_DIR/flipA.mrt" "$K" "$PE3_CORE6" 23 0
# churn <seconds>: inject A, B, A, ... each taking at least K/RATE s; prints
# the updates/s reached (routes re-announced / elapsed).
churn() {
  local end t0 n=0 f=B one
  t0=$(date +%s.%N)
  end=$(python3 -c "print($(date +%s.%N) + $1)")
  while python3 -c "import sys,time; sys.exit(0 if time.time() < $end else 1)"; do
    one=$(date +%s.%N)
    bgp_gobgp rr mrt inject global "$E2E_DIR/flip$f.mrt" 2>/dev/null
    n=$((n + K))
    [ $f = A ] && f=B || f=A
    python3 -c "import time; d = $K / $RATE - (time.time() - $one); time.sleep(d if d > 0 else 0)"
  done
  python3 -c "print('%.0f' % ($n / ($(date +%s.%N) - $t0)))"
}

if [ "$EDGE" = 1 ]; then
  # TODO(edge46): traffic through the PEs, as bench/pe.sh measure() does.
  FLOOD=$(mktemp /tmp/udpflood.XXXX)
  g++ -O2 -std=c++20 -o "$FLOOD" "$ROOT/bench/udpflood.cpp" || exit 1
  udp_pps() {
    nx h3 "$FLOOD" recv 4 9000 $((DUR + 5)) >"$E2E_DIR/rx" &
    local rx=$!
    sleep 0.3
    nx h1 "$FLOOD" send "$H3_ADDR" 9000 "$DUR" 64 >/dev/null
    wait $rx
    awk '{ printf "%.0f\n", $1 / $2 }' "$E2E_DIR/rx"
  }
  # The churned routes are /24s in 16.0.0.0/8, not h3's block: the traffic
  # h1 -> h3 uses pe3's own rule while the MR-DB changes around it.
  Q=$(udp_pps)
  churn $((DUR + 3)) >"$E2E_DIR/churn.rate" &
  CH=$!
  sleep 1
  C=$(udp_pps)
  wait $CH
  echo "64-byte UDP h1 -> h3: quiet $Q pps, churning $C pps at $(cat "$E2E_DIR/churn.rate") updates/s" \
    "($(python3 -c "print('%+.1f%%' % (($C - $Q) * 100.0 / $Q))"))"
  rm -f "$FLOOD"
else
  echo "churn alone (stand-in, no traffic): $(churn "$DUR") updates/s into GoBGP"
fi
