#!/bin/bash
# e2e.ctl_security: who may own and answer the control socket, and what is
# a configuration file (issue 7, control plane 4, 5 and the last point of 13).
#   - edge46d refuses a socket directory writable by others;
#   - edge46ctl refuses a server run by another user (an impostor that
#     replaced the socket) instead of printing "reloaded";
#   - a directory is not a configuration file: edge46 config, edge46d
#     --check and a reload after the live file became a directory refuse it,
#     and the running translator keeps its pool6;
#   - edge46d started as nobody with a socket under /run says it needs root.
. "$(dirname "$0")/lib.sh"
e2e_require_root ping python3 setpriv
e2e_init ctl_security
[ -x "${EDGE46:-}" ] || e2e_fail "edge46 not found at ${EDGE46:-}"
e2e_basic_topology
chmod 0711 "$E2E_DIR"  # nobody may reach the subdirectories made for it below
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
nobody_py=
for p in /usr/bin/python3 "$(command -v python3)"; do
  if as_nobody "$p" -c '' 2>/dev/null; then nobody_py=$p; break; fi
done
[ -n "$nobody_py" ] || e2e_skip "no python3 that uid 65534 may run"

e2e_log "a socket directory writable by others is refused at start"
mkdir -m 0777 "$E2E_DIR/pub"
chmod 0777 "$E2E_DIR/pub"
sed -e "s|$E2E_SOCK|$E2E_DIR/pub/ctl.sock|" -e 's|tun = "e46"|tun = "e46p"|' "$E2E_CONF" >"$E2E_DIR/pub.toml"
nx tr "$EDGE46D" --config "$E2E_DIR/pub.toml" 2>"$E2E_DIR/pub.err"
rc=$?
cat "$E2E_DIR/pub.err"
[ $rc = 1 ] || e2e_fail "edge46d with a 0777 socket directory: exit $rc (want 1)"
grep -q "control socket directory $E2E_DIR/pub is writable by group and others (mode 0777).*chmod 0750" \
  "$E2E_DIR/pub.err" || e2e_fail "no clear reason for the 0777 directory"
[ -e "$E2E_DIR/pub/ctl.sock" ] && e2e_fail "a socket was created in the 0777 directory"

e2e_log "edge46ctl does not talk to an impostor run by another uid"
setpriv --reuid=65534 --regid=65534 --clear-groups "$nobody_py" -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
while True:
    c, _ = s.accept()
    try:
        c.recv(65536)
        c.sendall(b"{\"ok\":true,\"generation\":99}\n")
    except OSError:
        pass  # a careful client hung up
    c.close()' "$E2E_DIR/pub/imp.sock" &
E2E_PIDS+=($!)
for _ in $(seq 1 50); do [ -S "$E2E_DIR/pub/imp.sock" ] && break; sleep 0.05; done
[ -S "$E2E_DIR/pub/imp.sock" ] || e2e_fail "impostor did not start"
"$EDGE46CTL" --socket "$E2E_DIR/pub/imp.sock" reload >"$E2E_DIR/imp.out" 2>"$E2E_DIR/imp.err"
rc=$?
cat "$E2E_DIR/imp.out" "$E2E_DIR/imp.err"
[ $rc = 2 ] || e2e_fail "edge46ctl believed the impostor (exit $rc)"
grep -q "refusing to talk to $E2E_DIR/pub/imp.sock: it is served by pid [0-9]* running as uid 65534" \
  "$E2E_DIR/imp.err" || e2e_fail "no clear message about the impostor"
grep -q reloaded "$E2E_DIR/imp.out" && e2e_fail "printed reloaded"
# The same client as nobody talks to nobody's server: its own uid is fine.
as_nobody "$EDGE46CTL" --socket "$E2E_DIR/pub/imp.sock" reload | grep -q "reloaded (generation 99)" ||
  e2e_fail "edge46ctl refused a server of its own uid"
# And root's edge46d is believed by anyone who may connect.
ctl status >/dev/null || e2e_fail "status from the real daemon"

e2e_log "a directory is not a configuration file"
mkdir "$E2E_DIR/confdir"
"$EDGE46" config --config "$E2E_DIR/confdir" >/dev/null 2>"$E2E_DIR/dir1.err" && e2e_fail "edge46 config loaded a directory"
cat "$E2E_DIR/dir1.err"
grep -q "$E2E_DIR/confdir: is a directory, not a configuration file" "$E2E_DIR/dir1.err" || e2e_fail "edge46 config message"
"$EDGE46D" --check --config "$E2E_DIR/confdir" 2>"$E2E_DIR/dir2.err"
rc=$?
cat "$E2E_DIR/dir2.err"
[ $rc = 2 ] || e2e_fail "edge46d --check of a directory: exit $rc (want 2)"
grep -q "is a directory, not a configuration file" "$E2E_DIR/dir2.err" || e2e_fail "edge46d --check message"

mv "$E2E_CONF" "$E2E_DIR/live.toml"
mkdir "$E2E_CONF"
ctl reload >"$E2E_DIR/dir3.out" 2>"$E2E_DIR/dir3.err"
rc=$?
cat "$E2E_DIR/dir3.out" "$E2E_DIR/dir3.err"
[ $rc = 1 ] || e2e_fail "reload of a directory: exit $rc (want 1)"
grep -q "reload refused, running configuration kept: $E2E_CONF: is a directory" "$E2E_DIR/dir3.err" ||
  e2e_fail "reload message"
ctl pool6 show | grep -q "64:ff9b::/96" || e2e_fail "pool6 lost after the refused reload"
nx h6 ping -6 -c 2 -i 0.2 -W 2 64:ff9b::192.0.2.2 >/dev/null || e2e_fail "traffic stopped after the refused reload"
rmdir "$E2E_CONF"
mv "$E2E_DIR/live.toml" "$E2E_CONF"

e2e_log "edge46d as nobody with its socket under /run says it needs root"
mkdir -m 0755 "$E2E_DIR/nobody"
chmod 0755 "$E2E_DIR/nobody"
run_sock="/run/e46-ctl-security-$$/ctl.sock"
sed -e "s|$E2E_SOCK|$run_sock|" -e 's|tun = "e46"|tun = "e46n"|' "$E2E_CONF" >"$E2E_DIR/nobody/edge46.toml"
chmod 0644 "$E2E_DIR/nobody/edge46.toml"
as_nobody "$EDGE46D" --config "$E2E_DIR/nobody/edge46.toml" 2>"$E2E_DIR/nobody.err"
rc=$?
rmdir "/run/e46-ctl-security-$$" 2>/dev/null
cat "$E2E_DIR/nobody.err"
[ $rc = 1 ] || e2e_fail "edge46d as nobody: exit $rc (want 1)"
grep -q "cannot create /run/e46-ctl-security-$$: Permission denied" "$E2E_DIR/nobody.err" || e2e_fail "no path named"
grep -q "not root: it needs root, or CAP_NET_ADMIN to create the TUN device and write access to /run/e46-ctl-security-$$" \
  "$E2E_DIR/nobody.err" || e2e_fail "the error does not say that edge46d needs root"
echo PASS
