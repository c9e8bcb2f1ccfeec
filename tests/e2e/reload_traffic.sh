#!/bin/bash
# e2e.reload_under_traffic: a long TCP transfer (h6 -> h4, 128 MiB shaped to
# 200 Mbit/s, about 5 s) keeps going, intact, while the configuration is
# reloaded 10 times (SIGHUP and edge46ctl reload alternately, with a
# configuration that really changes: an extra EAM toggled in and out).
# After each reload the toggled EAM must be in force exactly when the file
# has it: listed by eamt show, and h6's second address 2001:db8:6::99 reaches
# h4 as 198.51.100.99 (ping answered) or is dropped as drop.no_mapping_src.
. "$(dirname "$0")/lib.sh"
e2e_require_root socat sha256sum tc
e2e_init reload
E2E_WORKERS=2 e2e_basic_topology

nx h6 tc qdisc add dev eth0 root tbf rate 200mbit burst 64kb latency 100ms || e2e_fail "tc"
# Deprecated (preferred_lft 0): never chosen as a source unless asked for
# (ping -I), so the transfer keeps 2001:db8:6::2, whose EAM never changes.
ip -n "$(ns h6)" addr add 2001:db8:6::99/64 dev eth0 nodad preferred_lft 0
head -c 32M /dev/urandom >"$E2E_DIR/chunk"
want=$( (cat "$E2E_DIR/chunk" "$E2E_DIR/chunk" "$E2E_DIR/chunk" "$E2E_DIR/chunk") | sha256sum | cut -d' ' -f1)

# Text output and awk rather than JSON and python: these run between
# reloads, while the transfer must still be going.
status_field() { ctl status | awk -v k="$1:" '$1 == k {print $2}'; }
stat_value() {
  local v
  v=$(ctl stats | awk -v k="$1" '$1 == k {print $2}')
  [ -n "$v" ] || e2e_fail "no counter named $1"
  echo "$v"
}
has_toggled_eam() { ctl eamt show | grep -Eq "^ *2001:db8:6::99/128 +198\.51\.100\.99/32 *$"; }
# check_toggled <in|out> <reload number>
check_toggled() {
  local before
  if [ "$1" = in ]; then
    has_toggled_eam || e2e_fail "reload $2: the file has EAM 2001:db8:6::99 <-> 198.51.100.99, eamt show does not"
    nx h6 ping -6 -c 1 -W 2 -I 2001:db8:6::99 64:ff9b::192.0.2.2 >/dev/null ||
      e2e_fail "reload $2: EAM 2001:db8:6::99 in the file but its ping is not answered"
  else
    has_toggled_eam && e2e_fail "reload $2: EAM 2001:db8:6::99 removed from the file but still in eamt show"
    before=$(stat_value drop.no_mapping_src)
    nx h6 ping -6 -c 1 -W 0.2 -I 2001:db8:6::99 64:ff9b::192.0.2.2 >/dev/null &&
      e2e_fail "reload $2: EAM 2001:db8:6::99 removed from the file but its ping is answered"
    [ "$(stat_value drop.no_mapping_src)" -gt "$before" ] ||
      e2e_fail "reload $2: the ping from 2001:db8:6::99 was not counted as drop.no_mapping_src"
  fi
}
cp "$E2E_CONF" "$E2E_DIR/a.toml"
cp "$E2E_CONF" "$E2E_DIR/b.toml"
printf '\n[[eamt]]\nipv6 = "2001:db8:6::99/128"\nipv4 = "198.51.100.99/32"\n' >>"$E2E_DIR/b.toml"

nx h4 sh -c "socat -u TCP4-LISTEN:5010,reuseaddr - | sha256sum >'$E2E_DIR/got'" &
E2E_PIDS+=($!)
sleep 0.3
nx h6 sh -c "cat '$E2E_DIR/chunk' '$E2E_DIR/chunk' '$E2E_DIR/chunk' '$E2E_DIR/chunk' | timeout 40 socat -u - TCP6:[64:ff9b::192.0.2.2]:5010,bind=[2001:db8:6::2],retry=30,interval=0.1" &
sender=$!
sleep 0.5
check_toggled out 0
for i in $(seq 1 10); do
  if [ $((i % 2)) = 1 ]; then cp "$E2E_DIR/b.toml" "$E2E_CONF"; else cp "$E2E_DIR/a.toml" "$E2E_CONF"; fi
  if [ $((i % 3)) = 0 ]; then
    kill -HUP "$E2E_DAEMON_PID"
    # SIGHUP is taken asynchronously: wait for the reload to be counted.
    for _ in $(seq 1 40); do [ "$(status_field reloads_ok)" = "$i" ] && break; sleep 0.05; done
  else
    ctl reload >/dev/null || e2e_fail "reload $i refused"
  fi
  [ "$(status_field reloads_ok)" = "$i" ] || e2e_fail "reload $i: reloads_ok is $(status_field reloads_ok)"
  if [ $((i % 2)) = 1 ]; then check_toggled in "$i"; else check_toggled out "$i"; fi
done
sleep 0.2
kill -0 $sender 2>/dev/null || e2e_fail "transfer ended before the 10 reloads were done (too fast to prove anything)"
ok=$(ctl status | awk '/^reloads_ok:/ {print $2}')
[ "$ok" = 10 ] || e2e_fail "reloads_ok is $ok, expected 10"
wait $sender || e2e_fail "sender failed"
for _ in $(seq 1 50); do [ -s "$E2E_DIR/got" ] && break; sleep 0.1; done
got=$(cut -d' ' -f1 <"$E2E_DIR/got")
[ "$got" = "$want" ] || e2e_fail "content differs after reloads"
echo "PASS (128 MiB intact across 10 reloads, the toggled EAM in force as the file said each time; generation $(ctl status | awk '/^generation:/ {print $2}'))"
