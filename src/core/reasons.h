/* The reason tables of edge46, as X-macros: the one source of every counter
 * name the core (core/drop_reason.h) and the kernel fast path
 * (fastpath/bpf/edge46.bpf.c, fastpath/fastpath.h) report. Plain C
 * preprocessor only: the BPF program (clang -target bpf, C) includes it too.
 */
#ifndef EDGE46_CORE_REASONS_H
#define EDGE46_CORE_REASONS_H

/* Why the core drops a packet. Counters, `edge46ctl stats`, the replay tool
 * and the docs are all generated from this list; nothing is dropped without
 * one of these names. */
/* X(enum, "name", "one-line description") */
#define EDGE46_DROP_REASONS(X)                                                                                        \
  X(kNone, "none", "not dropped")                                                                                     \
  /* malformed input */                                                                                               \
  X(kTruncated, "truncated", "packet shorter than its headers claim")                                                 \
  X(kBadVersion, "bad_version", "IP version nibble does not match the ingress side")                                  \
  X(kBadIhl, "bad_ihl", "IPv4 IHL below 5 or beyond the packet")                                                      \
  X(kBadTotalLength, "bad_total_length", "IPv4 total length inconsistent with the packet")                            \
  X(kBadIpv4Checksum, "bad_ipv4_checksum", "IPv4 header checksum is wrong")                                           \
  X(kBadPayloadLength, "bad_payload_length", "IPv6 payload length beyond the packet or jumbo")                        \
  X(kTooManyExtHeaders, "too_many_ext_headers", "IPv6 extension header chain too long")                               \
  X(kBadExtHeader, "bad_ext_header", "IPv6 extension header truncated or misplaced")                                  \
  X(kExtHeaderAfterFragment, "ext_header_after_fragment",                                                             \
    "extension header after the Fragment header (ICMPv6 1/1 sent)")                                                   \
  X(kSegmentsLeft, "routing_segments_left", "Routing header with Segments Left != 0 (RFC 7915 5.1)")                  \
  X(kBadL4Header, "bad_l4_header", "TCP/UDP/ICMP header truncated in a first fragment")                               \
  X(kUdp6ZeroChecksum, "udp6_zero_checksum", "IPv6 UDP checksum 0, invalid in IPv6 (RFC 8200 8.1)")                   \
  X(kBadInnerPacket, "bad_inner_packet", "packet quoted in an ICMP error is malformed")                               \
  X(kNestedIcmpError, "nested_icmp_error", "ICMP error quoting another ICMP error")                                   \
  X(kBadIcmpChecksum, "bad_icmp_checksum", "ICMP error with a wrong checksum (not translated)")                       \
  X(kBadIcmpLength, "bad_icmp_length", "RFC 4884 length attribute points beyond the packet")                          \
  X(kSourceRoute, "source_route", "unexpired IPv4 source route option (ICMPv4 3/5 sent)")                             \
  /* policy and mapping */                                                                                            \
  X(kNoMappingDst, "no_mapping_dst", "destination address has no EAM and no pool6 mapping")                           \
  X(kNoMappingSrc, "no_mapping_src", "source address has no EAM and no pool6 mapping")                                \
  X(kDenylisted, "denylisted", "IPv4 address in denylist4 or a reserved range")                                       \
  X(kInnerNoMapping, "inner_no_mapping", "address quoted in an ICMP error has no mapping")                            \
  X(kReservedSource, "reserved_source", "ICMP error source is or maps to a reserved IPv4 address (RFC 1122 3.2.1.3)") \
  X(kToOwnAddress, "to_own_address", "addressed to the translator's own ipv4-address / ipv6-address")                 \
  X(kRoutingLoop, "routing_loop", "the translation would be routed straight back into the TUN")                       \
  /* ICMP */                                                                                                          \
  X(kIcmpUntranslatable, "icmp_untranslatable", "ICMP type/code with no counterpart (RFC 7915)")                      \
  X(kBadProtocol, "bad_protocol", "protocol meaningless on the other side (IPv6 ext header, other ICMP)")             \
  X(kFragmentedIcmp, "fragmented_icmp", "fragmented ICMP message (checksum needs reassembly)")                        \
  /* size and lifetime (a translator-generated ICMP error may be emitted) */                                          \
  X(kTtlExceeded, "ttl_exceeded", "TTL / Hop Limit would reach zero (Time Exceeded sent)")                            \
  X(kFragNeeded, "frag_needed", "DF set and too big for the next link (ICMPv4 3/4 sent)")                             \
  X(kPacketTooBig, "packet_too_big", "too big for the IPv4 link (ICMPv6 Packet Too Big sent)")                        \
  X(kUdpZeroChecksum, "udp_zero_checksum", "IPv4 UDP checksum 0 not amended (ICMPv4 3/13 sent)")                      \
  X(kTooManyFragments, "too_many_fragments", "translator fragmentation needs too many pieces")                        \
  /* The PE (xlat/pe_mapper.h, pipeline/pe.h) */                                                                      \
  X(kNoMappingRule, "no_mapping_rule", "no MR-DB rule and no default rule for the IPv4 destination")                  \
  X(kPeUnknownSource, "pe_unknown_source", "outer IPv6 source under no known Pref6 (anti-spoofing, framework 7.1)")   \
  X(kNotOwnPref6, "not_own_pref6", "IPv6 destination outside this PE's Pref6")                                        \
  /* RFC 2473 tunnel (xlat/encap.h) */                                                                                \
  X(kDecapFragmented, "decap_fragmented", "4in6 packet with a fragmented outer IPv6 header (no reassembly)")          \
  X(kDecapNot4in6, "decap_not_4in6", "outer IPv6 Next Header after its extension headers is not 4 (IPv4)")            \
  X(kDecapBadInner, "decap_bad_inner", "decapsulated IPv4 packet malformed or not filling the outer payload")         \
  X(kDecapAddressMismatch, "decap_address_mismatch",                                                                  \
    "inner IPv4 addresses differ from those in the outer IPv6 ones (spoofed, framework 7.1)")                         \
  X(kDecapEcnCeNotEct, "decap_ecn_ce_not_ect", "outer ECN CE over a Not-ECT inner packet (RFC 6040 4.2)")             \
  X(kTunnelErrorNoOwnIpv4, "tunnel_error_no_own_ipv4",                                                                \
    "tunnel ICMPv6 error not relayed: no ipv4-address to send the ICMPv4 error from")                                 \
  X(kTunnelErrorNotRelayed, "tunnel_error_not_relayed",                                                               \
    "tunnel ICMPv6 error with no ICMPv4 counterpart (RFC 2473 8.3) or about an unanswerable packet")                  \
  X(kTunnelPtbDfClear, "tunnel_ptb_df_clear",                                                                         \
    "tunnel Packet Too Big about a DF-clear packet: tunnel MTU lowered, nothing relayed")

