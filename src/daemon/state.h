// The daemon's shared state: the configuration snapshot the workers read, the
// counters they write, and the bookkeeping the control plane shows.
//
// A published snapshot is never changed while a worker can see it. Each
// worker (a registered QSBR RCU reader) loads the pointer once per burst, so
// a burst is translated under a single configuration and no packet waits
// for a change. The control plane publishes under change_mutex
// (src/daemon/rcu.h): a reload builds a new snapshot, copies it once for the
// Left-Right pair, publishes it and frees the old pair after a grace period;
// an EAMT change is applied to the standby copy, published, and applied to
// the other copy after a grace period (no copy of the Settings). Old
// versions are freed on the control thread, never on a worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <tl/expected.hpp>

#include "bgp/speaker.h"
#include "config/settings.h"
#include "daemon/pe_store.h"
#include "daemon/rcu.h"
#include "daemon/routes4.h"
#include "daemon/tables.h"
#include "daemon/tun_routes.h"
#include "pipeline/counters.h"
#include "pipeline/pipeline.h"

namespace edge46::daemon {

struct Snapshot {
  config::Settings settings;
  pipeline::RoleConfig role;
  uint64_t generation = 0;
};

// Builds a snapshot from loaded settings, checking what the daemon itself
// interprets (the role name).
tl::expected<std::unique_ptr<Snapshot>, std::string> make_snapshot(config::Settings s, uint64_t generation);

// Workers: snapshot.read() once per burst (they are registered RCU readers).
// Control plane: snapshot.current() and every change under change_mutex.
using SnapshotStore = RcuLeftRight<Snapshot>;

struct DaemonState {
  explicit DaemonState(std::size_t n_workers) : counters(n_workers) {}

  std::string config_path;  // empty: no file (tests)
  std::string tun_name;
  unsigned workers = 1;
  std::string offload = "off";  // TUN offloads as opened: "on", or "off (why)"; set before the server starts
  SnapshotStore snapshot;
  EamtStore eamt;  // runtime table (tables.h): outside the snapshot
  PeStore pe;      // role pe: MR-DB, known Pref6s, tunnel MTUs (pe_store.h)
  // The kernel route source of [pe.kernel-routes] (routes4.h), or null; set
  // before the control server starts, cleared after it stops.
  const Routes4Source* routes4 = nullptr;
  // The BGP speaker of [bgp] (bgp/speaker.h), or null; set before the
  // control server starts, cleared after it stops.
  bgp::Speaker* bgp = nullptr;
  TunRoutesHolder tun_routes;  // empty until the route mirror runs: no loop check

  // The loop guard's state for `edge46ctl status`: "on (N IPv6 routes into
  // the TUN)" or "off (why)". Set by main() and by the route mirror's
  // thread, read by the control thread: its own mutex, not change_mutex.
  void set_loop_guard(std::string text) {
    std::lock_guard lock(loop_guard_mutex_);
    loop_guard_ = std::move(text);
  }
  std::string loop_guard() const {
    std::lock_guard lock(loop_guard_mutex_);
    return loop_guard_;
  }

  pipeline::CounterSet counters;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  // Serializes control-plane changes (SIGHUP thread vs control socket).
  std::mutex change_mutex;
  uint64_t next_generation = 1;   // under change_mutex
  uint64_t reloads_ok = 0;        // under change_mutex
  uint64_t reloads_failed = 0;    // under change_mutex
  std::string last_reload_error;  // under change_mutex

 private:
  mutable std::mutex loop_guard_mutex_;
  std::string loop_guard_ = "off (no route mirror)";
};

}  // namespace edge46::daemon
