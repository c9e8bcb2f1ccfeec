#!/bin/bash
# e2e.ctl: edge46ctl against a running edge46d: status, stats that count,
# runtime EAMT add/remove (visible in config show, effective at once),
# reload refusing a bad file while traffic continues, SIGHUP, a second
# instance refused on a busy socket / TUN, and a side-by-side instance.
. "$(dirname "$0")/lib.sh"
e2e_require_root ping
e2e_init ctl
e2e_basic_topology

ctl status || e2e_fail "status"
ctl status | grep -q "^role: *siit" || e2e_fail "status shows no role"
ctl pool6 show | grep -q "64:ff9b::/96" || e2e_fail "pool6 show"

e2e_log "stats count the pings"
before=$(counter packets_in.ipv6)
nx h6 ping -6 -c 3 -i 0.2 -W 2 64:ff9b::192.0.2.2 >/dev/null || e2e_fail "ping"
after=$(counter packets_in.ipv6)
[ "$after" -ge $((before + 3)) ] || e2e_fail "packets_in.ipv6 went $before -> $after"
ctl stats --nonzero
ctl stats --prometheus | grep -q '^edge46_drops_total{reason="er_ingress_filter"} 0$' || e2e_fail "prometheus output"
ctl stats --prometheus | grep -q '^edge46_packets_in_total{family="ipv6"} [1-9]' || e2e_fail "prometheus packets_in"

e2e_log "eamt add 2001:db8:6::3/128 198.51.100.3/32 makes a second h6 address reachable"
ip -n "$(ns h6)" addr add 2001:db8:6::3/64 dev eth0
if nx h4 ping -4 -c 1 -W 1 198.51.100.3 >/dev/null; then e2e_fail "198.51.100.3 reachable before the EAM"; fi
ctl eamt add 2001:db8:6::3/128 198.51.100.3/32 || e2e_fail "eamt add"
ctl eamt show | grep -q "198.51.100.3/32" || e2e_fail "eamt show lacks the new entry"
ctl config show | grep -q "198.51.100.3/32" || e2e_fail "config show lacks the new entry"
nx h4 ping -4 -c 2 -i 0.2 -W 2 198.51.100.3 >/dev/null || e2e_fail "ping through the runtime EAM"
ctl eamt add 2001:db8:6::4/128 198.51.100.3/32 && e2e_fail "colliding EAM accepted"
ctl eamt remove 2001:db8:6::3/128 198.51.100.3/32 || e2e_fail "eamt remove"
if nx h4 ping -4 -c 1 -W 1 198.51.100.3 >/dev/null; then e2e_fail "198.51.100.3 still reachable after remove"; fi
ip -n "$(ns h6)" addr del 2001:db8:6::3/64 dev eth0

e2e_log "reload with a bad file is refused with file:line while ping keeps going"
nx h6 ping -6 -i 0.05 -c 60 -W 1 64:ff9b::192.0.2.2 >"$E2E_DIR/ping.out" 2>&1 &
ping_pid=$!
cp "$E2E_CONF" "$E2E_DIR/good.toml"
printf '\n[translator2]\nbogus = 1\n' >>"$E2E_CONF"
if ctl reload 2>"$E2E_DIR/reload.err"; then e2e_fail "bad reload accepted"; fi
cat "$E2E_DIR/reload.err"
grep -q "edge46.toml:[0-9]*" "$E2E_DIR/reload.err" || e2e_fail "reload error without file:line"
kill -HUP "$E2E_DAEMON_PID"
sleep 0.2
ctl status | grep -q "^reloads_failed: *2" || e2e_fail "SIGHUP with a bad file not refused/counted"
cp "$E2E_DIR/good.toml" "$E2E_CONF"
ctl reload || e2e_fail "good reload refused"
wait $ping_pid || e2e_fail "ping lost packets during reloads: $(tail -3 "$E2E_DIR/ping.out")"
grep -q " 0% packet loss" "$E2E_DIR/ping.out" || e2e_fail "loss during reload"

e2e_log "a second instance on the same socket is refused"
if ip netns exec "$(ns tr)" "$EDGE46D" --config "$E2E_CONF" 2>"$E2E_DIR/second.err"; then
  e2e_fail "second instance started"
fi
cat "$E2E_DIR/second.err"
grep -q "busy" "$E2E_DIR/second.err" || e2e_fail "no clear message for the busy socket"

e2e_log "a second instance with the same TUN name is refused"
sed -e "s|$E2E_SOCK|$E2E_DIR/b.sock|" "$E2E_CONF" >"$E2E_DIR/b.toml"
if ip netns exec "$(ns tr)" "$EDGE46D" --config "$E2E_DIR/b.toml" 2>"$E2E_DIR/b.err"; then
  e2e_fail "instance with a busy TUN started"
fi
cat "$E2E_DIR/b.err"
grep -q "in use" "$E2E_DIR/b.err" || e2e_fail "no clear message for the busy TUN"

e2e_log "instances side by side: own TUN and socket"
sed -e "s|$E2E_SOCK|$E2E_DIR/c.sock|" -e 's|tun = "e46"|tun = "e46b"|' "$E2E_CONF" >"$E2E_DIR/c.toml"
e2e_start_daemon tr "$E2E_DIR/c.toml" "$E2E_DIR/c.sock"
"$EDGE46CTL" --socket "$E2E_DIR/c.sock" status | grep -q "^tun: *e46b" || e2e_fail "second instance status"
ctl status | grep -q "^tun: *e46$" || e2e_fail "first instance status"

e2e_log "bad configuration and usage give clear errors"
printf '[translator]\npool6 = "64:ff9b::/97"\n' >"$E2E_DIR/bad.toml"
"$EDGE46D" --config "$E2E_DIR/bad.toml" 2>"$E2E_DIR/bad.err"
rc=$?
cat "$E2E_DIR/bad.err"
[ $rc = 2 ] || e2e_fail "bad configuration exit code $rc"
grep -q "bad.toml:2" "$E2E_DIR/bad.err" || e2e_fail "bad configuration without file:line"
"$EDGE46CTL" --socket "$E2E_DIR/none.sock" status 2>/dev/null
[ $? = 2 ] || e2e_fail "edge46ctl without daemon must exit 2"
echo PASS
