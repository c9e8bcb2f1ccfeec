// The daemon's whole configuration: the translator snapshot (xlat::Config)
// plus the settings only the daemon and the SIIT-DC roles read. Produced by
// the loader (loader.h) from one TOML schema; immutable once loaded (a reload
// builds a new Settings and swaps it whole).
#pragma once

#include <string>

#include "mapping/eamt.h"
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

struct Settings {
  xlat::Config xlat;
  // The [[eamt]] entries of the file (validated: no overlaps). The daemon
  // loads them into its runtime EAMT as the rules whose source is the
  // file; a reload replaces only those.
  mapping::Eamt eamt;
  DaemonSettings daemon;
  SiitDcSettings siit_dc;
  LimitSettings limits;
  std::string source;  // file name (or the name given to load_string)
};

// Same configuration: every setting compared, `source` (provenance only) is
// not. The EAMT is compared in order, denylist4 as a set, since the table
// does not keep insertion order.
bool same_xlat(const xlat::Config& a, const xlat::Config& b);
bool operator==(const Settings& a, const Settings& b);

}  // namespace edge46::config
