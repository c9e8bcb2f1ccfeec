// Google Benchmark of the EAMT and its publication (issue 7 item 16).
//
//   load/toml/<n>            config::load_string of a file with n [[eamt]]
//                            entries (TOML parse, validation, table build)
//   load/file/<n>            config::load_file, the daemon's path
//   eamt/build/<n>           n Eamt::add calls into an empty table (the
//                            table-building part of load/*)
//   eamt/add_remove/<n>      Eamt::add + Eamt::remove of one entry in a
//                            table of n (two changes per iteration)
//   control/add_remove/<n>   eamt.add + eamt.remove through the control
//                            handler with n EAMs running: Left-Right change,
//                            two grace periods (no reader registered), JSON
//   lpm/lookup/<n>           LpmTable lookup in a table of n prefixes of
//                            four lengths: n <= 32 is the flat scan, above
//                            it the hash per length
//
// Build: cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGE46_BENCH=ON
//        cmake --build build-rel --target bench_tables && build-rel/bench/bench_tables
#include <benchmark/benchmark.h>

#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "config/loader.h"
#include "daemon/control.h"
#include "daemon/log.h"
#include "mapping/eamt.h"

namespace {

using namespace edge46;

// Entry i: 2001:db8:<i/65536>:<i%65536>::/120 <-> 10.<i>.0/24 style, disjoint.
std::string v6_of(uint32_t i) {
  char b[64];
  std::snprintf(b, sizeof b, "2001:db8:%x:%x::/120", i >> 16, i & 0xffff);
  return b;
}
std::string v4_of(uint32_t i) {
  uint32_t a = 0x0a000000u + (i << 8);
  char b[32];
  std::snprintf(b, sizeof b, "%u.%u.%u.0/24", a >> 24, (a >> 16) & 255, (a >> 8) & 255);
  return b;
}
mapping::Eam eam_of(uint32_t i) {
  return mapping::Eam{*net::parse_ipv6_prefix(v6_of(i)), *net::parse_ipv4_prefix(v4_of(i))};
}

std::string toml_with(uint32_t n) {
  std::string t = "[daemon]\nrole = \"siit\"\n[translator]\npool6 = \"64:ff9b::/96\"\n";
  t.reserve(t.size() + n * 72);
  for (uint32_t i = 0; i < n; ++i) {
    t += "[[eamt]]\nipv6 = \"" + v6_of(i) + "\"\nipv4 = \"" + v4_of(i) + "\"\n";
  }
  return t;
}

void bm_load_toml(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  const std::string text = toml_with(n);
  for (auto _ : state) {
    auto s = config::load_string(text, "bench.toml");
    if (!s || s->eamt.entries().size() != n) {
      state.SkipWithError("load failed");
      break;
    }
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}
BENCHMARK(bm_load_toml)->Name("load/toml")->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

void bm_load_file(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  const std::string path = "/tmp/edge46-bench-tables-" + std::to_string(::getpid()) + ".toml";
  std::ofstream(path) << toml_with(n);
  for (auto _ : state) {
    auto s = config::load_file(path);
    if (!s || s->eamt.entries().size() != n) {
      state.SkipWithError("load failed");
      break;
    }
    benchmark::DoNotOptimize(s);
  }
  std::remove(path.c_str());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}
BENCHMARK(bm_load_file)->Name("load/file")->Arg(100000)->Unit(benchmark::kMillisecond);

void bm_eamt_build(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  std::vector<mapping::Eam> eams;
  for (uint32_t i = 0; i < n; ++i) eams.push_back(eam_of(i));
  for (auto _ : state) {
    mapping::Eamt t;
    for (const auto& e : eams) {
      if (!t.add(e).empty()) {
        state.SkipWithError("add refused");
        return;
      }
    }
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}
BENCHMARK(bm_eamt_build)->Name("eamt/build")->Arg(100000)->Unit(benchmark::kMillisecond);

void bm_eamt_add_remove(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  mapping::Eamt t;
  for (uint32_t i = 0; i < n; ++i) {
    if (!t.add(eam_of(i)).empty()) {
      state.SkipWithError("setup failed");
      return;
    }
  }
  const mapping::Eam extra = eam_of(n);
  for (auto _ : state) {
    auto why = t.add(extra);
    benchmark::DoNotOptimize(why);
    bool ok = t.remove(extra);
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(bm_eamt_add_remove)->Name("eamt/add_remove")->Arg(1000)->Arg(100000);

void bm_control_add_remove(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  auto loaded = config::load_string(toml_with(n), "bench.toml");
  auto snap = daemon::make_snapshot(std::move(*loaded), 0);
  daemon::DaemonState st(1);
  st.eamt.init((*snap)->settings.eamt);
  st.snapshot.reset(std::move(*snap));
  daemon::set_log_level("error");  // no log line per change
  const daemon::Json add{{"cmd", "eamt.add"}, {"ipv6", v6_of(n)}, {"ipv4", v4_of(n)}};
  daemon::Json remove = add;
  remove["cmd"] = "eamt.remove";
  for (auto _ : state) {
    auto a = daemon::handle(st, add);
    auto r = daemon::handle(st, remove);
    if (!a["ok"].get<bool>() || !r["ok"].get<bool>()) {
      state.SkipWithError("change refused");
      break;
    }
  }
}
BENCHMARK(bm_control_add_remove)->Name("control/add_remove")->Arg(1000)->Arg(100000);

void bm_lpm_lookup(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  mapping::LpmTable<uint32_t, uint32_t> t;
  std::mt19937 rng(1);
  std::vector<uint32_t> keys;
  const unsigned lens[] = {16, 24, 28, 32};
  for (std::size_t i = 0; i < n; ++i) {
    auto k = static_cast<uint32_t>(rng());
    t.insert(k, lens[i % 4], static_cast<uint32_t>(i));
    keys.push_back(k);
  }
  for (std::size_t i = 0; i < 64; ++i) keys.push_back(static_cast<uint32_t>(rng()));  // misses
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.lookup(keys[i]));
    i = i + 1 == keys.size() ? 0 : i + 1;
  }
}
BENCHMARK(bm_lpm_lookup)->Name("lpm/lookup")->Arg(4)->Arg(16)->Arg(32)->Arg(33)->Arg(100000);

}  // namespace

BENCHMARK_MAIN();
