// bench/udpflood: a small UDP packet generator and counter for bench/e2e.sh
// (iperf3's UDP sender tops out far below what a translator can forward).
//   udpflood send <addr> <port> <seconds> <payload-bytes>   sendmmsg, 64 per call, 8 flows
//   udpflood recv <4|6> <port> <max-seconds>                recvmmsg; prints
//     "<packets> <seconds>": packets received between the first and the last
//     one (stops 1 s after traffic ends).
// Built by bench/e2e.sh with g++ -O2; not part of the CMake build.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: udpflood send ADDR PORT SECONDS PAYLOAD | recv 4|6 PORT MAXSECONDS\n");
    return 2;
  }
  constexpr int kBatch = 64;
  std::string mode = argv[1];
  if (mode == "send") {
    sockaddr_storage ss{};
    socklen_t sl;
    int fam;
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    if (inet_pton(AF_INET6, argv[2], &s6->sin6_addr) == 1) {
      fam = AF_INET6;
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(static_cast<uint16_t>(std::atoi(argv[3])));
      sl = sizeof *s6;
    } else if (inet_pton(AF_INET, argv[2], &s4->sin_addr) == 1) {
      fam = AF_INET;
      s4->sin_family = AF_INET;
      s4->sin_port = htons(static_cast<uint16_t>(std::atoi(argv[3])));
      sl = sizeof *s4;
    } else {
      std::fprintf(stderr, "bad address %s\n", argv[2]);
      return 2;
    }
    // Eight sockets (eight source ports): eight flows, so a multi-queue TUN
    // can spread them over its queues.
    constexpr int kFlows = 8;
    int fds[kFlows];
    for (int& fd : fds) {
      fd = socket(fam, SOCK_DGRAM, 0);
      if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&ss), sl) < 0) {
        std::perror("socket/connect");
        return 1;
      }
    }
    std::size_t len = static_cast<std::size_t>(std::atoi(argv[5]));
    std::vector<char> buf(len, 'x');
    iovec iov{buf.data(), len};
    mmsghdr msgs[kBatch];
    std::memset(msgs, 0, sizeof msgs);
    for (auto& m : msgs) {
      m.msg_hdr.msg_iov = &iov;
      m.msg_hdr.msg_iovlen = 1;
    }
    auto end = Clock::now() + std::chrono::milliseconds(static_cast<long>(std::atof(argv[4]) * 1000));
    unsigned long long sent = 0;
    for (unsigned round = 0; Clock::now() < end; ++round) {
      int n = sendmmsg(fds[round % kFlows], msgs, kBatch, 0);
      if (n > 0) sent += static_cast<unsigned>(n);
    }
    std::printf("%llu\n", sent);
    return 0;
  }
  if (mode == "recv") {
    int fam = std::string(argv[2]) == "6" ? AF_INET6 : AF_INET;
    int fd = socket(fam, SOCK_DGRAM, 0);
    int rcvbuf = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
    sockaddr_storage ss{};
    socklen_t sl;
    if (fam == AF_INET6) {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(static_cast<uint16_t>(std::atoi(argv[3])));
      sl = sizeof *s6;
    } else {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      s4->sin_port = htons(static_cast<uint16_t>(std::atoi(argv[3])));
      sl = sizeof *s4;
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), sl) < 0) {
      std::perror("bind");
      return 1;
    }
    timeval tv{0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    static char bufs[kBatch][2048];
    iovec iov[kBatch];
    mmsghdr msgs[kBatch];
    std::memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {bufs[i], sizeof bufs[i]};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    auto deadline = Clock::now() + std::chrono::seconds(std::atoi(argv[4]));
    unsigned long long count = 0;
    Clock::time_point first{}, last{};
    while (Clock::now() < deadline) {
      int n = recvmmsg(fd, msgs, kBatch, MSG_WAITFORONE, nullptr);
      auto now = Clock::now();
      if (n > 0) {
        if (count == 0) first = now;
        count += static_cast<unsigned>(n);
        last = now;
      } else if (count > 0 && now - last > std::chrono::seconds(1)) {
        break;
      }
    }
    double secs = std::chrono::duration<double>(last - first).count();
    std::printf("%llu %.6f\n", count, secs);
    return 0;
  }
  return 2;
}
