// mapping/lpm: longest-prefix match, flat (<= kFlatLimit entries) and
// hashed modes, against a brute-force reference.
#include "mapping/lpm.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <vector>

#include "support/packet_builder.h"

namespace edge46::mapping {
namespace {

using net::u128;

template <class Key>
struct Ref {
  struct E {
    Key prefix;
    unsigned len;
    int value;
  };
  std::vector<E> entries;
  static Key mask(unsigned len) { return KeyTraits<Key>::mask(len); }
  void insert(Key p, unsigned len, int v) {
    p &= mask(len);
    for (auto& e : entries) {
      if (e.len == len && e.prefix == p) {
        e.value = v;
        return;
      }
    }
    entries.push_back({p, len, v});
  }
  bool erase(Key p, unsigned len) {
    p &= mask(len);
    for (auto it = entries.begin(); it != entries.end(); ++it) {
      if (it->len == len && it->prefix == p) {
        entries.erase(it);
        return true;
      }
    }
    return false;
  }
  std::optional<int> lookup(Key k) const {
    int best_len = -1;
    std::optional<int> v;
    for (const auto& e : entries) {
      if ((k & mask(e.len)) == e.prefix && static_cast<int>(e.len) > best_len) {
        best_len = static_cast<int>(e.len);
        v = e.value;
      }
    }
    return v;
  }
};

TEST(Lpm, OverlappingPrefixesIpv4) {
  LpmTable<uint32_t, int> t;
  t.insert(test::a4("10.0.0.0"), 8, 1);
  t.insert(test::a4("10.1.0.0"), 16, 2);
  t.insert(test::a4("10.1.2.0"), 24, 3);
  t.insert(test::a4("10.1.2.3"), 32, 4);
  t.insert(0, 0, 0);  // default
  auto at = [&](const char* a) { return *t.lookup(test::a4(a)); };
  EXPECT_EQ(at("10.1.2.3"), 4);
  EXPECT_EQ(at("10.1.2.4"), 3);
  EXPECT_EQ(at("10.1.3.4"), 2);
  EXPECT_EQ(at("10.2.3.4"), 1);
  EXPECT_EQ(at("11.0.0.0"), 0);
  EXPECT_TRUE(t.erase(0, 0));
  EXPECT_EQ(t.lookup(test::a4("11.0.0.0")), nullptr);
  EXPECT_FALSE(t.erase(0, 0));
  EXPECT_EQ(t.size(), 4u);
}

TEST(Lpm, InsertMasksAndReplaces) {
  LpmTable<uint32_t, int> t;
  t.insert(test::a4("192.0.2.77"), 24, 1);  // host bits dropped
  EXPECT_EQ(t.entries()[0].prefix, test::a4("192.0.2.0"));
  t.insert(test::a4("192.0.2.0"), 24, 2);  // same prefix: replaced
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(*t.lookup(test::a4("192.0.2.1")), 2);
  EXPECT_TRUE(t.erase(test::a4("192.0.2.200"), 24));
  EXPECT_TRUE(t.empty());
}

TEST(Lpm, EmptyTable) {
  LpmTable<u128, int> t;
  EXPECT_EQ(t.lookup(0), nullptr);
  EXPECT_EQ(t.lookup(~u128{0}), nullptr);
}

TEST(Lpm, OverlappingPrefixesIpv6) {
  LpmTable<u128, int> t;
  auto k = [](const char* s) { return net::Ipv6Addr{test::a6(s)}.to_u128(); };
  t.insert(k("2001:db8::"), 32, 32);
  t.insert(k("2001:db8::"), 64, 64);
  t.insert(k("2001:db8::1"), 128, 128);
  EXPECT_EQ(*t.lookup(k("2001:db8::1")), 128);
  EXPECT_EQ(*t.lookup(k("2001:db8::2")), 64);
  EXPECT_EQ(*t.lookup(k("2001:db8:0:1::")), 32);
  EXPECT_EQ(t.lookup(k("2001:db9::")), nullptr);
}

// Random tables whose prefixes nest: lengths from a small set, addresses
// from a small pool of roots so that many prefixes overlap.
template <class Key>
void random_against_reference(uint64_t seed, std::size_t n, std::size_t lookups) {
  constexpr unsigned bits = KeyTraits<Key>::kBits;
  std::mt19937_64 rng(seed);
  auto rand_key = [&]() -> Key {
    if constexpr (bits == 32) {
      return static_cast<Key>(rng());
    } else {
      return (Key{rng()} << 64) | rng();
    }
  };
  std::vector<Key> roots;
  for (int i = 0; i < 6; ++i) roots.push_back(rand_key());
  auto near = [&]() -> Key {
    Key k = roots[rng() % roots.size()];
    // Flip a few random low bits so keys fall under some prefixes but not others.
    for (int f = 0; f < 3; ++f) k ^= Key{1} << (rng() % bits);
    return rng() % 8 == 0 ? rand_key() : k;
  };
  LpmTable<Key, int> t;
  Ref<Key> ref;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned len = static_cast<unsigned>(rng() % (bits + 1));
    if (rng() % 3 == 0) len = static_cast<unsigned>((rng() % 5) * bits / 4);  // repeat some lengths
    Key p = near();
    int v = static_cast<int>(i);
    t.insert(p, len, v);
    ref.insert(p, len, v);
  }
  ASSERT_EQ(t.size(), ref.entries.size());
  auto check_all = [&]() {
    for (std::size_t i = 0; i < lookups; ++i) {
      Key k = near();
      auto want = ref.lookup(k);
      const int* got = t.lookup(k);
      if (!want) {
        ASSERT_EQ(got, nullptr);
      } else {
        ASSERT_NE(got, nullptr);
        ASSERT_EQ(*got, *want);
      }
    }
    // Every entry's own prefix resolves to itself or a longer one.
    for (const auto& e : ref.entries) {
      ASSERT_EQ(*t.lookup(e.prefix), *ref.lookup(e.prefix));
    }
  };
  check_all();
  // Erase half, crossing the flat/hashed threshold when n is large.
  for (std::size_t i = 0; i < n / 2 && !ref.entries.empty(); ++i) {
    auto e = ref.entries[rng() % ref.entries.size()];
    ASSERT_TRUE(t.erase(e.prefix, e.len));
    ASSERT_TRUE(ref.erase(e.prefix, e.len));
  }
  ASSERT_EQ(t.size(), ref.entries.size());
  check_all();
}

TEST(Lpm, FlatModeMatchesBruteForceIpv4) {
  for (uint64_t s = 0; s < 40; ++s) random_against_reference<uint32_t>(s, LpmTable<uint32_t, int>::kFlatLimit, 300);
}
TEST(Lpm, HashedModeMatchesBruteForceIpv4) {
  for (uint64_t s = 100; s < 110; ++s) random_against_reference<uint32_t>(s, 300, 2000);
}
TEST(Lpm, FlatModeMatchesBruteForceIpv6) {
  for (uint64_t s = 0; s < 40; ++s) random_against_reference<u128>(s, 20, 300);
}
TEST(Lpm, HashedModeMatchesBruteForceIpv6) {
  for (uint64_t s = 200; s < 210; ++s) random_against_reference<u128>(s, 300, 2000);
}

// build() gives the table n inserts give: host bits dropped, a repeated
// prefix keeps its last value, in both the flat and the hashed mode.
TEST(Lpm, BuildEqualsInserts) {
  for (std::size_t n : {std::size_t{5}, std::size_t{2000}}) {
    std::mt19937_64 rng(n);
    std::vector<LpmTable<uint32_t, int>::Entry> in;
    LpmTable<uint32_t, int> inserted;
    for (std::size_t i = 0; i < n; ++i) {
      auto len = static_cast<uint8_t>(8 + rng() % 25);
      auto p = static_cast<uint32_t>(rng()) & 0xff0fffffu;
      if (i % 7 == 3) {
        p = in[i / 2].prefix | ~net::mask4(in[i / 2].len);  // same prefix again, host bits set
        len = in[i / 2].len;
      }
      in.push_back({p, 0, len, static_cast<int>(i)});
      inserted.insert(p, len, static_cast<int>(i));
    }
    LpmTable<uint32_t, int> built;
    built.insert(1, 32, -1);  // replaced by build()
    built.build(in);
    ASSERT_EQ(built.size(), inserted.size());
    for (int i = 0; i < 20000; ++i) {
      auto k = static_cast<uint32_t>(rng()) & 0xff0fffffu;
      const int* a = built.lookup(k);
      const int* b = inserted.lookup(k);
      ASSERT_EQ(a == nullptr, b == nullptr);
      if (a != nullptr) {
        ASSERT_EQ(*a, *b);
      }
    }
    for (const auto& e : in) {
      ASSERT_EQ(*built.lookup(e.prefix), *inserted.lookup(e.prefix));
    }
  }
}

TEST(Lpm, FlatAndHashedGiveTheSameAnswers) {
  // The same 33 prefixes in a hashed table, and its first 32 in a flat one
  // plus the 33rd checked separately.
  std::mt19937_64 rng(33);
  LpmTable<uint32_t, int> flat, hashed;
  std::vector<std::pair<uint32_t, unsigned>> ps;
  for (int i = 0; i < 33; ++i) ps.emplace_back(static_cast<uint32_t>(rng()) & 0xff00ffffu, 8 + rng() % 25);
  for (int i = 0; i < 33; ++i) {
    hashed.insert(ps[i].first, ps[i].second, i);
    if (i < 32) flat.insert(ps[i].first, ps[i].second, i);
  }
  ASSERT_EQ(hashed.size(), 33u);
  ASSERT_TRUE(hashed.erase(ps[32].first, ps[32].second));  // back to 32: flat again
  for (int i = 0; i < 20000; ++i) {
    uint32_t k = static_cast<uint32_t>(rng()) & 0xff00ffffu;
    const int* a = flat.lookup(k);
    const int* b = hashed.lookup(k);
    ASSERT_EQ(a == nullptr, b == nullptr);
    if (a) {
      ASSERT_EQ(*a, *b);
    }
  }
}

}  // namespace
}  // namespace edge46::mapping
