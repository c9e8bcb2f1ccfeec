#include "daemon/server.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "daemon/control.h"
#include "daemon/log.h"

namespace edge46::daemon {
namespace {

using Clock = std::chrono::steady_clock;

// How long the listening socket is left alone after accept failed for lack
// of descriptors or memory.
constexpr std::chrono::milliseconds kAcceptBackOff{100};

bool fill_addr(const std::string& path, sockaddr_un& a) {
  std::memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) {
    return false;
  }
  std::memcpy(a.sun_path, path.data(), path.size());
  return true;
}

std::string octal(mode_t m) {
  char b[8];
  std::snprintf(b, sizeof b, "%04o", static_cast<unsigned>(m & 07777));
  return b;
}

constexpr mode_t kDirMode = 0750;
constexpr mode_t kSocketMode = 0660;

// Creates the missing directories of `dir` with mode 0750 (mkdir then chmod:
// the umask must not decide, an umask of 000 made it 0777), then checks the
// directory the socket goes into. Whoever can write to that directory can
// replace the socket with their own and answer edge46ctl in our name, so it
// must be ours and writable by nobody else.
tl::expected<void, std::string> prepare_dir(const std::filesystem::path& dir) {
  std::filesystem::path at;
  for (const auto& part : dir) {
    at /= part;
    struct stat st {};
    if (::stat(at.c_str(), &st) == 0) {
      continue;
    }
    if (errno != ENOENT) {
      return tl::unexpected("cannot use " + at.string() + ": " + std::strerror(errno));
    }
    if (::mkdir(at.c_str(), kDirMode) != 0 && errno != EEXIST) {
      return tl::unexpected("cannot create " + at.string() + ": " + std::strerror(errno));
    }
    if (::chmod(at.c_str(), kDirMode) != 0) {
      return tl::unexpected("cannot chmod " + octal(kDirMode) + " " + at.string() + ": " + std::strerror(errno));
    }
  }
  const std::string d = dir.string();
  struct stat st {};
  if (::stat(d.c_str(), &st) != 0) {
    return tl::unexpected("cannot use " + d + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return tl::unexpected("control socket directory " + d + " is not a directory");
  }
  const uid_t me = ::geteuid();
  if (st.st_uid != me) {
    return tl::unexpected("control socket directory " + d + " is owned by uid " + std::to_string(st.st_uid) +
                          ", not by edge46d's uid " + std::to_string(me) +
                          ": its owner could replace the socket (fix: chown " + std::to_string(me) + " " + d +
                          ", or remove it and let edge46d create it)");
  }
  const bool group = (st.st_mode & S_IWGRP) != 0, others = (st.st_mode & S_IWOTH) != 0;
  if (group || others) {
    return tl::unexpected("control socket directory " + d + " is writable by " +
                          (group && others ? "group and others"
                           : group         ? "its group"
                                           : "others") +
                          " (mode " + octal(st.st_mode) + "): they could replace the socket (fix: chmod " +
                          octal(kDirMode) + " " + d + ", or remove it and let edge46d create it)");
  }
  return {};
}

struct Client {
  std::string in;   // bytes read, not yet a complete request
  std::string out;  // replies not yet sent
  Clock::time_point deadline;
  uint32_t events = 0;     // what epoll watches for
  bool peer_done = false;  // the client shut down its side
  bool closing = false;    // close once `out` is sent
};

std::string error_line(const std::string& msg) {
  return Json{{"ok", false}, {"error", msg}}.dump() + "\n";
}

class Loop {
 public:
  Loop(DaemonState& st, const ServerOptions& o, int listen_fd, int wake_fd)
      : st_(st), o_(o), listen_fd_(listen_fd), wake_fd_(wake_fd) {}
  ~Loop() {
    for (auto& [fd, c] : clients_) {
      ::close(fd);
    }
    if (ep_ >= 0) {
      ::close(ep_);
    }
  }

  void run() {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0 || !watch(listen_fd_, EPOLLIN, EPOLL_CTL_ADD) || !watch(wake_fd_, EPOLLIN, EPOLL_CTL_ADD)) {
      log_error(std::string("control socket epoll: ") + std::strerror(errno));
      return;
    }
    epoll_event evs[64];
    for (;;) {
      const int n = ::epoll_wait(ep_, evs, 64, timeout_ms());
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        log_error(std::string("control socket epoll_wait: ") + std::strerror(errno));
        return;
      }
      for (int i = 0; i < n; ++i) {
        const int fd = evs[i].data.fd;
        if (fd == wake_fd_) {
          return;
        }
        if (fd == listen_fd_) {
          accept_all();
        } else if (auto it = clients_.find(fd); it != clients_.end()) {
          service(fd, it->second);
        }
      }
      expire();
      resume_accept();
    }
  }

