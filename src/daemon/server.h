// The control socket: a Unix stream socket served by one thread with one
// epoll loop, newline-delimited JSON (see control.h).
//
// Clients are served concurrently: every socket is non-blocking, each client
// has its own input and output buffer, and no client can hold the others up.
// A client is closed when
//   - it sends a line longer than max_request (an error line is sent first),
//   - it goes deadline without completing a request (idle or trickling),
//   - its replies stay unread (output pending, no progress) past deadline.
// Clients beyond max_clients get one error line and are closed at once.
// Requests of one client are answered in order; while a client's unsent
// output exceeds max_request no further request of it is read, so a client
// that sends without reading holds at most one reply and one request.
//
// Security model (docs/operations.md): the socket lives in a directory that
// edge46d creates with mode 0750 (whatever the umask) and that must be owned
// by edge46d's effective uid and not writable by group or others, so that no
// one else can replace the socket; the socket itself is created 0660. Who
// may connect is decided by those modes (owner, and the directory's group).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <thread>

#include <tl/expected.hpp>

#include "daemon/state.h"

namespace edge46::daemon {

struct ServerOptions {
  std::size_t max_clients = 64;
  std::size_t max_request = std::size_t{1} << 20;  // bytes of one request line
  std::chrono::milliseconds deadline{5000};
};

class ControlServer {
 public:
  ControlServer() = default;
  explicit ControlServer(ServerOptions opts) : opts_(opts) {}
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  ~ControlServer();

  // Binds path. Creates a missing directory with mode 0750, and refuses a
  // directory that is not owned by the effective uid or is writable by group
  // or others (the error says which and how to fix it). Creates the socket
  // with mode 0660 whatever the umask. Refuses a path where another process
  // is listening; replaces a stale socket file. Call before any thread is
  // started: the umask is process-wide and is changed around bind(2).
  tl::expected<void, std::string> bind(const std::string& path);
  void start(DaemonState& st);
  void stop();  // joins the thread, closes every client, removes the socket file

 private:
  void run(DaemonState& st);
  ServerOptions opts_;
  std::string path_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
};

}  // namespace edge46::daemon
