// The control server (src/daemon/server) over a real Unix socket in a
// private temporary directory: clients served concurrently, per-client
// deadlines and limits, the socket directory's modes and ownership, and
// hostile requests (ill-formed UTF-8, deep nesting, overlong lines).
#include "daemon/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/loader.h"
#include "daemon/control.h"

namespace edge46::daemon {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const char* kGood = R"(
[daemon]
role = "siit"
[translator]
pool6 = "64:ff9b::/96"
[[eamt]]
ipv6 = "2001:db8:6::2/128"
ipv4 = "198.51.100.2/32"
)";

// A connected client socket (blocking), closed on scope exit.
class Conn {
 public:
  explicit Conn(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.data(), path.size());
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ADD_FAILURE() << "connect " << path << ": " << std::strerror(errno);
    }
  }
  Conn(const Conn&) = delete;
  ~Conn() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int fd() const { return fd_; }
  // The server has not closed the connection (checked without reading: a
  // closed peer shows as POLLRDHUP even with replies still unread).
  bool still_open() const {
    pollfd p{fd_, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) == 0;
  }

  // Sends all of s (best effort: the server may close first).
  void send_all(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      ssize_t w = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (w <= 0) {
        return;
      }
      off += static_cast<std::size_t>(w);
    }
  }
  // Sends what fits without blocking; returns the bytes sent.
  std::size_t send_some(const std::string& s) {
    ssize_t w = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    return w > 0 ? static_cast<std::size_t>(w) : 0;
  }
  // One reply line, or "" when none came within `wait` (or at EOF).
  std::string line(std::chrono::milliseconds wait = 2000ms) {
    const auto end = Clock::now() + wait;
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      if (!fill(end)) {
        return {};
      }
    }
  }
  // True when the server closed the connection within `wait`; the bytes read
  // on the way are counted in `lines` (complete reply lines).
  bool closed_within(std::chrono::milliseconds wait, std::size_t* lines = nullptr) {
    const auto end = Clock::now() + wait;
    std::size_t n = 0;
    bool eof = false;
    for (;;) {
      for (std::size_t nl; (nl = buf_.find('\n')) != std::string::npos;) {
        buf_.erase(0, nl + 1);
        ++n;
      }
      if (!fill(end, &eof)) {
        break;
      }
    }
    if (lines != nullptr) {
      *lines = n;
    }
    return eof;
  }

 private:
  bool fill(Clock::time_point end, bool* eof = nullptr) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) {
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) {
      return false;
    }
    char chunk[65536];
    ssize_t r = ::recv(fd_, chunk, sizeof chunk, 0);
    if (r <= 0) {
      if (eof != nullptr) {
        *eof = true;
      }
      return false;
    }
    buf_.append(chunk, static_cast<std::size_t>(r));
    return true;
  }
  int fd_ = -1;
  std::string buf_;
};

struct Server : ::testing::Test {
  std::string dir;
  std::string sock;
  DaemonState st{1};

