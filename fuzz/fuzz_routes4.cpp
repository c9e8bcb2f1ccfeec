// libFuzzer: rtnetlink route messages as the IPv4 route source reads them
// (src/daemon/routes4.h). Input = one filter byte, then a stream of netlink
// messages; each one parse_route4 accepts is applied to a Route4Table (and
// every other one also to a second table, which then replaces the first as
// a dump would). Checks: no crash, no read outside the messages (ASan), an
// accepted route obeys the filter, and the batches are a consistent set
// history: a prefix is added only while absent, removed only while present,
// and the prefixes at the end are those the batches built.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "daemon/routes4.h"

using namespace edge46;

#define CHECK(cond, ...)                                                         \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "invariant broken: %s (line %d): ", #cond, __LINE__); \
      std::fprintf(stderr, __VA_ARGS__);                                         \
      std::fprintf(stderr, "\n");                                                \
      __builtin_trap();                                                          \
    }                                                                            \
  } while (0)

namespace {

bool inside(net::Ipv4Prefix p, uint32_t net, uint8_t len) {
  return p.len >= len && ((p.addr.value ^ net) & net::mask4(len)) == 0;
}

using Set = std::set<std::pair<uint32_t, uint8_t>>;

void take(daemon::Route4Table& t, Set& model) {
  for (const auto& c : t.take_changes()) {
    const std::pair<uint32_t, uint8_t> k{c.prefix.addr.value, c.prefix.len};
    if (c.add) {
      CHECK(model.insert(k).second, "added twice");
    } else {
      CHECK(model.erase(k) == 1, "removed while absent");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  // Filter byte: bit 0 include_connected, bit 1 protocols {static, bird},
  // bit 2 tables {254, 100}, bit 3 exclude 10.0.0.0/8; devices 9 excluded.
  const uint8_t v = data[0];
  daemon::Routes4Filter f;
  f.include_connected = (v & 1) != 0;
  if (v & 2) {
    f.protocols = {RTPROT_STATIC, RTPROT_BIRD};
  }
  if (v & 4) {
    f.tables = {254, 100};
  }
  if (v & 8) {
    f.exclude_prefixes = {net::Ipv4Prefix{net::Ipv4Addr{0x0a000000u}, 8}};
  }
  const std::vector<uint32_t> excluded = {9};
  ++data;
  --size;
  // Aligned copy: netlink messages are 4-byte aligned in a real receive buffer.
  std::vector<uint32_t> buf((size + 3) / 4 + 1);
  std::memcpy(buf.data(), data, size);
  const auto* p = reinterpret_cast<const uint8_t*>(buf.data());

  daemon::Route4Table table, fresh;
  Set model;
  std::size_t off = 0, n = 0;
  while (size - off >= sizeof(nlmsghdr)) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(p + off);
    if (nlh->nlmsg_len < sizeof(nlmsghdr) || nlh->nlmsg_len > size - off) {
      break;
    }
    if (auto e = daemon::parse_route4(nlh, f, excluded)) {
      const auto& x = e->prefix;
      CHECK(x.len >= 1 && x.len <= 32, "length %u", x.len);
      CHECK((x.addr.value & ~net::mask4(x.len)) == 0, "host bits in %08x/%u", x.addr.value, x.len);
      CHECK(!inside(x, 0x7f000000u, 8) && !inside(x, 0xe0000000u, 4) && !inside(x, 0xa9fe0000u, 16),
            "special prefix %08x/%u", x.addr.value, x.len);
      CHECK(!(v & 8) || !inside(x, 0x0a000000u, 8), "excluded prefix %08x/%u", x.addr.value, x.len);
      CHECK(std::find(f.tables.begin(), f.tables.end(), e->table) != f.tables.end(), "table %u", e->table);
      CHECK(!e->add || e->oif != 9, "route out of an excluded device");
      if (e->add) {
        if (e->protocol == RTPROT_KERNEL) {
          CHECK(f.include_connected, "connected route while refused");
        } else if (v & 2) {
          CHECK(e->protocol == RTPROT_STATIC || e->protocol == RTPROT_BIRD, "protocol %u", e->protocol);
        } else {
          CHECK(e->protocol != RTPROT_REDIRECT, "redirect route");
        }
      }
      table.apply(*e);
      if (n++ % 2 == 0) {
        fresh.apply(*e);
      }
      if (n % 3 == 0) {
        take(table, model);
      }
    }
    off += NLMSG_ALIGN(nlh->nlmsg_len);
  }
  take(table, model);
  const std::size_t routes_before = fresh.routes();
  table.replace_all(std::move(fresh));
  CHECK(table.routes() == routes_before, "replace_all kept %zu routes of %zu", table.routes(), routes_before);
  take(table, model);
  const auto now = table.prefixes();
  CHECK(now.size() == model.size() && now.size() == table.size(), "%zu prefixes, batches built %zu", now.size(),
        model.size());
  std::size_t i = 0;
  for (const auto& k : model) {
    CHECK(now[i].addr.value == k.first && now[i].len == k.second, "prefix %zu differs", i);
    ++i;
  }
  return 0;
}
