// edge46d: the translator daemon.
//
//   edge46d --config /etc/edge46/edge46.toml [--foreground] [--check]
//
// Never forks (--foreground is accepted for familiarity; run it under
// systemd Type=simple or a supervisor). Signals: SIGHUP reloads the file,
// SIGINT/SIGTERM stop cleanly. Exit codes: 0 clean stop, 1 start-up failure
// (privileges, TUN, control socket), 2 bad configuration or usage.
#include <net/if.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "bgp/speaker.h"
#include "config/loader.h"
#include "daemon/bgp_control.h"
#include "daemon/control.h"
#include "daemon/log.h"
#include "daemon/routes4.h"
#include "daemon/server.h"
#include "daemon/state.h"
#include "daemon/worker.h"
#include "io/tun.h"
#include "mapping/mrdb_file.h"

using namespace edge46;

namespace {

// A non-persistent TUN that already exists is held open by another process:
// attaching to it would silently share its queues with that process.
std::string check_tun_free(const std::string& name) {
  std::filesystem::path dev = "/sys/class/net/" + name;
  std::error_code ec;
  if (!std::filesystem::exists(dev, ec)) {
    return {};
  }
  std::ifstream f(dev / "tun_flags");
  if (!f) {
    return "interface " + name + " exists and is not a TUN device";
  }
  std::string flags;
  f >> flags;
  unsigned long v = std::stoul(flags, nullptr, 16);
  constexpr unsigned long kPersist = 0x0800;  // IFF_PERSIST
  if ((v & kPersist) == 0) {
    return "TUN device " + name + " is already in use (another edge46d? give each instance its own daemon.tun)";
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"edge46d: stateless IPv4/IPv6 translator (SIIT, SIIT-DC BR/ER) on a TUN device"};
  std::string config_path;
  bool foreground = false;
  bool check_only = false;
  app.add_option("-c,--config", config_path, "configuration file (TOML)")->required();
  app.add_flag("-f,--foreground", foreground, "run in the foreground (always the case; kept for familiarity)");
  app.add_flag("--check", check_only, "load and validate the configuration, print it, and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  (void)foreground;

  auto loaded = config::load_file(config_path);
  if (!loaded) {
    std::cerr << "edge46d: bad configuration: " << loaded.error().to_string() << "\n";
    return 2;
  }
  auto& ds = loaded->daemon;
  if (!daemon::set_log_level(ds.log_level)) {
    std::cerr << "edge46d: bad configuration: daemon.log-level '" << ds.log_level
              << "' (error, warning, info, debug)\n";
    return 2;
  }
  const unsigned workers = ds.workers != 0 ? ds.workers : std::max(1u, std::thread::hardware_concurrency());
  const std::string tun_name = ds.tun;
  const std::string socket_path = ds.control_socket;
  const bool multiqueue = ds.tun_multiqueue;
  const bool offload = ds.tun_offload;
  auto snap = daemon::make_snapshot(std::move(*loaded), 0);
  if (!snap) {
    std::cerr << "edge46d: bad configuration: " << config_path << ": " << snap.error() << "\n";
    return 2;
  }
  if (check_only && (*snap)->role.role == pipeline::Role::kPe && !(*snap)->settings.pe.rules_file.empty()) {
    // The rules file is part of the configuration: --check reads it too.
    if (auto rules = mapping::load_rules_file((*snap)->settings.pe.rules_file, mapping::RuleSource::kConfig); !rules) {
      std::cerr << "edge46d: bad configuration: " << config_path << ": pe.rules-file: " << rules.error() << "\n";
      return 2;
    }
  }
  if (check_only) {
    std::cout << "edge46d: " << config_path << ": configuration OK (role " << pipeline::role_name((*snap)->role.role)
              << ")\n";
    return 0;
  }
  daemon::set_log_tag("edge46d[" + tun_name + "]");

  // Signals are taken synchronously by the main thread; every thread started
  // below inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGHUP);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (::geteuid() != 0) {
    daemon::log_warning("not running as root: creating the TUN device needs CAP_NET_ADMIN");
  }

  const pipeline::Role role = (*snap)->role.role;
  daemon::DaemonState st(workers);
  st.config_path = std::filesystem::absolute(config_path).string();
  st.tun_name = tun_name;
  st.workers = workers;
  st.eamt.init((*snap)->settings.eamt);  // the runtime EAMT starts as the file's
  if (role == pipeline::Role::kPe) {
    // The MR-DB: [[pe.rule]], the rules file, the local blocks (pe_store.h).
    std::vector<std::string> warnings;
    if (auto ok = st.pe.configure((*snap)->settings.pe, warnings); !ok) {
      std::cerr << "edge46d: bad configuration: " << config_path << ": " << ok.error() << "\n";
      return 2;
    }
    for (const auto& w : warnings) daemon::log_warning(w);
  }
  st.snapshot.reset(std::move(*snap));  // before any worker: no grace period to wait for

  // Without root the path in the error is not the whole story: say what is
  // missing. (A non-root edge46d with CAP_NET_ADMIN and its own socket
  // directory is possible, hence a hint and not a refusal.)
  const auto privilege_hint = [&] {
    if (::geteuid() == 0) {
      return std::string();
    }
    auto dir = std::filesystem::path(socket_path).parent_path().string();
    return " (edge46d runs as uid " + std::to_string(::geteuid()) +
           ", not root: it needs root, or CAP_NET_ADMIN to create the TUN device and write access to " +
           (dir.empty() ? std::string("the current directory") : dir) + " for its control socket)";
  };
  daemon::ControlServer server;
  if (auto r = server.bind(socket_path); !r) {
    daemon::log_error(r.error() + privilege_hint());
    return 1;
  }
  if (auto why = check_tun_free(tun_name); !why.empty()) {
    daemon::log_error(why);
    server.stop();
    return 1;
  }
  auto tun = io::Tun::open(io::TunOptions{tun_name, workers, multiqueue, offload});
  if (!tun) {
    daemon::log_error(tun.error() + privilege_hint());
    server.stop();
    return 1;
  }
  // Shown in the start-up line and in `edge46ctl status`: a kernel that
  // refuses TUNSETOFFLOAD turns offloads off, which must not go unnoticed.
  if (tun->offload()) {
    st.offload = "on";
  } else if (!tun->offload_refused().empty()) {
    st.offload = "off (the kernel refused: " + tun->offload_refused() + ")";
    daemon::log_warning("TUN offloads are off although tun-offload = true: " + tun->offload_refused());
  } else {
    st.offload = "off (tun-offload = false)";
  }
  if (auto r = tun->set_up(0); !r) {
    daemon::log_warning(r.error() + " (bring it up with: ip link set " + tun_name + " up)");
  }
  // The loop guard's view of the kernel's routes (src/pipeline/loop_guard.h).
  std::unique_ptr<daemon::TunRouteMirror> route_mirror;
  // Its state goes to `edge46ctl status` (loop_guard): set here on failure,
  // by the mirror on every publish.
  if (auto m = daemon::TunRouteMirror::start(static_cast<int>(::if_nametoindex(tun_name.c_str())), st.tun_routes,
                                             [&st](const std::string& text) { st.set_loop_guard(text); })) {
    route_mirror = std::move(*m);
  } else {
    st.set_loop_guard("off (" + m.error() + ")");
    daemon::log_warning(m.error() + ": no routing-loop check");
  }

  // The BGP speaker (issue 9): received rules go into the MR-DB in the
  // speaker's batches (source bgp); the rules this PE originates follow its
  // local blocks (configured and, below, the kernel's).
  std::unique_ptr<bgp::Speaker> speaker;
  if (role == pipeline::Role::kPe && st.snapshot.current()->settings.bgp.enabled) {
    speaker = std::make_unique<bgp::Speaker>();
    auto sink = [&st](std::span<const bgp::MrChange> changes) {
      std::lock_guard lock(st.change_mutex);
      st.pe.bgp_apply(changes, st.snapshot.current()->settings.bgp.speaker.preference);
    };
    auto log = [](const std::string& line) { daemon::log_info(line); };  // lines start with "bgp: "
    if (auto ok = speaker->start(st.snapshot.current()->settings.bgp.speaker, sink, log); !ok) {
      daemon::log_error("bgp: " + ok.error());
      server.stop();
      return 1;
    }
    std::lock_guard lock(st.change_mutex);
    st.bgp = speaker.get();
    st.pe.set_local_listener([&st] { daemon::publish_local_rules(st); });
    daemon::publish_local_rules(st);
  }

  // The PE's local rules from the kernel's IPv4 routes (framework 5.2):
  // routes out of our own TUN lead into the core and are never blocks.
  std::unique_ptr<daemon::Routes4Source> routes4;
  if (role == pipeline::Role::kPe && st.snapshot.current()->settings.pe.kernel_routes.enabled) {
    const auto& kr = st.snapshot.current()->settings.pe.kernel_routes;
    daemon::Routes4Filter f;
    f.tables = kr.tables;
    f.include_connected = kr.include_connected;
    f.exclude_devices = kr.exclude_devices;
    f.exclude_devices.push_back(tun_name);
    for (const auto& name : kr.protocols) {
      if (auto proto = daemon::parse_route_protocol(name)) f.protocols.push_back(*proto);  // checked by make_snapshot
    }
    routes4 = std::make_unique<daemon::Routes4Source>();
    auto started = routes4->start(f, [&st](std::span<const daemon::Prefix4Change> changes) {
      std::vector<daemon::PeStore::BlockChange> batch;
      batch.reserve(changes.size());
      for (const auto& c : changes) batch.push_back({c.add, c.prefix});
      std::lock_guard lock(st.change_mutex);
      st.pe.kernel_blocks(batch);
    });
    if (!started) {
      daemon::log_error("pe.kernel-routes: " + started.error());
      return 1;
    }
    st.routes4 = routes4.get();
    daemon::log_info("pe.kernel-routes: " + routes4->status());
  }

  std::atomic<bool> stop{false};
  int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < workers; ++i) {
    daemon::WorkerArgs a{
        .index = i, .fd = tun->fd(i), .wake_fd = wake, .offload = tun->offload(), .stop = &stop, .state = &st};
    threads.emplace_back([a] { daemon::run_worker(a); });
  }
  server.start(st);
  daemon::log_info("started: role " + std::string(pipeline::role_name(role)) + ", tun " + tun_name + ", " +
                   std::to_string(workers) + " worker(s), offloads " + st.offload + ", loop guard " + st.loop_guard() +
                   ", control socket " + socket_path + ", config " + st.config_path);

