# shellcheck shell=bash
# The multi-domain IPv6-only underlay of the framework (draft-ietf-v6ops-
# framework-md-ipv6only-underlay, Figures 1 and 2) in network namespaces, for
# the PE end-to-end tests (tests/e2e/pe_*.sh), the PE benchmark (bench/pe.sh)
# and the PE demo (scripts/demo_pe.sh). It sources lib.sh for the namespace
# plumbing (e2e_init, ns, nx, e2e_node, e2e_link, e2e_start_daemon, cleanup).
#
#             domain A (AS1)                          domain B (AS2/AS3)
#   h1 --lan-- pe1 --core--+                 +--core-- pe3 --lan-- h3   (IPv4 network of
#                          p1 ------------- p2                            "another domain")
#   h2 --lan-- pe2 --core--+   core link     +--core-- ped --lan-- hd   (default egress PE)
#
#   hosts h1 h2 h3 hd: IPv4 only (IPv6 disabled), default route to their PE.
#   P routers p1 p2:   IPv6 only. No IPv4 address at all (not even 127.0.0.1),
#                      net.ipv4.ip_forward=0, static IPv6 routes. p2 is the
#                      inter-domain border.
#   PEs pe1 pe2 pe3 ped: IPv4 on "lan", IPv6 on "core", both forwardings on.
#
# Address plan (documentation prefixes only: RFC 5737, RFC 3849). PE n owns
# 2001:db8:n::/48, which holds its Pref6, its loopback and (bench only) the
# IPv6 host network used by the plain-forwarding baseline.
#
#   PE   Pref6 (PEn_PREF6)       loopback (PEn_LO6)  core: PE (PEn_CORE6) /   IPv4 block (PEn_BLOCK4)  PE lan (PEn_LAN4) / host (Hn_ADDR)
#                                                    P end, PE's gw (PEn_GW6)
#   pe1  2001:db8:1:46::/96      2001:db8:1::1       2001:db8:0:1::2 / ::1 p1  192.0.2.0/26             192.0.2.1 / h1 192.0.2.2
#   pe2  2001:db8:2:46::/96      2001:db8:2::1       2001:db8:0:2::2 / ::1 p1  192.0.2.64/26            192.0.2.65 / h2 192.0.2.66
#   pe3  2001:db8:3:46::/96      2001:db8:3::1       2001:db8:0:3::2 / ::1 p2  198.51.100.0/24          198.51.100.1 / h3 198.51.100.2
#   ped  2001:db8:d:46::/96      2001:db8:d::1       2001:db8:0:d::2 / ::1 p2  203.0.113.0/24           203.0.113.1 / hd 203.0.113.2
#   p1-p2 core link 2001:db8:0:12::/64: p1 ::1 (if "p2"), p2 ::2 (if "p1")
#   (P1_CORE6, P2_CORE6). "ped" is spelt PED_* in variable names.
#   Static IPv6 routes: each P router routes a PE's /48 to it, or over the
#   p1-p2 link; each PE has an IPv6 default route to its P router. No IPv4
#   routes exist outside the PEs and hosts.
#
#   Mapping rules (section 4.1, 5.2): each PE block -> that PE's Pref6, and
#   the default rule 0.0.0.0/0 -> Pref6(ped). 203.0.113.0/24 has no rule of
#   its own: only the default rule reaches hd.
#   Address layout (Table 1): Pref6/96 + the 32 bits of IPv4, so h1 seen from
#   the core is 2001:db8:1:46::192.0.2.2 (= 2001:db8:1:46::c000:202).
#
#   Interfaces: hosts "eth0"; PEs "lan" and "core"; p1 "pe1" "pe2" "p2";
#   p2 "p1" "pe3" "ped". Capture the core link on p1 "p2" (or p2 "p1").
#   MTU 1500 everywhere; pe_core_mtu lowers the p1-p2 link only, so the P
#   routers send ICMPv6 Packet Too Big (PMTU tests).
#
# Functions:
#   pe_require [tool...]            root, namespaces, tools, or exit 77 (skip)
#   pe_init <name> [id]             e2e_init + EXIT trap that tears everything down
#   pe_topology_up [v4|v6]          nodes, links, addresses, core routes, host
#                                   routes; no PE function yet (IPv4 goes nowhere).
#                                   v6: also gives h1..hd IPv6 (2001:db8:n:1::2/64
#                                   behind 2001:db8:n:1::1) for a plain IPv6
#                                   forwarding baseline over the same routers.
#   pe_topology_down                stops captures and daemons, deletes the namespaces
#   pe_core_mtu <mtu>               MTU of the p1-p2 link (both ends)
#   pe_capture_start <node> <if> <file> / pe_capture_stop   tcpdump -w
#   pe_pcap_flows <file>            one line per (ethertype, next header, addresses)
#                                   with a packet count: see its comment
#   pe_pcap_check <file>            only IPv6 on the link; every Pref6 address
#                                   embeds what the plan says (section 4.1)
#   pe_kernel_encap_up / _down      the kernel's own 4in6 (seg6 encap.red +
#                                   End.DX4) as the PE function: the baseline
#   pe_tun_routes <pe> [tun]        routes an edge46d PE on TUN "pe0" needs
#   pe_start_edge46 <mode>          HOOK for the lead: start edge46d PEs (stub)
#   pe_embed <pref6> <ipv4>         "2001:db8:1:46::/96" 192.0.2.2 -> 2001:db8:1:46::192.0.2.2
#   pe_host <pe> / pe_of <host>     h1 <-> pe1, ..., hd <-> ped

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export PE_NODES="pe1 pe2 pe3 ped" P_NODES="p1 p2" PE_HOSTS="h1 h2 h3 hd"
export PE1_PREF6=2001:db8:1:46::/96 PE2_PREF6=2001:db8:2:46::/96
export PE3_PREF6=2001:db8:3:46::/96 PED_PREF6=2001:db8:d:46::/96
export PE1_LO6=2001:db8:1::1 PE2_LO6=2001:db8:2::1 PE3_LO6=2001:db8:3::1 PED_LO6=2001:db8:d::1
export PE1_CORE6=2001:db8:0:1::2 PE2_CORE6=2001:db8:0:2::2 PE3_CORE6=2001:db8:0:3::2 PED_CORE6=2001:db8:0:d::2
export PE1_GW6=2001:db8:0:1::1 PE2_GW6=2001:db8:0:2::1 PE3_GW6=2001:db8:0:3::1 PED_GW6=2001:db8:0:d::1
export P1_CORE6=2001:db8:0:12::1 P2_CORE6=2001:db8:0:12::2
export PE1_BLOCK4=192.0.2.0/26 PE2_BLOCK4=192.0.2.64/26 PE3_BLOCK4=198.51.100.0/24 PED_BLOCK4=203.0.113.0/24
export PE1_LAN4=192.0.2.1 PE2_LAN4=192.0.2.65 PE3_LAN4=198.51.100.1 PED_LAN4=203.0.113.1
export H1_ADDR=192.0.2.2 H2_ADDR=192.0.2.66 H3_ADDR=198.51.100.2 HD_ADDR=203.0.113.2
# Bench baseline (a) only: IPv6 on the hosts' links (pe_topology_up v6).
export H1_ADDR6=2001:db8:1:1::2 H2_ADDR6=2001:db8:2:1::2 H3_ADDR6=2001:db8:3:1::2 HD_ADDR6=2001:db8:d:1::2
# The default rule's egress PE.
export PE_DEFAULT=ped
PE_CAPTURE_PIDS=()

