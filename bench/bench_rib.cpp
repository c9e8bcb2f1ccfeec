// Google Benchmark of the RIB of received rules (issue 9: 1 M routes from
// each of 2-3 peers with modest memory).
//
// The feed: 1 M distinct /24s from 1.0.0.0 up (the length does not matter
// to the RIB's hash table), in UPDATEs of 500 prefixes that share one set of
// attributes (an AS path without our AS 65000, a MED, a 4map6 rule towards
// one of 200 egress Pref6s), 2000 UPDATEs per peer.
//
//   rib/apply/1peer        apply() of the whole feed from one eBGP peer into
//                          an empty Rib; counters: prefixes/s, routes,
//                          bytes_per_route (heap in use, mallinfo2, after
//                          minus before, over routes held)
//   rib/apply/2peers       the same feed from a second (iBGP) peer on top of
//                          the first peer's 1 M routes (best path compares
//                          two routes per prefix); timed: the second peer;
//                          bytes_per_route over the 2 M routes
//   rib/reannounce         the first peer sends the whole feed again (same
//                          attributes: no MR-DB change); prefixes/s
//   rib/withdraw           the first peer withdraws everything; prefixes/s
//
// Build: cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGE46_BENCH=ON
//        cmake --build build-rel --target bench_rib && build-rel/bench/bench_rib
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <memory>
#include <vector>

#include "bgp/rib.h"

namespace {

using namespace edge46;
using namespace edge46::bgp;

constexpr std::size_t kPrefixes = 1'000'000;
constexpr std::size_t kPerUpdate = 500;

std::size_t heap_in_use() {
  const auto mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

std::vector<Update> feed(uint32_t first_as, bool withdraw = false) {
  std::vector<Update> v;
  for (std::size_t i = 0; i < kPrefixes; i += kPerUpdate) {
    Update u;
    auto& list = withdraw ? u.withdrawn : u.announced;
    for (std::size_t j = i; j < i + kPerUpdate && j < kPrefixes; ++j) {
      list.push_back(net::Ipv4Prefix{net::Ipv4Addr{0x01000000u + (static_cast<uint32_t>(j) << 8)}, 24});
    }
    if (!withdraw) {
      const auto n = static_cast<uint32_t>(i / kPerUpdate);
      u.attrs.as_path = {AsSegment{2, {first_as, 64512 + n % 400, 66000 + n % 200}}};
      u.attrs.med = n;
      u.attrs.rule_state = PathAttrs::RuleState::kPresent;
      net::Ipv6Addr x{};
      x.bytes[0] = 0x20, x.bytes[1] = 0x01, x.bytes[2] = 0x0d, x.bytes[3] = 0xb8;
      x.bytes[4] = static_cast<uint8_t>(n % 200);
      u.attrs.rule.pref6 = net::Ipv6Prefix{x, 48};
    }
    v.push_back(std::move(u));
  }
  return v;
}

RibConfig config() {
  RibConfig c;
  c.local_as = 65000;
  c.router_id = 0x0A000001;
  return c;
}

void add_peers(Rib& rib) {
  PeerPolicy e;
  e.name = "e1";
  e.asn = 65101;
  e.address.bytes[15] = 1;
  rib.set_peer(1, e);
  PeerPolicy i;
  i.name = "i2";
  i.asn = 65000;
  i.ibgp = true;
  i.inside_domain = true;
  i.address.bytes[15] = 2;
  rib.set_peer(2, i);
  rib.set_peer_router_id(1, 1);
  rib.set_peer_router_id(2, 2);
}

std::size_t run(Rib& rib, PeerId peer, const std::vector<Update>& updates) {
  std::vector<MrChange> out;
  out.reserve(kPerUpdate);
  std::size_t changes = 0;
  for (const auto& u : updates) {
    out.clear();
    rib.apply(peer, u, out);
    changes += out.size();
  }
  return changes;
}

// Applies `measured` as peer `peer` to a fresh RIB that already holds
// `before` from peer 1 (untimed): prefixes/s, and the heap per route held.
void apply_bench(benchmark::State& state, const std::vector<Update>* before, const std::vector<Update>& measured,
                 PeerId peer) {
  double bytes = 0, routes = 0, changes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::size_t h0 = heap_in_use();
    auto rib = std::make_unique<Rib>(config());
    add_peers(*rib);
    if (before) run(*rib, 1, *before);
    state.ResumeTiming();
    changes = static_cast<double>(run(*rib, peer, measured));
    state.PauseTiming();
    routes = static_cast<double>(rib->route_count());
    bytes = static_cast<double>(heap_in_use() - h0);
    rib.reset();
    state.ResumeTiming();
  }
  state.counters["prefixes_per_s"] = benchmark::Counter(
      static_cast<double>(kPrefixes) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["routes"] = routes;
  state.counters["mr_changes"] = changes;
  state.counters["heap_mib"] = bytes / (1 << 20);
  state.counters["bytes_per_route"] = bytes / routes;
}

void bm_apply_1peer(benchmark::State& state) {
  apply_bench(state, nullptr, feed(65101), 1);
}
BENCHMARK(bm_apply_1peer)->Name("rib/apply/1peer")->Unit(benchmark::kMillisecond)->Iterations(3);

void bm_apply_2peers(benchmark::State& state) {
  const auto u1 = feed(65101);
  apply_bench(state, &u1, feed(65201), 2);
}
BENCHMARK(bm_apply_2peers)->Name("rib/apply/2peers")->Unit(benchmark::kMillisecond)->Iterations(3);

void bm_reannounce(benchmark::State& state) {
  const auto updates = feed(65101);
  Rib rib(config());
  add_peers(rib);
  run(rib, 1, updates);
  double changes = 0;
  for (auto _ : state) changes = static_cast<double>(run(rib, 1, updates));
  state.counters["prefixes_per_s"] = benchmark::Counter(
      static_cast<double>(kPrefixes) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["mr_changes"] = changes;
}
BENCHMARK(bm_reannounce)->Name("rib/reannounce")->Unit(benchmark::kMillisecond)->Iterations(3);

void bm_withdraw(benchmark::State& state) {
  const auto updates = feed(65101), withdrawals = feed(0, true);
  for (auto _ : state) {
    state.PauseTiming();
    auto rib = std::make_unique<Rib>(config());
    add_peers(*rib);
    run(*rib, 1, updates);
    state.ResumeTiming();
    run(*rib, 1, withdrawals);
    state.PauseTiming();
    if (rib->route_count() != 0) state.SkipWithError("routes left after withdrawing all");
    rib.reset();
    state.ResumeTiming();
  }
  state.counters["prefixes_per_s"] = benchmark::Counter(
      static_cast<double>(kPrefixes) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(bm_withdraw)->Name("rib/withdraw")->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