  for (;;) {
    int sig = 0;
    if (sigwait(&sigs, &sig) != 0) {
      continue;
    }
    if (sig == SIGHUP) {
      daemon::log_info("SIGHUP: reloading " + st.config_path);
      (void)daemon::reload(st);
      continue;
    }
    daemon::log_info(std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
    break;
  }
  stop.store(true);
  uint64_t one = 1;
  ssize_t ignored = ::write(wake, &one, sizeof one);
  (void)ignored;
  for (auto& t : threads) {
    t.join();
  }
  server.stop();
  if (speaker) {
    {
      std::lock_guard lock(st.change_mutex);
      st.pe.set_local_listener(nullptr);
      st.bgp = nullptr;
    }
    speaker->stop();  // Cease to every peer; may call the sink one last time
    speaker.reset();
  }
  st.routes4 = nullptr;
  routes4.reset();
  route_mirror.reset();
  ::close(wake);
  auto totals = st.counters.totals();
  // These names exist (tests/unit/daemon/pipeline_test.cpp reads them); 0 only
  // keeps a log line from failing.
  auto count = [&totals](std::string_view name) { return totals.get(name).value_or(0); };
  daemon::log_info("stopped: " + std::to_string(count("packets_in.ipv4") + count("packets_in.ipv6")) + " packets in, " +
                   std::to_string(count("translated")) + " translated");
  return 0;
}
