#!/bin/bash
# bench/bgp.sh: the rule exchange at scale (issue 9; by hand, as root, not in
# CI). With -e, edge46d is every PE of Figure 1 (tests/e2e/lib_bgp.sh:
# bgp_pe_start_one, [bgp] to a GoBGP route reflector in node rr):
#   1. N rules (default 1 M /24s from 16.0.0.0, Pref6(pe3), next hop pe3's
#      core address) injected into the reflector with `gobgp mrt inject
#      global` (an MRT TABLE_DUMP_V2 file from bgp_gen_mrt), pe1 learning them
#      from it as the injection runs: the time from the start of the
#      injection until GoBGP's RIB holds them, and until pe1's MR-DB holds
#      them (`edge46ctl --json mrdb stats`, per_source.bgp); pe1's edge46d
#      RSS (/proc/PID/status VmRSS) and the MR-DB's memory_bytes before and
#      after.
#   2. 64-byte UDP packets/s h1 -> h3 through pe1 and pe3 (bench/pe.sh's
#      traffic: bench/udpflood.cpp, 8 flows, counted at h3), with the N rules
#      in place: quiet, and while the table churns, REPS times each,
#      alternating. The churn is originated by pe3's own speaker: pe3 runs
#      with [pe.kernel-routes] (protocols = ["static"], include-connected =
#      false), and a loop adds and deletes static /24s in 64.0.0.0/8 (not h3's
#      block, so the traffic's own rule stays put; pe1 routes it into its TUN)
#      with `ip -batch`, B route changes per batch (half adds, half deletes;
#      every route lives 10 batches), paced towards R changes/s (default
#      10 k/s). Each change goes pe3 -> reflector -> pe1 as one route update;
#      the rate that reaches pe1 is the change of its rr peer's RIB counters
#      announced + withdrawn (`edge46ctl --json bgp neighbors`) over the
#      traffic interval, printed beside the rate the loop issued.
# Without -e a stand-in (ExaBGP as pe1) measures the reflector side only, so
# the figures of the harness itself are known; its churn re-injects K routes
# alternately with two Pref6s through `gobgp mrt inject` (~4.5-7 k updates/s
# at most).
#
# Usage: sudo bench/bgp.sh [-n RULES] [-r RATE] [-B BATCH] [-t SECONDS] [-R REPS] [-b BUILD_DIR] [-e]
#                          [-k CHURN_ROUTES] [-i INJECTOR]
#   -e  edge46 PEs (edge46d with [bgp]); default: ExaBGP stand-in.
#   -t  seconds of each traffic run (default 10); -R runs of each kind (3).
#   -i  stand-in only: mrt (default), or exabgp[:P] (ExaBGP in node pe3
#       announcing through its API, P NLRI per "announce attributes ... nlri"
#       line, default 1 = "announce route" per prefix).
# Build (Release, as bench/pe.sh):
#   cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGE46_BENCH=ON
#   cmake --build build-rel -j2 --target edge46d edge46ctl
#   sudo bench/bgp.sh -e -b build-rel -n 100000
# Figures: docs/performance.md, "BGP rule exchange (issue 9)".
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=1000000 K=20000 RATE=10000 BATCH=1000 DUR=10 REPS=3 BUILD="$ROOT/build" EDGE=0 INJ=mrt
while getopts "n:k:r:B:t:R:b:ei:" o; do
  case $o in
    n) N=$OPTARG ;; k) K=$OPTARG ;; r) RATE=$OPTARG ;; B) BATCH=$OPTARG ;; t) DUR=$OPTARG ;; R) REPS=$OPTARG ;;
    b) BUILD=$OPTARG ;; e) EDGE=1 ;; i) INJ=$OPTARG ;;
    *) echo "usage: $0 [-n rules] [-r rate] [-B batch] [-t seconds] [-R reps] [-b build-dir] [-e] [-k churn-routes] [-i mrt|exabgp[:per-line]]" >&2; exit 2 ;;
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
echo "# bench/bgp.sh: N=$N edge46=$EDGE kernel=$(uname -r) cpus=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$EDGE" = 0 ]; then
  # Stand-in: ExaBGP as pe1 (its NLRI count), nothing in the data path.
  bgp_start_exabgp pe1 10.0.0.1 65000 "$PE1_CORE6" "" "$BGP_RR6"
  bgp_wait_exabgp pe1 "$BGP_RR6" 60
  rules_pe1() { bgp_exabgp_nlri_count pe1; }
  echo "== 1. $N rules through GoBGP ($INJ)"
  if [ "${INJ%%:*}" = exabgp ]; then
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
  echo "== 2. churn: $K routes flipping between two Pref6s, aiming at $RATE updates/s"
  BGP_GEN_BASE=16.0.0.0 BGP_GEN_PREF6=2001:db8:3:47::/96 bgp_gen_mrt "$E2E_DIR/flipB.mrt" "$K" "$PE3_CORE6" 23 0
  BGP_GEN_BASE=16.0.0.0 BGP_GEN_PREF6=2001:db8:3:46::/96 bgp_gen_mrt "$E2E_DIR/flipA.mrt" "$K" "$PE3_CORE6" 23 0
  t0=$(date +%s.%N) end=$(python3 -c "print($(date +%s.%N) + $DUR)") n=0 f=B
  while python3 -c "import sys,time; sys.exit(0 if time.time() < $end else 1)"; do
    one=$(date +%s.%N)
    bgp_gobgp rr mrt inject global "$E2E_DIR/flip$f.mrt" 2>/dev/null
    n=$((n + K))
    [ $f = A ] && f=B || f=A
    python3 -c "import time; d = $K / $RATE - (time.time() - $one); time.sleep(d if d > 0 else 0)"
  done
  echo "churn alone (stand-in, no traffic): $(python3 -c "print('%.0f' % ($n / ($(date +%s.%N) - $t0)))") updates/s into GoBGP"
  exit 0
