/* edge46's kernel fast path: a tc (tcx or clsact direct-action) ingress
 * program that translates (RFC 7915), encapsulates and decapsulates
 * (RFC 2473) the common packets and forwards them with bpf_fib_lookup +
 * bpf_redirect(_neigh); everything else goes on unchanged (TC_ACT_OK) to the
 * kernel, which routes it into the daemon's TUN as without the fast path.
 * Maps and layouts: abi.h. The daemon (fastpath.cpp) owns every map.
 *
 * SKELETON: maps are final; the program logic is being written.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "fastpath/bpf/abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct fp_state);
} fp_state SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct fp_cfg);
} fp_cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 4096);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct fp_key4);
  __type(value, __u8);
} fp_deny4 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 65536);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct fp_key4);
  __type(value, struct fp_eam);
} fp_eam4 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 65536);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct fp_key6);
  __type(value, struct fp_eam);
} fp_eam6 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 65536);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct fp_key6);
  __type(value, struct fp_known);
} fp_known6 SEC(".maps");

/* The MR-DB. max_entries here are the PE's; the daemon shrinks them to 1
 * before loading for a role that has no MR-DB. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, FP_TBL24_CHUNKS);
  __uint(map_flags, BPF_F_MMAPABLE);
  __type(key, __u32);
  __type(value, struct fp_mr_chunk);
} fp_mr_tbl24 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16384);
  __uint(map_flags, BPF_F_MMAPABLE);
  __type(key, __u32);
  __type(value, struct fp_mr_chunk);
} fp_mr_tbl8 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 65536);
  __uint(map_flags, BPF_F_MMAPABLE);
  __type(key, __u32);
  __type(value, struct fp_target);
} fp_mr_targets SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __uint(map_flags, BPF_F_MMAPABLE);
  __type(key, __u32);
  __type(value, __u32);
} fp_mr_default SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, FP_CNT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} fp_counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct fp_ids);
} fp_ids SEC(".maps");

static __always_inline void count(__u32 c) {
  __u64 *v = bpf_map_lookup_elem(&fp_counters, &c);
  if (v) *v += 1;
}

/* The one program, attached at ingress of every interface the
 * configuration names; it tells the families apart by EtherType. */
SEC("tc")
int edge46_tc(struct __sk_buff *skb) {
  count(FP_SEEN);
  count(FP_PUNT_OFF);
  return TC_ACT_OK;
}
