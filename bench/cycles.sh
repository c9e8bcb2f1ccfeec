#!/usr/bin/env bash
# Runs bench_xlat (5 repetitions, aggregates only) and reports per-packet
# cost: Mpps, ns/packet, ratio to the memcpy floor of the same size, and
# either cycles+instructions/packet (perf stat, when the PMU is usable) or
# instructions/packet from callgrind (valgrind) on the xlat_loop driver.
#
#   bench/cycles.sh [BUILD_DIR] [OUT_DIR]        (defaults: build-rel, BUILD_DIR/bench-out)
#   FILTER=udp64 bench/cycles.sh ...             restrict the cases (regex on the name)
#   CG_ALL=1 bench/cycles.sh ...                 callgrind every case, not only the 64-byte UDP ones
#
# The build dir must be a Release configuration:
#   cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
B=${1:-$root/build-rel}
OUT=${2:-$B/bench-out}
FILTER=${FILTER:-.}
mkdir -p "$OUT"

cmake --build "$B" --target bench_xlat xlat_loop -j "${JOBS:-2}" >/dev/null
BENCH=$B/bench/bench_xlat
LOOP=$B/bench/xlat_loop

echo "== bench_xlat (5 repetitions, median/mean/stddev/cv) =="
"$BENCH" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_filter="$FILTER|memcpy" \
  --benchmark_out="$OUT/bench.json" --benchmark_out_format=json | tee "$OUT/bench.txt"

# Per-packet counts: perf if the PMU works (not in most VMs), else callgrind.
mode=none
if command -v perf >/dev/null 2>&1 &&
   perf stat -x, -e instructions true 2>&1 >/dev/null | grep -qE '^[0-9]+,'; then
  mode=perf
elif command -v valgrind >/dev/null 2>&1; then
  mode=callgrind
fi
echo "== per-packet counts: $mode =="

: >"$OUT/counts.tsv"
mapfile -t cases < <("$LOOP" --list | grep -E "$FILTER")
for c in "${cases[@]}"; do
  case $mode in
    perf)
      n=5000000
      line=$(perf stat -x, -e cycles,instructions "$LOOP" "$c" "$n" 2>&1 >/dev/null)
      cyc=$(echo "$line" | awk -F, '$3 ~ /^cycles/ {print $1}')
      ins=$(echo "$line" | awk -F, '$3 ~ /^instructions/ {print $1}')
      # Subtract the setup (one packet) run.
      line0=$(perf stat -x, -e cycles,instructions "$LOOP" "$c" 1 2>&1 >/dev/null)
      cyc0=$(echo "$line0" | awk -F, '$3 ~ /^cycles/ {print $1}')
      ins0=$(echo "$line0" | awk -F, '$3 ~ /^instructions/ {print $1}')
      printf '%s\tcycles\t%s\n%s\tinstructions\t%s\n' "$c" $(((cyc - cyc0) / n)) "$c" $(((ins - ins0) / n)) \
        >>"$OUT/counts.tsv"
      ;;
    callgrind)
      if [[ -z ${CG_ALL:-} && $c != *udp64* ]]; then continue; fi
      n=20000
      f="$OUT/callgrind.$(echo "$c" | tr / _).out"
      valgrind --tool=callgrind --toggle-collect=edge46_xlat_loop --dump-instr=yes \
        --callgrind-out-file="$f" "$LOOP" "$c" "$n" >/dev/null 2>"$f.log"
      ir=$(grep -oE 'Collected : [0-9]+' "$f.log" | awk '{print $3}')
      printf '%s\tinstructions\t%s\n' "$c" $((ir / n)) >>"$OUT/counts.tsv"
      ;;
  esac
done
# TSC ticks per packet from the driver (nominal-frequency ticks, not core
# cycles; a rough stand-in when the PMU is not available).
for c in "${cases[@]}"; do
  "$LOOP" "$c" 2000000 | awk -v c="$c" '{for(i=1;i<=NF;i++) if ($i ~ /^tsc_per_pkt=/) {split($i,a,"="); print c "\ttsc\t" a[2]}}' \
    >>"$OUT/counts.tsv"
done

python3 - "$OUT/bench.json" "$OUT/counts.tsv" "$mode" <<'PY' | tee "$OUT/summary.md"
import json, re, sys
bench = json.load(open(sys.argv[1]))
counts = {}
for line in open(sys.argv[2]):
    c, k, v = line.rstrip("\n").split("\t")
    counts.setdefault(c, {})[k] = float(v)
mode = sys.argv[3]
med, cpu, cv = {}, {}, {}
for b in bench["benchmarks"]:
    if b.get("run_type") != "aggregate":
        continue
    name = b["run_name"]
    unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    if b["aggregate_name"] == "median":
        med[name] = b["real_time"] * unit
        cpu[name] = b["cpu_time"] * unit
    elif b["aggregate_name"] == "cv":
        cv[name] = b["real_time"]
ctx = bench["context"]
print(f"host: {ctx.get('host_name')}  cpus: {ctx.get('num_cpus')} @ {ctx.get('mhz_per_cpu')} MHz  "
      f"load avg: {ctx.get('load_avg')}")
print()
# Wall time is what a dedicated core would see; CPU time is the better
# estimate when the machine is oversubscribed (load avg above the core count).
cols = ["case", "in bytes", "ns/pkt wall (median)", "cv", "ns/pkt CPU (median)", "Mpps/core (CPU)", "memcpy ns (CPU)",
        "ratio to memcpy"]
if mode == "perf":
    cols += ["cycles/pkt", "instr/pkt"]
elif mode == "callgrind":
    cols += ["instr/pkt (callgrind)"]
cols += ["TSC ticks/pkt"]
print("| " + " | ".join(cols) + " |")
print("|" + "---|" * len(cols))
# Input size of each case = bytes_per_second / items_per_second.
size = {}
for b in bench["benchmarks"]:
    if b.get("aggregate_name") == "median" and b.get("items_per_second"):
        size[b["run_name"]] = round(b["bytes_per_second"] / b["items_per_second"])
for name, ns in med.items():
    if not name.startswith("xlat/"):
        continue
    c = name[len("xlat/"):]
    n = size.get(name)
    base = cpu.get(f"memcpy/{n}")
    c_ns = cpu[name]
    row = [c, str(n), f"{ns:.1f}", f"{cv.get(name, 0) * 100:.1f}%", f"{c_ns:.1f}", f"{1e3 / c_ns:.2f}",
           f"{base:.1f}" if base else "-", f"{c_ns / base:.1f}x" if base else "-"]
    k = counts.get(c, {})
    if mode == "perf":
        row += [f"{k.get('cycles', 0):.0f}", f"{k.get('instructions', 0):.0f}"]
    elif mode == "callgrind":
        row += [f"{k['instructions']:.0f}" if "instructions" in k else "-"]
    row += [f"{k['tsc']:.0f}" if "tsc" in k else "-"]
    print("| " + " | ".join(row) + " |")
PY
