// libFuzzer: rtnetlink route messages as the route mirror reads them
// (src/daemon/tun_routes.h). Input = a stream of netlink messages; each one
// that parse_route_message accepts is applied to a RouteSet, and the lookup
// table is built at the end. Checks: no crash, no read outside the input
// (ASan), and every accepted prefix is masked to its length.
#include <linux/netlink.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "daemon/tun_routes.h"

using namespace edge46;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Aligned copy: netlink messages are 4-byte aligned in a real receive buffer.
  std::vector<uint32_t> buf((size + 3) / 4 + 1);
  std::memcpy(buf.data(), data, size);
  const auto* p = reinterpret_cast<const uint8_t*>(buf.data());
  daemon::RouteSet set;
  std::size_t off = 0;
  while (size - off >= sizeof(nlmsghdr)) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(p + off);
    if (nlh->nlmsg_len < sizeof(nlmsghdr) || nlh->nlmsg_len > size - off) break;
    if (auto e = daemon::parse_route_message(nlh, 7)) {
      if (e->len > 128) {
        std::fprintf(stderr, "prefix length %u beyond 128\n", e->len);
        std::abort();
      }
      const net::u128 host = e->len == 128 ? net::u128{0} : (~net::u128{0}) >> e->len;
      if ((e->prefix & host) != 0) {
        std::fprintf(stderr, "prefix with host bits (len %u)\n", e->len);
        std::abort();
      }
      set.apply(*e);
    }
    off += NLMSG_ALIGN(nlh->nlmsg_len);
  }
  auto tables = set.build();
  (void)tables;
  return 0;
}