pe_host() { case $1 in pe1) echo h1 ;; pe2) echo h2 ;; pe3) echo h3 ;; ped) echo hd ;; esac; }
pe_of() { case $1 in h1) echo pe1 ;; h2) echo pe2 ;; h3) echo pe3 ;; hd) echo ped ;; esac; }
# pe_var <node> <FIELD>: the value of ${NODE_FIELD}, e.g. pe_var pe3 PREF6.
pe_var() { local v="${1^^}_$2"; echo "${!v}"; }
# pe_embed <pref6/96> <ipv4>: the IPv4-embedded IPv6 address (Table 1 layout).
pe_embed() { echo "${1%/96}$2"; }
# pe_p_of <pe>: the P router a PE hangs off.
pe_p_of() { case $1 in pe1 | pe2) echo p1 ;; *) echo p2 ;; esac; }

pe_require() {
  [ "$(id -u)" = 0 ] || e2e_skip "needs root (network namespaces)"
  ip netns add "e46probe$$" 2>/dev/null || e2e_skip "cannot create network namespaces here"
  ip netns del "e46probe$$"
  for t in "$@"; do command -v "$t" >/dev/null || e2e_skip "needs $t"; done
}

pe_init() {
  e2e_init "$@"
  trap pe_cleanup EXIT
}

pe_cleanup() {
  pe_topology_down
  e2e_cleanup
}

