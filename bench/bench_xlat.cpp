// Google Benchmark of the translation step, one packet per iteration.
//
//   xlat/<dir>_<kind><size>[_frag]/pool<96|40>   translate() of one packet
//   memcpy/<size>                                 copying the same bytes into
//                                                 the output buffer (the floor)
//
// Each benchmark owns one heap-allocated xlat::Output reused across
// iterations; items = input packets, bytes = input bytes. The verdict is
// checked once before the timed loop (abort if not translated as expected).
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <set>

#include "bench_packets.h"

namespace {

using namespace edge46;

void bm_xlat(benchmark::State& state, const xlat::Config* cfg, const bench::Case* c) {
  auto out = std::make_unique<xlat::Output>();
  bench::check_case(*cfg, *c, *out);
  const std::span<const uint8_t> in{c->packet};
  const xlat::Family fam = c->ingress;
  for (auto _ : state) {
    xlat::Verdict v = xlat::translate(*cfg, bench::eamt(), bench::worker_state(), fam, in, *out);
    benchmark::DoNotOptimize(v);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(in.size()));
}

void bm_memcpy(benchmark::State& state, const bench::Bytes* pkt) {
  auto out = std::make_unique<xlat::Output>();
  const uint8_t* src = pkt->data();
  const std::size_t n = pkt->size();
  uint8_t* dst = out->buffer.data();
  for (auto _ : state) {
    benchmark::DoNotOptimize(src);
    benchmark::DoNotOptimize(dst);
    std::memcpy(dst, src, n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

}  // namespace

int main(int argc, char** argv) {
  // Both live until exit: the registered benchmarks point into them.
  static const xlat::Config cfg96 = bench::make_config(96);
  static const xlat::Config cfg40 = bench::make_config(40);
  static const std::vector<bench::Case> cases = bench::all_cases();

  std::set<std::size_t> sizes;
  std::vector<const bench::Bytes*> baselines;
  for (const auto& c : cases) {
    if (sizes.insert(c.packet.size()).second) baselines.push_back(&c.packet);
  }
  for (const auto* b : baselines) {
    benchmark::RegisterBenchmark(("memcpy/" + std::to_string(b->size())).c_str(), bm_memcpy, b);
  }
  for (const auto& c : cases) {
    const xlat::Config* cfg = c.pool6_len == 96 ? &cfg96 : &cfg40;
    benchmark::RegisterBenchmark(("xlat/" + c.name).c_str(), bm_xlat, cfg, &c);
  }

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
