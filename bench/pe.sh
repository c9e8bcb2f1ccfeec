#!/bin/bash
# bench/pe.sh: the PE of the multi-domain IPv6-only underlay against the
# kernel (run by hand, as root; not in CI). The namespaces of
# tests/e2e/lib_pe.sh (Figure 1/2: h1 - pe1 - p1 - p2 - pe3 - h3), from h1
# (behind PE1) to h3 (behind PE3, the other domain), through:
#   plain6         plain IPv6 forwarding, no conversion at all: h1 and h3 get
#                  IPv6 addresses (2001:db8:1:1::2, 2001:db8:3:1::2) and the
#                  same routers pe1 p1 p2 pe3 forward IPv6 natively. Same hops.
#   kernel-4in6    the Linux kernel's own 4in6 as the PEs (seg6 encap.red at
#                  pe1, End.DX4 at pe3; pe_kernel_encap_up): IPv4 hosts, RFC
#                  2473 packets in the core. PE-host links at MTU 1460 (the
#                  kernel has no tunnel PMTU for forwarded IPv4; see lib_pe.sh).
#   edge46-encap   edge46d role "pe" in encapsulate mode    } pe_start_edge46 <mode>
#   edge46-translate edge46d role "pe" in translate mode    } (one worker each)
# Measures, REPS times each (a fresh topology per repetition, modes
# interleaved), median/min/max:
#   udp64_pps      64-byte UDP payloads h1 -> h3, packets/s received
#                  (bench/udpflood.cpp: sendmmsg/recvmmsg, 8 flows), with the
#                  sender's rate and the loss beside it
#   udp64_cpu_us_pp CPU time per received packet of the UDP sender and
#                  receiver processes (user + system: the forwarding softirqs
#                  run in the sender's context are charged to it) plus all
#                  ksoftirqd threads (the rest of the forwarding; shared with
#                  whatever else runs). Tick-based (250 Hz here): approximate,
#                  but less sensitive than packets/s to other load on the
#                  machine, which only takes CPU away from the sender.
#   tcp_gbps       TCP goodput h1 -> h3 (iperf3, one stream), veth offloads on
#   tcp_nooff_gbps the same with TSO, GSO and GRO off on every veth of the path
#                  (ethtool -K on all nodes' interfaces)
# and prints ratios against plain6 and against kernel-4in6, all from one run.
# On 2 vCPUs the generator, the forwarding softirqs and the receiver share
# the CPUs: compare rows of one run, not runs of different days.
#
# Usage: sudo bench/pe.sh [-r REPS] [-t SECONDS] [-b BUILD_DIR] [-m "mode ..."] [-n NICE]
#   -n NICE  run the traffic generators and receivers (and so the forwarding
#            softirqs in their context) at this nice level, e.g. -10 on a
#            machine busy with other work; default 0. An edge46d started by
#            pe_start_edge46 should get the same (the hook sees $NICE).
# Needs: iperf3, python3, g++, ethtool, iproute2 with seg6 (Debian 12 has all
# but ethtool in .ci/run's list: apt-get install ethtool).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPS=3 DUR=5 BUILD="$ROOT/build" MODES="plain6 kernel-4in6 edge46-encap edge46-translate" NICE=0
while getopts "r:t:b:m:n:" o; do
  case $o in
    r) REPS=$OPTARG ;; t) DUR=$OPTARG ;; b) BUILD=$OPTARG ;; m) MODES=$OPTARG ;; n) NICE=$OPTARG ;;
    *) echo "usage: $0 [-r reps] [-t seconds] [-b build-dir] [-m modes] [-n nice]" >&2; exit 2 ;;
  esac
done
export EDGE46D=${EDGE46D:-$BUILD/src/daemon/edge46d} EDGE46CTL=${EDGE46CTL:-$BUILD/src/cli/edge46ctl}
. "$ROOT/tests/e2e/lib_pe.sh"
[ "$(id -u)" = 0 ] || { echo "bench/pe.sh: needs root" >&2; exit 1; }
for t in iperf3 python3 g++ ethtool; do command -v $t >/dev/null || { echo "needs $t" >&2; exit 1; }; done
FLOOD=$(mktemp /tmp/udpflood.XXXX)
g++ -O2 -std=c++20 -o "$FLOOD" "$ROOT/bench/udpflood.cpp" || exit 1
# CPU ticks of all ksoftirqd threads (the forwarding that leaves the
# sender's context runs there; shared with anything else on the machine).
ksoftirqd_ticks() {
  local p t=0
  for p in $(pgrep '^ksoftirqd/'); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo $t
}
# cpu <file> <command...>: runs the command, writes its CPU seconds (user +
# system, which includes the forwarding softirqs run in its context) to <file>.
cpu() {
  python3 -c 'import resource, subprocess, sys
rc = subprocess.run(sys.argv[2:]).returncode
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(f"{r.ru_utime + r.ru_stime}\n")
sys.exit(rc)' "$@"
}
RESULTS=$(mktemp /tmp/e46pebench.XXXX.json)
echo "[]" >"$RESULTS"
trap 'pe_cleanup; rm -f "$FLOOD"' EXIT

