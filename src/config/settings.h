// The daemon's whole configuration: the translator snapshot (xlat::Config)
// plus the settings only the daemon and the SIIT-DC roles read. Produced by
// the loader (loader.h) from one TOML schema; immutable once loaded (a reload
// builds a new Settings and swaps it whole).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bgp/speaker.h"
#include "mapping/eamt.h"
#include "mapping/mrdb.h"
#include "xlat/config.h"

namespace edge46::config {

struct DaemonSettings {
  std::string role = "siit";  // siit | siit-dc-br | siit-dc-er
  unsigned workers = 0;       // 0 = one per core
  std::string tun = "edge46";
  bool tun_multiqueue = true;
  bool tun_offload = true;
  std::string control_socket = "/run/edge46/edge46.sock";
  std::string log_level = "info";  // trace | debug | info | warn | error
  friend bool operator==(const DaemonSettings&, const DaemonSettings&) = default;
};

// RFC 7756 section 6 (SIIT-DC Edge Relay); read only when role = siit-dc-er.
struct SiitDcSettings {
  bool ingress_filter = false;           // ER: drop IPv4 packets whose source has no EAM
  bool drop_own_service_sources = true;  // ER: drop IPv6 packets sourced from its own EAM IPv6 prefixes
  friend bool operator==(const SiitDcSettings&, const SiitDcSettings&) = default;
};

// Per-worker bounds of the pipeline's own state (table [limits]).
struct LimitSettings {
  // Translator-generated ICMP errors (RFC 4443 2.4 f, RFC 1812 4.3.2.8): a
  // token bucket per worker and family; rate 0 = unlimited. Reloadable.
  uint32_t icmp_error_rate = 1000;  // per second
  uint32_t icmp_error_burst = 50;
  // Reassembly of fragmented ICMP; slots 0 = off. Read at start only.
  uint32_t reassembly_slots = 64;
  uint32_t reassembly_memory = 1024 * 1024;  // bytes
  uint32_t reassembly_timeout_ms = 2000;
  friend bool operator==(const LimitSettings&, const LimitSettings&) = default;
};

// The PE of the multi-domain IPv6-only underlay
// (draft-ietf-v6ops-framework-md-ipv6only-underlay): table [pe]; read only
// when role = "pe".
struct PeRouteSettings {
  bool enabled = false;                      // [pe.kernel-routes] present
  std::vector<uint32_t> tables = {254};      // route tables followed (main)
  std::vector<std::string> protocols;        // rtm_protocol names or numbers; empty: all
  bool include_connected = true;             // directly attached subnets
  std::vector<std::string> exclude_devices;  // the daemon's TUN is always excluded
  friend bool operator==(const PeRouteSettings&, const PeRouteSettings&) = default;
};

struct PeSettings {
  // Pref6(this PE) with its layout: the first is the source prefix of what
  // it sends; all are accepted as destinations (section 6: warn when the
  // lengths differ).
  std::vector<mapping::Pool6> prefixes;
  uint8_t accept = mapping::kModeBoth;         // modes accepted as egress
  uint8_t prefer = mapping::kModeEncapsulate;  // ingress: used when the egress accepts it
  std::vector<net::Ipv4Prefix> ipv4;           // local IPv4 blocks: rules to this PE's Pref6
  uint8_t hop_limit = 64;                      // outer Hop Limit (encapsulation)
  uint32_t core_mtu = 1500;                    // IPv6 MTU of the core; tunnel MTU = core-mtu - 40
  uint32_t pmtu_timeout_s = 600;               // lowered tunnel MTUs expire (RFC 8201 5.3)
  bool no_rule_unreachable = true;             // no rule: ICMPv4 3/0 (else silent drop)
  std::vector<net::Ipv6Prefix> trusted;        // extra accepted outer source prefixes
  uint32_t ingress_rate = 0;                   // packets/s per ingress Pref6 and worker; 0 = off
  uint32_t ingress_burst = 1000;
  std::string rules_file;              // rules in the mrdb_file.h format (source config)
  std::vector<mapping::MrRule> rules;  // [[pe.rule]] (source config)
  PeRouteSettings kernel_routes;
  friend bool operator==(const PeSettings&, const PeSettings&) = default;
};

// The rule exchange over MP-BGP (issue 9): table [bgp]; read only when
// role = "pe". The speaker's own settings are bgp::SpeakerConfig (one schema,
// no copy); the rest says which rules this PE originates.
struct BgpSettings {
  bool enabled = false;  // [bgp] present
  bgp::SpeakerConfig speaker;
  // This PE is a default egress PE (framework 5.2): it originates
  // 0.0.0.0/0 -> its own Pref6 (flag D), sent only inside the domain.
  bool advertise_default = false;
  // Flag T of what it originates; unset: translate iff [pe] accept is
  // "translate" (a PE that accepts both advertises encapsulation).
  std::optional<bool> advertise_translate;
  friend bool operator==(const BgpSettings&, const BgpSettings&) = default;
};

struct Settings {
  xlat::Config xlat;
  // The [[eamt]] entries of the file (validated: no overlaps). The daemon
  // loads them into its runtime EAMT as the rules whose source is the
  // file; a reload replaces only those.
  mapping::Eamt eamt;
  DaemonSettings daemon;
  SiitDcSettings siit_dc;
  LimitSettings limits;
  PeSettings pe;
  BgpSettings bgp;
  std::string source;  // file name (or the name given to load_string)
};

// Same configuration: every setting compared, `source` (provenance only) is
// not. The EAMT is compared in order, denylist4 as a set, since the table
// does not keep insertion order.
bool same_xlat(const xlat::Config& a, const xlat::Config& b);
bool operator==(const Settings& a, const Settings& b);

}  // namespace edge46::config
