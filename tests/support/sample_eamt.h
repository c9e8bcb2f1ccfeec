// The EAMT the benchmarks and the fuzz targets translate with (a runtime
// table, kept outside xlat::Config as in the daemon): 2001:db8:6::/120 <->
// 192.0.2.0/24 and 2001:db8:7::/124 <-> 203.0.113.0/28. Built once.
#pragma once

#include <cstdlib>

#include "mapping/eamt.h"
#include "support/literals.h"

namespace edge46::support {

inline const mapping::Eamt& sample_eamt() {
  static const auto* t = [] {
    auto* e = new mapping::Eamt;
    if (!e->add({p6("2001:db8:6::/120"), p4("192.0.2.0/24")}).empty()) std::abort();
    if (!e->add({p6("2001:db8:7::/124"), p4("203.0.113.0/28")}).empty()) std::abort();
    return e;
  }();
  return *t;
}

}  // namespace edge46::support
