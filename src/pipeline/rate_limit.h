// A token bucket for the ICMP errors a worker generates (RFC 4443 2.4 f,
// RFC 1812 4.3.2.8).
//
// `rate` tokens per second refill a bucket of at most `burst` tokens; each
// error takes one, and an error finding the bucket empty is suppressed. Time
// is a CLOCK_MONOTONIC reading in nanoseconds supplied by the caller (the
// worker reads the clock once per burst), so the bucket is noexcept, never
// allocates and makes no system call. Integer arithmetic only: the credit is
// kept in token-nanoseconds (one token = 1e9), so any rate up to 1e9/s is
// exact.
#pragma once

#include <algorithm>
#include <cstdint>

namespace edge46::pipeline {

struct RateLimit {
  uint32_t rate = 1000;  // tokens per second; 0: unlimited
  uint32_t burst = 50;   // bucket size in tokens (>= 1)
};

class TokenBucket {
 public:
  static constexpr uint64_t kToken = 1'000'000'000;  // credit of one token (token-ns)

  // Takes one token at time `now_ns`. A new bucket starts full. A clock that
  // goes backwards (it does not, for CLOCK_MONOTONIC) refills nothing.
  bool take(uint64_t now_ns, RateLimit lim) noexcept {
    if (lim.rate == 0) return true;
    const uint64_t cap = uint64_t{std::max<uint32_t>(lim.burst, 1)} * kToken;
    if (!started_) {
      started_ = true;
      credit_ = cap;
      last_ns_ = now_ns;
    } else if (now_ns > last_ns_) {
      // Bound the elapsed time before multiplying: a full refill is at most
      // cap / rate + 1 ns away, so the product never overflows.
      const uint64_t elapsed = std::min<uint64_t>(now_ns - last_ns_, cap / lim.rate + 1);
      credit_ = std::min(cap, credit_ + elapsed * lim.rate);
      last_ns_ = now_ns;
    }
    credit_ = std::min(credit_, cap);  // the burst may have been lowered by a reload
    if (credit_ < kToken) return false;
    credit_ -= kToken;
    return true;
  }

 private:
  uint64_t last_ns_ = 0;
  uint64_t credit_ = 0;
  bool started_ = false;
};

}  // namespace edge46::pipeline