record() {  # record <json object>: appends one row to the results
  python3 - "$RESULTS" "$1" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1])); rows.append(json.loads(sys.argv[2]))
json.dump(rows, open(sys.argv[1], "w"))
PY
}

# offloads <on|off>: TSO, GSO, GRO of every veth in every node of the topology.
offloads() {
  local n ifn
  for n in $P_NODES $PE_NODES $PE_HOSTS; do
    for ifn in $(ip -n "$(ns "$n")" -o link show type veth | awk -F'[ :@]+' '{print $2}'); do
      nx "$n" ethtool -K "$ifn" tso "$1" gso "$1" gro "$1" >/dev/null 2>&1 ||
        { echo "ethtool -K $ifn in $n failed" >&2; return 1; }
    done
  done
}

# setup <mode>: a fresh topology with that PE function; sets TARGET (h3 as h1
# sees it) and RXFAM. Returns 2 (row n/a) when the mode cannot run yet.
setup() {
  local mode=$1
  E2E_NETNS=() E2E_PIDS=()
  case $mode in
    plain6)
      pe_topology_up v6
      TARGET=$H3_ADDR6 RXFAM=6
      ;;
    kernel-4in6)
      pe_topology_up v4
      pe_kernel_encap_up encap.red
      TARGET=$H3_ADDR RXFAM=4
      ;;
    edge46-encap | edge46-translate)
      pe_topology_up v4
      if [ "$mode" = edge46-encap ]; then pe_start_edge46 encapsulate; else pe_start_edge46 translate; fi || return 2
      TARGET=$H3_ADDR RXFAM=4
      ;;
    *) echo "unknown mode $mode" >&2; return 1 ;;
  esac
  nx h1 ping -c 2 -i 0.2 -W 2 "$TARGET" >/dev/null || { echo "setup $mode: no connectivity h1 -> $TARGET" >&2; return 1; }
}

tcp_run() {  # prints iperf3's JSON for one TCP run h1 -> h3
  nx h3 nice -n "$NICE" iperf3 -s -1 -D >/dev/null
  sleep 0.3
  nx h1 nice -n "$NICE" iperf3 -c "$TARGET" -t "$DUR" -J 2>/dev/null
}

measure() {
  local mode=$1 rep=$2 rx sent udp tcp tcp_nooff
  nx h3 nice -n "$NICE" bash -c "$(declare -f cpu); cpu '$E2E_DIR/rxcpu' '$FLOOD' recv $RXFAM 9000 $((DUR + 5))" >"$E2E_DIR/rx" &
  rx=$!
  sleep 0.3
  k0=$(ksoftirqd_ticks)
  sent=$(nx h1 nice -n "$NICE" bash -c "$(declare -f cpu); cpu '$E2E_DIR/txcpu' '$FLOOD' send '$TARGET' 9000 $DUR 64")
  k1=$(ksoftirqd_ticks)
  wait $rx
  udp="$(cat "$E2E_DIR/rx") $sent $(cat "$E2E_DIR/txcpu" "$E2E_DIR/rxcpu" 2>/dev/null | paste -sd' ') $(((k1 - k0) * 1000000 / $(getconf CLK_TCK)))"
  sleep 0.5
  tcp=$(tcp_run)
  offloads off || return 1
  sleep 0.5
  tcp_nooff=$(tcp_run)
  python3 - "$RESULTS" "$mode" "$rep" "$udp" "$tcp" "$tcp_nooff" "$DUR" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
path, mode, rep, udp, tcp, tcp_nooff, dur, load = sys.argv[1:]
r = {"mode": mode, "rep": int(rep), "load1": float(load)}
try:
    rx, secs, sent, txcpu, rxcpu, ksoft_us = udp.split()
    rx, secs, sent = int(rx), float(secs), int(sent)
    r["udp64_pps"] = rx / secs; r["udp64_sent_pps"] = sent / float(dur); r["udp64_loss"] = 1 - rx / sent
    r["udp64_cpu_us_pp"] = (float(txcpu) + float(rxcpu) + int(ksoft_us) / 1e6) / rx * 1e6
    r["udp64_ksoftirqd_share"] = int(ksoft_us) / 1e6 / (float(txcpu) + float(rxcpu) + int(ksoft_us) / 1e6)
except Exception as e: r["udp_error"] = f"{e}: {udp!r}"
for key, text in (("tcp_gbps", tcp), ("tcp_nooff_gbps", tcp_nooff)):
    try: r[key] = json.loads(text)["end"]["sum_received"]["bits_per_second"] / 1e9
    except Exception as e: r[key.replace("gbps", "error")] = str(e)
rows = json.load(open(path)); rows.append(r); json.dump(rows, open(path, "w"))
print(json.dumps(r))
PY
}