fi

# --- edge46 PEs ----------------------------------------------------------------
FLOOD=$(mktemp /tmp/udpflood.XXXX)
g++ -O2 -std=c++20 -o "$FLOOD" "$ROOT/bench/udpflood.cpp" || exit 1
trap 'pe_cleanup; rm -f "$FLOOD"' EXIT
# Every PE with BGP, its block from [pe] ipv4 as usual; pe3 also originates
# the static kernel routes of the churn.
for p in $PE_NODES; do bgp_pe_write_config "$p" encapsulate tunnel-encap; done
printf '\n[pe.kernel-routes]\nprotocols = ["static"]\ninclude-connected = false\n' >>"$E2E_DIR/pe3.toml"
for p in $PE_NODES; do bgp_pe_start_one "$p"; done
for p in "${PEERS[@]}"; do bgp_wait_gobgp rr "$p" 60; done
bgp_pe_wait_rule pe1 "$H3_ADDR" "$PE3_BLOCK4 -> $PE3_PREF6 .*source bgp"
nx h1 ping -c 2 -i 0.2 -W 2 "$H3_ADDR" >/dev/null || { echo "no connectivity h1 -> h3" >&2; exit 1; }
PID1=${BGP_PE_PID[pe1]}
mrdb() { pe_ctl pe1 --json mrdb stats | json_field "$@"; }
BASE=$(mrdb per_source bgp)
BASE_RR=$(bgp_gobgp_rib_count rr)
rules_pe1() { echo $(($(mrdb per_source bgp) - BASE)); }
rules_rr() { echo $(($(bgp_gobgp_rib_count rr) - BASE_RR)); }
RSS0=$(rss_kib "$PID1") MEM0=$(mrdb memory_bytes)

echo "== 1. $N rules injected into GoBGP (MRT), learned by pe1"
t=$(date +%s.%N)
bgp_gen_mrt "$E2E_DIR/all.mrt" "$N" "$PE3_CORE6" 23
echo "MRT file: $(($(stat -c %s "$E2E_DIR/all.mrt") / 1048576)) MiB in $(el "$t") s"
T0=$(date +%s.%N)
(
  t=$(date +%s.%N)
  bgp_gobgp rr mrt inject global "$E2E_DIR/all.mrt" 2>"$E2E_DIR/inject.err" || { cat "$E2E_DIR/inject.err" >&2; exit 1; }
  el "$t" >"$E2E_DIR/inject.returned"
) &
INJ_PID=$!
# GoBGP's own time: polled beside pe1 (the injection and pe1 run meanwhile).
(bgp_wait_count 1800 "$N" rules_rr >/dev/null && el "$T0" >"$E2E_DIR/rr.time") &
RR_POLL=$!
T_PE1=$(bgp_wait_count 1800 "$N" rules_pe1) || { echo "pe1 did not reach $N rules: $(rules_pe1)" >&2; exit 1; }
wait "$INJ_PID" || { echo "gobgp mrt inject failed" >&2; exit 1; }
wait "$RR_POLL"
T_RR=$(cat "$E2E_DIR/rr.time" 2>/dev/null || echo "?")
T_INJ=$(cat "$E2E_DIR/inject.returned" 2>/dev/null || echo "?")
sleep 2  # let the speaker settle before the memory figures
RSS1=$(rss_kib "$PID1") MEM1=$(mrdb memory_bytes)
echo "CONVERGED pe1: $N rules $T_PE1 s after the start of the injection; GoBGP RIB: $T_RR s (inject returned after $T_INJ s)"
echo "pe1 edge46d VmRSS: $RSS0 KiB before, $RSS1 KiB with $N rules; MR-DB memory_bytes $MEM0 -> $MEM1"
# Used: the last injected /24 maps to Pref6(pe3) + the address.
last=$(python3 -c "import ipaddress as a; print(a.IPv4Address(int(a.IPv4Address('16.0.0.0')) + (($N - 1) << 8) + 1))")
pe_ctl pe1 rule lookup "$last" | grep -q "source bgp" || echo "WARNING: pe1 has no bgp rule for $last" >&2