pe_topology_up() {
  local fam=${1:-v4} n p pe h i
  for n in $P_NODES $PE_NODES $PE_HOSTS; do e2e_node "$n"; done
  # Hosts: IPv4 only, not routers. Disabled before the links exist, so their
  # interfaces never get an IPv6 address (not even link-local).
  for h in $PE_HOSTS; do
    if [ "$fam" = v6 ]; then
      nx "$h" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
    else
      nx "$h" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0 \
        net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    fi
  done
  # P routers: IPv6 only. Take away 127.0.0.1 too: no IPv4 address at all.
  for p in $P_NODES; do
    nx "$p" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=1
    ip -n "$(ns "$p")" addr del 127.0.0.1/8 dev lo
  done

  e2e_link p1 p2 p2 p1
  ip -n "$(ns p1)" addr add "$P1_CORE6/64" dev p2
  ip -n "$(ns p2)" addr add "$P2_CORE6/64" dev p1
  for pe in $PE_NODES; do
    p=$(pe_p_of "$pe") h=$(pe_host "$pe")
    e2e_link "$p" "$pe" "$pe" core
    e2e_link "$pe" lan "$h" eth0
    ip -n "$(ns "$p")" addr add "$(pe_var "$pe" GW6)/64" dev "$pe"
    ip -n "$(ns "$pe")" addr add "$(pe_var "$pe" CORE6)/64" dev core
    ip -n "$(ns "$pe")" addr add "$(pe_var "$pe" LO6)/128" dev lo
    ip -n "$(ns "$pe")" -6 route add default via "$(pe_var "$pe" GW6)" dev core
    # The P router of this PE routes the PE's whole /48 (Pref6, loopback,
    # bench host network) to it; the other P router routes it over the core link.
    i=${pe#pe}
    ip -n "$(ns "$p")" -6 route add "2001:db8:$i::/48" via "$(pe_var "$pe" CORE6)" dev "$pe"
    if [ "$p" = p1 ]; then
      ip -n "$(ns p2)" -6 route add "2001:db8:$i::/48" via "$P1_CORE6" dev p1
      ip -n "$(ns p2)" -6 route add "2001:db8:0:$i::/64" via "$P1_CORE6" dev p1
    else
      ip -n "$(ns p1)" -6 route add "2001:db8:$i::/48" via "$P2_CORE6" dev p2
      ip -n "$(ns p1)" -6 route add "2001:db8:0:$i::/64" via "$P2_CORE6" dev p2
    fi
    ip -n "$(ns "$pe")" addr add "$(pe_var "$pe" LAN4)/${PE_BLOCK_LEN[$pe]}" dev lan
    ip -n "$(ns "$h")" addr add "$(pe_var "$h" ADDR)/${PE_BLOCK_LEN[$pe]}" dev eth0
    ip -n "$(ns "$h")" route add default via "$(pe_var "$pe" LAN4)"
    if [ "$fam" = v6 ]; then
      ip -n "$(ns "$pe")" addr add "2001:db8:$i:1::1/64" dev lan
      ip -n "$(ns "$h")" addr add "$(pe_var "$h" ADDR6)/64" dev eth0
      ip -n "$(ns "$h")" -6 route add default via "2001:db8:$i:1::1"
    fi
  done
}
declare -gA PE_BLOCK_LEN=([pe1]=26 [pe2]=26 [pe3]=24 [ped]=24)

pe_topology_down() {
  set +e
  pe_capture_stop
  local p n
  for p in "${E2E_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${E2E_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  for n in "${E2E_NETNS[@]}"; do
    ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null
    ip netns del "$n" 2>/dev/null
  done
  E2E_PIDS=() E2E_NETNS=()
}

# pe_core_mtu <mtu>: the MTU of the p1-p2 link, both ends. The PEs' own core
# links keep 1500, so a packet that fits them but not p1-p2 gets an ICMPv6
# Packet Too Big from p1 (or p2) with <mtu>.
pe_core_mtu() {
  ip -n "$(ns p1)" link set p2 mtu "$1" && ip -n "$(ns p2)" link set p1 mtu "$1"
}

# pe_capture_start <node> <ifname> <file>: tcpdump -w in the background,
# returns once it listens. Headers only (-s 256). pe_capture_stop ends all.
pe_capture_start() {
  local node=$1 ifn=$2 file=$3 err="$E2E_DIR/tcpdump-$1-$2-${#PE_CAPTURE_PIDS[@]}-$RANDOM.err"
  # Not through nx (a function: $! would be a subshell that ignores signals).
  ip netns exec "$(ns "$node")" tcpdump -Z root -U --immediate-mode -n -s 256 -i "$ifn" -w "$file" 2>"$err" &
  PE_CAPTURE_PIDS+=($!)
  for _ in $(seq 1 100); do
    grep -q "listening on" "$err" 2>/dev/null && return 0
    kill -0 "$!" 2>/dev/null || e2e_fail "tcpdump in $node on $ifn: $(cat "$err")"
    sleep 0.05
  done
  e2e_fail "tcpdump in $node on $ifn did not start"
}

pe_capture_stop() {
  local p
  for p in "${PE_CAPTURE_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PE_CAPTURE_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  PE_CAPTURE_PIDS=()
}

# pe_pcap_flows <file>: reads an Ethernet pcap (Python, no dissector needed)
# and prints one line per distinct header tuple, with a count:
#   <count> ipv6 nh=<next header> <src> > <dst> [inner ipv4 <src> > <dst> proto=<p>]
#   <count> ipv4 <src> > <dst> proto=<p>
#   <count> ethertype=0x<hex>
# each followed by bytes=<sum of the layer-3 lengths on the wire> (a GSO
# super-packet counts once, with all its bytes).
# IPv6 addresses in Python's compressed form (2001:db8:1:46::c000:202).
# Next header is the first one (43 = a routing header, i.e. an SRH).
pe_pcap_flows() {
  python3 - "$1" <<'PY'
import collections, ipaddress, struct, sys
data = open(sys.argv[1], "rb").read()
magic = data[:4]
end = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
linktype = struct.unpack(end + "I", data[20:24])[0]
if linktype != 1:
    sys.exit(f"pe_pcap_flows: link type {linktype}, want 1 (Ethernet)")
flows, nbytes = collections.Counter(), collections.Counter()
off = 24
while off + 16 <= len(data):
    incl, orig = struct.unpack(end + "II", data[off + 8:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    et = struct.unpack("!H", pkt[12:14])[0]
    l3 = pkt[14:]
    def v4(b):
        return f"{ipaddress.IPv4Address(b[12:16])} > {ipaddress.IPv4Address(b[16:20])} proto={b[9]}"
    if et == 0x86DD and len(l3) >= 40:
        nh = l3[6]
        s = f"ipv6 nh={nh} {ipaddress.IPv6Address(l3[8:24])} > {ipaddress.IPv6Address(l3[24:40])}"
        if nh == 4 and len(l3) >= 60:
            s += " inner ipv4 " + v4(l3[40:])
    elif et == 0x0800 and len(l3) >= 20:
        s = "ipv4 " + v4(l3)
    else:
        s = f"ethertype=0x{et:04x}"
    flows[s] += 1
    nbytes[s] += orig - 14
for s, c in sorted(flows.items(), key=lambda x: -x[1]):
    print(c, s, f"bytes={nbytes[s]}")
PY
}

# pe_pcap_check <file>: the core-link rules of the framework, checked on a
# capture against the address plan above (computed here in Python from the
# PEn_PREF6/PEn_BLOCK4 variables, not taken from any PE). Prints a summary
# and one line per violation; returns non-zero if there is any:
#   - every frame is IPv6 (no IPv4, no ARP: ethertype 0x86dd only);
#   - an IPv6 address inside some Pref6 embeds an IPv4 address whose rule
#     leads to that PE: its block's PE, or ped (the default rule) for an
#     address no block holds; for a source the same (Pref6(ingress) +
#     IPv4 source, and the source must be behind the ingress PE);
#   - a 4in6 packet (Next Header 4): the inner IPv4 source and destination
#     equal the addresses embedded in the outer ones.
#   - an ICMPv6 error (type < 128) from a native source (a P router, e.g.
#     Packet Too Big) may go to a Pref6 address, which must follow the plan.
# Counts (printed): 4in6=<n> translated=<n> (Pref6 addresses, other Next
# Header) core-icmp6-errors=<n> other-ipv6=<n> (ND, MLD, native IPv6). Set
# PE_PCAP_NEED_4IN6=1 to fail when no 4in6 packet was seen.
pe_pcap_check() {
  python3 - "$1" <<'PY'
import ipaddress, os, struct, sys
plan = {pe: (ipaddress.IPv6Network(os.environ[pe.upper() + "_PREF6"]),
             ipaddress.IPv4Network(os.environ[pe.upper() + "_BLOCK4"]))
        for pe in os.environ["PE_NODES"].split()}
default = os.environ["PE_DEFAULT"]
def owner4(a):
    best = None
    for pe, (_, blk) in plan.items():
        if a in blk and (best is None or blk.prefixlen > plan[best][1].prefixlen):
            best = pe
    return best or default
def pe6(a):
    for pe, (p6, _) in plan.items():
        if a in p6:
            return pe
    return None
data = open(sys.argv[1], "rb").read()
end = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
bad, n4in6, nxl, nother, nerr, off = [], 0, 0, 0, 0, 24
while off + 16 <= len(data):
    incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    et = struct.unpack("!H", pkt[12:14])[0]
    l3 = pkt[14:]
    if et != 0x86DD or len(l3) < 40:
        bad.append(f"not IPv6: ethertype 0x{et:04x}, {len(l3)} bytes")
        continue
    nh = l3[6]
    src, dst = ipaddress.IPv6Address(l3[8:24]), ipaddress.IPv6Address(l3[24:40])
    ps, pd = pe6(src), pe6(dst)
    if ps is None and pd is None:
        nother += 1
        continue
    if ps is None and nh == 58 and len(l3) > 40 and l3[40] < 128:
        # An ICMPv6 error from a core router (its own native source) about a
        # converted packet, e.g. Packet Too Big: the destination must still
        # follow the plan.
        nerr += 1
        v4 = ipaddress.IPv4Address(int(dst) & 0xFFFFFFFF)
        if owner4(v4) != pd:
            bad.append(f"icmp6 error {src} > {dst}: {dst} embeds {v4} under Pref6({pd}), its rule says Pref6({owner4(v4)})")
        continue
    desc = f"nh={nh} {src} > {dst}"
    for a, pe in ((src, ps), (dst, pd)):
        if pe is None:
            bad.append(f"{desc}: {a} is in no Pref6 (only one side converted)")
            continue
        v4 = ipaddress.IPv4Address(int(a) & 0xFFFFFFFF)
        if owner4(v4) != pe:
            bad.append(f"{desc}: {a} embeds {v4} under Pref6({pe}), its rule says Pref6({owner4(v4)})")
    if nh == 4:
        n4in6 += 1
        inner = l3[40:60]
        if len(inner) < 20 or inner[0] >> 4 != 4:
            bad.append(f"{desc}: next header 4 without an IPv4 header")
            continue
        i_src, i_dst = ipaddress.IPv4Address(inner[12:16]), ipaddress.IPv4Address(inner[16:20])
        if int(src) & 0xFFFFFFFF != int(i_src) or int(dst) & 0xFFFFFFFF != int(i_dst):
            bad.append(f"{desc}: inner {i_src} > {i_dst} differs from the embedded addresses")
    else:
        nxl += 1
print(f"4in6={n4in6} translated={nxl} core-icmp6-errors={nerr} other-ipv6={nother} violations={len(bad)}")
for b in bad[:20]:
    print("  VIOLATION", b)
if os.environ.get("PE_PCAP_NEED_4IN6") == "1" and n4in6 == 0:
    print("  VIOLATION no 4in6 packet at all")
    sys.exit(1)
sys.exit(1 if bad else 0)
PY
}

# pe_kernel_encap_up [encap.red|encap]: the Linux kernel's own 4in6 as the
# PE function, the baseline that edge46d is measured and compared against.
# This kernel has no ip6tnl device (CONFIG_IPV6_TUNNEL is off); the seg6
# lightweight tunnels (CONFIG_IPV6_SEG6_LWTUNNEL) do it:
#   ingress, one IPv4 route per mapping rule, with an IPv6 encapsulation:
#     ip route add <block> encap seg6 mode encap.red segs <Pref6(egress)+host> dev core
#     ip route add default encap seg6 mode encap.red segs <Pref6(ped)+hd> dev core
#   outer source, one per namespace:
#     ip sr tunsrc set <Pref6(this PE)+its host>
#   egress, on the PE's own Pref6: decapsulate, then route the inner IPv4
#   packet by its destination (nh4 0.0.0.0 = "use the inner destination";
#   a fixed nh4 <host> would send every packet to that one host):
#     ip -6 route add <Pref6> encap seg6local action End.DX4 nh4 0.0.0.0 dev lan
# On the wire (tcpdump on p1-p2, Linux 6.18, iproute2 6.1):
#   mode encap.red, one segment: no SRH at all. Outer IPv6 header, Next
#     Header 4, source = tunsrc, destination = the segment, then
#     the IPv4 packet unchanged: an RFC 2473 4in6 packet. This is the baseline.
#   mode encap: always an SRH (outer Next Header 43, type 4, one segment,
#     segments left 0, SRH next header 4): 24 more bytes, not what the
#     framework sends. End.DX4 decapsulates both forms.
#   Outer hop limit 64, less one at the ingress PE itself (its IPv6 forwarding
#   of the new packet) and one per P router. The inner IPv4 TTL is not
#   decremented at the ingress (the seg6 input hook bypasses ip_forward), only
#   at the egress (End.DX4 hands the packet to IPv4 forwarding): h3 sees 63.
# What the kernel cannot do: its outer addresses are fixed per route (segs)
# and per namespace (tunsrc), not derived per packet from the IPv4 addresses
# (section 4.1). With one host per block, as here, the segment embeds that
# host and tunsrc the local host, so for h1/h2/h3/hd traffic the outer
# addresses are exactly Pref6(ingress)+IPv4 src > Pref6(egress)+IPv4 dst;
# another address of a block would travel under the host's embedded address.
# Nor does it do tunnel PMTU for forwarded IPv4: the seg6 route's input hook
# encapsulates before ip_forward's MTU check, so a 1500-byte DF packet
# becomes 1540 bytes, fails at the ingress PE's own IPv6 output (Ip6FragFails)
# and the Packet Too Big it sends itself is lost: a black hole for TCP. The
# baseline therefore runs the PE-host links at 1460 (core MTU - 40, the
# usual fix for a tunnel without PMTU); pe_kernel_encap_down restores 1500.
pe_kernel_encap_up() {
  local mode=${1:-encap.red} pe other h
  for pe in $PE_NODES; do
    h=$(pe_host "$pe")
    ip -n "$(ns "$pe")" link set lan mtu 1460
    ip -n "$(ns "$h")" link set eth0 mtu 1460
    ip -n "$(ns "$pe")" sr tunsrc set "$(pe_embed "$(pe_var "$pe" PREF6)" "$(pe_var "$h" ADDR)")" ||
      e2e_fail "ip sr tunsrc in $pe"
    for other in $PE_NODES; do
      [ "$other" = "$pe" ] && continue
      [ "$other" = "$PE_DEFAULT" ] && continue  # no rule of its own: the default rule
      ip -n "$(ns "$pe")" route add "$(pe_var "$other" BLOCK4)" encap seg6 mode "$mode" \
        segs "$(pe_embed "$(pe_var "$other" PREF6)" "$(pe_var "$(pe_host "$other")" ADDR)")" dev core ||
        e2e_fail "seg6 encap route $pe -> $other"
    done
    if [ "$pe" != "$PE_DEFAULT" ]; then
      ip -n "$(ns "$pe")" route add default encap seg6 mode "$mode" \
        segs "$(pe_embed "$PED_PREF6" "$HD_ADDR")" dev core || e2e_fail "seg6 default route in $pe"
    fi
    ip -n "$(ns "$pe")" -6 route add "$(pe_var "$pe" PREF6)" encap seg6local action End.DX4 \
      nh4 0.0.0.0 dev lan || e2e_fail "seg6local End.DX4 in $pe"
  done
}

pe_kernel_encap_down() {
  local pe other
  for pe in $PE_NODES; do
    for other in $PE_NODES; do
      [ "$other" = "$pe" ] || [ "$other" = "$PE_DEFAULT" ] ||
        ip -n "$(ns "$pe")" route del "$(pe_var "$other" BLOCK4)" 2>/dev/null
    done
    [ "$pe" = "$PE_DEFAULT" ] || ip -n "$(ns "$pe")" route del default 2>/dev/null
    ip -n "$(ns "$pe")" -6 route del "$(pe_var "$pe" PREF6)" 2>/dev/null
    ip -n "$(ns "$pe")" sr tunsrc set :: 2>/dev/null
    ip -n "$(ns "$pe")" link set lan mtu 1500
    ip -n "$(ns "$(pe_host "$pe")")" link set eth0 mtu 1500
  done
  return 0
}

# pe_tun_routes <pe> [tun]: the routes an edge46d PE on a TUN (default "pe0")
# needs in its namespace, once the daemon has created the TUN:
#   - every remote IPv4 block (the blocks of the other PEs, i.e. the
#     destinations its MR-DB has rules for) -> TUN: ingress traffic from the
#     lan reaches the daemon;
#   - a default IPv4 route -> TUN, for the default rule (not on ped, the
#     default egress PE itself: its own unmatched traffic has nowhere to go);
#   - its own Pref6 -> TUN: egress traffic from the core reaches the daemon.
#     (Traffic the daemon sends out follows the namespace's ordinary routes:
#     IPv6 default via the P router, the connected IPv4 lan.)
# The MR-DB's rules themselves are the daemon's configuration, not routes.
pe_tun_routes() {
  local pe=$1 tun=${2:-pe0} other n
  n=$(ns "$pe")
  ip -n "$n" link set "$tun" up || e2e_fail "TUN $tun in $pe"
  for other in $PE_NODES; do
    [ "$other" = "$pe" ] || [ "$other" = "$PE_DEFAULT" ] ||
      ip -n "$n" route add "$(pe_var "$other" BLOCK4)" dev "$tun" || e2e_fail "route $other block in $pe"
  done
  [ "$pe" = "$PE_DEFAULT" ] || ip -n "$n" route add default dev "$tun" || e2e_fail "default route in $pe"
  ip -n "$n" -6 route add "$(pe_var "$pe" PREF6)" dev "$tun" || e2e_fail "Pref6 route in $pe"
}

# pe_start_edge46 <encapsulate|translate|mixed> [extra-toml]: edge46d with
# role "pe" in pe1, pe2, pe3 and ped, each on a TUN "pe0" with the routes of
# pe_tun_routes. Each PE's configuration (written to $E2E_DIR/<pe>.toml):
# its Pref6 and IPv4 block, a rule per other PE's block, and (except ped)
# the default rule 0.0.0.0/0 -> Pref6(ped). Modes:
#   encapsulate  every PE accepts and prefers RFC 2473 4in6;
#   translate    every PE accepts and prefers RFC 7915 translation;
#   mixed        every PE accepts both; pe1 prefers encapsulation, the others
#                translation (so h1 -> h3 is 4in6 and h3 -> h1 translated).
# `extra-toml` is appended to every PE's file. Returns 0 when all are up;
# pe_ctl <pe> ... talks to one of them.
# The PE's own addresses as a translator (sources of the ICMP errors it
# sends): not assigned to any interface, or the PE's own kernel would drop
# them as martians when they come out of the TUN. The second-to-last
# address of its IPv4 block, and ::46 in its /48.
pe_xlat4() { python3 -c "import ipaddress as a; print(a.IPv4Network('$(pe_var "$1" BLOCK4)').broadcast_address - 1)"; }
pe_xlat6() { local lo; lo=$(pe_var "$1" LO6); echo "${lo%::1}::46"; }

# pe_tcp_check <from-host> <to-host> <port> [size]: sends `size` (default
# 4M) random bytes over TCP from one host to the other (socat, the hosts'
# own stacks), fails unless the receiver got them with an equal sha256 and
# saw the sender's real IPv4 address as the peer. The data stays in
# $E2E_DIR/data for later transfers.
pe_tcp_check() {
  local from=$1 to=$2 port=$3 size=${4:-4M} want got peer rx
  local to_addr from_addr
  to_addr=$(pe_var "$to" ADDR) from_addr=$(pe_var "$from" ADDR)
  [ -s "$E2E_DIR/data" ] || head -c "$size" /dev/urandom >"$E2E_DIR/data"
  want=$(sha256sum <"$E2E_DIR/data" | cut -d' ' -f1)
  rm -f "$E2E_DIR/got" "$E2E_DIR/peer"
  nx "$to" timeout 30 socat -u TCP4-LISTEN:"$port",reuseaddr \
    SYSTEM:"echo \$SOCAT_PEERADDR >'$E2E_DIR/peer'; cat >'$E2E_DIR/got'" &
  E2E_PIDS+=($!)
  rx=$!
  sleep 0.3
  nx "$from" timeout 30 socat -u OPEN:"$E2E_DIR/data" TCP4:"$to_addr":"$port",retry=30,interval=0.1 ||
    e2e_fail "TCP send $from -> $to"
  wait "$rx" || e2e_fail "TCP receiver on $to failed"
  got=$(sha256sum <"$E2E_DIR/got" | cut -d' ' -f1)
  [ "$got" = "$want" ] || e2e_fail "$from -> $to content differs ($(stat -c %s "$E2E_DIR/got") bytes)"
  peer=$(cat "$E2E_DIR/peer")
  [ "$peer" = "$from_addr" ] || e2e_fail "$to saw the peer as '$peer', want $from's real $from_addr"
  e2e_log "sha256 $want equal; $to saw the peer as $peer"
}

pe_ctl() {
  local pe=$1
  shift
  "$EDGE46CTL" --socket "$E2E_DIR/$pe.sock" "$@"
}

pe_write_config() {
  local pe=$1 mode=$2 extra=${3:-} accept prefer rmodes other
  case $mode in
    encapsulate) accept=encapsulate prefer=encapsulate rmodes=encapsulate ;;
    translate) accept=translate prefer=translate rmodes=translate ;;
    mixed)
      accept=both rmodes=both prefer=translate
      [ "$pe" = pe1 ] && prefer=encapsulate
      ;;
    *) e2e_fail "pe_write_config: unknown mode $mode" ;;
  esac
  {
    cat <<EOF2
[daemon]
role = "pe"
tun = "pe0"
workers = 1
control-socket = "$E2E_DIR/$pe.sock"
log-level = "info"

[translator]
ipv4-address = "$(pe_xlat4 "$pe")"
ipv6-address = "$(pe_xlat6 "$pe")"

[pe]
prefixes = ["$(pe_var "$pe" PREF6)"]
accept = "$accept"
prefer = "$prefer"
ipv4 = ["$(pe_var "$pe" BLOCK4)"]
EOF2
    # PE_RULES=bgp: no static rule at all; every PE learns the others'
    # rules over iBGP (pe_bgp_toml). PE_RULES=none: no rule and no [bgp]
    # (the caller adds its own, lib_bgp.sh).
    if [ "${PE_RULES:-static}" = bgp ]; then
      pe_bgp_toml "$pe"
    elif [ "${PE_RULES:-static}" = none ]; then
      :
    else
      for other in $PE_NODES; do
        [ "$other" = "$pe" ] && continue
        [ "$other" = "$PE_DEFAULT" ] && continue
        printf '\n[[pe.rule]]\nprefix = "%s"\npref6 = "%s"\nmodes = "%s"\n' \
          "$(pe_var "$other" BLOCK4)" "$(pe_var "$other" PREF6)" "$rmodes"
      done
      if [ "$pe" != "$PE_DEFAULT" ]; then
        printf '\n[[pe.rule]]\nprefix = "0.0.0.0/0"\npref6 = "%s"\nmodes = "%s"\n' "$(pe_var "$PE_DEFAULT" PREF6)" "$rmodes"
      fi
    fi
    [ -z "$extra" ] || printf '\n%s\n' "$extra"
  } >"$E2E_DIR/$pe.toml"
}

