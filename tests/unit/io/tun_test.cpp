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
  EXPECT_EQ(t->offload_refused(), "");
}

TEST(Tun, OffloadNotAskedIsNotRefused) {
  if (::geteuid() != 0 || ::access("/dev/net/tun", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "needs root and /dev/net/tun";
  }
  std::string name = "e46n" + std::to_string(::getpid() % 100000);
  auto t = Tun::open({name, 1, true, false});
  ASSERT_TRUE(t) << t.error();
  EXPECT_FALSE(t->offload());
  EXPECT_EQ(t->offload_refused(), "");
}

// The kernel refuses TUNSETOFFLOAD with a feature bit it does not know
// (drivers/net/tun.c set_offload: EINVAL). The device still opens, without
// offloads, and says why, so the daemon can show it.
TEST(Tun, RefusedOffloadFallsBackVisibly) {
  if (::geteuid() != 0 || ::access("/dev/net/tun", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "needs root and /dev/net/tun";
  }
  std::string name = "e46r" + std::to_string(::getpid() % 100000);
  TunOptions o{name, 1, true, true};
  o.offload_features = 0x80000000u;  // no such TUN_F_* bit
  auto t = Tun::open(o);
  ASSERT_TRUE(t) << t.error();
  EXPECT_FALSE(t->offload());
  EXPECT_NE(t->offload_refused().find("TUNSETOFFLOAD"), std::string::npos) << t->offload_refused();
  EXPECT_NE(t->offload_refused().find("Invalid argument"), std::string::npos) << t->offload_refused();
}

}  // namespace
}  // namespace edge46::io