echo "== 2. 64-byte UDP h1 -> h3 through pe1: quiet vs pe3 churning $RATE route changes/s"
# The churn: sets of BATCH/2 /24s in 64.0.0.0/8; batch j adds set (j+10) mod
# 20 and deletes set j mod 20 (so a route lives 10 batches, ~1 s at the
# defaults: no add is undone before pe3 has sent it). Files written once.
python3 - "$E2E_DIR" "$BATCH" <<'PY'
import sys
d, batch = sys.argv[1], int(sys.argv[2])
half = batch // 2
def route(s, r):
    v = (64 << 24) + ((s * half + r) << 8)
    return "%d.%d.%d.0/24" % (v >> 24, (v >> 16) & 255, (v >> 8) & 255)
with open(f"{d}/churn-fill.batch", "w") as f:
    for s in range(10):
        for r in range(half):
            f.write(f"route add {route(s, r)} dev lan proto static\n")
for j in range(20):
    with open(f"{d}/churn-{j}.batch", "w") as f:
        for r in range(half):
            f.write(f"route add {route((j + 10) % 20, r)} dev lan proto static\n")
            f.write(f"route del {route(j, r)} dev lan proto static\n")
PY
ip -n "$(ns pe3)" -force -batch "$E2E_DIR/churn-fill.batch"
bgp_wait_count 60 $((N + 10 * (BATCH / 2))) rules_pe1 >/dev/null || echo "WARNING: pe1 did not get the churn's first routes" >&2
# churn_loop <seconds>: the loop in pe3's namespace, paced to RATE; writes
# "changes seconds" to $E2E_DIR/churn.out.
churn_loop() {
  python3 - "$(ns pe3)" "$E2E_DIR" "$BATCH" "$RATE" "$1" >"$E2E_DIR/churn.out" <<'PY'
import subprocess, sys, time
ns, d, batch, rate, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
t0 = time.time(); j = 0; n = 0
while time.time() - t0 < secs:
    subprocess.run(["ip", "-n", ns, "-force", "-batch", f"{d}/churn-{j % 20}.batch"], stderr=subprocess.DEVNULL)
    n += batch; j += 1
    delay = t0 + j * batch / rate - time.time()
    if delay > 0: time.sleep(delay)
print(n, time.time() - t0)
PY
}
# The 20 batches form a cycle: after 20 the sets are as after the fill.
changes_pe1() {
  pe_ctl pe1 --json bgp neighbors rr | python3 -c '
import json, sys
r = json.load(sys.stdin)["peers"][0]["rib"]
print(r["announced"] + r["withdrawn"])'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }  # user + system, all threads
udp_run() {  # prints "<rx packets> <seconds> <sent>"
  nx h3 "$FLOOD" recv 4 9000 $((DUR + 5)) >"$E2E_DIR/rx" &
  local rx=$!
  sleep 0.3
  local sent
  sent=$(nx h1 "$FLOOD" send "$H3_ADDR" 9000 "$DUR" 64)
  wait $rx
  echo "$(cat "$E2E_DIR/rx") $sent"
}
RES=$(mktemp /tmp/e46bgpbench.XXXX)
for rep in $(seq 1 "$REPS"); do
  for kind in quiet churn; do
    if [ $kind = churn ]; then
      churn_loop $((DUR + 4)) &
      CH=$!
      sleep 2  # ramp: pe3 -> rr -> pe1 in steady state
    fi
    c0=$(changes_pe1) t0=$(date +%s.%N) k0=$(cpu_ticks "$PID1")
    u=$(udp_run)
    c1=$(changes_pe1) t1=$(date +%s.%N) k1=$(cpu_ticks "$PID1")
    if [ $kind = churn ]; then
      wait "$CH"
      issued=$(awk '{ printf "%.0f", $1 / $2 }' "$E2E_DIR/churn.out")
    else
      issued=0
    fi
    line="$kind $rep $u $(python3 -c "print('%.0f %.2f' % (($c1 - $c0) / ($t1 - $t0), ($k1 - $k0) / $(getconf CLK_TCK) / ($t1 - $t0)))") $issued"
    echo "$line" | tee -a "$RES"
    # The next run starts quiet: until pe1's counters stop moving (the
    # backlog of pe3 -> rr -> pe1 drained), at most 120 s.
    settle_t0=$(date +%s.%N) prev=-1 now=$(changes_pe1)
    while [ "$now" != "$prev" ] && [ "$(el "$settle_t0" | cut -d. -f1)" -lt 120 ]; do
      prev=$now
      sleep 2
      now=$(changes_pe1)
    done
    [ $kind = churn ] && echo "  pe1 quiet again $(el "$settle_t0") s after the traffic run (backlog drained)"
  done
done
RSS2=$(rss_kib "$PID1")
kill -0 "$PID1" || echo "WARNING: pe1's edge46d is gone" >&2

python3 - "$RES" "$N" "$RATE" "$T_PE1" "$T_RR" "$T_INJ" "$RSS0" "$RSS1" "$RSS2" "$MEM0" "$MEM1" "$DUR" <<'PY'
import statistics, sys
res, n, rate, t_pe1, t_rr, t_inj, rss0, rss1, rss2, mem0, mem1, dur = sys.argv[1:]
rows = [l.split() for l in open(res) if l.strip()]
def col(kind, i, f=float): return [f(r[i]) for r in rows if r[0] == kind]
def fmt(v, scale=1, prec=0):
    return "-" if not v else f"{statistics.median(v)*scale:.{prec}f} ({min(v)*scale:.{prec}f}-{max(v)*scale:.{prec}f})"
pps = {k: [int(r[2]) / float(r[3]) for r in rows if r[0] == k] for k in ("quiet", "churn")}
sent = {k: [int(r[4]) / float(dur) for r in rows if r[0] == k] for k in ("quiet", "churn")}
print()
print(f"| N rules | pe1 MR-DB has all (s from the start of the injection) | GoBGP RIB has all (s) | gobgp mrt inject returned (s) | pe1 VmRSS before -> after (MiB) | MR-DB memory_bytes before -> after (MiB) |")
print("|---|---|---|---|---|---|")
print(f"| {int(n):,} | {t_pe1} | {t_rr} | {t_inj} | {int(rss0)/1024:.1f} -> {int(rss1)/1024:.1f} | {int(mem0)/2**20:.1f} -> {int(mem1)/2**20:.1f} |")
print()
deliv = {k: [int(r[2]) / int(r[4]) for r in rows if r[0] == k] for k in ("quiet", "churn")}
print(f"| table ({int(n):,} rules) | 64-byte UDP rx kpps h1 -> h3, median (min-max) | sent kpps | received / sent | pe1 edge46d CPU (cores) | route changes/s reaching pe1 | changes/s issued on pe3 (target {int(rate):,}) |")
print("|---|---|---|---|---|---|---|")
for k in ("quiet", "churn"):
    print(f"| {k} | {fmt(pps[k], 1e-3, 1)} | {fmt(sent[k], 1e-3, 0)} | {fmt(deliv[k], 100, 0)} % | {fmt(col(k, 6), 1, 2)} | {fmt(col(k, 5))} | {fmt(col(k, 7)) if k == 'churn' else '-'} |")
if pps["quiet"] and pps["churn"]:
    q, c = statistics.median(pps["quiet"]), statistics.median(pps["churn"])
    print(f"\nchurn vs quiet (medians): {100 * (c - q) / q:+.1f} %; pe1 VmRSS after the churn: {int(rss2)/1024:.1f} MiB")
PY
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg); raw rows (kind rep rx secs sent pe1-changes/s pe1-cpu issued/s): $RES"
