// Translates one benchmark case N times in a tight loop, for instruction
// counting under callgrind (the loop is the only function whose cost is
// collected with --toggle-collect=edge46_xlat_loop, so Ir / N = instructions
// per packet) and for a quick TSC-based cost estimate without perf.
//
//   xlat_loop CASE [N]      e.g. xlat_loop 46_udp64/pool96 1000000
//   xlat_loop --list
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define EDGE46_TSC() __rdtsc()
#else
#define EDGE46_TSC() uint64_t{0}
#endif

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "bench_packets.h"

using namespace edge46;

extern "C" __attribute__((noinline)) uint32_t edge46_xlat_loop(const xlat::Config* cfg, const bench::Case* c,
                                                                xlat::Output* out, long n) {
  uint32_t acc = 0;
  const std::span<const uint8_t> in{c->packet};
  for (long i = 0; i < n; ++i) {
    xlat::Verdict v = xlat::translate(*cfg, bench::eamt(), bench::worker_state(), c->ingress, in, *out);
    acc += static_cast<uint32_t>(v.outcome) + out->count;
  }
  return acc;
}

extern "C" __attribute__((noinline)) void edge46_memcpy_loop(uint8_t* dst, const uint8_t* src, std::size_t len,
                                                             long n) {
  for (long i = 0; i < n; ++i) {
    std::memcpy(dst, src, len);
    asm volatile("" : : "r"(dst), "r"(src) : "memory");
  }
}

int main(int argc, char** argv) {
  const auto cases = bench::all_cases();
  if (argc < 2 || std::strcmp(argv[1], "--list") == 0) {
    for (const auto& c : cases) std::printf("%s\n", c.name.c_str());
    return argc < 2 ? 2 : 0;
  }
  const long n = argc > 2 ? std::atol(argv[2]) : 1000000;
  const bool memcpy_only = argc > 3 && std::strcmp(argv[3], "--memcpy") == 0;
  const bench::Case* c = nullptr;
  for (const auto& x : cases) {
    if (x.name == argv[1]) c = &x;
  }
  if (c == nullptr) {
    std::fprintf(stderr, "unknown case %s (try --list)\n", argv[1]);
    return 2;
  }
  const xlat::Config cfg = bench::make_config(c->pool6_len);
  auto out = std::make_unique<xlat::Output>();
  bench::check_case(cfg, *c, *out);

  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t c0 = EDGE46_TSC();
  uint32_t acc = 0;
  if (memcpy_only) {
    edge46_memcpy_loop(out->buffer.data(), c->packet.data(), c->packet.size(), n);
  } else {
    acc = edge46_xlat_loop(&cfg, c, out.get(), n);
  }
  const uint64_t c1 = EDGE46_TSC();
  const auto t1 = std::chrono::steady_clock::now();
  const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
  std::printf("case=%s mode=%s n=%ld ns_per_pkt=%.2f tsc_per_pkt=%.1f mpps=%.2f acc=%u\n", c->name.c_str(),
              memcpy_only ? "memcpy" : "xlat", n, ns / static_cast<double>(n),
              static_cast<double>(c1 - c0) / static_cast<double>(n), static_cast<double>(n) / ns * 1e3, acc);
  return 0;
}
