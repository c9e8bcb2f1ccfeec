#!/bin/bash
# e2e.udp: UDP request/response round trips both ways.
. "$(dirname "$0")/lib.sh"
e2e_require_root socat
e2e_init udp
e2e_basic_topology

e2e_log "h4 runs a UDP echo server on 7007; h6 sends to [64:ff9b::192.0.2.2]:7007"
nx h4 socat UDP4-RECVFROM:7007,fork EXEC:cat &
E2E_PIDS+=($!)
sleep 0.3
for i in 1 2 3; do
  msg="hello-from-h6-$i-$RANDOM"
  for _ in 1 2 3; do  # the first try may race the server's start
    got=$(echo "$msg" | nx h6 timeout 3 socat -t 0.5 - UDP6:[64:ff9b::192.0.2.2]:7007)
    [ "$got" = "$msg" ] && break
  done
  [ "$got" = "$msg" ] || e2e_fail "UDP round trip h6 -> h4 -> h6 (got '$got')"
done

e2e_log "h6 runs a UDP echo server on 7008; h4 sends to 198.51.100.2:7008"
nx h6 socat UDP6-RECVFROM:7008,fork EXEC:cat &
E2E_PIDS+=($!)
sleep 0.3
for i in 1 2 3; do
  msg="hello-from-h4-$i-$RANDOM"
  for _ in 1 2 3; do
    got=$(echo "$msg" | nx h4 timeout 3 socat -t 0.5 - UDP4:198.51.100.2:7008)
    [ "$got" = "$msg" ] && break
  done
  [ "$got" = "$msg" ] || e2e_fail "UDP round trip h4 -> h6 -> h4 (got '$got')"
done
echo "PASS"
