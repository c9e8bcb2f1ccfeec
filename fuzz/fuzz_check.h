// The invariant check of every fuzz target: prints what broke, then traps
// (libFuzzer saves the input as a crash).
#pragma once

#include <cstdio>

#define EDGE46_FUZZ_CHECK(cond, ...)                                                     \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "invariant broken: %s (%s:%d): ", #cond, __FILE__, __LINE__); \
      std::fprintf(stderr, __VA_ARGS__);                                                 \
      std::fprintf(stderr, "\n");                                                        \
      __builtin_trap();                                                                  \
    }                                                                                    \
  } while (0)
