// daemon/rcu: snapshot publication (QSBR RCU + Left-Right). Old versions are
// freed by the publishing thread after every reader has let go, never by a
// reader; a change reaches both copies.
#include "daemon/rcu.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace edge46::daemon {
namespace {

// Records the thread that destroys it; terminates when a reader still held it.
struct Probe {
  struct Log {
    std::mutex m;
    std::vector<std::pair<int, std::thread::id>> freed;  // (value, thread)
  };
  int value = 0;
  Log* log = nullptr;
  std::atomic<bool>* in_use = nullptr;  // a reader is between read() and quiescent

  Probe(int v, Log* l, std::atomic<bool>* u) : value(v), log(l), in_use(u) {}
  Probe(const Probe& o) : value(o.value), log(o.log), in_use(o.in_use) {}
  Probe& operator=(const Probe& o) {
    value = o.value;
    return *this;
  }
  ~Probe() {
    if (in_use != nullptr && in_use->load()) {
      std::terminate();  // a version freed under a reader
    }
    std::lock_guard g(log->m);
    log->freed.emplace_back(value, std::this_thread::get_id());
  }
};

TEST(Rcu, OldVersionsAreFreedOnThePublishingThreadAfterReadersLetGo) {
  Probe::Log log;
  std::atomic<bool> in_use{false};
  auto store = std::make_unique<RcuLeftRight<Probe>>();
  store->reset(std::make_unique<Probe>(1, &log, &in_use));

  std::atomic<bool> holding{false}, release{false}, done{false};
  std::atomic<int> first_seen{0};
  std::thread reader([&] {
    RcuReaderThread r;
    const Probe* p = store->read();
    in_use = true;
    holding = true;
    while (!release.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    first_seen = p->value;  // still valid: no quiescent state yet
    in_use = false;
    RcuReaderThread::quiescent();
    // Keep reading (as a worker does) until told to stop, then drop every
    // pointer: the reader thread frees nothing.
    while (!done.load()) {
      EXPECT_GE(store->read()->value, 2);
      RcuReaderThread::quiescent();
    }
  });
  while (!holding.load()) {
    std::this_thread::yield();
  }
  // The reset must wait for the reader's quiescent state before freeing the
  // version it holds; let the reader go after a while from a third thread.
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    release = true;
  });
  store->reset(std::make_unique<Probe>(2, &log, &in_use));
  EXPECT_EQ(first_seen.load(), 1);  // the reader used version 1 before it was freed
  releaser.join();
  store->reset(std::make_unique<Probe>(3, &log, &in_use));
  done = true;
  reader.join();

  std::lock_guard g(log.m);
  // Two versions per reset: the published one and its standby copy (plus
  // the copies made while building the pair, which are not versions).
  std::vector<int> freed_versions;
  for (const auto& [value, tid] : log.freed) {
    EXPECT_EQ(tid, std::this_thread::get_id()) << "version " << value << " freed on another thread";
    freed_versions.push_back(value);
  }
  EXPECT_EQ(std::count(freed_versions.begin(), freed_versions.end(), 1), 2);
  EXPECT_EQ(std::count(freed_versions.begin(), freed_versions.end(), 2), 2);
  EXPECT_EQ(std::count(freed_versions.begin(), freed_versions.end(), 3), 0);
}

TEST(Rcu, ApplyPublishesTheStandbyAndUpdatesBothCopies) {
  Probe::Log log;
  RcuLeftRight<Probe> store;
  store.reset(std::make_unique<Probe>(10, &log, nullptr));
  const Probe* a = store.current();
  EXPECT_EQ(store.apply([](Probe& p) {
    p.value += 1;
    return std::string{};
  }),
            "");
  const Probe* b = store.current();
  EXPECT_NE(a, b);
  EXPECT_EQ(b->value, 11);
  EXPECT_EQ(a->value, 11);  // the other copy got the same change
  // A failing change publishes nothing and changes nothing.
  EXPECT_EQ(store.apply([](Probe&) { return std::string("no"); }), "no");
  EXPECT_EQ(store.current(), b);
  EXPECT_EQ(store.apply([](Probe& p) {
    p.value *= 2;
    return std::string{};
  }),
            "");
  EXPECT_EQ(store.current(), a);
  EXPECT_EQ(a->value, 22);
  EXPECT_EQ(b->value, 22);
  std::lock_guard g(log.m);
  EXPECT_TRUE(log.freed.empty());  // a change frees nothing
}

}  // namespace
}  // namespace edge46::daemon
