// Address and prefix literals for test, benchmark and fuzz programs: parse a
// string the program itself wrote, and abort on a typo rather than run with
// a zero address.
#pragma once

#include <cstdlib>

#include "net/addr.h"

namespace edge46::support {

inline net::Ipv4Addr v4(const char* s) {
  auto a = net::parse_ipv4(s);
  if (!a) std::abort();
  return *a;
}
inline net::Ipv6Addr v6(const char* s) {
  auto a = net::parse_ipv6(s);
  if (!a) std::abort();
  return *a;
}
inline net::Ipv4Prefix p4(const char* s) {
  auto p = net::parse_ipv4_prefix(s);
  if (!p) std::abort();
  return *p;
}
inline net::Ipv6Prefix p6(const char* s) {
  auto p = net::parse_ipv6_prefix(s);
  if (!p) std::abort();
  return *p;
}

}  // namespace edge46::support
