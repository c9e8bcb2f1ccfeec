// The control socket: a Unix stream socket served by one thread, one client
// at a time, newline-delimited JSON (see control.h).
#pragma once

#include <string>
#include <thread>

#include <tl/expected.hpp>

#include "daemon/state.h"

namespace edge46::daemon {

class ControlServer {
 public:
  ~ControlServer();
  // Binds path (creating its directory). Refuses a path where another
  // process is listening; replaces a stale socket file.
  tl::expected<void, std::string> bind(const std::string& path);
  void start(DaemonState& st);
  void stop();  // joins the thread, removes the socket file

 private:
  void run(DaemonState& st);
  void serve_client(DaemonState& st, int fd);
  std::string path_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
};

}  // namespace edge46::daemon