 private:
  bool watch(int fd, uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    return ::epoll_ctl(ep_, op, fd, &ev) == 0;
  }

  int timeout_ms() const {
    if (clients_.empty() && accepting_) {
      return -1;
    }
    auto first = accepting_ ? Clock::time_point::max() : accept_paused_until_;
    for (const auto& [fd, c] : clients_) {
      first = std::min(first, c.deadline);
    }
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(first - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
  }

  void accept_all() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) {
          continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          // EMFILE, ENFILE, ENOBUFS, ENOMEM: the pending connection stays
          // queued and the level-triggered listen fd ready, so retrying at
          // once would spin. Stop watching it for kAcceptBackOff.
          accept_log_.warn(std::string("control socket accept: ") + std::strerror(errno) + "; retrying in " +
                           std::to_string(kAcceptBackOff.count()) + " ms");
          pause_accept();
        }
        return;
      }
      if (clients_.size() >= o_.max_clients) {
        // The new socket's buffer is empty: one short line fits without blocking.
        const auto line =
            error_line("too many control clients (" + std::to_string(o_.max_clients) + " at once); try again later");
        ssize_t ignored = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)ignored;
        ::close(fd);
        log_debug("control client refused: too many clients");
        continue;
      }
      Client c;
      c.deadline = Clock::now() + o_.deadline;
      c.events = EPOLLIN;
      if (!watch(fd, c.events, EPOLL_CTL_ADD)) {
        ::close(fd);
        continue;
      }
      clients_.emplace(fd, std::move(c));
    }
  }

  void pause_accept() {
    if (accepting_ && ::epoll_ctl(ep_, EPOLL_CTL_DEL, listen_fd_, nullptr) == 0) {
      accepting_ = false;
      accept_paused_until_ = Clock::now() + kAcceptBackOff;
    }
  }
  void resume_accept() {
    if (accepting_ || Clock::now() < accept_paused_until_) {
      return;
    }
    if (watch(listen_fd_, EPOLLIN, EPOLL_CTL_ADD)) {
      accepting_ = true;
    } else {
      accept_log_.warn(std::string("control socket epoll: ") + std::strerror(errno));
      accept_paused_until_ = Clock::now() + kAcceptBackOff;
    }
  }

  void close_client(int fd, const char* why) {
    log_debug(std::string("control client closed: ") + why);
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    clients_.erase(fd);
  }

  // Backpressure: a client whose replies pile up is not read from.
  bool reading(const Client& c) const { return !c.peer_done && !c.closing && c.out.size() <= o_.max_request; }

  // Answers the complete requests in c.in, in order, while output may grow.
  void answer(Client& c) {
    std::size_t start = 0, nl;
    while (c.out.size() <= o_.max_request && (nl = c.in.find('\n', start)) != std::string::npos) {
      std::string_view line(c.in.data() + start, nl - start);
      start = nl + 1;
      c.deadline = Clock::now() + o_.deadline;
      if (!line.empty()) {
        c.out += handle_request(st_, line);
        c.out += '\n';
      }
    }
    c.in.erase(0, start);
    if (c.in.find('\n') == std::string::npos && c.in.size() > o_.max_request) {
      c.out += error_line("request longer than " + std::to_string(o_.max_request) + " bytes; closing");
      c.in.clear();
      c.closing = true;
    } else if (c.peer_done && c.in.find('\n') == std::string::npos) {
      // A last request without its newline, then end of input: answer it too.
      if (!c.in.empty()) {
        c.out += handle_request(st_, c.in);
        c.out += '\n';
        c.in.clear();
      }
      c.closing = true;
    }
  }

  // Returns false when the client is gone.
  bool flush(int fd, Client& c) {
    while (!c.out.empty()) {
      const ssize_t w = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) {
        c.out.erase(0, static_cast<std::size_t>(w));
        c.deadline = Clock::now() + o_.deadline;  // it reads: progress
        continue;
      }
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return true;
      }
      if (w < 0 && errno == EINTR) {
        continue;
      }
      close_client(fd, "send failed");
      return false;
    }
    return true;
  }

  void service(int fd, Client& c) {
    char chunk[65536];
    while (reading(c)) {
      const ssize_t r = ::read(fd, chunk, sizeof chunk);
      if (r > 0) {
        c.in.append(chunk, static_cast<std::size_t>(r));
        answer(c);
        continue;
      }
      if (r == 0) {
        c.peer_done = true;
        answer(c);
        break;
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      }
      close_client(fd, "read failed");
      return;
    }
    // Sending may make room for requests held back, which make output again.
    for (;;) {
      if (!flush(fd, c)) {
        return;
      }
      const std::size_t before = c.out.size();
      answer(c);
      if (c.out.size() == before) {
        break;
      }
    }
    if (c.out.empty() && (c.closing || c.peer_done)) {
      close_client(fd, c.closing ? "done" : "end of input");
      return;
    }
    const uint32_t want = (reading(c) ? EPOLLIN : 0u) | (c.out.empty() ? 0u : EPOLLOUT);
    if (want != c.events) {
      c.events = want;
      if (!watch(fd, want, EPOLL_CTL_MOD)) {
        close_client(fd, "epoll_ctl failed");
      }
    }
  }

  void expire() {
    const auto now = Clock::now();
    for (auto it = clients_.begin(); it != clients_.end();) {
      auto next = std::next(it);
      if (it->second.deadline <= now) {
        close_client(it->first, it->second.out.empty() ? "no complete request before the deadline"
                                                       : "replies left unread past the deadline");
      }
      it = next;
    }
  }

  DaemonState& st_;
  const ServerOptions& o_;
  int listen_fd_;
  int wake_fd_;
  int ep_ = -1;
  std::unordered_map<int, Client> clients_;
  bool accepting_ = true;  // listen_fd_ is in the epoll set
  Clock::time_point accept_paused_until_{};
  RateLimitedLog accept_log_;
};

}  // namespace

