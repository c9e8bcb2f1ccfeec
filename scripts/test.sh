#!/bin/bash
# Build and test edge46 twice, as CI does:
#   build/       the normal build, warnings as errors
#   build-asan/  the same with AddressSanitizer + UndefinedBehaviorSanitizer
# and run the whole ctest suite on each (unit tests, the conformance vectors
# in ../shared/vectors, the replay tool checks, and the end-to-end tests,
# which skip themselves without root).
#
# Usage: scripts/test.sh
#   JOBS=n                  parallelism (default 2)
#   EDGE46_BUILD_DIR=dir    normal build directory (default build)
#   EDGE46_ASAN_BUILD_DIR=d sanitizer build directory (default build-asan)
#   CI=true                 (set by CI services) the conformance vectors are
#                           required: without ../shared the run fails instead
#                           of skipping vectors.jool-siit
# Exit status: non-zero if any build or any test failed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
JOBS=${JOBS:-2}
GEN=()
if command -v ninja >/dev/null 2>&1; then
  GEN=(-G Ninja)
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

declare -A SUMMARY
status=0

run() {
  local name=$1 dir=$2
  shift 2
  echo "=== $name: configure ($dir)"
  mkdir -p "$dir"
  if ! cmake -S . -B "$dir" "${GEN[@]}" -DEDGE46_WERROR=ON "$@" >"$dir/configure.log" 2>&1; then
    cat "$dir/configure.log"
    SUMMARY[$name]="configure failed (see $dir/configure.log)"
    status=1
    return
  fi
  echo "=== $name: build"
  if ! cmake --build "$dir" -j"$JOBS"; then
    SUMMARY[$name]="build failed"
    status=1
    return
  fi
  echo "=== $name: test"
  local log="$dir/ctest.log"
  if ctest --test-dir "$dir" --output-on-failure -j"$JOBS" 2>&1 | tee "$log"; then
    :
  else
    status=1
  fi
  SUMMARY[$name]=$(grep -E "tests passed|tests failed|^\s+[0-9]+ - .*\((Failed|SEGFAULT|Timeout|Not Run|Subprocess aborted|Exception)" "$log" || echo "no ctest summary")
}

run normal "${EDGE46_BUILD_DIR:-build}"
run asan+ubsan "${EDGE46_ASAN_BUILD_DIR:-build-asan}" -DEDGE46_SANITIZE=ON -DEDGE46_BENCH=OFF

echo
echo "=== summary"
for name in normal asan+ubsan; do
  echo "[$name]"
  echo "${SUMMARY[$name]:-not run}"
done
exit $status
