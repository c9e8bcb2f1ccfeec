#!/bin/bash
# bench/e2e.sh: end-to-end speed through real namespaces (run by hand, as
# root; not in CI). The h6 -- tr -- h4 topology of tests/e2e/lib.sh, with tr:
#   kernel     plain IPv6 forwarding, no translation (h4 also gets IPv6)
#   tayga      TAYGA from Debian (one thread, TUN without offloads)
#   edge46-1   edge46d, 1 worker (TUN offloads on: virtio-net header, TSO)
#   edge46-2   edge46d, 2 workers (multi-queue TUN)
#   edge46-1-nooff  edge46d, 1 worker, tun-offload = false (per-segment path)
# Measures, REPS times each, median/min/max:
#   udp64_pps  64-byte UDP payloads h6 -> h4, packets/s received (bench/udpflood.cpp:
#              sendmmsg/recvmmsg; iperf3's UDP sender is slower than the paths measured)
#   cpu_us_pp  CPU time of the translator process per received packet (tayga, edge46d)
#   tcp_gbps   TCP goodput h6 -> h4 (iperf3, one stream, hosts' offloads on)
#
# Usage: sudo bench/e2e.sh [-r REPS] [-t SECONDS] [-b BUILD_DIR] [-m "mode ..."]
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPS=3 DUR=5 BUILD="$ROOT/build" MODES="kernel tayga edge46-1 edge46-2 edge46-1-nooff"
while getopts "r:t:b:m:" o; do
  case $o in
    r) REPS=$OPTARG ;; t) DUR=$OPTARG ;; b) BUILD=$OPTARG ;; m) MODES=$OPTARG ;;
    *) echo "usage: $0 [-r reps] [-t seconds] [-b build-dir] [-m modes]" >&2; exit 2 ;;
  esac
done
export EDGE46D=${EDGE46D:-$BUILD/src/daemon/edge46d} EDGE46CTL=${EDGE46CTL:-$BUILD/src/cli/edge46ctl}
. "$ROOT/tests/e2e/lib.sh"
[ "$(id -u)" = 0 ] || { echo "bench/e2e.sh: needs root" >&2; exit 1; }
NEEDS="iperf3 python3 g++"
[[ " $MODES " == *" tayga "* ]] && NEEDS="$NEEDS tayga"
for t in $NEEDS; do command -v $t >/dev/null || { echo "needs $t" >&2; exit 1; }; done
FLOOD=$(mktemp /tmp/udpflood.XXXX)
g++ -O2 -std=c++20 -o "$FLOOD" "$ROOT/bench/udpflood.cpp" || exit 1
RESULTS=$(mktemp /tmp/e46bench.XXXX.json)
echo "[]" >"$RESULTS"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# One fresh topology per mode; sets TARGET (h4's address as h6 sees it) and XPID.
setup() {
  local mode=$1
  e2e_init "bench$RANDOM"
  E2E_NETNS=() E2E_PIDS=()
  XPID=""
  case $mode in
    kernel)
      e2e_basic_nodes v6
      TARGET=2001:db8:4::2 RXFAM=6
      ;;
    tayga)
      e2e_basic_nodes v4
      mkdir -p "$E2E_DIR/tayga"
      cat >"$E2E_DIR/tayga.conf" <<EOC
tun-device tayga0
ipv4-addr 198.51.100.1
ipv6-addr 2001:db8:ff::1
prefix 2001:db8:46::/96
map 198.51.100.2 2001:db8:6::2
data-dir $E2E_DIR/tayga
EOC
      nx tr tayga -c "$E2E_DIR/tayga.conf" --mktun >/dev/null
      ip -n "$(ns tr)" link set tayga0 up
      ip -n "$(ns tr)" route add 2001:db8:46::/96 dev tayga0
      ip -n "$(ns tr)" route add 198.51.100.0/24 dev tayga0
      ip netns exec "$(ns tr)" tayga -c "$E2E_DIR/tayga.conf" -d >"$E2E_DIR/tayga.log" 2>&1 &
      XPID=$!
      E2E_PIDS+=($XPID)
      sleep 0.5
      # TAYGA drops documentation/private IPv4 behind 64:ff9b::/96, so it gets its own prefix.
      TARGET=2001:db8:46::192.0.2.2 RXFAM=4
      ;;
    edge46-*)
      local w=${mode#edge46-}; w=${w%%-*}
      if [[ $mode == *nooff ]]; then E2E_DAEMON_EXTRA="tun-offload = false"; else E2E_DAEMON_EXTRA=""; fi
      E2E_WORKERS=$w e2e_basic_topology
      XPID=$E2E_DAEMON_PID
      TARGET=64:ff9b::192.0.2.2 RXFAM=4
      ;;
  esac
  nx h6 ping -6 -c 2 -i 0.2 -W 2 "$TARGET" >/dev/null || { echo "setup $mode: no connectivity" >&2; return 1; }
}

