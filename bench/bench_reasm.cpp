// Per-fragment cost of the ICMP reassembly table (src/pipeline/reassembly.h)
// as a function of its slot count (issue 7 review: the cost must not grow
// with reassembly-slots, or any sender of fragments owns the worker's CPU).
//
// Each table is filled to all slots but one with held first fragments of
// distinct datagrams (the state a flood of first fragments leaves); each
// iteration then reassembles one two-fragment ICMP echo (two add() calls and
// the expire() the pipeline makes before each) in the free slot.
//
//   cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release
//   cmake --build build-rel --target bench_reasm
//   build-rel/bench/bench_reasm
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "net/headers.h"
#include "pipeline/reassembly.h"
#include "support/fragments.h"
#include "support/packet_builder.h"

namespace {

using namespace edge46;

test::Ip4 hdr4(uint16_t id, uint32_t src) {
  test::Ip4 h;
  h.src = src;
  h.dst = test::a4("192.0.2.1");
  h.proto = test::kIcmp;
  h.id = id;
  return h;
}

net::Ipv4Packet parse(const test::Bytes& b) {
  net::Ipv4Packet p{};
  net::parse_ipv4(b, p, true);
  return p;
}

void BM_ReasmFragment(benchmark::State& state) {
  const auto slots = static_cast<uint32_t>(state.range(0));
  pipeline::Reassembler ra(pipeline::ReassemblyLimits{slots, 64u * 1024 * 1024, 2000});
  auto seg = test::icmp(8, 0, 0x12340001, test::pattern(1000));
  const uint32_t base = test::a4("198.51.100.0");
  // All slots but one held by distinct datagrams (source address and ID).
  std::vector<test::Bytes> filler;
  for (uint32_t i = 0; i + 1 < slots; ++i) {
    filler.push_back(test::fragment4(hdr4(static_cast<uint16_t>(i), base + 1 + (i >> 16)), seg, 0, 504, true));
    ra.add(parse(filler.back()), 0);
  }
  if (ra.slots_in_use() != slots - 1) state.SkipWithError("filler not held");
  const auto f0 = test::fragment4(hdr4(0xffff, base), seg, 0, 504, true);
  const auto f1 = test::fragment4(hdr4(0xffff, base), seg, 504, seg.size() - 504, false);
  const auto p0 = parse(f0), p1 = parse(f1);
  uint64_t now = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ra.expire(now));
    benchmark::DoNotOptimize(ra.add(p0, now));
    benchmark::DoNotOptimize(ra.expire(now));
    auto r = ra.add(p1, now);
    if (r.status != pipeline::Reassembler::Status::kComplete) state.SkipWithError("not reassembled");
    benchmark::DoNotOptimize(ra.datagram().data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 2);  // fragments
}
BENCHMARK(BM_ReasmFragment)->Arg(64)->Arg(4096);

}  // namespace

BENCHMARK_MAIN();
