/* The seams inside the BPF program, so its parts are written and read
 * apart: parsing and validation (parse.h), forwarding (fwd.h), RFC 7915
 * header translation with the addresses already mapped (xlat.h), SIIT's
 * address mapping (siit.h) and the PE (pe.h: MR-DB lookup, RFC 2473
 * encapsulation/decapsulation, PE translation through xlat.h).
 *
 * Every function returns an int: 0 for "go on" (decide steps), a TC
 * verdict to return at once (TC_ACT_REDIRECT after a successful forward,
 * TC_ACT_SHOT after a failure past the first write, counted), or
 * FP_PUNT_RET(counter) for a punt (the caller counts that enum fp_counter
 * and returns TC_ACT_OK). Nothing is written to the packet before every
 * decision that could punt has been taken.
 */
#ifndef EDGE46_FASTPATH_BPF_INTERNAL_H
#define EDGE46_FASTPATH_BPF_INTERNAL_H

#include <linux/bpf.h>

#include "fastpath/bpf/abi.h"

#define FP_PUNT_RET(c) (0x100 + (int)(c))
#define FP_IS_PUNT(r) ((r) >= 0x100)
#define FP_PUNT_COUNTER(r) ((__u32)(r)-0x100)

/* One parsed, validated packet. Offsets are from skb->data; the Ethernet
 * header is at 0 (no VLAN: a tagged frame is not ours). */
struct fp_pkt {
  __u32 l3;     /* offset of the IP header (14) */
  __u32 l4;     /* offset of the transport header (l3 + 20 or l3 + 40) */
  __u32 l3_len; /* IPv4 Total Length, or 40 + IPv6 Payload Length */
  __u8 family;  /* 4 or 6 */
  __u8 proto;   /* IPv4 Protocol / IPv6 Next Header (6, 17, 1, 58, or 4 for 4in6) */
  __u8 ttl;     /* TTL / Hop Limit as received */
  __u8 tos;     /* TOS / Traffic Class */
  __u32 flow;   /* IPv6 Flow Label (host order) */
  __u16 id;     /* IPv4 Identification (host order) */
  __u16 frag;   /* IPv4 flags + fragment offset (host order) */
  __u32 saddr4, daddr4; /* network order */
  __u8 saddr6[16];
  __u8 daddr6[16];
  __u16 sport, dport; /* TCP/UDP ports, or ICMP echo identifier in sport (network order) */
  __u8 icmp_type;
  __u8 pad;
};

/* parse.h
 *   int fp_parse(struct __sk_buff *skb, struct fp_pkt *p);
 *       0: p filled, IPv4 header fully validated (version, IHL == 5, Total
 *       Length vs skb->len, header checksum, not a fragment) or IPv6 header
 *       (version, Payload Length vs skb->len, no extension header); TTL/Hop
 *       Limit > 1; else FP_PUNT_RET(counter). Protocols: TCP, UDP (IPv4 checksum
 *       0 punted), ICMP/ICMPv6 echo request/reply, and Next Header 4 (IPv4 in
 *       IPv6, validated by the PE's decapsulation). FP_PASS_NOT_IP for
 *       non-IP frames.
 * fwd.h
 *   int fp_fib4(struct __sk_buff *skb, __u32 src4, __u32 dst4, __u32 tot_len, struct bpf_fib_lookup *f);
 *   int fp_fib6(struct __sk_buff *skb, const __u8 src6[16], const __u8 dst6[16], __u32 tot_len,
 *               struct bpf_fib_lookup *f);
 *       Decide: FIB lookup of the packet as it will leave (addresses after
 *       translation, its length after translation). 0 when it can be
 *       redirected (route found, fits the egress MTU, not back into the
 *       daemon's TUN, fp_cfg.tun_ifindex); else FP_PUNT_RET(FP_PUNT_FIB or
 *       FP_PUNT_MTU).
 *   int fp_redirect(struct __sk_buff *skb, struct bpf_fib_lookup *f, __u16 eth_proto);
 *       Act: writes the Ethernet header (MACs from the lookup, EtherType)
 *       and redirects (bpf_redirect, or bpf_redirect_neigh when the lookup
 *       had no neighbour). Returns the verdict.
 * xlat.h
 *   int fp_xlat46(struct __sk_buff *skb, const struct fp_cfg *c, struct fp_pkt *p,
 *                 const __u8 src6[16], const __u8 dst6[16]);
 *   int fp_xlat64(struct __sk_buff *skb, const struct fp_cfg *c, struct fp_pkt *p, __u32 src4, __u32 dst4);
 *       Decide (MTU/GSO via fp_fib*), then act: RFC 7915 header
 *       translation with the given addresses (bpf_skb_change_proto, L4
 *       checksum by pseudo-header difference, ICMP echo type, TTL/Hop Limit
 *       decremented once: the fast path is the router), then fp_redirect.
 *       Returns the verdict, or FP_PUNT_RET(counter).
 */

#endif /* EDGE46_FASTPATH_BPF_INTERNAL_H */