# pe_bgp_toml <pe>: the [bgp] table of a PE in a full iBGP mesh of the PEs
# (AS 65000, sessions between the loopbacks across the core, no reflector):
# each PE advertises its own block; the default egress PE also the default
# rule. PE_BGP_EXTRA is appended to [bgp] (e.g. "stale-time = 3").
pe_bgp_toml() {
  local pe=$1 other i
  i=$(pe_var "$pe" LO6)
  printf '\n[bgp]\nasn = 65000\nrouter-id = "10.255.0.%s"\nnext-hop = "%s"\nlisten-address = "%s"\n' \
    "$(pe_router_index "$pe")" "$i" "$i"
  printf 'hold-time = 9\nconnect-retry = 1\nconnect-retry-max = 2\n'
  [ "$pe" = "$PE_DEFAULT" ] && printf 'advertise-default = true\n'
  [ -z "${PE_BGP_EXTRA:-}" ] || printf '%s\n' "$PE_BGP_EXTRA"
  for other in $PE_NODES; do
    [ "$other" = "$pe" ] && continue
    printf '\n[[bgp.peer]]\nname = "%s"\naddress = "%s"\nasn = 65000\nlocal-address = "%s"\n' \
      "$other" "$(pe_var "$other" LO6)" "$i"
  done
}
pe_router_index() { case $1 in pe1) echo 1 ;; pe2) echo 2 ;; pe3) echo 3 ;; ped) echo 4 ;; esac; }

# pe_bgp_wait <pe> <n> [seconds]: until <pe> has n bgp rules in its MR-DB.
pe_bgp_wait() {
  local pe=$1 want=$2 limit=${3:-20} i got
  for ((i = 0; i < limit * 10; i++)); do
    got=$(pe_ctl "$pe" --json mrdb stats 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["per_source"]["bgp"])' 2>/dev/null)
    [ "$got" = "$want" ] && return 0
    sleep 0.1
  done
  e2e_log "$pe: $got bgp rules after ${limit}s, want $want"
  return 1
}

pe_start_edge46() {
  local mode=$1 extra=${2:-} pe
  [ -x "$EDGE46D" ] || {
    echo "edge46d not found at $EDGE46D" >&2
    return 1
  }
  for pe in $PE_NODES; do
    pe_write_config "$pe" "$mode" "$extra"
    e2e_start_daemon "$pe" "$E2E_DIR/$pe.toml" "$E2E_DIR/$pe.sock"
    pe_tun_routes "$pe" pe0
  done
}
