#!/bin/bash
# e2e.tcp: TCP transfers both ways with a content check (sha256), with the
# hosts' offloads (TSO/GSO/GRO) left on. With tun-offload (the default) the
# TUN must really run with offloads and each direction must translate
# super-packets whole (gso_out); with tun-offload = false (e2e.tcp_no_offload)
# the gso counters must stay 0.
. "$(dirname "$0")/lib.sh"
e2e_require_root socat sha256sum
e2e_init tcp
e2e_basic_topology

# The offload variant must really run with offloads and translate
# super-packets whole; the other must not see any.
e2e_offload_check

head -c 8M /dev/urandom >"$E2E_DIR/data"
want=$(sha256sum <"$E2E_DIR/data" | cut -d' ' -f1)

e2e_log "h6 -> h4: 8 MiB over TCP to [64:ff9b::192.0.2.2]:5001"
gin=$(counter gso_in) gout=$(counter gso_out)
nx h4 socat -u TCP4-LISTEN:5001,reuseaddr OPEN:"$E2E_DIR/got46",creat,trunc &
E2E_PIDS+=($!)
sleep 0.3
nx h6 timeout 20 socat -u OPEN:"$E2E_DIR/data" TCP6:[64:ff9b::192.0.2.2]:5001,retry=30,interval=0.1 || e2e_fail "send h6 -> h4"
for _ in $(seq 1 50); do [ "$(stat -c %s "$E2E_DIR/got46" 2>/dev/null)" = 8388608 ] && break; sleep 0.1; done
got=$(sha256sum <"$E2E_DIR/got46" | cut -d' ' -f1)
[ "$got" = "$want" ] || e2e_fail "h6 -> h4 content differs ($(stat -c %s "$E2E_DIR/got46") bytes)"
e2e_gso_check "h6 -> h4" "$gin" "$gout"

e2e_log "h4 -> h6: 8 MiB over TCP to 198.51.100.2:5002"
gin=$(counter gso_in) gout=$(counter gso_out)
nx h6 socat -u TCP6-LISTEN:5002,reuseaddr OPEN:"$E2E_DIR/got64",creat,trunc &
E2E_PIDS+=($!)
sleep 0.3
nx h4 timeout 20 socat -u OPEN:"$E2E_DIR/data" TCP4:198.51.100.2:5002,retry=30,interval=0.1 || e2e_fail "send h4 -> h6"
for _ in $(seq 1 50); do [ "$(stat -c %s "$E2E_DIR/got64" 2>/dev/null)" = 8388608 ] && break; sleep 0.1; done
got=$(sha256sum <"$E2E_DIR/got64" | cut -d' ' -f1)
[ "$got" = "$want" ] || e2e_fail "h4 -> h6 content differs"
e2e_gso_check "h4 -> h6" "$gin" "$gout"
echo "PASS (sha256 $want both ways; offloads $E2E_OFFLOAD_STATE, gso_out $(counter gso_out))"