ControlServer::~ControlServer() {
  stop();
}

tl::expected<void, std::string> ControlServer::bind(const std::string& path) {
  sockaddr_un addr;
  if (!fill_addr(path, addr)) {
    return tl::unexpected("control socket path too long: " + path);
  }
  auto dir = std::filesystem::path(path).parent_path();
  if (auto r = prepare_dir(dir.empty() ? std::filesystem::path(".") : dir); !r) {
    return r;
  }
  if (std::filesystem::exists(std::filesystem::symlink_status(path))) {
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool alive = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) {
      ::close(probe);
    }
    if (alive) {
      return tl::unexpected("control socket " + path +
                            " is busy: another edge46d is listening there (give each instance its own "
                            "control-socket)");
    }
    if (!std::filesystem::is_socket(std::filesystem::symlink_status(path))) {
      return tl::unexpected("control socket path " + path + " exists and is not a socket");
    }
    ::unlink(path.c_str());  // stale socket of a dead instance
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return tl::unexpected(std::string("socket: ") + std::strerror(errno));
  }
  // bind(2) creates the socket file with 0777 & ~umask, and an AF_UNIX
  // socket cannot be fchmod()ed: set the umask around bind so that the file
  // is never more open than 0660, then chmod to exactly 0660.
  const mode_t old_mask = ::umask(0777 & ~kSocketMode);
  const int b = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int bind_errno = errno;
  ::umask(old_mask);
  if (b < 0 || ::listen(fd, 64) < 0) {
    int e = b < 0 ? bind_errno : errno;
    ::close(fd);
    return tl::unexpected("cannot listen on " + path + ": " + std::strerror(e));
  }
  if (::chmod(path.c_str(), kSocketMode) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return tl::unexpected("cannot chmod " + octal(kSocketMode) + " " + path + ": " + std::strerror(e));
  }
  listen_fd_ = fd;
  path_ = path;
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  return {};
}

void ControlServer::start(DaemonState& st) {
  thread_ = std::thread([this, &st] { run(st); });
}

void ControlServer::stop() {
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
    (void)ignored;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(path_.c_str());
  }
  if (wake_fd_ >= 0) {
    ::close(wake_fd_);
    wake_fd_ = -1;
  }
}

void ControlServer::run(DaemonState& st) {
  Loop(st, opts_, listen_fd_, wake_fd_).run();
}

}  // namespace edge46::daemon
