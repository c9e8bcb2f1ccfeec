#include "pipeline/counters.h"

namespace edge46::pipeline {
namespace {
constexpr std::array<std::string_view, kPipelineDropCount> kNames = {
#define EDGE46_X(e, n, d) n,
    EDGE46_PIPELINE_DROPS(EDGE46_X)
#undef EDGE46_X
};
constexpr std::array<std::string_view, kPipelineDropCount> kDescriptions = {
#define EDGE46_X(e, n, d) d,
    EDGE46_PIPELINE_DROPS(EDGE46_X)
#undef EDGE46_X
};
constexpr std::array<std::string_view, 2> kFamily = {"ipv4", "ipv6"};
}  // namespace

std::string_view pipeline_drop_name(PipelineDrop d) noexcept {
  auto i = static_cast<std::size_t>(d);
  return i < kPipelineDropCount ? kNames[i] : std::string_view{"unknown"};
}
std::string_view pipeline_drop_description(PipelineDrop d) noexcept {
  auto i = static_cast<std::size_t>(d);
  return i < kPipelineDropCount ? kDescriptions[i] : std::string_view{"unknown"};
}

std::optional<uint64_t> CounterTotals::get(std::string_view name) const noexcept {
  for (const auto& [n, v] : values) {
    if (n == name) {
      return v;
    }
  }
  return std::nullopt;
}

CounterSet::CounterSet(std::size_t workers) : n_(workers == 0 ? 1 : workers), blocks_(new Counters[n_]) {}

CounterTotals CounterSet::totals() const {
  CounterTotals t;
  auto sum = [&](auto field) {
    uint64_t s = 0;
    for (std::size_t i = 0; i < n_; ++i) {
      s += field(blocks_[i]).get();
    }
    return s;
  };
  for (std::size_t f = 0; f < 2; ++f) {
    t.values.emplace_back("packets_in." + std::string(kFamily[f]),
                          sum([f](const Counters& c) -> const Counter& { return c.packets_in[f]; }));
  }
  for (std::size_t f = 0; f < 2; ++f) {
    t.values.emplace_back("bytes_in." + std::string(kFamily[f]),
                          sum([f](const Counters& c) -> const Counter& { return c.bytes_in[f]; }));
  }
  for (std::size_t f = 0; f < 2; ++f) {
    t.values.emplace_back("packets_out." + std::string(kFamily[f]),
                          sum([f](const Counters& c) -> const Counter& { return c.packets_out[f]; }));
  }
  for (std::size_t f = 0; f < 2; ++f) {
    t.values.emplace_back("bytes_out." + std::string(kFamily[f]),
                          sum([f](const Counters& c) -> const Counter& { return c.bytes_out[f]; }));
  }
  t.values.emplace_back("translated", sum([](const Counters& c) -> const Counter& { return c.translated; }));
  t.values.emplace_back("hairpinned", sum([](const Counters& c) -> const Counter& { return c.hairpinned; }));
  t.values.emplace_back("encapsulated", sum([](const Counters& c) -> const Counter& { return c.encapsulated; }));
  t.values.emplace_back("decapsulated", sum([](const Counters& c) -> const Counter& { return c.decapsulated; }));
  t.values.emplace_back("icmp_errors", sum([](const Counters& c) -> const Counter& { return c.icmp_errors; }));
  t.values.emplace_back("batches", sum([](const Counters& c) -> const Counter& { return c.batches; }));
  t.values.emplace_back("gso_in", sum([](const Counters& c) -> const Counter& { return c.gso_in; }));
  t.values.emplace_back("gso_segments_in", sum([](const Counters& c) -> const Counter& { return c.gso_segments_in; }));
  t.values.emplace_back("gso_out", sum([](const Counters& c) -> const Counter& { return c.gso_out; }));
  t.values.emplace_back("reasm_held", sum([](const Counters& c) -> const Counter& { return c.reasm_held; }));
  t.values.emplace_back("reassembled", sum([](const Counters& c) -> const Counter& { return c.reassembled; }));
  // kNone (index 0) is not a drop.
  for (std::size_t d = 1; d < core::kDropCount; ++d) {
    t.values.emplace_back("drop." + std::string(core::drop_name(static_cast<core::Drop>(d))),
                          sum([d](const Counters& c) -> const Counter& { return c.drops[d]; }));
  }
  for (std::size_t d = 0; d < kPipelineDropCount; ++d) {
    t.values.emplace_back("drop." + std::string(pipeline_drop_name(static_cast<PipelineDrop>(d))),
                          sum([d](const Counters& c) -> const Counter& { return c.pipeline_drops[d]; }));
  }
  return t;
}

std::string counter_help(std::string_view name) {
  if (name.starts_with("drop.")) {
    auto reason = name.substr(5);
    for (std::size_t d = 1; d < core::kDropCount; ++d) {
      if (core::drop_name(static_cast<core::Drop>(d)) == reason) {
        return std::string(core::drop_description(static_cast<core::Drop>(d)));
      }
    }
    for (std::size_t d = 0; d < kPipelineDropCount; ++d) {
      if (pipeline_drop_name(static_cast<PipelineDrop>(d)) == reason) {
        return std::string(pipeline_drop_description(static_cast<PipelineDrop>(d)));
      }
    }
    return "packets dropped";
  }
  if (name.starts_with("packets_in.")) return "packets received from the TUN device";
  if (name.starts_with("bytes_in.")) return "bytes received from the TUN device";
  if (name.starts_with("packets_out.")) return "packets written to the TUN device";
  if (name.starts_with("bytes_out.")) return "bytes written to the TUN device";
  if (name == "translated") return "packets translated to the other family";
  if (name == "hairpinned") return "packets hairpinned (RFC 7757 4)";
  if (name == "encapsulated") return "IPv4 packets encapsulated into the RFC 2473 4in6 tunnel";
  if (name == "decapsulated") return "4in6 packets decapsulated and forwarded as IPv4";
  if (name == "icmp_errors") return "translator-generated ICMP errors";
  if (name == "batches") return "I/O bursts processed";
  if (name == "gso_in") return "TCP super-packets received with the TUN offload (counted once in packets_in)";
  if (name == "gso_segments_in") return "TCP segments carried by those super-packets";
  if (name == "gso_out") return "super-packets translated once and written whole";
  if (name == "reasm_held") return "ICMP fragments held for reassembly";
  if (name == "reassembled") return "ICMP datagrams reassembled from fragments and translated whole";
  return {};
}

}  // namespace edge46::pipeline
