// The kernel fast path, daemon side: loads the tc eBPF program
// (bpf/edge46.bpf.c, embedded through a bpftool-generated skeleton), owns
// every map it reads (bpf/abi.h), publishes the configuration and the small
// runtime tables into them, lends the MR-DB maps' memory to the core's
// mapping::MrDb (so both paths read one table), attaches at tc ingress of the
// configured interfaces, and reads the per-CPU counters.
//
// Threads: every method is called from the control thread (one at a time),
// except counters() and attachments(), which only read.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "mapping/eamt.h"
#include "mapping/mrdb.h"
#include "xlat/config.h"
#include "xlat/pe_mapper.h"

namespace edge46::fastpath {

// [daemon] fast-path.
enum class Mode : uint8_t {
  kOff,   // TUN only
  kAuto,  // the kernel path when the kernel and privileges allow, else TUN only (says why)
  kTc,    // the kernel path or the daemon refuses to start
};
std::string_view mode_name(Mode m) noexcept;
std::optional<Mode> parse_mode(std::string_view s) noexcept;

// One per enum fp_counter (bpf/abi.h), from core/reasons.h.
std::size_t counter_count() noexcept;
std::string_view counter_name(std::size_t i) noexcept;
std::string_view counter_description(std::size_t i) noexcept;

// The PE's scalars the kernel needs (pipeline::PeParams and [pe]).
struct PeParams {
  mapping::Pool6 own{};
  uint8_t accept = mapping::kModeBoth;
  uint8_t prefer = mapping::kModeEncapsulate;
  uint8_t hop_limit = 64;
  uint32_t core_mtu = 1500;
  bool rate_limit = false;  // [pe] ingress-rate != 0: traffic from the core is punted to the core
};

// What one publish gives the kernel: the core's own configuration and
// runtime tables. Pointers are read during publish() only.
struct Tables {
  enum class Role : uint8_t { kOff, kSiit, kPe } role = Role::kOff;
  const xlat::Config* xlat = nullptr;          // SIIT: pool6, denylist4, hairpin, TOS, MTUs, own addresses
  const mapping::Eamt* eamt = nullptr;         // SIIT: the runtime EAMT
  std::optional<PeParams> pe;                  // PE
  const xlat::KnownPrefixes* known = nullptr;  // PE: every accepted Pref6
  uint64_t id_key0 = 0x736f6d6570736575ull;    // RFC 7739 ID hash key (xlat::Ipv4IdState)
  uint64_t id_key1 = 0x646f72616e646f6dull;
};

struct LoadOptions {
  bool mrdb = false;             // size the MR-DB maps (role pe); else they have one entry
  uint32_t tbl8_groups = 16384;  // MR-DB limits in the kernel (mapping::MrDb::Limits)
  uint32_t targets = 65536;
};

struct Attachment {
  std::string ifname;
  int ifindex = 0;
  std::string kind;  // "tcx" (a link that dies with the process) or "clsact" (cls_bpf, removed on exit and on start)
};

// One run of the program on one frame (BPF_PROG_TEST_RUN), for tests and
// fuzzing. verdict: TC_ACT_OK (0, punt), TC_ACT_SHOT (2), TC_ACT_REDIRECT (7).
struct TestRun {
  int verdict = -1;
  std::vector<uint8_t> out;  // the frame after the program (Ethernet header included)
};

class FastPath {
 public:
  // Opens and loads the BPF object. The error says why (no CAP_BPF, kernel
  // too old, the verifier's complaint).
  static tl::expected<std::unique_ptr<FastPath>, std::string> load(const LoadOptions& opts = {});
  ~FastPath();  // detaches, unmaps, closes
  FastPath(const FastPath&) = delete;
  FastPath& operator=(const FastPath&) = delete;

  // The MR-DB maps' memory for mapping::MrDb (LoadOptions::mrdb), else nullopt.
  // Valid as long as this object lives.
  std::optional<mapping::MrDb::Backing> mrdb_backing() noexcept;
  // A grace period for the kernel's readers (softirq, under RCU): call it
  // before mapping::MrDb::reclaim(). membarrier(MEMBARRIER_CMD_GLOBAL) = synchronize_rcu().
  static void kernel_grace_period() noexcept;

  // Writes the configuration and the small tables (denylist4, EAMT, known
  // Pref6s) into the standby generation, then flips the generation: a
  // packet sees all of the old or all of the new. On error the running
  // generation is untouched.
  tl::expected<void, std::string> publish(const Tables& t);

  // Attaches at tc ingress of each interface (tcx link; clsact + cls_bpf
  // direct-action where the kernel has no tcx). First removes a cls_bpf
  // filter an earlier edge46d left behind. All or nothing.
  tl::expected<void, std::string> attach(std::span<const std::string> ifnames);
  void detach() noexcept;
  const std::vector<Attachment>& attachments() const noexcept { return attached_; }

  // Summed over CPUs, indexed by enum fp_counter.
  std::vector<uint64_t> counters() const;

  int prog_fd() const noexcept;
  // Runs the program once on `frame` (an Ethernet frame). ifindex: the
  // ingress interface the run pretends (0: loopback's namespace default).
  tl::expected<TestRun, std::string> test_run(std::span<const uint8_t> frame, uint32_t ifindex = 1,
                                              uint32_t gso_size = 0) const;

  struct Impl;

 private:
  explicit FastPath(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::vector<Attachment> attached_;
};

}  // namespace edge46::fastpath
