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

ID="e46demo$$"
WORK=$(mktemp -d "/tmp/$ID.XXXX")
H6="$ID-h6" TR="$ID-tr" H4="$ID-h4"
DPID=""
cleanup() {
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
  for n in "$H6" "$TR" "$H4"; do
    ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$n" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

say "creating namespaces $H6 (IPv6-only), $TR (translator), $H4 (IPv4-only)"
for n in "$H6" "$TR" "$H4"; do
  ip netns add "$n"
  ip -n "$n" link set lo up
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip netns exec "$TR" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip netns exec "$H4" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link add name eth0 netns "$H6" type veth peer name v6 netns "$TR"
ip link add name v4 netns "$TR" type veth peer name eth0 netns "$H4"
ip -n "$H6" link set eth0 up; ip -n "$TR" link set v6 up; ip -n "$TR" link set v4 up; ip -n "$H4" link set eth0 up
ip -n "$H6" addr add 2001:db8:6::2/64 dev eth0
ip -n "$H6" route add default via 2001:db8:6::1
ip -n "$TR" addr add 2001:db8:6::1/64 dev v6
ip -n "$TR" addr add 192.0.2.1/24 dev v4
ip -n "$H4" addr add 192.0.2.2/24 dev eth0
ip -n "$H4" route add default via 192.0.2.1

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
ip netns exec "$TR" "$EDGE46D" --config "$WORK/edge46.toml" 2>"$WORK/edge46d.log" &
DPID=$!
for _ in $(seq 1 100); do "$EDGE46CTL" --socket "$SOCK" status >/dev/null 2>&1 && break; sleep 0.05; done
"$EDGE46CTL" --socket "$SOCK" status
ip -n "$TR" link set edge46 up
ip -n "$TR" route add 64:ff9b::/96 dev edge46
ip -n "$TR" route add 198.51.100.0/24 dev edge46
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
cat "$WORK/edge46d.log"
say "done; cleaning up"
