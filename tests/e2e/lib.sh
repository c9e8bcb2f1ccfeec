# The one namespace-topology library: the e2e tests (tests/e2e/*.sh), the
# end-to-end benchmark (bench/e2e.sh) and the demo (scripts/demo.sh) all
# source it. Namespaces, veths, edge46d, cleanup.
#
# Topology ("basic", like Jool's graybox):
#
#   h6 (IPv6-only)            tr (edge46d on TUN "e46")           h4 (IPv4-only)
#   2001:db8:6::2/64 --veth-- 2001:db8:6::1/64 | 192.0.2.1/24 --veth-- 192.0.2.2/24
#
#   pool6 64:ff9b::/96: h6 reaches h4 at 64:ff9b::192.0.2.2
#   EAM 2001:db8:6::2/128 <-> 198.51.100.2/32: h4 reaches h6 at 198.51.100.2
#   tr routes 64:ff9b::/96 and 198.51.100.0/24 into the TUN.
#
# Building blocks, for scripts that need only part of it:
#   e2e_basic_nodes [v4|v6]  the three nodes, links and addresses, no
#                            translator (v6: h4's side is IPv6 too,
#                            2001:db8:4::/64, for a plain forwarding baseline)
#   e2e_start_daemon         edge46d in a node, waits for its control socket
#   e2e_tun_routes <tun>     brings the TUN up, routes both pools into it
#   e2e_basic_topology       all of the above with a generated configuration
#
# Every script sources this file, calls e2e_init <name> [id], and gets unique
# namespace names (e46-<name>-<pid>-*, or <id>-*) and a private work
# directory, all removed by the EXIT trap, so tests run in parallel (ctest -j).

set -u
E2E_BIN_DIR=${E2E_BIN_DIR:-}
EDGE46D=${EDGE46D:-$E2E_BIN_DIR/edge46d}
EDGE46CTL=${EDGE46CTL:-$E2E_BIN_DIR/edge46ctl}
E2E_PIDS=()
E2E_NETNS=()

e2e_skip() { echo "SKIP: $*"; exit 77; }
e2e_fail() { echo "FAIL: $*" >&2; e2e_dump; exit 1; }
e2e_log() { echo "--- $*"; }

e2e_require_root() {
  [ "$(id -u)" = 0 ] || e2e_skip "needs root (network namespaces, TUN devices)"
  ip netns add "e46probe$$" 2>/dev/null || e2e_skip "cannot create network namespaces here"
  ip netns del "e46probe$$"
  [ -c /dev/net/tun ] || e2e_skip "/dev/net/tun is missing"
  for t in "$@"; do command -v "$t" >/dev/null || e2e_skip "needs $t"; done
  [ -x "$EDGE46D" ] || e2e_fail "edge46d not found at $EDGE46D"
  [ -x "$EDGE46CTL" ] || e2e_fail "edge46ctl not found at $EDGE46CTL"
}

e2e_init() {
  E2E_NAME=$1
  E2E_ID=${2:-"e46-$1-$$"}
  E2E_DIR=$(mktemp -d "/tmp/$E2E_ID.XXXX")
  trap e2e_cleanup EXIT
  trap 'exit 1' INT TERM
}

