// The daemon's shared state: the configuration snapshot the workers read, the
// counters they write, and the bookkeeping the control plane shows.
//
// Snapshots are immutable. The control plane builds a new one (a reload, an
// EAMT change: copy-on-write of the whole Settings) and publishes it with one
// atomic store; each worker loads the pointer once per burst, so a burst is
// translated under a single configuration and no packet waits for a swap.
// The old snapshot is freed when the last worker lets go of it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <tl/expected.hpp>

#include "config/settings.h"
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
tl::expected<std::shared_ptr<const Snapshot>, std::string> make_snapshot(config::Settings s, uint64_t generation);

class SnapshotHolder {
 public:
  std::shared_ptr<const Snapshot> load() const noexcept { return p_.load(std::memory_order_acquire); }
  void store(std::shared_ptr<const Snapshot> s) noexcept { p_.store(std::move(s), std::memory_order_release); }

 private:
  std::atomic<std::shared_ptr<const Snapshot>> p_;
};

struct DaemonState {
  explicit DaemonState(std::size_t n_workers) : counters(n_workers) {}

  std::string config_path;  // empty: no file (tests)
  std::string tun_name;
  unsigned workers = 1;
  std::string offload = "off";  // TUN offloads as opened: "on", or "off (why)"; set before the server starts
  SnapshotHolder snapshot;
  TunRoutesHolder tun_routes;  // empty until the route mirror runs: no loop check
  pipeline::CounterSet counters;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  // Serializes control-plane changes (SIGHUP thread vs control socket).
  std::mutex change_mutex;
  uint64_t next_generation = 1;   // under change_mutex
  uint64_t reloads_ok = 0;        // under change_mutex
  uint64_t reloads_failed = 0;    // under change_mutex
  std::string last_reload_error;  // under change_mutex
};

}  // namespace edge46::daemon
