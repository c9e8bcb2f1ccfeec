// The daemon's side of the BGP rule exchange (issue 9): what this PE
// originates, the speaker's batches into the MR-DB, and the bgp.* control
// commands and metrics.
//
//   {"cmd":"bgp.summary"}
//   {"cmd":"bgp.neighbors"[,"peer":NAME]}
//   {"cmd":"bgp.routes","dir":"received"|"advertised"[,"prefix":P[,"match":"exact"|"longer"]][,"peer":NAME][,"limit":N]}
#pragma once

#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bgp/speaker.h"
#include "config/settings.h"
#include "daemon/state.h"

namespace edge46::daemon {

// One rule per local block -> this PE's first Pref6 (framework 5.2), flag T
// from [bgp] advertise-mode (else: translate iff [pe] accept is translate),
// plus 0.0.0.0/0 with flag D when [bgp] advertise-default is on.
std::vector<bgp::LocalRule> originated_rules(const config::Settings& s, std::span<const net::Ipv4Prefix> blocks);

// Hands the speaker the rules it originates now. Under change_mutex.
void publish_local_rules(DaemonState& st);

// The bgp.* commands; the caller holds change_mutex.
nlohmann::ordered_json bgp_command(DaemonState& st, const std::string& cmd, const nlohmann::ordered_json& req);

// Per-peer figures for `stats` (and its Prometheus form): an array of
// objects {peer, address, asn, state, state_code, uptime_seconds, ...}.
nlohmann::ordered_json bgp_metrics(const DaemonState& st);

}  // namespace edge46::daemon
