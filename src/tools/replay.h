// `edge46 replay`: runs packets from a file through the translator offline,
// with the same configuration file the daemon reads, and explains each one.
//
//   pcap mode: every frame of --in is translated; one report line per frame
//     #n in=<4|6> <len>B -> <4|6>/<len>B ... [(<outcome>: <reason>)] | drop:<reason>
//     and the emitted packets are written to --out (LINKTYPE_RAW).
//   hex mode:  every stdin line "<4|6> <hex>" gives exactly one stdout line:
//     "<family>:<hex> ..." (each emitted packet, family of the side it leaves
//     on), "drop:<reason>" (core::drop_name) or "error:<why>" for a line that
//     is not a packet.
//   --trace adds a decoded one-line summary of each packet in and out (on
//     stderr in hex mode, so stdout stays one line per input line).
#pragma once

#include <iosfwd>
#include <string>

#include "config/settings.h"
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

// One hex-mode line (exposed for tests): the output line without newline.
std::string replay_hex_line(const xlat::Config& cfg, const std::string& line, xlat::Output& out, std::ostream* trace);

}  // namespace edge46::tools
