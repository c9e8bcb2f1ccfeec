/* The contract between the kernel fast path (edge46.bpf.c, C for
 * clang -target bpf) and the daemon that owns its maps (fastpath.cpp, C++):
 * map layouts, key and value structs, flag bits, counter indexes. Both sides
 * include this file; fastpath.cpp static_asserts the layouts it shares with
 * the core (the MR-DB's DIR-24-8 words and targets, mapping/mrdb.h).
 *
 * Maps (names as in the BPF object; the daemon writes all of them):
 *
 *   fp_state     ARRAY[1] of struct fp_state: the active generation (0/1).
 *   fp_cfg       ARRAY[2] of struct fp_cfg: one configuration per generation.
 *                A publish writes the standby generation's config and LPM
 *                entries, then flips fp_state.gen, then deletes the old
 *                generation's LPM entries: a packet reads gen once and sees
 *                the old or the new configuration, never a mix.
 *   fp_deny4     LPM_TRIE {gen, IPv4} -> u8: SIIT denylist4.
 *   fp_eam4      LPM_TRIE {gen, IPv4} -> struct fp_eam: EAMT, IPv4 side.
 *   fp_eam6      LPM_TRIE {gen, IPv6} -> struct fp_eam: EAMT, IPv6 side.
 *   fp_known6    LPM_TRIE {gen, IPv6} -> struct fp_known: the PE's known
 *                Pref6s (sources it accepts; `own` ones are destinations).
 *   fp_mr_tbl24  ARRAY[FP_TBL24_CHUNKS] of struct fp_mr_chunk, MMAPABLE:
 *                the MR-DB's tbl24 (2^24 u32 words, contiguous in the mmap).
 *   fp_mr_tbl8   ARRAY[groups] of struct fp_mr_chunk, MMAPABLE: tbl8 groups.
 *   fp_mr_targets ARRAY[targets] of struct fp_target, MMAPABLE.
 *   fp_mr_default ARRAY[1] of u32, MMAPABLE: the /0 rule's word.
 *                The daemon's MR-DB (mapping::MrDb) lives in these four
 *                mmaps: the kernel reads the very table the core reads, and
 *                every rule change is one incremental write seen by both.
 *   fp_counters  PERCPU_ARRAY[FP_CNT_MAX] of u64.
 *   fp_ids       PERCPU_ARRAY[1] of struct fp_ids: RFC 7739 IPv4 ID counters.
 *
 * Byte order: addresses are in network order everywhere in these maps
 * (IPv4 as __u32 holding the 4 bytes as on the wire), except the MR-DB
 * tables, which are indexed by the host-order IPv4 address as the core's.
 */
#ifndef EDGE46_FASTPATH_BPF_ABI_H
#define EDGE46_FASTPATH_BPF_ABI_H

#include <linux/types.h>

#include "core/reasons.h"

/* ---- counters -------------------------------------------------------------------------------- */
enum fp_counter {
#define EDGE46_FP_X(e, n, d) e,
  EDGE46_FP_EVENTS(EDGE46_FP_X) EDGE46_FP_PUNTS(EDGE46_FP_X) EDGE46_FP_DROPS(EDGE46_FP_X)
#undef EDGE46_FP_X
      FP_CNT_MAX
};

/* ---- configuration ----------------------------------------------------------------------------- */
enum fp_role { FP_ROLE_OFF = 0, FP_ROLE_SIIT = 1, FP_ROLE_PE = 2 };

/* Pool6 layouts (mapping::Pool6Layout). */
enum fp_layout { FP_LAYOUT_RFC6052 = 0, FP_LAYOUT_LOW32 = 1 };

/* RFC 7757 4 hairpinning (xlat::HairpinMode). */
enum fp_hairpin { FP_HAIRPIN_OFF = 0, FP_HAIRPIN_SIMPLE = 1, FP_HAIRPIN_INTRINSIC = 2 };

/* PE modes (mapping::ModeBits). */
#define FP_MODE_TRANSLATE 1
#define FP_MODE_ENCAPSULATE 2