  void SetUp() override {
    char tmpl[] = "/tmp/e46-server-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    sock = dir + "/ctl.sock";
    auto s = config::load_string(kGood, "t.toml");
    ASSERT_TRUE(s) << s.error().to_string();
    st.tun_name = "test";
    st.eamt.init(s->eamt);
    st.snapshot.reset(std::move(*make_snapshot(*s, 0)));
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  // Asks for the status on a new connection; returns the reply (null when
  // none came within `wait`) and how long it took.
  std::pair<Json, std::chrono::milliseconds> status(std::chrono::milliseconds wait = 3000ms) {
    const auto t0 = Clock::now();
    Conn c(sock);
    c.send_all("{\"cmd\":\"status\"}\n");
    auto l = c.line(wait);
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    return {l.empty() ? Json() : Json::parse(l), took};
  }

  // Fills the connection with requests without reading a reply, until the
  // server stops reading (its replies to us are stuck).
  std::size_t flood(Conn& c) {
    const std::string req = "{\"cmd\":\"config.show\"}\n";
    std::size_t sent = 0;
    const auto end = Clock::now() + 3s;
    int idle_rounds = 0;
    while (Clock::now() < end && idle_rounds < 20) {
      std::size_t n = c.send_some(req);
      if (n == 0) {
        ++idle_rounds;
        std::this_thread::sleep_for(10ms);
        continue;
      }
      idle_rounds = 0;
      if (n < req.size()) {
        c.send_all(req.substr(n));
      }
      ++sent;
    }
    return sent;
  }
};

// One client at a time: an idle, a trickling and a non-reading client each
// held the server, and `edge46ctl status` waited behind them until their
// deadline closed them. The property is the order: status is answered while
// they are still open. Their deadline (60 s) is far beyond the 5 s that
// status() waits, which only guards against a hang, so a loaded machine
// cannot turn the order around.
TEST_F(Server, StalledClientsDoNotHoldOthers) {
  ControlServer srv(ServerOptions{.deadline = 60s});
  ASSERT_TRUE(srv.bind(sock));
  srv.start(st);
  Conn idle(sock);
  Conn trickle(sock);
  trickle.send_all("{\"cm");
  Conn deaf(sock);
  const std::size_t sent = flood(deaf);
  EXPECT_GT(sent, 0u);
  for (int i = 0; i < 3; ++i) {
    trickle.send_all("d");
    auto [r, took] = status(5000ms);
    ASSERT_TRUE(r.is_object()) << "no answer within " << took.count() << " ms while other clients stall";
    EXPECT_TRUE(r["ok"].get<bool>());
    EXPECT_TRUE(idle.still_open() && trickle.still_open() && deaf.still_open())
        << "status was answered only after a stalled client was closed";
  }
  srv.stop();
}

// Sets RLIMIT_NOFILE's soft limit for the scope, and puts it back.
class FdLimit {
 public:
  explicit FdLimit(rlim_t soft) {
    EXPECT_EQ(::getrlimit(RLIMIT_NOFILE, &old_), 0);
    rlimit r = old_;
    r.rlim_cur = soft;
    EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &r), 0) << std::strerror(errno);
  }
  FdLimit(const FdLimit&) = delete;
  ~FdLimit() { ::setrlimit(RLIMIT_NOFILE, &old_); }

 private:
  rlimit old_{};
};

double cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// With the descriptor table full, accept fails with EMFILE and leaves the
// connection queued: the level-triggered listening socket stays ready and
// the server thread retried at once, at 100 % CPU, logging every time. It
// must back off, and serve the client once descriptors free up.
TEST_F(Server, AcceptWithoutDescriptorsBacksOffAndRecovers) {
  ControlServer srv;
  ASSERT_TRUE(srv.bind(sock));
  srv.start(st);
  ASSERT_TRUE(status().first.is_object());  // the server thread holds its descriptors (epoll) already
  int highest = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    highest = std::max(highest, std::atoi(e.path().filename().c_str()));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(null_fd, 0);
  std::vector<int> fillers;
  std::unique_ptr<Conn> c;
  {
    FdLimit limit(static_cast<rlim_t>(std::max(highest, null_fd)) + 32);
    for (int fd; (fd = ::dup(null_fd)) >= 0;) {
      fillers.push_back(fd);
    }
    ASSERT_EQ(errno, EMFILE);
    ASSERT_FALSE(fillers.empty());
    ::close(fillers.back());  // room for the client's own socket, none for the server's
    fillers.pop_back();
    c = std::make_unique<Conn>(sock);
    c->send_all("{\"cmd\":\"status\"}\n");
    // The test thread sleeps: the process's CPU time is the server thread's.
    const double cpu0 = cpu_seconds();
    std::this_thread::sleep_for(1s);
    const double used = cpu_seconds() - cpu0;
    EXPECT_LT(used, 0.1) << "the server thread used " << used << " s of CPU in 1 s while accept failed";
    for (int fd : fillers) {
      ::close(fd);
    }
  }
  ::close(null_fd);
  const auto reply = c->line(5000ms);
  ASSERT_FALSE(reply.empty()) << "not served after descriptors freed up";
  EXPECT_TRUE(Json::parse(reply)["ok"].get<bool>());
  srv.stop();
}

