// Publication of the daemon's snapshot to the workers: QSBR RCU (liburcu's
// urcu-qsbr flavour) with the Left-Right technique on top.
//
// Readers (workers) take no lock and write no shared memory: a registered
// reader thread loads the published pointer once per burst and announces a
// quiescent state after it; a thread that blocks goes offline first. The
// writer (the control plane, one at a time) publishes, waits one grace period
// (synchronize_rcu: every online reader has passed a quiescent state since),
// then owns the version readers can no longer see, and frees it itself. No
// reader ever frees anything.
//
// Two copies of T are kept. A small change (an EAM added) is applied to the
// standby copy, which is published; after a grace period the same change is
// applied to the other copy, which becomes the standby. A change therefore
// costs its own price twice plus a grace period, never a copy of T. A whole
// new T (a reload) is copied once to make the pair.
#pragma once

#include <urcu-qsbr.h>

#include <memory>
#include <string>
#include <utility>

namespace edge46::daemon {

// The calling thread is an RCU reader for the lifetime of this object
// (rcu_register_thread / rcu_unregister_thread), online at the start.
class RcuReaderThread {
 public:
  RcuReaderThread() noexcept { rcu_register_thread(); }
  ~RcuReaderThread() { rcu_unregister_thread(); }
  RcuReaderThread(const RcuReaderThread&) = delete;
  RcuReaderThread& operator=(const RcuReaderThread&) = delete;

  // No pointer read before this call is used after it.
  static void quiescent() noexcept { rcu_quiescent_state(); }
};

// The calling (registered) reader is offline for the scope: it holds no
// pointer and grace periods do not wait for it (around a blocking poll).
class RcuOffline {
 public:
  RcuOffline() noexcept { rcu_thread_offline(); }
  ~RcuOffline() { rcu_thread_online(); }
  RcuOffline(const RcuOffline&) = delete;
  RcuOffline& operator=(const RcuOffline&) = delete;
};

template <class T>
class RcuLeftRight {
 public:
  RcuLeftRight() = default;
  RcuLeftRight(const RcuLeftRight&) = delete;
  RcuLeftRight& operator=(const RcuLeftRight&) = delete;
  // No reader may still be using a version (workers are joined first).
  ~RcuLeftRight() {
    delete live_;
    delete standby_;
  }

  // Reader side: from a registered, online reader thread. The pointer stays
  // valid until the thread's next quiescent state or offline period. Null
  // before the first reset().
  const T* read() const noexcept { return rcu_dereference(live_); }

  // Writer side: one writer at a time (the caller serialises), and the
  // writer must not be an online registered reader (synchronize_rcu would
  // wait for itself). current() is the published version, safe to read for
  // the writer and for anyone holding the writer's lock.
  const T* current() const noexcept { return live_; }

  // Publishes `fresh`, keeps a copy of it as the standby, waits a grace
  // period and frees the previous pair on the calling thread.
  void reset(std::unique_ptr<T> fresh) {
    auto copy = std::make_unique<T>(*fresh);
    T* old_live = live_;
    T* old_standby = standby_;
    rcu_assign_pointer(live_, fresh.release());
    standby_ = copy.release();
    synchronize_rcu();
    delete old_live;
    delete old_standby;
  }

  // Applies `change` (callable as std::string(T&): empty on success; on
  // failure it must leave T as it was) to the standby copy, publishes that
  // copy, waits a grace period, then applies the same change to the copy
  // readers have now left, so both are equal again. On failure nothing is
  // published and the message is returned.
  template <class F>
  std::string apply(F&& change) {
    std::string why = change(*standby_);
    if (!why.empty()) {
      return why;
    }
    T* old_live = live_;
    rcu_assign_pointer(live_, standby_);
    standby_ = old_live;
    synchronize_rcu();
    if (!change(*standby_).empty()) {
      // The same change on an equal copy cannot fail; should it ever, copy
      // rather than leave the pair apart.
      *standby_ = *live_;
    }
    return {};
  }

 private:
  T* live_ = nullptr;     // owned; published to readers
  T* standby_ = nullptr;  // owned; no reader sees it after a grace period
};

// One published pointer, replaced whole: readers as for RcuLeftRight; the
// writer (one at a time) publishes a new version, waits a grace period and
// frees the old one on its own thread.
template <class T>
class RcuBox {
 public:
  RcuBox() = default;
  RcuBox(const RcuBox&) = delete;
  RcuBox& operator=(const RcuBox&) = delete;
  ~RcuBox() { delete p_; }  // no reader left (workers are joined first)

  const T* read() const noexcept { return rcu_dereference(p_); }  // null before the first publish

  void publish(std::unique_ptr<T> fresh) {
    T* old = rcu_xchg_pointer(&p_, fresh.release());
    synchronize_rcu();
    delete old;
  }

 private:
  T* p_ = nullptr;
};

}  // namespace edge46::daemon