echo "# bench/pe.sh: reps=$REPS duration=${DUR}s nice=$NICE kernel=$(uname -r) cpus=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)"
# Modes interleaved per repetition (plain6, kernel-4in6, ..., then again), so
# a change in the machine's load hits every row alike.
NA=" "
for rep in $(seq 1 "$REPS"); do
  for mode in $MODES; do
    [[ $NA == *" $mode "* ]] && continue  # not built yet: one n/a row is enough
    e2e_init "pebench$RANDOM"
    trap 'pe_cleanup; rm -f "$FLOOD"' EXIT
    setup "$mode"
    rc=$?
    if [ $rc = 0 ]; then
      measure "$mode" "$rep" || record "{\"mode\": \"$mode\", \"rep\": $rep, \"error\": \"measure\"}"
    elif [ $rc = 2 ]; then
      record "{\"mode\": \"$mode\", \"rep\": $rep, \"na\": true}"
      NA="$NA$mode "
    else
      record "{\"mode\": \"$mode\", \"rep\": $rep, \"error\": \"setup\"}"
    fi
    pe_cleanup
  done
done
python3 - "$RESULTS" "$MODES" <<'PY'
import json, statistics, sys
rows = json.load(open(sys.argv[1]))
modes = sys.argv[2].split()
def agg(mode, key):
    v = [r[key] for r in rows if r["mode"] == mode and key in r]
    return (statistics.median(v), min(v), max(v)) if v else None
def fmt(a, scale=1, prec=0):
    return "-" if a is None else f"{a[0]*scale:.{prec}f} ({a[1]*scale:.{prec}f}-{a[2]*scale:.{prec}f})"
def ratio(a, ref):
    return f"{100*a[0]/ref[0]:.0f} %" if a and ref else "-"
print()
print("| path h1 -> h3 | 64-byte UDP rx kpps, median (min-max) | sent kpps | loss | UDP CPU us/packet | TCP Gbit/s offloads on | TCP Gbit/s offloads off | UDP vs plain6 | UDP vs kernel-4in6 | CPU/packet vs plain6 | TCP on vs plain6 | TCP on vs kernel-4in6 | TCP off vs kernel-4in6 |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
rp, rk = agg("plain6", "udp64_pps"), agg("kernel-4in6", "udp64_pps")
tp, tk = agg("plain6", "tcp_gbps"), agg("kernel-4in6", "tcp_gbps")
tko = agg("kernel-4in6", "tcp_nooff_gbps")
cp = agg("plain6", "udp64_cpu_us_pp")
for m in modes:
    if any(r["mode"] == m and r.get("na") for r in rows):
        print(f"| {m} | n/a (edge46 PE role not built yet) | | | | | | | | | | | |")
        continue
    u, s, l = agg(m, "udp64_pps"), agg(m, "udp64_sent_pps"), agg(m, "udp64_loss")
    t, to = agg(m, "tcp_gbps"), agg(m, "tcp_nooff_gbps")
    c = agg(m, "udp64_cpu_us_pp")
    loss = "-" if l is None else f"{100*l[0]:.1f} %"
    print(f"| {m} | {fmt(u, 1e-3, 1)} | {fmt(s, 1e-3, 0)} | {loss} | {fmt(c, 1, 2)} | {fmt(t, 1, 2)} | {fmt(to, 1, 2)} | "
          f"{ratio(u, rp)} | {ratio(u, rk)} | {ratio(c, cp)} | {ratio(t, tp)} | {ratio(t, tk)} | {ratio(to, tko)} |")
errs = [r for r in rows if "error" in r or any(k.endswith("_error") for k in r)]
if errs:
    print("\nerrors:", json.dumps(errs))
PY
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg) (each row's 1-minute load is in the raw results)"
echo "raw results: $RESULTS"
