// loopback-rtt-bench: what one request-reply over loopback TCP costs this
// machine, in wall time and in CPU (both processes), with 1 and with several
// requests in flight. It is the floor under every replica leg of a dynastore
// cluster (a coordinator's call to a peer and its answer), so it tells how
// far `dynastore-bench --compare-cluster` can go on a given machine
// (issue 19's note). Plain sockets, no framing, no store: nothing is cheaper.
//
// A forked child echoes whatever it reads. The parent sends `depth` messages
// (one send each, as a client making separate calls does; or, coalesced, all
// in one send, as dynastore's RPC client does with calls issued together),
// then reads the `depth` replies, and repeats. Warm-up and measurement use two connections,
// so the child's CPU of the measured one is known exactly. 127.0.0.1 only;
// bounded by --round-trips.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "loopback-rtt-bench: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

double CpuSeconds(int who) {
  rusage r{};
  if (getrusage(who, &r) != 0) Die("getrusage");
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

void NoDelay(int fd) {
  const int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) Die("setsockopt TCP_NODELAY");
}

void SendAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, p, n, 0);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) Die("send");
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Echoes one connection until EOF.
void Echo(int listener) {
  const int fd = accept(listener, nullptr, nullptr);
  if (fd < 0) Die("accept");
  NoDelay(fd);
  std::vector<char> buf(1 << 16);
  for (;;) {
    const ssize_t r = recv(fd, buf.data(), buf.size(), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) Die("recv (echo)");
    if (r == 0) break;
    SendAll(fd, buf.data(), static_cast<size_t>(r));
  }
  close(fd);
}

int Connect(const sockaddr_in& addr) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Die("socket");
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) Die("connect");
  NoDelay(fd);
  return fd;
}

// `count` round trips, `depth` in flight at a time.
void Drive(int fd, size_t count, size_t depth, size_t bytes, bool coalesce) {
  const std::vector<char> out(depth * bytes, 'x');
  std::vector<char> in(depth * bytes);
  for (size_t done = 0; done < count; done += depth) {
    if (coalesce) {
      SendAll(fd, out.data(), out.size());
    } else {
      for (size_t i = 0; i < depth; ++i) SendAll(fd, out.data(), bytes);
    }
    size_t got = 0;
    while (got < in.size()) {
      const ssize_t r = recv(fd, in.data() + got, in.size() - got, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) Die("recv (the echo server closed early)");
      got += static_cast<size_t>(r);
    }
  }
}

struct Row {
  double wall_us, cpu_us;  // per round trip
};

Row Measure(size_t count, size_t depth, size_t bytes, bool coalesce) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) Die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listener, 2) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("listen on 127.0.0.1");
  }
  int report[2];
  if (pipe(report) != 0) Die("pipe");
  const pid_t child = fork();
  if (child < 0) Die("fork");
  if (child == 0) {
    close(report[0]);
    Echo(listener);  // warm-up
    const double start = CpuSeconds(RUSAGE_SELF);
    Echo(listener);  // measured
    const double cpu = CpuSeconds(RUSAGE_SELF) - start;
    if (write(report[1], &cpu, sizeof cpu) != static_cast<ssize_t>(sizeof cpu)) _exit(1);
    _exit(0);
  }
  close(report[1]);
  close(listener);

  int fd = Connect(addr);
  Drive(fd, std::min<size_t>(count / 10 + depth, 20000), depth, bytes, coalesce);
  close(fd);
  fd = Connect(addr);
  const double cpu0 = CpuSeconds(RUSAGE_SELF);
  const auto t0 = Clock::now();
  const size_t rounds = (count + depth - 1) / depth;
  Drive(fd, rounds * depth, depth, bytes, coalesce);
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double client_cpu = CpuSeconds(RUSAGE_SELF) - cpu0;
  close(fd);

  double server_cpu = 0;
  const bool reported = read(report[0], &server_cpu, sizeof server_cpu) == static_cast<ssize_t>(sizeof server_cpu);
  close(report[0]);
  int status = 0;
  if (waitpid(child, &status, 0) != child) Die("waitpid");
  if (!reported || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "loopback-rtt-bench: the echo server failed (status %d)\n", status);
    std::exit(1);
  }
  const double n = static_cast<double>(rounds * depth);
  return {wall / n * 1e6, (client_cpu + server_cpu) / n * 1e6};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "loopback-rtt-bench: CPU and wall time of one request-reply over loopback TCP (127.0.0.1), the floor under "
      "a dynastore cluster's replica legs."};
  size_t count = 200000;
  size_t bytes = 100;
  std::vector<size_t> depths{1, 4, 16};
  app.add_option("--round-trips", count, "Round trips measured per depth")
      ->check(CLI::Range(size_t{1000}, size_t{10000000}));
  app.add_option("--bytes", bytes, "Size of each message (request and reply)")
      ->check(CLI::Range(size_t{1}, size_t{65536}));
  app.add_option("--depth", depths, "Requests in flight at a time (several: one row each)")
      ->check(CLI::Range(size_t{1}, size_t{1024}));
  CLI11_PARSE(app, argc, argv);

  std::printf("loopback TCP request-reply, %zu-byte messages, %zu round trips per row\n", bytes, count);
  std::printf("%6s %-16s %14s %12s %26s\n", "depth", "requests sent", "round trips/s", "wall us/rt",
              "CPU us/rt (both sides)");
  for (size_t depth : depths) {
    for (bool coalesce : {false, true}) {
      if (coalesce && depth == 1) continue;
      const Row row = Measure(count, depth, bytes, coalesce);
      std::printf("%6zu %-16s %14.0f %12.1f %26.1f\n", depth, coalesce ? "in one send" : "one send each",
                  1e6 / row.wall_us, row.wall_us, row.cpu_us);
    }
  }
  return 0;
}
