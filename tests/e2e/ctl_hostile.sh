#!/bin/bash
# e2e.ctl_hostile: hostile and stalling control clients against a running
# edge46d (issue 7, control plane 1, 2, 3, 6): ill-formed UTF-8, 200 000
# nested brackets, 10 MB values, idle / trickling / non-reading clients; the
# daemon answers each with an error, keeps serving everyone else at once,
# and edge46ctl gives up on a silent server after --timeout.
. "$(dirname "$0")/lib.sh"
e2e_require_root python3 socat timeout
e2e_init ctl_hostile
e2e_basic_topology

alive() { kill -0 "$E2E_DAEMON_PID" 2>/dev/null || e2e_fail "edge46d died after $1: $(tail -3 "$E2E_DIR"/edge46d-tr.log)"; }

e2e_log "ill-formed UTF-8 in a request is answered, not fatal"
out=$(printf '{"cmd":"\xff"}\n' | socat -t 2 - "UNIX-CONNECT:$E2E_SOCK")
echo "$out"
sleep 0.2
alive "a request with \\xff"
echo "$out" | grep -q '"ok":false' || e2e_fail "no error reply to \\xff: $out"
echo "$out" | grep -qF '\\xff' || e2e_fail "the bad byte is not named in hex: $out"
ctl status >/dev/null || e2e_fail "status after \\xff"

e2e_log "edge46ctl refuses an argument that is not UTF-8 (exit 2, no abort)"
ctl eamt add $'2001:db8::\xff/120' 192.0.2.0/24 2>"$E2E_DIR/utf8.err"
rc=$?
cat "$E2E_DIR/utf8.err"
[ $rc = 2 ] || e2e_fail "edge46ctl exit $rc on a non-UTF-8 argument (want 2)"
grep -qF 'ipv6 prefix is not valid UTF-8: "2001:db8::\xff/120"' "$E2E_DIR/utf8.err" || e2e_fail "unclear message"

e2e_log "200 000 nested brackets in a member (400 KB) are refused"
out=$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall(b"{\"cmd\":\"eamt.add\",\"ipv6\":" + b"[" * 200000 + b"]" * 200000 + b",\"ipv4\":\"1.2.3.0/24\"}\n")
print(s.makefile("rb").readline().decode())' "$E2E_SOCK")
echo "$out"
alive "deep nesting"
echo "$out" | grep -q 'nested deeper than 16 levels' || e2e_fail "deep nesting not refused clearly: $out"

e2e_log "a 10 MB command name comes back as a bounded excerpt, a 10 MB line is refused"
out=$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall(b"{\"cmd\":\"" + b"x" * 500000 + b"\"}\n")
print(s.makefile("rb").readline().decode())' "$E2E_SOCK")
[ ${#out} -lt 300 ] || e2e_fail "reply of ${#out} bytes to a long command"
echo "$out" | grep -q '\.\.\.(500000 bytes)' || e2e_fail "no excerpt: $out"
out=$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
try:
    s.sendall(b"y" * 10000000)
except OSError:
    pass
print(s.makefile("rb").readline().decode())' "$E2E_SOCK")
echo "$out"
echo "$out" | grep -q 'request longer than 1048576 bytes' || e2e_fail "10 MB line: $out"
alive "a 10 MB line"

e2e_log "a 10 MB value in the file: bounded in the reload reply, status and the log"
cp "$E2E_CONF" "$E2E_DIR/good.toml"
python3 -c 'import sys; open(sys.argv[1], "a").write("\n[[eamt]]\nipv6 = \"" + "z" * 10000000 + "\"\nipv4 = \"192.0.2.99/32\"\n")' "$E2E_CONF"
ctl reload 2>"$E2E_DIR/big.err" && e2e_fail "reload of a bad file accepted"
[ "$(wc -c <"$E2E_DIR/big.err")" -lt 400 ] || e2e_fail "reload error of $(wc -c <"$E2E_DIR/big.err") bytes"
grep -q '\.\.\.(10000000 bytes)' "$E2E_DIR/big.err" || e2e_fail "no excerpt in the reload error: $(head -c 300 "$E2E_DIR/big.err")"
[ "$(ctl --json status | wc -c)" -lt 2000 ] || e2e_fail "status echoes the 10 MB value"
[ "$(wc -c <"$E2E_DIR/edge46d-tr.log")" -lt 100000 ] || e2e_fail "the log echoes the 10 MB value"
"$EDGE46D" --check --config "$E2E_CONF" 2>"$E2E_DIR/check.err"
[ $? = 2 ] || e2e_fail "--check of the bad file"
[ "$(wc -c <"$E2E_DIR/check.err")" -lt 400 ] || e2e_fail "--check error of $(wc -c <"$E2E_DIR/check.err") bytes"
cp "$E2E_DIR/good.toml" "$E2E_CONF"

e2e_log "idle, trickling and non-reading clients do not hold up status"
# The property is the order: status is answered while the stalled clients
# are still open (a server serving one client at a time answered only once
# their 5 s deadline had closed them). ctl's --timeout 5 only guards
# against a hang; no latency is asserted.
python3 - "$E2E_SOCK" "$EDGE46CTL" <<'PY' || e2e_fail "status waited behind stalled clients"
import select, socket, subprocess, sys, time
path, ctl = sys.argv[1], sys.argv[2]
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(path); return s
idle = conn()
trickle = conn(); trickle.sendall(b'{"cm')
deaf = conn(); deaf.setblocking(False)
sent = 0
idle_rounds = 0
end = time.time() + 2
while time.time() < end and idle_rounds < 20:  # until the server stops reading it
    try:
        deaf.send(b'{"cmd":"config.show"}\n'); sent += 1; idle_rounds = 0
    except BlockingIOError:
        idle_rounds += 1; time.sleep(0.01)
print("non-reading client sent", sent, "requests")
def still_open(s):
    # Without reading: a peer that closed shows as POLLRDHUP even with
    # replies still unread.
    p = select.poll(); p.register(s, select.POLLRDHUP)
    return not p.poll(0)
for i in range(3):
    trickle.sendall(b"d")
    t0 = time.time()
    r = subprocess.run([ctl, "--socket", path, "--timeout", "5", "status"], capture_output=True, text=True)
    took = time.time() - t0
    print(f"status took {took:.3f} s, exit {r.returncode}")
    if r.returncode != 0:
        print(r.stderr); sys.exit(1)
    if not all(still_open(s) for s in (idle, trickle, deaf)):
        print("status was answered only after a stalled client was closed"); sys.exit(1)
PY
alive "stalled clients"

e2e_log "edge46ctl gives up on a server that never answers (--timeout)"
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept(); time.sleep(30)' "$E2E_DIR/silent.sock" &
E2E_PIDS+=($!)
for _ in $(seq 1 50); do [ -S "$E2E_DIR/silent.sock" ] && break; sleep 0.05; done
start=$(date +%s.%N)
timeout 10 "$EDGE46CTL" --socket "$E2E_DIR/silent.sock" --timeout 1 status 2>"$E2E_DIR/silent.err"
rc=$?
took=$(python3 -c "import sys; print(round($(date +%s.%N) - $start, 2))")
cat "$E2E_DIR/silent.err"
[ $rc = 2 ] || e2e_fail "edge46ctl against a silent server: exit $rc after $took s (want 2)"
python3 -c "import sys; sys.exit(0 if $took < 3 else 1)" || e2e_fail "edge46ctl --timeout 1 took $took s"
grep -q "no answer from edge46d on $E2E_DIR/silent.sock within 1 s (--timeout)" "$E2E_DIR/silent.err" ||
  e2e_fail "unclear timeout message"
echo PASS
