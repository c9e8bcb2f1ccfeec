#include "daemon/server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "daemon/control.h"
#include "daemon/log.h"

namespace edge46::daemon {
namespace {
bool fill_addr(const std::string& path, sockaddr_un& a) {
  std::memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) {
    return false;
  }
  std::memcpy(a.sun_path, path.data(), path.size());
  return true;
}
}  // namespace

ControlServer::~ControlServer() {
  stop();
}

tl::expected<void, std::string> ControlServer::bind(const std::string& path) {
  sockaddr_un addr;
  if (!fill_addr(path, addr)) {
    return tl::unexpected("control socket path too long: " + path);
  }
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return tl::unexpected("cannot create " + dir.string() + ": " + ec.message());
    }
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
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return tl::unexpected(std::string("socket: ") + std::strerror(errno));
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || ::listen(fd, 16) < 0) {
    int e = errno;
    ::close(fd);
    return tl::unexpected("cannot listen on " + path + ": " + std::strerror(e));
  }
  ::chmod(path.c_str(), 0660);
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
  for (;;) {
    struct pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = ::poll(p, 2, -1);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      log_error(std::string("control socket poll: ") + std::strerror(errno));
      return;
    }
    if ((p[1].revents & POLLIN) != 0) {
      return;
    }
    if ((p[0].revents & POLLIN) != 0) {
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        serve_client(st, c);
        ::close(c);
      }
    }
  }
}

void ControlServer::serve_client(DaemonState& st, int fd) {
  std::string buf;
  char chunk[4096];
  for (;;) {
    struct pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = ::poll(p, 2, 10000);  // an idle client is dropped after 10 s
    if (n <= 0 || (p[1].revents & POLLIN) != 0) {
      return;
    }
    ssize_t r = ::read(fd, chunk, sizeof chunk);
    if (r <= 0) {
      return;
    }
    buf.append(chunk, static_cast<std::size_t>(r));
    if (buf.size() > (1u << 20)) {
      return;  // no request is that long
    }
    std::size_t pos;
    while ((pos = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, pos);
      buf.erase(0, pos + 1);
      if (line.empty()) {
        continue;
      }
      std::string resp = handle_request(st, line) + "\n";
      std::size_t off = 0;
      while (off < resp.size()) {
        ssize_t w = ::send(fd, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
        if (w <= 0) {
          return;
        }
        off += static_cast<std::size_t>(w);
      }
    }
  }
}

}  // namespace edge46::daemon
