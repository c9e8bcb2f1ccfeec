// `edge46`: offline tools around the translator core.
//
//   edge46 replay --config FILE --in IN.pcap [--out OUT.pcap] [--trace]
//   edge46 replay --config FILE --hex [--trace]        < lines "4 <hex>" / "6 <hex>"
//   edge46 config --config FILE [--json]               validate and print the configuration
//
// Configuration errors are printed as file:line:col: key: message, exit 2.
#include <iostream>

#include <CLI/CLI.hpp>

#include "config/loader.h"
#include "tools/replay.h"

int main(int argc, char** argv) {
  CLI::App app{"edge46 offline tools: replay packets through the translator, check configurations"};
  app.require_subcommand(1);

  std::string config_path;
  edge46::tools::ReplayOptions ro;
  auto* replay = app.add_subcommand("replay", "translate packets from a pcap file or hex lines on stdin");
  replay->add_option("-c,--config", config_path, "configuration file (TOML)")->required();
  auto* in_opt = replay->add_option("-i,--in", ro.in_path, "input capture (raw IP, Ethernet or Linux cooked)");
  replay->add_option("-o,--out", ro.out_path, "output capture of the emitted packets (LINKTYPE_RAW)")->needs(in_opt);
  auto* hex_opt = replay->add_flag("--hex", ro.hex, "read '<4|6> <hex>' lines from stdin, one result line each");
  in_opt->excludes(hex_opt);
  replay->add_flag("-t,--trace", ro.trace, "print a decoded summary of every packet in and out");

  bool as_json = false;
  std::string show_path;
  auto* cfg_cmd = app.add_subcommand("config", "validate a configuration file and print it in full");
  cfg_cmd->add_option("-c,--config", show_path, "configuration file (TOML)")->required();
  cfg_cmd->add_flag("--json", as_json, "print JSON instead of TOML");

  CLI11_PARSE(app, argc, argv);

  const std::string& path = replay->parsed() ? config_path : show_path;
  auto settings = edge46::config::load_file(path);
  if (!settings) {
    std::cerr << settings.error().to_string() << "\n";
    return 2;
  }
  if (cfg_cmd->parsed()) {
    if (as_json) {
      std::cout << edge46::config::to_json(*settings).dump(2) << "\n";
    } else {
      std::cout << edge46::config::dump_toml(*settings);
    }
    return 0;
  }
  if (ro.hex) {
    return edge46::tools::replay_hex(*settings, ro, std::cin, std::cout, std::cerr);
  }
  if (ro.in_path.empty()) {
    std::cerr << "edge46 replay: give --in IN.pcap or --hex\n";
    return 2;
  }
  return edge46::tools::replay_pcap(*settings, ro, std::cout);
}