measure() {
  local mode=$1 rep=$2 c0 c1 udp tcp sent
  nx h4 "$FLOOD" recv "$RXFAM" 9000 $((DUR + 5)) >"$E2E_DIR/rx" &
  local rx=$!
  sleep 0.3
  [ -n "$XPID" ] && c0=$(cpu_ticks "$XPID")
  sent=$(nx h6 "$FLOOD" send "$TARGET" 9000 "$DUR" 64)
  sleep 0.3
  [ -n "$XPID" ] && c1=$(cpu_ticks "$XPID")
  wait $rx
  udp="$(cat "$E2E_DIR/rx") $sent"
  sleep 0.5
  nx h4 iperf3 -s -1 -D >/dev/null; sleep 0.3
  tcp=$(nx h6 iperf3 -c "$TARGET" -t "$DUR" -J 2>/dev/null)
  python3 - "$RESULTS" "$mode" "$rep" "${c0:-}" "${c1:-}" "$(getconf CLK_TCK)" <<PY
import json, sys
path, mode, rep, c0, c1, hz = sys.argv[1:]
udp = "$udp".split(); tcp = json.loads('''$tcp''' or '{}')
r = {"mode": mode, "rep": int(rep)}
try:
    rx, secs, sent = int(udp[0]), float(udp[1]), int(udp[2])
    r["udp64_pps"] = rx / secs; r["udp64_sent_pps"] = sent / $DUR; r["udp64_loss"] = 1 - rx / sent
    if c0 and c1 and rx > 0:
        r["cpu_us_pp"] = (int(c1) - int(c0)) / int(hz) / rx * 1e6
except Exception as e: r["udp_error"] = str(e)
try: r["tcp_gbps"] = tcp["end"]["sum_received"]["bits_per_second"] / 1e9
except Exception as e: r["tcp_error"] = str(e)
all_ = json.load(open(path)); all_.append(r); json.dump(all_, open(path, "w"))
print(json.dumps(r))
PY
}

echo "# bench/e2e.sh: reps=$REPS duration=${DUR}s kernel=$(uname -r) cpus=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)"
for mode in $MODES; do
  for rep in $(seq 1 "$REPS"); do
    ( setup "$mode" && measure "$mode" "$rep" ) || echo "{\"mode\": \"$mode\", \"rep\": $rep, \"error\": \"setup\"}"
  done
done
python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = json.load(open(sys.argv[1]))
modes = []
for r in rows:
    if r["mode"] not in modes: modes.append(r["mode"])
def agg(mode, key):
    v = [r[key] for r in rows if r["mode"] == mode and key in r]
    return (statistics.median(v), min(v), max(v)) if v else None
def fmt(a, scale=1, prec=0):
    return "-" if a is None else f"{a[0]*scale:.{prec}f} ({a[1]*scale:.{prec}f}-{a[2]*scale:.{prec}f})"
print()
print("| setup | 64-byte UDP rx kpps, median (min-max) | CPU us/packet | TCP Gbit/s | UDP vs TAYGA | UDP vs kernel | TCP vs TAYGA |")
print("|---|---|---|---|---|---|---|")
ref_t = agg("tayga", "udp64_pps"); ref_k = agg("kernel", "udp64_pps"); ref_tt = agg("tayga", "tcp_gbps")
for m in modes:
    u = agg(m, "udp64_pps"); c = agg(m, "cpu_us_pp"); t = agg(m, "tcp_gbps")
    rt = f"{u[0]/ref_t[0]:.2f}x" if u and ref_t else "-"
    rk = f"{100*u[0]/ref_k[0]:.0f} %" if u and ref_k else "-"
    rtt = f"{t[0]/ref_tt[0]:.2f}x" if t and ref_tt else "-"
    print(f"| {m} | {fmt(u, 1e-3, 1)} | {fmt(c, 1, 2)} | {fmt(t, 1, 2)} | {rt} | {rk} | {rtt} |")
print()
print("CPU us/packet x 1e6 / 1e6 = CPU seconds per million packets.")
PY
echo "raw results: $RESULTS"
rm -f "$FLOOD"
