// src/io/tun: argument checks that need no privileges, and a real device
// round trip when run as root (skipped otherwise).
#include "io/tun.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace edge46::io {
namespace {

TEST(Tun, RejectsBadNames) {
  EXPECT_FALSE(Tun::open({"", 1, true}));
  EXPECT_FALSE(Tun::open({"a-name-that-is-far-too-long", 1, true}));
}

TEST(Tun, SeveralQueuesNeedMultiqueue) {
  auto t = Tun::open({"e46t", 2, false});
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().find("multi-queue"), std::string::npos);
}

TEST(Tun, OpensQueuesAsRoot) {
  if (::geteuid() != 0 || ::access("/dev/net/tun", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "needs root and /dev/net/tun";
  }
  std::string name = "e46u" + std::to_string(::getpid() % 100000);
  auto t = Tun::open({name, 2, true});
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->queues(), 2u);
  Burst b;
  EXPECT_EQ(read_burst(t->fd(0), b), 0);  // non-blocking, nothing queued while down
  EXPECT_TRUE(t->set_up(1400));
}

TEST(Tun, OffloadOpensWithVnetHeader) {
  if (::geteuid() != 0 || ::access("/dev/net/tun", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "needs root and /dev/net/tun";
  }
  std::string name = "e46o" + std::to_string(::getpid() % 100000);
  auto t = Tun::open({name, 1, true, true});
  ASSERT_TRUE(t) << t.error();
  EXPECT_TRUE(t->offload());
}

}  // namespace
}  // namespace edge46::io
