#!/bin/bash
# e2e.icmp_ratelimit: the ICMP errors edge46d generates are rate limited
# (issue 7 item 9; RFC 4443 2.4 f, RFC 1812 4.3.2.8). h4 floods 5000 UDP
# packets that reach the translator with TTL 1 (TTL 2 from h4, tr's kernel
# takes one); edge46d answers Time Exceeded from 198.51.100.1 within
# icmp-error-rate per second after a burst of icmp-error-burst (per worker).
. "$(dirname "$0")/lib.sh"
e2e_require_root python3
e2e_init icmp_ratelimit
RATE=100
BURST=10
E2E_WORKERS=1
e2e_basic_topology "" "
[limits]
icmp-error-rate = $RATE
icmp-error-burst = $BURST"

e2e_log "h4: 5000 TTL-2 UDP packets to 198.51.100.2"
read -r got secs < <(nx h4 python3 - <<'PY'
import select, socket, time
rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
rx.setblocking(False)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
tx.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 2)
got = 0
def drain():
    global got
    while True:
        try:
            b = rx.recv(2048)
        except BlockingIOError:
            return
        ihl = (b[0] & 15) * 4
        if b[12:16] == socket.inet_aton("198.51.100.1") and b[ihl] == 11:
            got += 1
t0 = time.monotonic()
for i in range(5000):
    try:
        tx.sendto(b"ratelimit", ("198.51.100.2", 33434 + i % 100))
    except OSError:
        pass
    if i % 50 == 0:
        drain()
t1 = time.monotonic()
end = t1 + 1.0
while time.monotonic() < end:
    select.select([rx], [], [], 0.05)
    drain()
print(got, time.monotonic() - t0)
PY
)
[ -n "${got:-}" ] || e2e_fail "the flood script failed"
ttl=$(counter drop.ttl_exceeded)
sent=$(counter icmp_errors)
limited=$(counter drop.icmp_error_rate_limited)
echo "received=$got in ${secs}s; edge46d: ttl_exceeded=$ttl icmp_errors=$sent icmp_error_rate_limited=$limited"
# At most burst + rate * elapsed (the whole window, drain included).
bound=$(python3 -c "import math; print(math.ceil($BURST + $RATE * $secs))")
[ "$sent" -le "$bound" ] || e2e_fail "edge46d sent $sent errors, more than $bound ($BURST + $RATE/s * ${secs}s)"
[ "$got" -le "$sent" ] || e2e_fail "h4 received $got errors, edge46d counted $sent"
[ "$got" -ge "$BURST" ] || e2e_fail "h4 received only $got errors (burst $BURST)"
[ "$limited" -gt 0 ] || e2e_fail "no error suppressed"
[ "$ttl" -eq $((sent + limited)) ] || e2e_fail "ttl_exceeded $ttl != icmp_errors $sent + icmp_error_rate_limited $limited"
echo "PASS (received=$got, bound=$bound, suppressed=$limited)"