e2e_dump() {
  [ -n "${E2E_DIR:-}" ] || return 0
  for f in "$E2E_DIR"/*.log; do
    [ -f "$f" ] || continue
    echo "===== $f" >&2
    tail -n 30 "$f" >&2
  done
}

e2e_cleanup() {
  set +e  # under set -e (the demo), a process already gone must not stop the cleanup
  local p n
  for p in "${E2E_PIDS[@]}"; do
    kill "$p" 2>/dev/null
  done
  for p in "${E2E_PIDS[@]}"; do
    wait "$p" 2>/dev/null
  done
  for n in "${E2E_NETNS[@]}"; do
    ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null
    ip netns del "$n" 2>/dev/null
  done
  [ -n "${E2E_DIR:-}" ] && rm -rf "$E2E_DIR"
}

# ns <short>: the namespace name of a node of this test.
ns() { echo "$E2E_ID-$1"; }
nx() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

e2e_node() {
  local n; n=$(ns "$1")
  ip netns add "$n" || e2e_fail "ip netns add $n"
  E2E_NETNS+=("$n")
  ip -n "$n" link set lo up
  # No DAD delays, no router solicitations: addresses usable at once.
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.all.forwarding=1 net.ipv4.ip_forward=1
}

# e2e_link <nodeA> <ifA> <nodeB> <ifB>
e2e_link() {
  ip link add name "$2" netns "$(ns "$1")" type veth peer name "$4" netns "$(ns "$3")" ||
    e2e_fail "veth $1:$2 <-> $3:$4"
  ip -n "$(ns "$1")" link set "$2" up
  ip -n "$(ns "$3")" link set "$4" up
}

# e2e_start_daemon <node> <config-file> <socket>: runs edge46d in the node,
# waits until its control socket answers.
e2e_start_daemon() {
  local node=$1 conf=$2 sock=$3 log
  log="$E2E_DIR/edge46d-$node.log"
  ip netns exec "$(ns "$node")" "$EDGE46D" --config "$conf" >"$log" 2>&1 &
  E2E_PIDS+=($!)
  E2E_DAEMON_PID=$!
  for _ in $(seq 1 100); do
    if "$EDGE46CTL" --socket "$sock" status >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$E2E_DAEMON_PID" 2>/dev/null || e2e_fail "edge46d in $node exited: $(cat "$log")"
    sleep 0.05
  done
  e2e_fail "edge46d in $node did not answer on $sock"
}

ctl() { "$EDGE46CTL" --socket "$E2E_SOCK" "$@"; }

# Value of one counter of the daemon behind $E2E_SOCK.
counter() {
  ctl --json stats | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])"
}

# json_field KEY...: the value at that path of the JSON object on stdin
# (Python's spelling: True/False for booleans).
json_field() {
  python3 -c "import json, sys; d = json.load(sys.stdin)
for k in sys.argv[1:]: d = d[k]
print(d)" "$@"
}

# e2e_offload_check: the TUN offloads as configured (tun-offload, default
# true) against how the daemon behind $E2E_SOCK really opened the TUN (status
# "offload": "on", or "off (why)"). Sets E2E_OFFLOAD_ASKED (True/False) and
# E2E_OFFLOAD_STATE. With tun-offload = true the TUN must run with offloads
# (the kernel accepted TUNSETOFFLOAD) and the start-up log must say so; a test
# run on an offload variant is only a test of the offload path then.
e2e_offload_check() {
  E2E_OFFLOAD_ASKED=$(ctl --json config show | json_field config daemon tun-offload) || e2e_fail "config show"
  E2E_OFFLOAD_STATE=$(ctl --json status | json_field offload) || e2e_fail "status has no offload field"
  e2e_log "tun-offload = $E2E_OFFLOAD_ASKED; TUN offloads: $E2E_OFFLOAD_STATE"
  if [ "$E2E_OFFLOAD_ASKED" = True ]; then
    [ "$E2E_OFFLOAD_STATE" = on ] || e2e_fail "tun-offload = true but the TUN runs without offloads: $E2E_OFFLOAD_STATE"
    grep -q "offloads on," "$E2E_DIR/edge46d-tr.log" || e2e_fail "the start-up log does not say 'offloads on'"
  else
    [ "${E2E_OFFLOAD_STATE%% *}" = off ] || e2e_fail "tun-offload = false but status says offload: $E2E_OFFLOAD_STATE"
  fi
}

# e2e_gso_check <what> <gso_in before> <gso_out before>, after
# e2e_offload_check and a TCP transfer: with offloads, super-packets came in
# and some were translated whole (gso_out); without, both counters stayed 0.
e2e_gso_check() {
  local in out
  in=$(counter gso_in) out=$(counter gso_out)
  e2e_log "$1: gso_in +$((in - $2)), gso_out +$((out - $3)) (gso_segments_in $(counter gso_segments_in))"
  if [ "$E2E_OFFLOAD_ASKED" = True ]; then
    [ "$in" -gt "$2" ] || e2e_fail "$1: offloads on but no super-packet came in (gso_in stayed $in)"
    [ "$out" -gt "$3" ] || e2e_fail "$1: offloads on but no super-packet was translated whole (gso_out stayed $out)"
  else
    [ "$in" = 0 ] && [ "$out" = 0 ] || e2e_fail "$1: offloads off but gso_in=$in gso_out=$out"
  fi
}

# e2e_basic_nodes [v4|v6]: h6, tr and h4 as in the picture above, without a
# translator. v6: h4's side is IPv6 (tr 2001:db8:4::1/64, h4 2001:db8:4::2/64).
e2e_basic_nodes() {
  local h4side=${1:-v4}
  e2e_node h6
  e2e_node tr
  e2e_node h4
  e2e_link h6 eth0 tr v6
  e2e_link tr v4 h4 eth0
  ip -n "$(ns h6)" addr add 2001:db8:6::2/64 dev eth0
  ip -n "$(ns h6)" route add default via 2001:db8:6::1
  ip -n "$(ns tr)" addr add 2001:db8:6::1/64 dev v6
  if [ "$h4side" = v6 ]; then
    ip -n "$(ns tr)" addr add 2001:db8:4::1/64 dev v4
    ip -n "$(ns h4)" addr add 2001:db8:4::2/64 dev eth0
    ip -n "$(ns h4)" route add default via 2001:db8:4::1
    return 0
  fi
  ip -n "$(ns tr)" addr add 192.0.2.1/24 dev v4
  ip -n "$(ns h4)" addr add 192.0.2.2/24 dev eth0
  ip -n "$(ns h4)" route add default via 192.0.2.1
  # IPv6-only / IPv4-only for real.
  nx h6 sysctl -qw net.ipv4.conf.all.disable_policy=1 >/dev/null 2>&1 || true
  nx h4 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# e2e_tun_routes <tun>: brings the translator's TUN up in tr and routes
# pool6 (64:ff9b::/96) and the EAM pool (198.51.100.0/24) into it.
e2e_tun_routes() {
  ip -n "$(ns tr)" link set "$1" up
  ip -n "$(ns tr)" route add 64:ff9b::/96 dev "$1"
  ip -n "$(ns tr)" route add 198.51.100.0/24 dev "$1"
}

# The basic topology with edge46d running in tr. Extra TOML (appended to the
# [translator] table) may be given as $1; extra EAMs as $2.
e2e_basic_topology() {
  local extra_translator=${1:-} extra=${2:-}
  e2e_basic_nodes v4

  E2E_SOCK="$E2E_DIR/ctl.sock"
  E2E_CONF="$E2E_DIR/edge46.toml"
  cat >"$E2E_CONF" <<EOC
[daemon]
role = "siit"
workers = ${E2E_WORKERS:-1}
tun = "e46"
control-socket = "$E2E_SOCK"
${E2E_DAEMON_EXTRA:-}

[translator]
pool6 = "64:ff9b::/96"
ipv4-address = "198.51.100.1"
ipv6-address = "2001:db8:6::1"
$extra_translator

[[eamt]]
ipv6 = "2001:db8:6::2/128"
ipv4 = "198.51.100.2/32"
$extra
EOC
  e2e_start_daemon tr "$E2E_CONF" "$E2E_SOCK"
  e2e_tun_routes e46
}
