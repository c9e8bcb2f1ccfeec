#!/bin/bash
# edge46 demo: an IPv6-only host and an IPv4-only host talk through edge46d.
#
#   h6 (IPv6 only)                  tr (edge46d, TUN "edge46")            h4 (IPv4 only)
#   2001:db8:6::2 ----veth---- 2001:db8:6::1 | 192.0.2.1 ----veth---- 192.0.2.2
#
#   h6 reaches h4 at 64:ff9b::192.0.2.2 (RFC 6052 pool6 64:ff9b::/96);
#   h4 reaches h6 at 198.51.100.2 (EAM 2001:db8:6::2 <-> 198.51.100.2, RFC 7757).
#
# Usage: sudo scripts/demo.sh [build-dir]   (builds edge46d/edge46ctl if needed)
# Needs root (network namespaces, TUN). Everything it creates is removed on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${EDGE46_BUILD:-$ROOT/build}}
EDGE46D=${EDGE46D:-$BUILD/src/daemon/edge46d}
EDGE46CTL=${EDGE46CTL:-$BUILD/src/cli/edge46ctl}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
if [ "$(id -u)" != 0 ]; then
  echo "demo.sh: needs root (it creates network namespaces and a TUN device); try: sudo $0" >&2
  exit 1
fi
if [ ! -x "$EDGE46D" ] || [ ! -x "$EDGE46CTL" ]; then
  say "building edge46d and edge46ctl in $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" --target edge46d edge46ctl
fi

# The namespace topology is the e2e tests' (tests/e2e/lib.sh, one library
# for the tests, the benchmark and this demo).
. "$ROOT/tests/e2e/lib.sh"
e2e_init demo "e46demo$$"
WORK=$E2E_DIR
H6=$(ns h6) TR=$(ns tr) H4=$(ns h4)

say "creating namespaces $H6 (IPv6-only), $TR (translator), $H4 (IPv4-only)"
e2e_basic_nodes v4

SOCK="$WORK/edge46.sock"
cat >"$WORK/edge46.toml" <<EOF
# The demo's configuration (every key: docs/configuration.md).
[daemon]
role = "siit"
workers = 1
tun = "edge46"
control-socket = "$SOCK"

[translator]
pool6 = "64:ff9b::/96"          # RFC 6052: IPv4 address x is 64:ff9b::x on the IPv6 side
ipv4-address = "198.51.100.1"   # source of ICMPv4 errors the translator sends
ipv6-address = "2001:db8:6::1"  # source of ICMPv6 errors the translator sends

[[eamt]]                        # RFC 7757: h6 is 198.51.100.2 on the IPv4 side
ipv6 = "2001:db8:6::2/128"
ipv4 = "198.51.100.2/32"
EOF
say "configuration"
cat "$WORK/edge46.toml"

say "starting edge46d in $TR"
e2e_start_daemon tr "$WORK/edge46.toml" "$SOCK"
"$EDGE46CTL" --socket "$SOCK" status
e2e_tun_routes edge46
echo "routes in $TR: 64:ff9b::/96 and 198.51.100.0/24 -> edge46 (the TUN)"

say "h6 -> h4: ping -6 64:ff9b::192.0.2.2"
ip netns exec "$H6" ping -6 -c 3 -i 0.2 64:ff9b::192.0.2.2
say "h4 -> h6: ping 198.51.100.2"
ip netns exec "$H4" ping -c 3 -i 0.2 198.51.100.2

say "h6 -> h4: TCP, 16 MiB with a sha256 check (socat)"
head -c 16M /dev/urandom >"$WORK/data"
ip netns exec "$H4" socat -u TCP4-LISTEN:5001,reuseaddr OPEN:"$WORK/got",creat,trunc &
LPID=$!
sleep 0.3
start=$(date +%s.%N)
ip netns exec "$H6" socat -u OPEN:"$WORK/data" "TCP6:[64:ff9b::192.0.2.2]:5001"
wait $LPID
end=$(date +%s.%N)
a=$(sha256sum <"$WORK/data" | cut -c1-16); b=$(sha256sum <"$WORK/got" | cut -c1-16)
echo "sent sha256 $a..., received sha256 $b... ($(awk -v s="$start" -v e="$end" 'BEGIN{printf "%.0f", 16*8/(e-s)}') Mbit/s)"
[ "$a" = "$b" ] && echo "content identical" || { echo "CONTENT DIFFERS"; exit 1; }

say "what h4 saw: the IPv6 host appears as 198.51.100.2"
ip netns exec "$H4" socat -u TCP4-LISTEN:5002,reuseaddr SYSTEM:'echo "h4 accepted a connection from $SOCAT_PEERADDR"' &
sleep 0.3
ip netns exec "$H6" socat -u - "TCP6:[64:ff9b::192.0.2.2]:5002" </dev/null 2>/dev/null || true
sleep 0.3

say "edge46ctl stats --nonzero"
"$EDGE46CTL" --socket "$SOCK" stats --nonzero
say "edge46d log"
cat "$WORK/edge46d-tr.log"
say "done; cleaning up"
