#include "xlat/translate.h"

#include "xlat/common.h"

#include <sys/random.h>

namespace edge46::xlat {

Verdict translate(const Config& cfg, const mapping::Eamt& eamt, WorkerState& ws, Family ingress,
                  std::span<const uint8_t> in, Output& out) noexcept {
  return translate(cfg, SiitMapper{cfg, eamt}, ws, ingress, in, out);
}

Verdict refuse_46(const Config& cfg, WorkerState& ws, std::span<const uint8_t> in, Output& out, core::Drop reason,
                  uint8_t type, uint8_t code) noexcept {
  out.count = 0;
  net::Ipv4Packet p;
  if (core::Drop d = net::parse_ipv4(in, p, true); d != core::Drop::kNone) return detail::drop(d);
  return detail::icmp4_error(cfg, ws, out, reason, type, code, 0, {p.hdr, p.total_length}, p);
}

namespace {

uint64_t splitmix64(uint64_t& x) noexcept {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// RFC 7739 5.3: random key, random initial counter values.
void fill(WorkerState& ws, uint64_t key0, uint64_t key1, uint64_t rng, uint64_t counters) noexcept {
  ws.ipv4_ids.key0 = key0;
  ws.ipv4_ids.key1 = key1;
  ws.rng = rng != 0 ? rng : 0x853c49e6748fea9bull;
  for (auto& c : ws.ipv4_ids.counters) c = static_cast<uint16_t>(splitmix64(counters));
}

}  // namespace

void seed(WorkerState& ws, uint64_t seed) noexcept {
  const uint64_t k0 = splitmix64(seed), k1 = splitmix64(seed), r = splitmix64(seed);
  fill(ws, k0, k1, r, splitmix64(seed));
}

bool seed_from_entropy(WorkerState& ws) noexcept {
  uint64_t s[4];
  // Up to 256 bytes, getrandom(2) is not interrupted by signals once the
  // pool is initialised; it blocks until then (worker start, not the path).
  if (getrandom(s, sizeof s, 0) != static_cast<ssize_t>(sizeof s)) return false;
  fill(ws, s[0], s[1], s[2], s[3]);
  return true;
}

}  // namespace edge46::xlat
