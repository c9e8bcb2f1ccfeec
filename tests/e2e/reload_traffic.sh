#!/bin/bash
# e2e.reload_under_traffic: a long TCP transfer (h6 -> h4, 96 MiB shaped to
# 200 Mbit/s, about 4 s) keeps going, intact, while the configuration is
# reloaded 10 times (SIGHUP and edge46ctl reload alternately, with a
# configuration that really changes: an extra EAM toggled in and out).
. "$(dirname "$0")/lib.sh"
e2e_require_root socat sha256sum tc
e2e_init reload
E2E_WORKERS=2 e2e_basic_topology

nx h6 tc qdisc add dev eth0 root tbf rate 200mbit burst 64kb latency 100ms || e2e_fail "tc"
head -c 32M /dev/urandom >"$E2E_DIR/chunk"
want=$( (cat "$E2E_DIR/chunk" "$E2E_DIR/chunk" "$E2E_DIR/chunk") | sha256sum | cut -d' ' -f1)
cp "$E2E_CONF" "$E2E_DIR/a.toml"
cp "$E2E_CONF" "$E2E_DIR/b.toml"
printf '\n[[eamt]]\nipv6 = "2001:db8:6::99/128"\nipv4 = "198.51.100.99/32"\n' >>"$E2E_DIR/b.toml"

nx h4 sh -c "socat -u TCP4-LISTEN:5010,reuseaddr - | sha256sum >'$E2E_DIR/got'" &
E2E_PIDS+=($!)
sleep 0.3
nx h6 sh -c "cat '$E2E_DIR/chunk' '$E2E_DIR/chunk' '$E2E_DIR/chunk' | timeout 40 socat -u - TCP6:[64:ff9b::192.0.2.2]:5010,retry=30,interval=0.1" &
sender=$!
sleep 0.5
for i in $(seq 1 10); do
  if [ $((i % 2)) = 1 ]; then cp "$E2E_DIR/b.toml" "$E2E_CONF"; else cp "$E2E_DIR/a.toml" "$E2E_CONF"; fi
  if [ $((i % 3)) = 0 ]; then
    kill -HUP "$E2E_DAEMON_PID"
  else
    ctl reload >/dev/null || e2e_fail "reload $i refused"
  fi
  sleep 0.15
done
sleep 0.2
kill -0 $sender 2>/dev/null || e2e_fail "transfer ended before the 10 reloads were done (too fast to prove anything)"
ok=$(ctl status | awk '/^reloads_ok:/ {print $2}')
[ "$ok" = 10 ] || e2e_fail "reloads_ok is $ok, expected 10"
wait $sender || e2e_fail "sender failed"
for _ in $(seq 1 50); do [ -s "$E2E_DIR/got" ] && break; sleep 0.1; done
got=$(cut -d' ' -f1 <"$E2E_DIR/got")
[ "$got" = "$want" ] || e2e_fail "content differs after reloads"
echo "PASS (96 MiB intact across 10 reloads; generation $(ctl status | awk '/^generation:/ {print $2}'))"
