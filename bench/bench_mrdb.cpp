// Google Benchmark of the MR-DB (issue 8: lookup <= 30 ns, >= 200 k
// updates/s under lookups, load of 1 M rules <= 5 s, <= 100 MiB).
//
// The table: 1 M distinct prefixes with lengths drawn like the IPv4 DFZ
// (about 60 % /24, then /22, /23, /21, /20, /19, /16, /18 ... down to /8, and
// a few /25-/32), spread over 1.0.0.0-223.255.255.255, towards 200 egress
// PEs (every tenth with the RFC 6052 layout). Fixed seed.
//
//   mrdb/build                1 M upserts into an empty MrDb; counters:
//                             memory_bytes (stats()), bytes_per_rule,
//                             rss_mib (resident growth, measured), tbl8 groups
//   mrdb/lookup/independent   lookup() of random destinations, one after
//                             another (the CPU overlaps their misses)
//   mrdb/lookup/dependent     the same, each address depending on the last
//                             result: the latency of one lookup
//   mrdb/lookup/batch/<n>     lookup_batch() of n random destinations
//   mrdb/lookup/in_rules      lookup() of addresses inside random rules
//   mrdb/updates_concurrent   random /24 target changes (1/2) and /25 inserts
//                             and deletes (1/4 each) on the 1 M table while
//                             another thread runs lookup_batch() without
//                             pause; reclaim() after a grace period every
//                             4096 updates (the reader announces quiescent
//                             points, like the daemon's RCU). Counters:
//                             updates/s, reader lookups/s during the run
//   mrdb/parse_file           parse_rules() of the 1 M-line file in memory
//   mrdb/load_file            load_rules_file() + replace_source() into a
//                             fresh MrDb: the daemon's start-up path
//
// Build: cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGE46_BENCH=ON
//        cmake --build build-rel --target bench_mrdb && build-rel/bench/bench_mrdb
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "mapping/mrdb.h"
#include "mapping/mrdb_file.h"

namespace {

using namespace edge46;
using mapping::MrDb;
using mapping::MrRule;
using mapping::MrTarget;

constexpr std::size_t kRules = 1'000'000;
constexpr unsigned kTargets = 200;

MrTarget target_of(unsigned i) {
  MrTarget t;
  net::Ipv6Addr a{};
  a.bytes[0] = 0x20, a.bytes[1] = 0x01, a.bytes[2] = 0x0d, a.bytes[3] = 0xb8;
  a.bytes[4] = static_cast<uint8_t>(i >> 8), a.bytes[5] = static_cast<uint8_t>(i);
  t.pool6.prefix = net::Ipv6Prefix{a, 48};
  t.pool6.layout = i % 10 == 0 ? mapping::Pool6Layout::kRfc6052 : mapping::Pool6Layout::kLow32;
  t.modes = static_cast<uint8_t>(1 + i % 3);
  return t;
}

// Weights per length (per 10 000), after the shape of the 2024 IPv4 DFZ.
constexpr unsigned kWeights[33] = {
    0,    0,  0,   0,   0,   0,   0,    0,        // /0-/7
    1,    1,  2,   5,   10,  20,  35,   60,       // /8-/15
    140,  80, 140, 250, 400, 500, 1200, 1000,     // /16-/23
    6000, 5,  5,   3,   3,   3,   2,    1,    3,  // /24-/32
};

const std::vector<MrRule>& table() {
  static const std::vector<MrRule> rules = [] {
    std::mt19937_64 rng(20261201);
    std::discrete_distribution<unsigned> len_of(std::begin(kWeights), std::end(kWeights));
    std::unordered_set<uint64_t> seen;
    seen.reserve(kRules * 2);
    std::vector<MrTarget> targets;
    for (unsigned i = 0; i < kTargets; ++i) targets.push_back(target_of(i));
    std::vector<MrRule> out;
    out.reserve(kRules);
    while (out.size() < kRules) {
      const unsigned len = len_of(rng);
      const uint32_t a = 0x01000000u + static_cast<uint32_t>(rng() % (0xe0000000u - 0x01000000u));
      const uint32_t p = a & net::mask4(len);
      if (!seen.insert((uint64_t{p} << 6) | len).second) continue;
      out.push_back(MrRule{net::Ipv4Prefix{net::Ipv4Addr{p}, static_cast<uint8_t>(len)}, targets[rng() % kTargets],
                           mapping::RuleSource::kConfig, 100});
    }
    return out;
  }();
  return rules;
}

std::vector<uint32_t> random_addresses(std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> v(n);
  for (auto& a : v) a = 0x01000000u + static_cast<uint32_t>(rng() % (0xe0000000u - 0x01000000u));
  return v;
}

std::size_t rss_bytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<std::size_t>(resident) * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// Transparent huge pages backing this process (tbl24 asks for them).
double anon_huge_mib() {
  double kb = 0;
  if (FILE* f = std::fopen("/proc/self/smaps_rollup", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
      if (std::sscanf(line, "AnonHugePages: %lf kB", &kb) == 1) break;
    }
    std::fclose(f);
  }
  return kb / 1024;
}

bool fill(MrDb& db) {
  for (const auto& r : table()) {
    if (!db.upsert(r)) return false;
  }
  return true;
}

// The 1 M-rule database the lookup benchmarks share (built once).
const MrDb& shared_db() {
  static const MrDb* db = [] {
    auto* d = new MrDb;
    if (!fill(*d)) std::abort();
    return d;
  }();
  return *db;
}

void bm_build(benchmark::State& state) {
  (void)table();
  for (auto _ : state) {
    const std::size_t rss0 = rss_bytes();
    MrDb db;
    if (!fill(db)) {
      state.SkipWithError("upsert refused");
      return;
    }
    const auto st = db.stats();
    state.counters["memory_mib"] = static_cast<double>(st.memory_bytes) / (1 << 20);
    state.counters["bytes_per_rule"] = static_cast<double>(st.memory_bytes) / static_cast<double>(st.rules);
    state.counters["rss_mib"] = static_cast<double>(rss_bytes() - rss0) / (1 << 20);
    state.counters["huge_mib"] = anon_huge_mib();
    state.counters["tbl8_groups"] = static_cast<double>(st.tbl8_groups_used);
    state.counters["targets"] = static_cast<double>(st.targets);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRules));
}
BENCHMARK(bm_build)->Name("mrdb/build")->Unit(benchmark::kMillisecond)->Iterations(2);

