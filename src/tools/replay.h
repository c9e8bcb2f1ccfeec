// `edge46 replay`: runs packets from a file offline through what edge46d
// runs for each packet (pipeline::process, one worker), with the same
// configuration file the daemon reads, and explains each one.
//
//   pcap mode: every frame of --in goes through in file order, at its pcap
//     timestamp (held back to the previous one if it goes backwards); one
//     report line per frame
//     #n in=<4|6> <len>B -> <4|6>/<len>B ... [(<outcome>: <reason>)] | held | drop:<reason>
//     and the emitted packets are written to --out (LINKTYPE_RAW).
//   hex mode:  every stdin line "<4|6> <hex>" gives exactly one stdout line:
//     "<family>:<hex> ..." (each emitted packet, family of the side it leaves
//     on), "held" (an ICMP fragment kept for reassembly: the line of the
//     fragment that completes the datagram shows its translation),
//     "drop:<reason>" (core::drop_name, or pipeline_drop_name for the
//     pipeline's own drops) or "error:<why>" for a line that is not a packet.
//     All lines share one fixed clock (kHexClockNs).
//   --trace adds a decoded one-line summary of each packet in and out (on
//     stderr in hex mode, so stdout stays one line per input line).
#pragma once

#include <tl/expected.hpp>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>

#include "config/settings.h"
#include "pipeline/pipeline.h"
#include "xlat/translate.h"

namespace edge46::tools {

struct ReplayOptions {
  std::string in_path;   // pcap mode
  std::string out_path;  // optional in pcap mode
  bool hex = false;
  bool trace = false;
};

// Exit status: 0 done, 1 I/O error.
int replay_pcap(const config::Settings& s, const ReplayOptions& o, std::ostream& report);
int replay_hex(const config::Settings& s, const ReplayOptions& o, std::istream& in, std::ostream& out,
               std::ostream& trace);

// The daemon's pipeline (pipeline::process) for one worker, offline: the
// role checks of daemon.role / [siit-dc], reassembly of fragmented ICMP and
// the ICMP error rate limit from [limits], the core translation. No routes
// (no loop guard: there is no TUN).
struct ReplayPipeline {
  static tl::expected<ReplayPipeline, std::string> make(const config::Settings& s);  // s outlives it
  // One packet that came in on the `ingress` side at `now_ns`.
  pipeline::Result run(xlat::Family ingress, std::span<const uint8_t> in, uint64_t now_ns);

  const xlat::Config* xcfg = nullptr;
  const mapping::Eamt* eamt = nullptr;  // the file's EAMs (the replay has no runtime changes)
  pipeline::RoleConfig role;
  std::unique_ptr<pipeline::WorkerContext> ctx;
  std::unique_ptr<pipeline::Counters> counters;
  std::unique_ptr<xlat::Output> out;
  bool last_reassembled = false;  // run() translated a datagram it reassembled
};

// The clock of the hex mode (which has no timestamps): every line at once.
inline constexpr uint64_t kHexClockNs = 1'000'000'000;

// One hex-mode line (exposed for tests): the output line without newline.
std::string replay_hex_line(ReplayPipeline& pl, const std::string& line, std::ostream* trace);

}  // namespace edge46::tools