/* The kernel fast path (fastpath/bpf): what happened to a packet there.
 * FP_EVENTS count packets it handled itself; FP_PUNTS packets it handed on
 * unchanged (TC_ACT_OK) to the kernel, which routes them into the TUN or
 * forwards them as any router would; FP_DROPS packets it dropped (only after
 * the packet was rewritten, when a helper failed). X(enum, "name", "description"). */
#define EDGE46_FP_EVENTS(X)                                                                       \
  X(FP_SEEN, "fp_seen", "packets the fast path program ran on")                                  \
  X(FP_TRANSLATED_46, "fp_translated_46", "IPv4 translated to IPv6 in the kernel (RFC 7915)")      \
  X(FP_TRANSLATED_64, "fp_translated_64", "IPv6 translated to IPv4 in the kernel (RFC 7915)")      \
  X(FP_ENCAPSULATED, "fp_encapsulated", "IPv4 encapsulated in IPv6 in the kernel (RFC 2473)")      \
  X(FP_DECAPSULATED, "fp_decapsulated", "4in6 decapsulated in the kernel (RFC 2473)")              \
  X(FP_GSO, "fp_gso", "GSO/GRO super-packets handled whole")                                     \
  X(FP_REDIRECT_NEIGH, "fp_redirect_neigh", "sent with bpf_redirect_neigh (no neighbour entry yet)")

#define EDGE46_FP_PUNTS(X)                                                                            \
  X(FP_PASS_NOT_IP, "fp_pass_not_ip", "not IPv4 or IPv6 (ARP, other EtherTypes): not ours")            \
  X(FP_PASS_NOT_TRANSLATED, "fp_pass_not_translated", "destination in no translated prefix: not ours") \
  X(FP_PUNT_OFF, "fp_punt_off", "no configuration published (role off)")                               \
  X(FP_PUNT_BAD_IPV4, "fp_punt_bad_ipv4", "IPv4 header fails validation (the core counts the drop)")    \
  X(FP_PUNT_BAD_IPV6, "fp_punt_bad_ipv6", "IPv6 header fails validation (the core counts the drop)")    \
  X(FP_PUNT_IPV4_OPTIONS, "fp_punt_ipv4_options", "IPv4 header with options")                         \
  X(FP_PUNT_FRAGMENT, "fp_punt_fragment", "IPv4 fragment or IPv6 Fragment header")                     \
  X(FP_PUNT_EXT_HEADER, "fp_punt_ext_header", "IPv6 extension header")                                \
  X(FP_PUNT_TTL, "fp_punt_ttl", "TTL or Hop Limit 1 or 0 (Time Exceeded is the core's)")               \
  X(FP_PUNT_PROTOCOL, "fp_punt_protocol", "not TCP, UDP or ICMP echo")                                 \
  X(FP_PUNT_ICMP, "fp_punt_icmp", "ICMP other than echo request/reply (errors quote packets)")          \
  X(FP_PUNT_L4_HEADER, "fp_punt_l4_header", "TCP/UDP/ICMP header truncated")                           \
  X(FP_PUNT_UDP_ZERO_CSUM, "fp_punt_udp_zero_csum", "IPv4 UDP with checksum 0")                        \
  X(FP_PUNT_NO_MAPPING, "fp_punt_no_mapping", "an address has no mapping (the core drops or answers)") \
  X(FP_PUNT_SPECIAL_ADDR, "fp_punt_special_addr", "reserved, denylisted or own address")               \
  X(FP_PUNT_HAIRPIN, "fp_punt_hairpin", "hairpinning (RFC 7757 4) is the core's")                      \
  X(FP_PUNT_MTU, "fp_punt_mtu", "too big for the egress MTU after translation")                       \
  X(FP_PUNT_GSO, "fp_punt_gso", "UDP GSO or a GSO segment that would not fit after translation")       \
  X(FP_PUNT_FIB, "fp_punt_fib", "no route, or the FIB lookup needs the stack (the kernel decides)")    \
  X(FP_PUNT_PE_MODE, "fp_punt_pe_mode", "PE mode the kernel path does not take here (rate limit, PMTU)") \
  X(FP_PUNT_DECAP, "fp_punt_decap", "4in6 packet whose inner packet needs the core's checks")           \
  X(FP_PUNT_OTHER, "fp_punt_other", "anything else the core handles")

#define EDGE46_FP_DROPS(X) \
  X(FP_DROP_HELPER_FAILED, "fp_drop_helper_failed", "a BPF helper failed after the packet was rewritten")

#endif /* EDGE46_CORE_REASONS_H */