/* fp_cfg.flags */
#define FP_F_POOL6 (1u << 0)            /* pool6 is set */
#define FP_F_OWN4 (1u << 1)             /* own_ipv4 is set */
#define FP_F_OWN6 (1u << 2)             /* own_ipv6 is set */
#define FP_F_ZEROIZE_TC (1u << 3)       /* 4->6: Traffic Class 0 */
#define FP_F_OVERRIDE_TOS (1u << 4)     /* 6->4: TOS = tos */
#define FP_F_AMEND_UDP0 (1u << 5)       /* 4->6: compute a zero UDP checksum (the kernel punts it) */
#define FP_F_PE_RATE_LIMIT (1u << 6)    /* [pe] ingress-rate set: core traffic is punted */
#define FP_F_DENY4 (1u << 7)            /* fp_deny4 holds entries for this generation */
#define FP_F_EAMT (1u << 8)             /* fp_eam4/fp_eam6 hold entries for this generation */

struct fp_pool6 {
  __u8 addr[16]; /* prefix, host bits zero */
  __u8 len;      /* prefix length */
  __u8 layout;   /* enum fp_layout */
  __u8 pad[2];
};

struct fp_cfg {
  __u32 role;  /* enum fp_role */
  __u32 flags; /* FP_F_* */
  /* SIIT (xlat::Config) */
  struct fp_pool6 pool6;
  __u32 own_ipv4; /* network order */
  __u8 own_ipv6[16];
  __u32 ipv4_mtu; /* the core's egress MTUs: a translation larger is punted */
  __u32 ipv6_mtu;
  __u8 tos;
  __u8 hairpin; /* enum fp_hairpin */
  __u8 pad0[2];
  /* PE ([pe], pipeline::PeParams) */
  struct fp_pool6 pe_own; /* Pref6 of this PE (the source prefix) */
  __u8 pe_accept;         /* FP_MODE_* accepted as egress */
  __u8 pe_prefer;         /* FP_MODE_* preferred as ingress */
  __u8 pe_hop_limit;      /* outer Hop Limit of encapsulated packets */
  __u8 pad1;
  __u32 pe_core_mtu; /* IPv6 MTU of the core; tunnel MTU = core_mtu - 40 */
  /* RFC 7739 IPv4 Identification (xlat::Ipv4IdState keys) */
  __u64 id_key0;
  __u64 id_key1;
  /* The daemon's TUN: a translation routed into it is punted (the core's
   * routing_loop check); 0 when unknown. */
  __u32 tun_ifindex;
  __u32 pad2;
};

struct fp_state {
  __u32 gen; /* 0 or 1: index into fp_cfg and the generation of LPM keys */
  __u32 pad;
};

/* LPM keys: prefixlen counts the 32 generation bits, so a lookup is
 * {32 + 32, gen, addr} and an entry {32 + len, gen, prefix}. */
struct fp_key4 {
  __u32 prefixlen;
  __u32 gen; /* network order (it is matched bit by bit) */
  __u32 addr;
};
struct fp_key6 {
  __u32 prefixlen;
  __u32 gen;
  __u8 addr[16];
};

/* One EAM (RFC 7757): both prefixes; the suffix length is the same on both
 * sides (32 - v4_len == 128 - v6_len). */
struct fp_eam {
  __u8 v6[16];
  __u32 v4; /* network order */
  __u8 v6_len;
  __u8 v4_len;
  __u8 pad[2];
};

struct fp_known {
  struct fp_pool6 pool6;
  __u8 own; /* one of this PE's own Pref6 (accepted as destination) */
  __u8 pad[3];
};

/* ---- the MR-DB (mapping::MrDb's DIR-24-8, shared with the core) ------------------------------- */
#define FP_MR_VALID (1u << 31)
#define FP_MR_EXT (1u << 30)
#define FP_MR_INDEX_MASK 0xffffffu
#define FP_MR_CHUNK 256               /* u32 words per array element (a tbl8 group) */
#define FP_TBL24_CHUNKS (1u << 16)    /* 2^24 words / 256 */

struct fp_mr_chunk {
  __u32 w[FP_MR_CHUNK];
};

/* mapping::MrTarget, byte for byte (alignas(8) there, so the array stride
 * of the mmap, value_size rounded up to 8, is the C++ array's). */
struct fp_target {
  __u8 addr[16]; /* Pref6(egress PE) */
  __u8 len;
  __u8 layout; /* enum fp_layout */
  __u8 modes;  /* FP_MODE_* the egress accepts */
  __u8 pad[5];
};

/* ---- RFC 7739 IPv4 Identification (xlat/common.cpp next_ipv4_id) ------------------------------ */
#define FP_ID_COUNTERS 1024
struct fp_ids {
  __u16 counters[FP_ID_COUNTERS];
};

#endif /* EDGE46_FASTPATH_BPF_ABI_H */