TEST_F(Server, StalledClientsAreClosedAtTheirDeadline) {
  ControlServer srv(ServerOptions{.deadline = 300ms});
  ASSERT_TRUE(srv.bind(sock));
  srv.start(st);
  Conn idle(sock);
  Conn deaf(sock);
  const std::size_t sent = flood(deaf);
  Conn trickle(sock);
  const auto t0 = Clock::now();
  bool trickle_closed = false;
  while (Clock::now() - t0 < 2s && !trickle_closed) {
    trickle.send_all("[");  // never a complete request
    trickle_closed = trickle.closed_within(100ms);
  }
  EXPECT_TRUE(trickle_closed) << "a trickling client was kept for 2 s";
  EXPECT_TRUE(idle.closed_within(1000ms)) << "an idle client was kept";
  std::this_thread::sleep_for(1s);  // replies unread well past the deadline
  std::size_t replies = 0;
  EXPECT_TRUE(deaf.closed_within(3000ms, &replies));
  EXPECT_LT(replies, sent) << "the non-reading client was served to the end instead of being closed";
  EXPECT_TRUE(status().first["ok"].get<bool>());
  srv.stop();
}

TEST_F(Server, ClientsBeyondTheCapGetAnErrorLine) {
  ControlServer srv(ServerOptions{.max_clients = 2});
  ASSERT_TRUE(srv.bind(sock));
  srv.start(st);
  auto a = std::make_unique<Conn>(sock);
  Conn b(sock);
  a->send_all("{\"cmd\":\"status\"}\n");
  ASSERT_FALSE(a->line().empty());  // both are being served
  b.send_all("{\"cmd\":\"status\"}\n");
  ASSERT_FALSE(b.line().empty());
  Conn c(sock);
  EXPECT_EQ(c.line(), R"({"ok":false,"error":"too many control clients (2 at once); try again later"})");
  EXPECT_TRUE(c.closed_within(1000ms));
  a.reset();  // a slot frees up
  Json r;
  for (int i = 0; i < 20 && !r.is_object(); ++i) {
    Conn d(sock);
    d.send_all("{\"cmd\":\"status\"}\n");
    auto l = d.line();
    if (!l.empty() && Json::parse(l)["ok"].get<bool>()) {
      r = Json::parse(l);
    } else {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_TRUE(r.is_object());
  srv.stop();
}

TEST_F(Server, OverlongRequestIsRefusedAndClosed) {
  ControlServer srv;
  ASSERT_TRUE(srv.bind(sock));
  srv.start(st);
  Conn c(sock);
  std::thread writer([&] { c.send_all(std::string(10'000'000, 'a')); });
  EXPECT_EQ(c.line(), R"({"ok":false,"error":"request longer than 1048576 bytes; closing"})");
  EXPECT_TRUE(c.closed_within(2000ms));
  ::shutdown(c.fd(), SHUT_RDWR);
  writer.join();
  EXPECT_TRUE(status().first["ok"].get<bool>());
  srv.stop();
}

// The issue's reproductions through a real socket: each killed edge46d.
TEST_F(Server, HostileRequestsAreAnsweredAndServingGoesOn) {
  ControlServer srv;
  ASSERT_TRUE(srv.bind(sock));
  srv.start(st);
  Conn c(sock);
  c.send_all("{\"cmd\":\"\xff\"}\n");
  auto r = Json::parse(c.line());
  EXPECT_FALSE(r["ok"].get<bool>());
  c.send_all(R"({"cmd":"eamt.add","ipv6":)" + std::string(200'000, '[') + std::string(200'000, ']') +
             R"(,"ipv4":"1.2.3.0/24"})" + "\n");
  r = Json::parse(c.line());
  EXPECT_EQ(r["error"], "bad request: JSON nested deeper than 16 levels");
  c.send_all("{\"cmd\":\"" + std::string(500'000, 'x') + "\"}\n");
  EXPECT_EQ(Json::parse(c.line())["error"], "unknown command '" + std::string(64, 'x') + "...(500000 bytes)'");
  c.send_all("{\"cmd\":\"status\"}\n");
  EXPECT_TRUE(Json::parse(c.line())["ok"].get<bool>());
  srv.stop();
}

// A request without its newline, then end of input (printf ... | socat).
TEST_F(Server, LastRequestWithoutNewlineIsAnswered) {
  ControlServer srv;
  ASSERT_TRUE(srv.bind(sock));
  srv.start(st);
  Conn c(sock);
  c.send_all("{\"cmd\":\"status\"}\n{\"cmd\":\"pool6.show\"}");
  ::shutdown(c.fd(), SHUT_WR);
  EXPECT_TRUE(Json::parse(c.line())["ok"].get<bool>());
  EXPECT_EQ(Json::parse(c.line())["pool6"]["prefix"], "64:ff9b::/96");
  EXPECT_TRUE(c.closed_within(1000ms));
  srv.stop();
}

mode_t mode_of(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode;
}

// Under umask 000 the directory was created 0777: anyone could replace the socket.
TEST_F(Server, DirectoryAndSocketModesIgnoreTheUmask) {
  const std::string sub = dir + "/run", leaf = sub + "/edge46", path = leaf + "/ctl.sock";
  const mode_t old = ::umask(0);
  ControlServer srv;
  auto r = srv.bind(path);
  ::umask(old);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(mode_of(leaf) & 07777, 0750u);
  EXPECT_EQ(mode_of(sub) & 07777, 0750u);
  EXPECT_TRUE(S_ISSOCK(mode_of(path)));
  EXPECT_EQ(mode_of(path) & 07777, 0660u);
  srv.stop();
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(Server, DirectoryWritableByOthersIsRefused) {
  const std::string open = dir + "/open";
  ASSERT_EQ(::mkdir(open.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(open.c_str(), 0777), 0);
  ControlServer srv;
  auto r = srv.bind(open + "/ctl.sock");
  ASSERT_FALSE(r) << "bound in a 0777 directory";
  EXPECT_EQ(r.error(), "control socket directory " + open +
                           " is writable by group and others (mode 0777): they could replace the socket (fix: "
                           "chmod 0750 " +
                           open + ", or remove it and let edge46d create it)");
  EXPECT_FALSE(std::filesystem::exists(open + "/ctl.sock"));

  ASSERT_EQ(::chmod(open.c_str(), 0770), 0);
  r = srv.bind(open + "/ctl.sock");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("is writable by its group (mode 0770)"), std::string::npos) << r.error();

  ASSERT_EQ(::chmod(open.c_str(), 01777), 0);  // sticky like /tmp: others may still create the path first
  EXPECT_FALSE(srv.bind(open + "/ctl.sock"));

  ASSERT_EQ(::chmod(open.c_str(), 0755), 0);  // readable is fine
  EXPECT_TRUE(srv.bind(open + "/ctl.sock"));
  srv.stop();
}

TEST_F(Server, DirectoryOwnedBySomeoneElseIsRefused) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to give a directory away";
  }
  const std::string theirs = dir + "/theirs";
  ASSERT_EQ(::mkdir(theirs.c_str(), 0750), 0);
  ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
  ControlServer srv;
  auto r = srv.bind(theirs + "/ctl.sock");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "control socket directory " + theirs +
                           " is owned by uid 65534, not by edge46d's uid 0: its owner could replace the socket "
                           "(fix: chown 0 " +
                           theirs + ", or remove it and let edge46d create it)");
}

}  // namespace
}  // namespace edge46::daemon