constexpr std::size_t kAddrs = 1 << 22;  // 16 MiB of destinations: beyond the caches

// Lookups of `addrs` 256 at a time, none waiting for another's result.
void independent_lookups(benchmark::State& state, const MrDb& db, const std::vector<uint32_t>& addrs) {
  std::size_t i = 0;
  for (auto _ : state) {
    for (std::size_t k = 0; k < 256; ++k) {
      benchmark::DoNotOptimize(db.lookup(net::Ipv4Addr{addrs[i + k]}));
    }
    i = (i + 256) & (kAddrs - 1);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 256);
  state.counters["ns_per_lookup"] = benchmark::Counter(static_cast<double>(state.iterations()) * 256,
                                                       benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void bm_lookup_independent(benchmark::State& state) {
  const MrDb& db = shared_db();
  const auto addrs = random_addresses(kAddrs, 1);
  independent_lookups(state, db, addrs);
}
BENCHMARK(bm_lookup_independent)->Name("mrdb/lookup/independent");

void bm_lookup_dependent(benchmark::State& state) {
  const MrDb& db = shared_db();
  const auto addrs = random_addresses(kAddrs, 2);
  std::size_t i = 0;
  uint32_t carry = 0;
  for (auto _ : state) {
    for (std::size_t k = 0; k < 256; ++k) {
      // The next address waits for this result (a zero-or-one carry).
      const MrTarget* t = db.lookup(net::Ipv4Addr{addrs[i + k] ^ carry});
      carry = t == nullptr ? 1u : (t->modes >> 7);
    }
    i = (i + 256) & (kAddrs - 1);
  }
  benchmark::DoNotOptimize(carry);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 256);
  state.counters["ns_per_lookup"] = benchmark::Counter(static_cast<double>(state.iterations()) * 256,
                                                       benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(bm_lookup_dependent)->Name("mrdb/lookup/dependent");

void bm_lookup_batch(benchmark::State& state) {
  const MrDb& db = shared_db();
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto addrs = random_addresses(kAddrs, 3);
  std::vector<const MrTarget*> out(n);
  std::size_t i = 0;
  for (auto _ : state) {
    db.lookup_batch(std::span<const uint32_t>(addrs.data() + i, n), out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    i = (i + n) & (kAddrs - 1);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["ns_per_lookup"] = benchmark::Counter(static_cast<double>(state.iterations() * n),
                                                       benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(bm_lookup_batch)->Name("mrdb/lookup/batch")->Arg(32)->Arg(256);

void bm_lookup_in_rules(benchmark::State& state) {
  const MrDb& db = shared_db();
  std::mt19937_64 rng(4);
  std::vector<uint32_t> addrs(kAddrs);
  for (auto& a : addrs) {
    const auto& r = table()[rng() % kRules];
    a = r.prefix.addr.value | (static_cast<uint32_t>(rng()) & ~net::mask4(r.prefix.len));
  }
  independent_lookups(state, db, addrs);
}
BENCHMARK(bm_lookup_in_rules)->Name("mrdb/lookup/in_rules");

void bm_updates_concurrent(benchmark::State& state) {
  MrDb db;
  if (!fill(db)) {
    state.SkipWithError("upsert refused");
    return;
  }
  std::vector<net::Ipv4Prefix> s24;
  for (const auto& r : table()) {
    if (r.prefix.len == 24) s24.push_back(r.prefix);
  }
  std::vector<MrTarget> targets;
  for (unsigned i = 0; i < kTargets; ++i) targets.push_back(target_of(i));

  // The reader: batches of 64 random lookups; after each batch it holds no
  // pointer from the database and says so by bumping its epoch.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> epoch{0}, reader_lookups{0};
  std::thread reader([&] {
    const auto addrs = random_addresses(1 << 20, 5);
    const MrTarget* out[64];
    std::size_t i = 0;
    uint64_t n = 0, sink = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      db.lookup_batch(std::span<const uint32_t>(addrs.data() + i, 64), out);
      for (const MrTarget* t : out) sink += t ? t->modes : 0;
      epoch.fetch_add(1, std::memory_order_release);
      i = (i + 64) & ((1 << 20) - 1);
      n += 64;
    }
    benchmark::DoNotOptimize(sink);
    reader_lookups.store(n);
  });
  auto grace_then_reclaim = [&] {
    const uint64_t e = epoch.load(std::memory_order_acquire);
    while (epoch.load(std::memory_order_acquire) < e + 2) std::this_thread::yield();
    db.reclaim();
  };

  std::mt19937_64 rng(6);
  std::vector<net::Ipv4Prefix> s25;  // inserted /25s, oldest first
  std::size_t s25_head = 0;
  uint64_t updates = 0;
  bool failed = false;
  const uint64_t changes0 = db.stats().updates;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    for (int k = 0; k < 1024; ++k) {
      const uint64_t x = rng();
      if ((x & 1) == 0) {
        const net::Ipv4Prefix p = s24[(x >> 8) % s24.size()];
        failed |= !db.upsert(MrRule{p, targets[(x >> 40) % kTargets], mapping::RuleSource::kConfig, 100});
      } else if ((x & 2) == 0 || s25_head == s25.size()) {
        net::Ipv4Prefix p = s24[(x >> 8) % s24.size()];
        p.len = 25;
        p.addr.value |= (x >> 60) & 1 ? 0x80u : 0u;
        failed |= !db.upsert(MrRule{p, targets[(x >> 40) % kTargets], mapping::RuleSource::kCtl, 100});
        s25.push_back(p);
      } else {
        db.remove(s25[s25_head++], mapping::RuleSource::kCtl);
      }
      if (++updates % 4096 == 0) grace_then_reclaim();
    }
    if (failed) {
      state.SkipWithError("upsert refused");
      break;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop.store(true);
  reader.join();
  // Only operations that changed something (a /25 drawn twice is one rule).
  const auto changes = static_cast<double>(db.stats().updates - changes0);
  state.SetItemsProcessed(static_cast<int64_t>(changes));
  state.counters["updates_per_s"] = changes / secs;
  state.counters["reader_lookups_per_s"] = static_cast<double>(reader_lookups.load()) / secs;
}
BENCHMARK(bm_updates_concurrent)->Name("mrdb/updates_concurrent")->Unit(benchmark::kMillisecond)->UseRealTime();

std::string rules_text() {
  std::string text;
  text.reserve(kRules * 48);
  char line[128];
  for (const auto& r : table()) {
    const std::string v6 = net::to_string(r.target.pool6.prefix);
    const int n =
        std::snprintf(line, sizeof line, "%u.%u.%u.%u/%u %s %s %s\n", r.prefix.addr.value >> 24,
                      (r.prefix.addr.value >> 16) & 255, (r.prefix.addr.value >> 8) & 255, r.prefix.addr.value & 255,
                      r.prefix.len, v6.c_str(), std::string(mapping::modes_name(r.target.modes)).c_str(),
                      std::string(mapping::layout_name(r.target.pool6.layout)).c_str());
    text.append(line, static_cast<std::size_t>(n));
  }
  return text;
}

void bm_parse_file(benchmark::State& state) {
  const std::string text = rules_text();
  for (auto _ : state) {
    auto rules = mapping::parse_rules(text, mapping::RuleSource::kConfig);
    if (!rules || rules->size() != kRules) {
      state.SkipWithError(rules ? "wrong count" : rules.error().c_str());
      break;
    }
    benchmark::DoNotOptimize(rules->data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRules));
  state.counters["mib"] = static_cast<double>(text.size()) / (1 << 20);
}
BENCHMARK(bm_parse_file)->Name("mrdb/parse_file")->Unit(benchmark::kMillisecond);

void bm_load_file(benchmark::State& state) {
  const std::string path = "/tmp/edge46-bench-mrdb-" + std::to_string(::getpid()) + ".rules";
  std::ofstream(path) << rules_text();
  for (auto _ : state) {
    MrDb db;
    auto rules = mapping::load_rules_file(path, mapping::RuleSource::kConfig);
    if (!rules || !db.replace_source(mapping::RuleSource::kConfig, *rules) || db.stats().rules != kRules) {
      state.SkipWithError("load failed");
      break;
    }
  }
  std::remove(path.c_str());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRules));
}
BENCHMARK(bm_load_file)->Name("mrdb/load_file")->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
