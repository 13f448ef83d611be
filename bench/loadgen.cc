// sockecho-loadgen: the load generator of the benchmark kit (see bench/README.md).
//
//   sockecho-loadgen WORKLOAD -p PORT [options]
//
// Workloads:
//   echo      -c N connections, -P requests in flight on each (pipelining), -s bytes per
//             request; every reply is checked byte for byte; requests/s, MB/s, p50/p99.
//   udp       -c N datagram sockets, one datagram in flight on each, resent on timeout.
//   connrate  -c N concurrent loops of connect, one exchange, close: connections/s.
//   idle      opens -c N connections, holds them -d seconds, then checks every one answers.
//   wait      waits until the server answers (TCP connect, or a UDP exchange with --udp).
//   freeport  prints a port that is free for both TCP and UDP on 127.0.0.1.
//
// --tls (echo and wait) runs TLS over every connection: an OpenSSL client that verifies
// nothing, on the same non-blocking sockets and epoll loop; each connection's handshake is
// done while the connections are opened, before anything is measured.
//
// One epoll loop per thread (--threads, default 1), no other threads. The last line on stdout
// is machine-readable: "RESULT mode=... rps=... mbps=... p50_us=... p99_us=... errors=...".
// Exit status: 0 when every reply checked out, 1 on any error, 2 on a usage error.

#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

// ---------------------------------------------------------------------------------------
// Time, errors, options

using u64 = std::uint64_t;

u64 now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<u64>(ts.tv_sec) * 1'000'000'000ULL + static_cast<u64>(ts.tv_nsec);
}

double ns_to_s(u64 ns) {
  return static_cast<double>(ns) / 1e9;
}
u64 s_to_ns(double s) {
  return static_cast<u64>(s * 1e9);
}

// The first few errors are printed; all are counted.
std::mutex g_err_mu;
std::atomic<u64> g_errors{0};
constexpr u64 kMaxPrintedErrors = 10;

void report_error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void report_error(const char* fmt, ...) {
  u64 n = g_errors.fetch_add(1) + 1;
  if (n > kMaxPrintedErrors) return;
  std::lock_guard lock(g_err_mu);
  std::fputs("loadgen: error: ", stderr);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
  if (n == kMaxPrintedErrors) std::fputs("loadgen: (further errors are only counted)\n", stderr);
}

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "sockecho-loadgen: %s (try --help)\n", msg.c_str());
  std::exit(2);
}

enum class Workload { echo, udp, connrate, idle, wait, freeport };
enum class Expect { upper, same };

struct Options {
  Workload workload = Workload::echo;
  std::string workload_name = "echo";
  std::string host = "127.0.0.1";
  int port = 0;
  int conns = 1;
  int pipeline = 1;
  std::size_t size = 64;
  double duration = 5.0;
  double warmup = 1.0;
  int threads = 1;
  Expect expect = Expect::upper;
  std::string mode_name = "upper";
  double timeout = 10.0;        // per exchange (echo stall, connrate step, idle check)
  double udp_timeout = 0.5;     // per datagram before a resend
  int udp_retries = 3;          // resends before a datagram counts as lost
  double prime_budget = 120.0;  // seconds for opening all connections
  bool udp = false;             // for `wait`
  bool tls = false;             // TLS on every connection (echo, wait)
  int pid = 0;                  // server pid to read VmRSS from (wait: give up once it exits)
  u64 seed = 1;
};

double parse_seconds(const char* what, const char* s) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s, &end);
  if (end == s || errno != 0 || v < 0)
    usage_error(std::string(what) + ": bad duration '" + s + "'");
  std::string_view unit(end);
  if (unit.empty() || unit == "s") return v;
  if (unit == "ms") return v / 1000.0;
  if (unit == "us") return v / 1e6;
  if (unit == "m") return v * 60.0;
  usage_error(std::string(what) + ": bad duration '" + s + "'");
}

long parse_int(const char* what, const char* s, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || errno != 0 || v < lo || v > hi)
    usage_error(std::string(what) + ": expected an integer in " + std::to_string(lo) + ".." +
                std::to_string(hi) + ", got '" + s + "'");
  return v;
}

void print_help() {
  std::puts(
      "usage: sockecho-loadgen WORKLOAD -p PORT [options]\n"
      "workloads: echo | udp | connrate | idle | wait | freeport\n"
      "  -H, --host ADDR        IPv4 address of the server (default 127.0.0.1)\n"
      "  -p, --port N           server port\n"
      "  -c, --conns N          connections (udp: sockets; connrate: concurrent loops)\n"
      "  -P, --pipeline N       echo: requests in flight per connection (default 1)\n"
      "  -s, --size N           bytes per request (default 64)\n"
      "  -d, --duration DUR     measured time (idle: hold time), e.g. 5, 500ms (default 5s)\n"
      "  -w, --warmup DUR       unmeasured time before it (default 1s)\n"
      "  -t, --threads N        epoll threads; connections are split between them (default 1)\n"
      "  -m, --mode MODE        what the server does: upper (default) | echo | lower\n"
      "      --timeout DUR      longest wait for one reply (default 10s)\n"
      "      --udp-timeout DUR  udp: wait before a resend (default 500ms)\n"
      "      --retries N        udp: resends before a datagram counts as lost (default 3)\n"
      "      --prime-budget DUR longest time to open all connections (default 120s)\n"
      "      --udp              wait: check a UDP server\n"
      "      --tls              echo, wait: TLS on every connection (no certificate checks)\n"
      "      --pid PID          read the server's VmRSS from /proc/PID/status (wait: give up\n"
      "                         as soon as PID has exited)\n"
      "      --seed N           payload seed (default 1)\n"
      "Output: a human line, then `RESULT mode=... rps=... mbps=... p50_us=... p99_us=... "
      "errors=...`.\n"
      "Exit: 0 ok, 1 any error (a wrong reply, a reset, a timeout), 2 usage error.");
}

Options parse_options(int argc, char** argv) {
  Options o;
  enum { kTimeout = 1000, kUdpTimeout, kRetries, kPrimeBudget, kUdp, kTls, kPid, kSeed, kWorkload };
  static const option longopts[] = {
      {"host", required_argument, nullptr, 'H'},
      {"port", required_argument, nullptr, 'p'},
      {"conns", required_argument, nullptr, 'c'},
      {"pipeline", required_argument, nullptr, 'P'},
      {"size", required_argument, nullptr, 's'},
      {"duration", required_argument, nullptr, 'd'},
      {"warmup", required_argument, nullptr, 'w'},
      {"threads", required_argument, nullptr, 't'},
      {"mode", required_argument, nullptr, 'm'},
      {"timeout", required_argument, nullptr, kTimeout},
      {"udp-timeout", required_argument, nullptr, kUdpTimeout},
      {"retries", required_argument, nullptr, kRetries},
      {"prime-budget", required_argument, nullptr, kPrimeBudget},
      {"udp", no_argument, nullptr, kUdp},
      {"tls", no_argument, nullptr, kTls},
      {"pid", required_argument, nullptr, kPid},
      {"seed", required_argument, nullptr, kSeed},
      {"workload", required_argument, nullptr, kWorkload},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  std::string workload;
  int c;
  while ((c = getopt_long(argc, argv, "H:p:c:P:s:d:w:t:m:h", longopts, nullptr)) != -1) {
    switch (c) {
      case 'H':
        o.host = optarg;
        break;
      case 'p':
        o.port = static_cast<int>(parse_int("--port", optarg, 1, 65535));
        break;
      case 'c':
        o.conns = static_cast<int>(parse_int("--conns", optarg, 1, 1'000'000));
        break;
      case 'P':
        o.pipeline = static_cast<int>(parse_int("--pipeline", optarg, 1, 4096));
        break;
      case 's':
        o.size = static_cast<std::size_t>(parse_int("--size", optarg, 1, 16 << 20));
        break;
      case 'd':
        o.duration = parse_seconds("--duration", optarg);
        break;
      case 'w':
        o.warmup = parse_seconds("--warmup", optarg);
        break;
      case 't':
        o.threads = static_cast<int>(parse_int("--threads", optarg, 1, 64));
        break;
      case 'm':
        o.mode_name = optarg;
        if (o.mode_name == "upper")
          o.expect = Expect::upper;
        else if (o.mode_name == "echo" || o.mode_name == "lower")
          o.expect = Expect::same;
        else
          usage_error("--mode: expected upper, echo or lower, got '" + o.mode_name + "'");
        break;
      case kTimeout:
        o.timeout = parse_seconds("--timeout", optarg);
        break;
      case kUdpTimeout:
        o.udp_timeout = parse_seconds("--udp-timeout", optarg);
        break;
      case kRetries:
        o.udp_retries = static_cast<int>(parse_int("--retries", optarg, 0, 1000));
        break;
      case kPrimeBudget:
        o.prime_budget = parse_seconds("--prime-budget", optarg);
        break;
      case kUdp:
        o.udp = true;
        break;
      case kTls:
        o.tls = true;
        break;
      case kPid:
        o.pid = static_cast<int>(parse_int("--pid", optarg, 1, 1 << 30));
        break;
      case kSeed:
        o.seed = static_cast<u64>(parse_int("--seed", optarg, 0, 1L << 62));
        break;
      case kWorkload:
        workload = optarg;
        break;
      case 'h':
        print_help();
        std::exit(0);
      default:
        usage_error("bad option");
    }
  }
  if (workload.empty()) {
    if (optind >= argc) usage_error("missing WORKLOAD");
    workload = argv[optind++];
  }
  if (optind < argc) usage_error(std::string("unexpected argument '") + argv[optind] + "'");
  o.workload_name = workload;
  if (workload == "echo")
    o.workload = Workload::echo;
  else if (workload == "udp")
    o.workload = Workload::udp;
  else if (workload == "connrate")
    o.workload = Workload::connrate;
  else if (workload == "idle")
    o.workload = Workload::idle;
  else if (workload == "wait")
    o.workload = Workload::wait;
  else if (workload == "freeport")
    o.workload = Workload::freeport;
  else
    usage_error("unknown workload '" + workload + "'");
  if (o.workload != Workload::freeport && o.port == 0) usage_error("--port is required");
  if (o.tls && o.workload != Workload::echo && o.workload != Workload::wait)
    usage_error("--tls works with the echo and wait workloads only");
  if (o.tls && o.udp) usage_error("--tls and --udp do not go together");
  if (o.threads > o.conns) o.threads = o.conns;
  return o;
}

// ---------------------------------------------------------------------------------------
// Latency histogram: log-linear buckets, 128 per power of two (under 1% error), in ns.

class Histogram {
 public:
  Histogram() : m_buckets(kSize, 0) {}
  void add(u64 v) {
    ++m_buckets[index(v)];
    ++m_count;
    m_max = std::max(m_max, v);
  }
  void merge(const Histogram& o) {
    for (std::size_t i = 0; i < kSize; ++i) m_buckets[i] += o.m_buckets[i];
    m_count += o.m_count;
    m_max = std::max(m_max, o.m_max);
  }
  u64 count() const { return m_count; }
  u64 max() const { return m_max; }
  // The value at quantile q (0..1), as the middle of its bucket.
  u64 quantile(double q) const {
    if (m_count == 0) return 0;
    u64 rank = static_cast<u64>(q * static_cast<double>(m_count - 1)) + 1;
    u64 seen = 0;
    for (std::size_t i = 0; i < kSize; ++i) {
      seen += m_buckets[i];
      if (seen >= rank) return std::min(middle(i), m_max);
    }
    return m_max;
  }

 private:
  static constexpr unsigned kSubBits = 7;
  static constexpr u64 kSub = 1ULL << kSubBits;  // 128
  static constexpr std::size_t kSize = 2 * kSub + 64 * kSub;
  static std::size_t index(u64 v) {
    if (v < 2 * kSub) return static_cast<std::size_t>(v);
    unsigned msb = 63U - static_cast<unsigned>(std::countl_zero(v));
    unsigned shift = msb - kSubBits;  // v >> shift is in [128, 256)
    return static_cast<std::size_t>(2 * kSub + (shift - 1) * kSub + ((v >> shift) - kSub));
  }
  static u64 middle(std::size_t i) {
    if (i < 2 * kSub) return i;
    u64 k = i - 2 * kSub;
    u64 shift = k / kSub + 1;
    u64 low = (kSub + k % kSub) << shift;
    return low + ((1ULL << shift) >> 1);
  }
  std::vector<u64> m_buckets;
  u64 m_count = 0;
  u64 m_max = 0;
};

// ---------------------------------------------------------------------------------------
// Payload: a buffer of random lowercase letters and the reply the server should send back.
// No request contains "exit" and none starts with 'x', 'i' or 't', so no stretch of the
// byte stream, inside one request or across two, can ever read as the exit word.

class Payload {
 public:
  Payload(std::size_t size, Expect expect, u64 seed) : m_size(size) {
    std::size_t len = std::max<std::size_t>(1 << 16, 4 * size) + size;
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> letter(0, 25);
    m_send.resize(len);
    for (std::size_t i = 0; i < len; ++i) {
      char ch;
      do {
        ch = static_cast<char>('a' + letter(rng));
      } while (ch == 't' && i >= 3 && m_send.compare(i - 3, 3, "exi") == 0);
      m_send[i] = ch;
    }
    m_expect = m_send;
    if (expect == Expect::upper)
      for (char& ch : m_expect) ch = static_cast<char>(ch - 'a' + 'A');
    for (std::size_t off = 0; off + size <= len && m_offsets.size() < 4096; off += 1 + off % 7) {
      char first = m_send[off];
      if (first != 'x' && first != 'i' && first != 't')
        m_offsets.push_back(static_cast<std::uint32_t>(off));
    }
  }
  std::size_t size() const { return m_size; }
  std::size_t offsets() const { return m_offsets.size(); }
  std::uint32_t offset(std::size_t i) const { return m_offsets[i % m_offsets.size()]; }
  const char* send(std::uint32_t off) const { return m_send.data() + off; }
  const char* expect(std::uint32_t off) const { return m_expect.data() + off; }
  // Upper-cases (or not) a message the same way the server should.
  void expected_of(std::string_view in, std::string& out, Expect expect) const {
    out.assign(in);
    if (expect == Expect::upper)
      for (char& ch : out)
        if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }

 private:
  std::size_t m_size;
  std::string m_send;
  std::string m_expect;
  std::vector<std::uint32_t> m_offsets;
};

std::string show(const char* p, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n && i < 24; ++i) {
    unsigned char ch = static_cast<unsigned char>(p[i]);
    if (ch >= 0x20 && ch < 0x7f)
      s += static_cast<char>(ch);
    else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", ch);
      s += buf;
    }
  }
  if (n > 24) s += "...";
  return s;
}

// ---------------------------------------------------------------------------------------
// Sockets

sockaddr_in g_addr{};

void set_target(const Options& o) {
  g_addr.sin_family = AF_INET;
  g_addr.sin_port = htons(static_cast<std::uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &g_addr.sin_addr) != 1)
    usage_error("--host: not an IPv4 address: '" + o.host + "'");
}

const sockaddr* target() {
  return reinterpret_cast<const sockaddr*>(&g_addr);
}

void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int poll_one(int fd, short events, u64 deadline) {
  for (;;) {
    u64 t = now_ns();
    if (t >= deadline) return 0;
    pollfd p{fd, events, 0};
    int ms = static_cast<int>(std::min<u64>((deadline - t) / 1'000'000 + 1, 1000));
    int r = poll(&p, 1, ms);
    if (r > 0) return 1;
    if (r < 0 && errno != EINTR) return -1;
  }
}

// Connects (non-blocking socket, waits at most until deadline). Returns fd or -1 with why.
int connect_tcp(u64 deadline, std::string& why) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, target(), sizeof g_addr) != 0 && errno != EINPROGRESS) {
    why = std::string("connect: ") + std::strerror(errno);
    close(fd);
    return -1;
  }
  int r = poll_one(fd, POLLOUT, deadline);
  int err = 0;
  socklen_t len = sizeof err;
  if (r <= 0) {
    why = "connect: timed out";
    close(fd);
    return -1;
  }
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    why = std::string("connect: ") + std::strerror(err);
    close(fd);
    return -1;
  }
  return fd;
}

// ---------------------------------------------------------------------------------------
// TLS (--tls): each connection's SSL is found by its fd, so the workloads keep their shape.
// tls_read and tls_write answer like recv and send: bytes, 0 for the end of the stream
// (read), or -1 with errno EAGAIN (t_tls_wants_write tells which way to wait) or another
// errno, with t_tls_why saying what went wrong.

thread_local bool t_tls_wants_write = false;
thread_local std::string t_tls_why;

SSL_CTX* g_tls_ctx = nullptr;
std::vector<SSL*> g_tls_by_fd;    // sized before any worker thread starts, then only read
std::string g_tls_version = "-";  // of the first handshake, set by the main thread
std::string g_tls_cipher = "-";

void tls_init() {
  g_tls_ctx = SSL_CTX_new(TLS_client_method());
  if (g_tls_ctx == nullptr) {
    std::fputs("sockecho-loadgen: SSL_CTX_new failed\n", stderr);
    std::exit(1);
  }
  SSL_CTX_set_verify(g_tls_ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_min_proto_version(g_tls_ctx, TLS1_2_VERSION);
  // Writes behave like send(): partial, and a retry may come from another address.
  SSL_CTX_set_mode(g_tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // A server that closes without close_notify reads as the end of the stream.
  SSL_CTX_set_options(g_tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  rlimit rl{};
  std::size_t n = 65536;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    n = static_cast<std::size_t>(rl.rlim_cur);
  g_tls_by_fd.assign(std::min<std::size_t>(n, std::size_t{1} << 22), nullptr);
}

std::string tls_error_text(int err, int saved_errno) {
  unsigned long e = ERR_get_error();
  std::string s;
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    s = buf;
  } else if (err == SSL_ERROR_SYSCALL) {
    s = saved_errno != 0 ? std::strerror(saved_errno) : "unexpected end of stream";
  } else if (err == SSL_ERROR_ZERO_RETURN) {
    s = "the server closed the TLS session";
  } else {
    s = "SSL error " + std::to_string(err);
  }
  ERR_clear_error();
  return s;
}

SSL* tls_of(int fd) {
  return fd >= 0 && static_cast<std::size_t>(fd) < g_tls_by_fd.size()
             ? g_tls_by_fd[static_cast<std::size_t>(fd)]
             : nullptr;
}

ssize_t tls_result(SSL* ssl, int r, bool reading) {
  if (r > 0) return r;
  int saved = errno;
  int err = SSL_get_error(ssl, r);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      t_tls_wants_write = false;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      t_tls_wants_write = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      if (reading) return 0;
      break;
    default:
      break;
  }
  t_tls_why = tls_error_text(err, saved);
  errno = saved != 0 ? saved : EPROTO;
  return -1;
}

ssize_t tls_read(SSL* ssl, char* buf, std::size_t n) {
  int r = SSL_read(ssl, buf, static_cast<int>(std::min<std::size_t>(n, 1 << 30)));
  return tls_result(ssl, r, true);
}

ssize_t tls_write(SSL* ssl, const char* buf, std::size_t n) {
  int r = SSL_write(ssl, buf, static_cast<int>(std::min<std::size_t>(n, 1 << 30)));
  return tls_result(ssl, r, false);
}

// The handshake on a connected non-blocking socket, waiting at most until deadline.
bool tls_handshake(int fd, u64 deadline, std::string& why) {
  if (static_cast<std::size_t>(fd) >= g_tls_by_fd.size()) {
    why = "TLS: descriptor " + std::to_string(fd) + " is past the table";
    return false;
  }
  SSL* ssl = SSL_new(g_tls_ctx);
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
    why = "SSL_new: " + tls_error_text(SSL_ERROR_SSL, 0);
    SSL_free(ssl);
    return false;
  }
  SSL_set_connect_state(ssl);
  for (;;) {
    int r = SSL_do_handshake(ssl);
    if (r == 1) break;
    int saved = errno;
    int err = SSL_get_error(ssl, r);
    short ev = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (ev == 0) {
      why = "TLS handshake: " + tls_error_text(err, saved);
      SSL_free(ssl);
      return false;
    }
    if (poll_one(fd, ev, deadline) <= 0) {
      why = "TLS handshake: timed out";
      SSL_free(ssl);
      return false;
    }
  }
  g_tls_by_fd[static_cast<std::size_t>(fd)] = ssl;
  if (g_tls_version == "-") {
    g_tls_version = SSL_get_version(ssl);
    g_tls_cipher = SSL_get_cipher_name(ssl);
  }
  return true;
}

// Closes a connection; a TLS one sends its close_notify first (best effort, never waits).
void close_conn(int fd) {
  if (SSL* ssl = tls_of(fd)) {
    SSL_shutdown(ssl);
    ERR_clear_error();
    SSL_free(ssl);
    g_tls_by_fd[static_cast<std::size_t>(fd)] = nullptr;
  }
  close(fd);
}

// One exchange on a connected non-blocking socket: sends the request, reads and checks
// the reply. Returns true when the reply was right.
bool exchange(int fd, const Payload& pl, std::uint32_t off, u64 deadline, std::string& why) {
  SSL* ssl = tls_of(fd);
  std::size_t n = pl.size();
  std::size_t sent = 0;
  while (sent < n) {
    ssize_t w = ssl != nullptr ? tls_write(ssl, pl.send(off) + sent, n - sent)
                               : send(fd, pl.send(off) + sent, n - sent, MSG_NOSIGNAL);
    if (w > 0) {
      sent += static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      short ev = ssl != nullptr && !t_tls_wants_write ? POLLIN : POLLOUT;
      if (poll_one(fd, ev, deadline) <= 0) {
        why = "send: timed out";
        return false;
      }
      continue;
    }
    why = std::string("send: ") + (ssl != nullptr ? t_tls_why : std::strerror(errno));
    return false;
  }
  std::vector<char> buf(std::min<std::size_t>(n, 1 << 16));
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ssl != nullptr ? tls_read(ssl, buf.data(), std::min(buf.size(), n - got))
                               : recv(fd, buf.data(), std::min(buf.size(), n - got), 0);
    if (r > 0) {
      std::size_t k = static_cast<std::size_t>(r);
      if (std::memcmp(buf.data(), pl.expect(off) + got, k) != 0) {
        why = "wrong reply: got '" + show(buf.data(), k) + "', expected '" +
              show(pl.expect(off) + got, k) + "'";
        return false;
      }
      got += k;
      continue;
    }
    if (r == 0) {
      why = "the server closed the connection (got " + std::to_string(got) + " of " +
            std::to_string(n) + " reply bytes)";
      return false;
    }
    if (errno == EAGAIN || errno == EINTR) {
      short ev = ssl != nullptr && t_tls_wants_write ? POLLOUT : POLLIN;
      if (poll_one(fd, ev, deadline) <= 0) {
        why = "no reply within the timeout (got " + std::to_string(got) + " of " +
              std::to_string(n) + " bytes)";
        return false;
      }
      continue;
    }
    why = std::string("recv: ") + (ssl != nullptr ? t_tls_why : std::strerror(errno));
    return false;
  }
  return true;
}

// Opens n connections one by one, each doing one checked exchange, so that fork- or
// thread-per-connection servers have set every client up before anything is measured.
std::vector<int> prime(const Options& o, const Payload& pl, int n) {
  std::vector<int> fds;
  fds.reserve(static_cast<std::size_t>(n));
  u64 budget_end = now_ns() + s_to_ns(o.prime_budget);
  int consecutive_failures = 0;
  for (int i = 0; i < n; ++i) {
    u64 deadline = std::min(now_ns() + s_to_ns(o.timeout), budget_end);
    std::string why;
    int fd = connect_tcp(deadline, why);
    if (fd >= 0 && o.tls && !tls_handshake(fd, deadline, why)) {
      close(fd);
      fd = -1;
    }
    if (fd >= 0 && !exchange(fd, pl, pl.offset(static_cast<std::size_t>(i) * 13), deadline, why)) {
      close_conn(fd);
      fd = -1;
    }
    if (fd < 0) {
      report_error("opening connection %d of %d: %s", i + 1, n, why.c_str());
      if (++consecutive_failures >= 5 || now_ns() >= budget_end) {
        report_error("giving up opening connections after %d of %d", static_cast<int>(fds.size()),
                     n);
        break;
      }
      continue;
    }
    consecutive_failures = 0;
    fds.push_back(fd);
    if (now_ns() >= budget_end && static_cast<int>(fds.size()) < n) {
      report_error("opening %d connections took longer than --prime-budget; got %d", n,
                   static_cast<int>(fds.size()));
      break;
    }
  }
  return fds;
}

long read_rss_kb(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

// ---------------------------------------------------------------------------------------
// Shared measurement window

struct Window {
  u64 start;  // end of warmup
  u64 end;    // end of measurement
  bool in(u64 t) const { return t >= start && t < end; }
};

struct Stats {
  Histogram hist;
  u64 done = 0;   // requests (or connections) completed in the window
  u64 bytes = 0;  // reply bytes in the window
  u64 sent = 0, received = 0, resends = 0, lost = 0, late = 0;  // udp
  std::vector<u64> per_conn;  // completions per connection in the window (fairness)
  void merge(const Stats& o) {
    hist.merge(o.hist);
    done += o.done;
    bytes += o.bytes;
    sent += o.sent;
    received += o.received;
    resends += o.resends;
    lost += o.lost;
    late += o.late;
    per_conn.insert(per_conn.end(), o.per_conn.begin(), o.per_conn.end());
  }
};

void epoll_set(int ep, int op, int fd, std::uint32_t events, u64 data) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  if (epoll_ctl(ep, op, fd, &ev) != 0) report_error("epoll_ctl: %s", std::strerror(errno));
}

// ---------------------------------------------------------------------------------------
// echo: pipelined request/reply on primed connections

struct EchoConn {
  struct Req {
    std::uint32_t off;
    u64 t;
  };
  int fd = -1;
  SSL* ssl = nullptr;     // --tls
  std::vector<Req> ring;  // capacity = pipeline
  std::size_t head = 0, count = 0;
  std::size_t unsent = 0;    // index (from head) of the first request not fully written
  std::size_t send_off = 0;  // bytes of that request already written
  std::size_t recv_off = 0;  // bytes of the head request's reply already read
  std::size_t next = 0;      // next payload offset index
  bool want_out = false;
  bool read_wants_write = false;  // --tls: SSL_read is waiting for the socket to take bytes
  bool dead = false;
  u64 bytes_sent = 0;  // on this connection, to spot replies to bytes never sent
  u64 bytes_recv = 0;
  u64 done = 0;
  u64 last_progress = 0;
  Req& at(std::size_t i) { return ring[(head + i) % ring.size()]; }
};

class EchoWorker {
 public:
  EchoWorker(const Options& o, const Payload& pl, Window w, std::vector<int> fds, std::size_t first)
      : m_o(o), m_pl(pl), m_w(w), m_scratch(std::max<std::size_t>(1 << 18, pl.size())) {
    m_ep = epoll_create1(EPOLL_CLOEXEC);
    m_conns.resize(fds.size());
    for (std::size_t i = 0; i < fds.size(); ++i) {
      EchoConn& c = m_conns[i];
      c.fd = fds[i];
      c.ssl = tls_of(c.fd);
      c.ring.resize(static_cast<std::size_t>(o.pipeline));
      c.next = (first + i) * 7919;
      epoll_set(m_ep, EPOLL_CTL_ADD, c.fd, EPOLLIN, i);
    }
  }
  ~EchoWorker() {
    for (EchoConn& c : m_conns)
      if (c.fd >= 0) close_conn(c.fd);
    close(m_ep);
  }
  EchoWorker(const EchoWorker&) = delete;
  EchoWorker& operator=(const EchoWorker&) = delete;

  void run() {
    u64 t = now_ns();
    for (std::size_t i = 0; i < m_conns.size(); ++i) {
      EchoConn& c = m_conns[i];
      c.last_progress = t;
      for (int k = 0; k < m_o.pipeline; ++k) enqueue(c, t);
      flush(c, i);
    }
    std::vector<epoll_event> evs(512);
    while (true) {
      int n = epoll_wait(m_ep, evs.data(), static_cast<int>(evs.size()), 20);
      if (n < 0 && errno != EINTR) {
        report_error("epoll_wait: %s", std::strerror(errno));
        break;
      }
      for (int k = 0; k < n; ++k) {
        std::size_t i = static_cast<std::size_t>(evs[static_cast<std::size_t>(k)].data.u64);
        std::uint32_t e = evs[static_cast<std::size_t>(k)].events;
        EchoConn& c = m_conns[i];
        if (c.dead) continue;
        if (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c, i);
        if (!c.dead && (e & EPOLLOUT)) {
          if (c.read_wants_write)
            on_readable(c, i);
          else
            flush(c, i);
        }
      }
      t = now_ns();
      if (t >= m_w.end) break;
    }
    // Stalls: a connection with requests out and no reply for --timeout.
    u64 stall = s_to_ns(m_o.timeout);
    for (EchoConn& c : m_conns)
      if (!c.dead && c.count > 0 && t - c.last_progress > stall && t > m_w.start)
        fail(c, "no reply for " + std::to_string(ns_to_s(t - c.last_progress)) + " s");
    for (EchoConn& c : m_conns) m_stats.per_conn.push_back(c.done);
  }

  const Stats& stats() const { return m_stats; }

 private:
  void fail(EchoConn& c, const std::string& why) {
    report_error("connection fd %d: %s", c.fd, why.c_str());
    c.dead = true;
    close_conn(c.fd);
    c.fd = -1;
  }

  void enqueue(EchoConn& c, u64 t) {
    c.at(c.count) = {m_pl.offset(c.next++), t};
    ++c.count;
  }

  void flush(EchoConn& c, std::size_t i) {
    if (c.ssl != nullptr) {
      flush_tls(c, i);
      return;
    }
    std::array<iovec, 64> iov{};
    while (c.unsent < c.count) {
      std::size_t k = 0;
      for (std::size_t j = c.unsent; j < c.count && k < iov.size(); ++j, ++k) {
        std::size_t skip = (j == c.unsent) ? c.send_off : 0;
        iov[k].iov_base = const_cast<char*>(m_pl.send(c.at(j).off) + skip);
        iov[k].iov_len = m_pl.size() - skip;
      }
      ssize_t w = writev(c.fd, iov.data(), static_cast<int>(k));
      if (w < 0) {
        if (errno == EAGAIN) break;
        if (errno == EINTR) continue;
        fail(c, std::string("write: ") + std::strerror(errno));
        return;
      }
      std::size_t left = static_cast<std::size_t>(w);
      c.bytes_sent += left;
      while (left > 0) {
        std::size_t rest = m_pl.size() - c.send_off;
        if (left >= rest) {
          left -= rest;
          c.send_off = 0;
          ++c.unsent;
        } else {
          c.send_off += left;
          left = 0;
        }
      }
    }
    want_out(c, i, c.unsent < c.count);
  }

  void want_out(EchoConn& c, std::size_t i, bool want) {
    if (want != c.want_out) {
      c.want_out = want;
      epoll_set(m_ep, EPOLL_CTL_MOD, c.fd, want ? (EPOLLIN | EPOLLOUT) : EPOLLIN, i);
    }
  }

  // One TLS record per request (SSL_write of what is left of it); waits for EPOLLOUT only
  // when OpenSSL wants to write (a write that wants to read is retried after the next read).
  void flush_tls(EchoConn& c, std::size_t i) {
    bool blocked_on_write = false;
    while (c.unsent < c.count) {
      ssize_t w =
          tls_write(c.ssl, m_pl.send(c.at(c.unsent).off) + c.send_off, m_pl.size() - c.send_off);
      if (w < 0) {
        if (errno == EAGAIN) {
          blocked_on_write = t_tls_wants_write;
          break;
        }
        fail(c, "write: " + t_tls_why);
        return;
      }
      c.bytes_sent += static_cast<std::size_t>(w);
      c.send_off += static_cast<std::size_t>(w);
      if (c.send_off == m_pl.size()) {
        c.send_off = 0;
        ++c.unsent;
      }
    }
    want_out(c, i, blocked_on_write || c.read_wants_write);
  }

  // Reads until OpenSSL has nothing more (a record it holds would not wake epoll again).
  void on_readable_tls(EchoConn& c, std::size_t i) {
    c.read_wants_write = false;
    bool refill = false;
    for (;;) {
      ssize_t r = tls_read(c.ssl, m_scratch.data(), m_scratch.size());
      if (r < 0) {
        if (errno == EAGAIN) {
          c.read_wants_write = t_tls_wants_write;
          break;
        }
        fail(c, "read: " + t_tls_why);
        return;
      }
      if (r == 0) {
        fail(c, "the server closed the connection");
        return;
      }
      if (!consume(c, static_cast<std::size_t>(r), refill)) return;
    }
    flush_tls(c, i);
  }

  void on_readable(EchoConn& c, std::size_t i) {
    if (c.ssl != nullptr) {
      on_readable_tls(c, i);
      return;
    }
    ssize_t r = read(c.fd, m_scratch.data(), m_scratch.size());
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      fail(c, std::string("read: ") + std::strerror(errno));
      return;
    }
    if (r == 0) {
      fail(c, "the server closed the connection");
      return;
    }
    bool refill = false;
    if (consume(c, static_cast<std::size_t>(r), refill) && refill) flush(c, i);
  }

  // Checks the n reply bytes at the start of m_scratch and queues the next requests (refill
  // says some were). False when the connection failed.
  bool consume(EchoConn& c, std::size_t n, bool& refill) {
    u64 t = now_ns();
    c.last_progress = t;
    c.bytes_recv += n;
    if (c.bytes_recv > c.bytes_sent) {
      fail(c, "more reply bytes (" + std::to_string(c.bytes_recv) + ") than were sent (" +
                  std::to_string(c.bytes_sent) + "): '" + show(m_scratch.data(), n) + "'");
      return false;
    }
    std::size_t p = 0;
    while (p < n) {
      EchoConn::Req& req = c.at(0);
      std::size_t take = std::min(m_pl.size() - c.recv_off, n - p);
      const char* want = m_pl.expect(req.off) + c.recv_off;
      if (std::memcmp(m_scratch.data() + p, want, take) != 0) {
        fail(c, "wrong reply at byte " + std::to_string(c.recv_off) + " of a " +
                    std::to_string(m_pl.size()) + "-byte request: got '" +
                    show(m_scratch.data() + p, take) + "', expected '" + show(want, take) + "'");
        return false;
      }
      p += take;
      c.recv_off += take;
      if (c.recv_off == m_pl.size()) {
        if (m_w.in(t)) {
          m_stats.hist.add(t - req.t);
          ++m_stats.done;
          m_stats.bytes += m_pl.size();
          ++c.done;
        }
        c.recv_off = 0;
        c.head = (c.head + 1) % c.ring.size();
        --c.count;
        --c.unsent;
        if (t < m_w.end) {
          enqueue(c, t);
          refill = true;
        }
      }
    }
    return true;
  }

  const Options& m_o;
  const Payload& m_pl;
  Window m_w;
  int m_ep = -1;
  std::vector<EchoConn> m_conns;
  std::vector<char> m_scratch;
  Stats m_stats;
};

// ---------------------------------------------------------------------------------------
// connrate: connect, one exchange, close, again

class ConnrateWorker {
 public:
  ConnrateWorker(const Options& o, const Payload& pl, Window w, int slots, std::size_t first)
      : m_o(o), m_pl(pl), m_w(w), m_slots(static_cast<std::size_t>(slots)), m_next(first * 7919) {
    m_ep = epoll_create1(EPOLL_CLOEXEC);
    m_buf.resize(pl.size());
  }
  ~ConnrateWorker() {
    for (Slot& s : m_slots)
      if (s.fd >= 0) close(s.fd);
    close(m_ep);
  }
  ConnrateWorker(const ConnrateWorker&) = delete;
  ConnrateWorker& operator=(const ConnrateWorker&) = delete;

  void run() {
    for (std::size_t i = 0; i < m_slots.size(); ++i) start(i, now_ns());
    std::vector<epoll_event> evs(256);
    u64 timeout = s_to_ns(m_o.timeout);
    u64 next_check = now_ns() + 100'000'000;
    while (true) {
      int n = epoll_wait(m_ep, evs.data(), static_cast<int>(evs.size()), 20);
      if (n < 0 && errno != EINTR) {
        report_error("epoll_wait: %s", std::strerror(errno));
        break;
      }
      for (int k = 0; k < n; ++k) {
        const epoll_event& ev = evs[static_cast<std::size_t>(k)];
        on_event(static_cast<std::size_t>(ev.data.u64), ev.events);
      }
      u64 t = now_ns();
      if (t >= m_w.end) break;
      if (t >= next_check) {
        next_check = t + 100'000'000;
        for (std::size_t i = 0; i < m_slots.size(); ++i) {
          Slot& s = m_slots[i];
          if (s.fd >= 0 && t - s.t0 > timeout) {
            report_error("connrate: no %s within %.1f s", s.connecting ? "connection" : "reply",
                         ns_to_s(timeout));
            close(s.fd);
            s.fd = -1;
            start(i, t);
          } else if (s.fd < 0 && s.retry_at != 0 && t >= s.retry_at) {
            start(i, t);
          }
        }
      }
    }
  }

  const Stats& stats() const { return m_stats; }

 private:
  struct Slot {
    int fd = -1;
    bool connecting = false;
    std::uint32_t off = 0;
    std::size_t got = 0;
    u64 t0 = 0;
    u64 retry_at = 0;
  };

  void start(std::size_t i, u64 t) {
    Slot& s = m_slots[i];
    s.retry_at = 0;
    if (t >= m_w.end) return;
    s.t0 = t;
    s.got = 0;
    s.off = m_pl.offset(m_next++);
    s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0) {
      report_error("socket: %s", std::strerror(errno));
      s.retry_at = t + 100'000'000;
      return;
    }
    int one = 1;
    setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(s.fd, target(), sizeof g_addr) == 0) {
      s.connecting = false;
      epoll_set(m_ep, EPOLL_CTL_ADD, s.fd, EPOLLIN, i);
      send_request(i);
      return;
    }
    if (errno != EINPROGRESS) {
      report_error("connect: %s", std::strerror(errno));
      close(s.fd);
      s.fd = -1;
      s.retry_at = t + 100'000'000;  // e.g. out of ephemeral ports: back off a little
      return;
    }
    s.connecting = true;
    epoll_set(m_ep, EPOLL_CTL_ADD, s.fd, EPOLLOUT, i);
  }

  void drop(std::size_t i, const std::string& why) {
    Slot& s = m_slots[i];
    report_error("connrate: %s", why.c_str());
    close(s.fd);
    s.fd = -1;
    s.retry_at = now_ns() + 10'000'000;  // started again by the periodic check
  }

  void send_request(std::size_t i) {
    Slot& s = m_slots[i];
    ssize_t w = send(s.fd, m_pl.send(s.off), m_pl.size(), MSG_NOSIGNAL);
    if (w != static_cast<ssize_t>(m_pl.size())) {
      drop(i, w < 0 ? std::string("send: ") + std::strerror(errno) : std::string("short send"));
    }
  }

  void on_event(std::size_t i, std::uint32_t e) {
    Slot& s = m_slots[i];
    if (s.fd < 0) return;
    if (s.connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        drop(i, std::string("connect: ") + std::strerror(err));
        return;
      }
      if (!(e & EPOLLOUT)) return;
      s.connecting = false;
      epoll_set(m_ep, EPOLL_CTL_MOD, s.fd, EPOLLIN, i);
      send_request(i);
      return;
    }
    ssize_t r = read(s.fd, m_buf.data(), m_pl.size() - s.got);
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      drop(i, std::string("read: ") + std::strerror(errno));
      return;
    }
    if (r == 0) {
      drop(i, "the server closed the connection before replying");
      return;
    }
    std::size_t k = static_cast<std::size_t>(r);
    const char* want = m_pl.expect(s.off) + s.got;
    if (std::memcmp(m_buf.data(), want, k) != 0) {
      drop(i, "wrong reply: got '" + show(m_buf.data(), k) + "', expected '" + show(want, k) + "'");
      return;
    }
    s.got += k;
    if (s.got < m_pl.size()) return;
    u64 t = now_ns();
    if (m_w.in(t)) {
      m_stats.hist.add(t - s.t0);
      ++m_stats.done;
      m_stats.bytes += m_pl.size();
    }
    close(s.fd);
    s.fd = -1;
    start(i, t);
  }

  const Options& m_o;
  const Payload& m_pl;
  Window m_w;
  int m_ep = -1;
  std::vector<Slot> m_slots;
  std::vector<char> m_buf;
  std::size_t m_next;
  Stats m_stats;
};

// ---------------------------------------------------------------------------------------
// udp: one datagram in flight per socket; each carries a sequence tag to spot late replies

class UdpWorker {
 public:
  UdpWorker(const Options& o, const Payload& pl, Window w, int sockets, std::size_t first)
      : m_o(o), m_pl(pl), m_w(w), m_socks(static_cast<std::size_t>(sockets)), m_next(first * 7919) {
    m_ep = epoll_create1(EPOLL_CLOEXEC);
    m_buf.resize(65536);
    for (std::size_t i = 0; i < m_socks.size(); ++i) {
      Sock& s = m_socks[i];
      s.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (s.fd < 0 || connect(s.fd, target(), sizeof g_addr) != 0) {
        report_error("udp socket: %s", std::strerror(errno));
        if (s.fd >= 0) close(s.fd);
        s.fd = -1;
        continue;
      }
      s.seq = static_cast<u64>(first + i) * 1'000'000'000ULL;
      epoll_set(m_ep, EPOLL_CTL_ADD, s.fd, EPOLLIN, i);
    }
  }
  ~UdpWorker() {
    for (Sock& s : m_socks)
      if (s.fd >= 0) close(s.fd);
    close(m_ep);
  }
  UdpWorker(const UdpWorker&) = delete;
  UdpWorker& operator=(const UdpWorker&) = delete;

  void run() {
    u64 t = now_ns();
    for (Sock& s : m_socks)
      if (s.fd >= 0) next_datagram(s, t);
    std::vector<epoll_event> evs(256);
    u64 resend_after = s_to_ns(m_o.udp_timeout);
    while (true) {
      int n = epoll_wait(m_ep, evs.data(), static_cast<int>(evs.size()), 5);
      if (n < 0 && errno != EINTR) {
        report_error("epoll_wait: %s", std::strerror(errno));
        break;
      }
      for (int k = 0; k < n; ++k)
        on_readable(m_socks[static_cast<std::size_t>(evs[static_cast<std::size_t>(k)].data.u64)]);
      t = now_ns();
      if (t >= m_w.end) break;
      for (Sock& s : m_socks) {
        if (s.fd < 0 || t - s.t_sent < resend_after) continue;
        if (s.tries > static_cast<u64>(m_o.udp_retries)) {
          if (m_w.in(t)) ++m_stats.lost;
          next_datagram(s, t);
        } else {
          if (m_w.in(t)) ++m_stats.resends;
          transmit(s, t);
        }
      }
    }
  }

  const Stats& stats() const { return m_stats; }

 private:
  struct Sock {
    int fd = -1;
    u64 seq = 0;
    u64 tries = 0;
    u64 t_first = 0, t_sent = 0;
    std::string msg, want;
  };
  static constexpr std::size_t kTag = 7;

  void next_datagram(Sock& s, u64 t) {
    ++s.seq;
    s.msg.assign(m_pl.send(m_pl.offset(m_next++)), m_pl.size());
    u64 v = s.seq;
    for (std::size_t k = 0; k < kTag && k < s.msg.size(); ++k) {
      s.msg[k] = static_cast<char>('a' + v % 26);
      v /= 26;
    }
    m_pl.expected_of(s.msg, s.want, m_o.expect);
    s.tries = 0;
    s.t_first = t;
    transmit(s, t);
  }

  void transmit(Sock& s, u64 t) {
    s.t_sent = t;
    ++s.tries;
    if (m_w.in(t)) ++m_stats.sent;
    ssize_t w = send(s.fd, s.msg.data(), s.msg.size(), 0);
    if (w < 0 && errno != EAGAIN && errno != ECONNREFUSED)
      report_error("udp send: %s", std::strerror(errno));
  }

  void on_readable(Sock& s) {
    for (;;) {
      ssize_t r = recv(s.fd, m_buf.data(), m_buf.size(), 0);
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        if (errno == ECONNREFUSED) {
          report_error("udp: port unreachable (is the server running?)");
          return;
        }
        report_error("udp recv: %s", std::strerror(errno));
        return;
      }
      std::size_t n = static_cast<std::size_t>(r);
      u64 t = now_ns();
      std::size_t tag = std::min(kTag, s.want.size());
      if (n == s.want.size() && std::memcmp(m_buf.data(), s.want.data(), tag) != 0) {
        // Same size, different tag: a late reply to an earlier (resent or given up) datagram.
        if (m_w.in(t)) ++m_stats.late;
        continue;
      }
      if (n != s.want.size() || std::memcmp(m_buf.data(), s.want.data(), n) != 0) {
        report_error("udp: wrong reply: got %zu bytes '%s', expected %zu bytes '%s'", n,
                     show(m_buf.data(), n).c_str(), s.want.size(),
                     show(s.want.data(), s.want.size()).c_str());
        continue;
      }
      if (m_w.in(t)) {
        ++m_stats.received;
        ++m_stats.done;
        m_stats.bytes += n;
        m_stats.hist.add(t - s.t_first);
      }
      if (t < m_w.end) next_datagram(s, t);
    }
  }

  const Options& m_o;
  const Payload& m_pl;
  Window m_w;
  int m_ep = -1;
  std::vector<Sock> m_socks;
  std::vector<char> m_buf;
  std::size_t m_next;
  Stats m_stats;
};

// ---------------------------------------------------------------------------------------
// Reporting

struct Result {
  double seconds = 0;
  double rps = 0, mbps = 0;
  double p50_us = 0, p99_us = 0, max_us = 0;
};

Result summarize(const Stats& st, double seconds) {
  Result r;
  r.seconds = seconds;
  if (seconds > 0) {
    r.rps = static_cast<double>(st.done) / seconds;
    r.mbps = static_cast<double>(st.bytes) / seconds / 1e6;
  }
  r.p50_us = static_cast<double>(st.hist.quantile(0.50)) / 1e3;
  r.p99_us = static_cast<double>(st.hist.quantile(0.99)) / 1e3;
  r.max_us = static_cast<double>(st.hist.max()) / 1e3;
  return r;
}

double fairness(const std::vector<u64>& per_conn) {
  if (per_conn.empty()) return 0;
  u64 sum = 0, mn = per_conn[0];
  for (u64 v : per_conn) {
    sum += v;
    mn = std::min(mn, v);
  }
  if (sum == 0) return 0;
  return static_cast<double>(mn) * static_cast<double>(per_conn.size()) / static_cast<double>(sum);
}

template <class Worker, class Make>
Stats run_workers(int threads, Make make) {
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < threads; ++t) workers.push_back(make(t));
  if (threads == 1) {
    workers[0]->run();
  } else {
    std::vector<std::thread> ts;
    for (auto& w : workers) ts.emplace_back([&w] { w->run(); });
    for (auto& t : ts) t.join();
  }
  Stats total;
  for (auto& w : workers) total.merge(w->stats());
  return total;
}

// Splits n items between t threads: thread k gets [begin(k), begin(k+1)).
std::size_t split(std::size_t n, int t, int k) {
  return n * static_cast<std::size_t>(k) / static_cast<std::size_t>(t);
}

int finish(int extra_errors) {
  u64 errors = g_errors.load() + static_cast<u64>(extra_errors);
  return errors == 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------
// Workloads

int do_echo(const Options& o) {
  Payload pl(o.size, o.expect, o.seed);
  u64 t_prime = now_ns();
  std::vector<int> fds = prime(o, pl, o.conns);
  double prime_s = ns_to_s(now_ns() - t_prime);
  if (fds.empty()) {
    std::printf(
        "echo: no connection could be opened\nRESULT mode=echo conns=%d opened=0 rps=0 "
        "mbps=0 p50_us=0 p99_us=0 errors=%llu\n",
        o.conns, static_cast<unsigned long long>(g_errors.load()));
    return 1;
  }
  u64 t0 = now_ns();
  Window w{t0 + s_to_ns(o.warmup), t0 + s_to_ns(o.warmup + o.duration)};
  int threads = std::min(o.threads, static_cast<int>(fds.size()));
  Stats st = run_workers<EchoWorker>(threads, [&](int k) {
    std::size_t b = split(fds.size(), threads, k), e = split(fds.size(), threads, k + 1);
    return std::make_unique<EchoWorker>(
        o, pl, w,
        std::vector<int>(fds.begin() + static_cast<long>(b), fds.begin() + static_cast<long>(e)),
        b);
  });
  Result r = summarize(st, o.duration);
  double fair = fairness(st.per_conn);
  long rss = read_rss_kb(o.pid);
  if (st.done == 0) report_error("echo: no request completed in the measured window");
  unsigned long long errors = g_errors.load();
  std::string tls = o.tls ? " tls=" + g_tls_version + " cipher=" + g_tls_cipher : "";
  std::printf(
      "echo: %zu conns x %d in flight, %zu B: %.0f req/s, %.2f MB/s, p50 %.1f us, p99 %.1f "
      "us, max %.1f us, fairness %.2f, primed in %.2f s,%s %llu errors\n",
      fds.size(), o.pipeline, o.size, r.rps, r.mbps, r.p50_us, r.p99_us, r.max_us, fair, prime_s,
      tls.c_str(), errors);
  std::printf(
      "RESULT mode=echo conns=%d opened=%zu pipeline=%d size=%zu duration=%.2f requests=%llu "
      "rps=%.1f mbps=%.3f p50_us=%.1f p99_us=%.1f max_us=%.1f fair=%.3f prime_s=%.2f "
      "rss_kb=%ld%s errors=%llu\n",
      o.conns, fds.size(), o.pipeline, o.size, o.duration, static_cast<unsigned long long>(st.done),
      r.rps, r.mbps, r.p50_us, r.p99_us, r.max_us, fair, prime_s, rss, tls.c_str(), errors);
  return finish(0);
}

int do_connrate(const Options& o) {
  Payload pl(o.size, o.expect, o.seed);
  u64 t0 = now_ns();
  Window w{t0 + s_to_ns(o.warmup), t0 + s_to_ns(o.warmup + o.duration)};
  int threads = o.threads;
  Stats st = run_workers<ConnrateWorker>(threads, [&](int k) {
    std::size_t b = split(static_cast<std::size_t>(o.conns), threads, k);
    std::size_t e = split(static_cast<std::size_t>(o.conns), threads, k + 1);
    return std::make_unique<ConnrateWorker>(o, pl, w, static_cast<int>(e - b), b);
  });
  Result r = summarize(st, o.duration);
  if (st.done == 0) report_error("connrate: no connection completed in the measured window");
  unsigned long long errors = g_errors.load();
  std::printf(
      "connrate: %d concurrent, %zu B exchange: %.0f conn/s, p50 %.1f us, p99 %.1f us, "
      "max %.1f us, %llu errors\n",
      o.conns, o.size, r.rps, r.p50_us, r.p99_us, r.max_us, errors);
  std::printf(
      "RESULT mode=connrate conns=%d size=%zu duration=%.2f connections=%llu rps=%.1f "
      "mbps=%.3f p50_us=%.1f p99_us=%.1f max_us=%.1f errors=%llu\n",
      o.conns, o.size, o.duration, static_cast<unsigned long long>(st.done), r.rps, r.mbps,
      r.p50_us, r.p99_us, r.max_us, errors);
  return finish(0);
}

int do_udp(const Options& o) {
  Payload pl(o.size, o.expect, o.seed);
  u64 t0 = now_ns();
  Window w{t0 + s_to_ns(o.warmup), t0 + s_to_ns(o.warmup + o.duration)};
  int threads = o.threads;
  Stats st = run_workers<UdpWorker>(threads, [&](int k) {
    std::size_t b = split(static_cast<std::size_t>(o.conns), threads, k);
    std::size_t e = split(static_cast<std::size_t>(o.conns), threads, k + 1);
    return std::make_unique<UdpWorker>(o, pl, w, static_cast<int>(e - b), b);
  });
  u64 timeouts = st.resends + st.lost;
  Result r = summarize(st, o.duration);
  double loss =
      st.sent ? 100.0 * static_cast<double>(timeouts) / static_cast<double>(st.sent) : 0.0;
  if (st.done == 0) report_error("udp: no datagram answered in the measured window");
  unsigned long long errors = g_errors.load();
  std::printf(
      "udp: %d sockets, %zu B: %.0f datagrams/s, %.2f MB/s, p50 %.1f us, p99 %.1f us, "
      "sent %llu, answered %llu, resent %llu, lost %llu, late %llu, loss %.3f%%, %llu errors\n",
      o.conns, o.size, r.rps, r.mbps, r.p50_us, r.p99_us, static_cast<unsigned long long>(st.sent),
      static_cast<unsigned long long>(st.received), static_cast<unsigned long long>(st.resends),
      static_cast<unsigned long long>(st.lost), static_cast<unsigned long long>(st.late), loss,
      errors);
  std::printf(
      "RESULT mode=udp conns=%d size=%zu duration=%.2f rps=%.1f mbps=%.3f p50_us=%.1f "
      "p99_us=%.1f max_us=%.1f sent=%llu received=%llu resends=%llu lost=%llu late=%llu "
      "loss_pct=%.3f errors=%llu\n",
      o.conns, o.size, o.duration, r.rps, r.mbps, r.p50_us, r.p99_us, r.max_us,
      static_cast<unsigned long long>(st.sent), static_cast<unsigned long long>(st.received),
      static_cast<unsigned long long>(st.resends), static_cast<unsigned long long>(st.lost),
      static_cast<unsigned long long>(st.late), loss, errors);
  return finish(0);
}

// idle: open, hold, then every connection must still answer.
int do_idle(const Options& o) {
  Payload pl(o.size, o.expect, o.seed);
  long rss_base = read_rss_kb(o.pid);
  u64 t_open = now_ns();
  std::vector<int> fds = prime(o, pl, o.conns);
  double open_s = ns_to_s(now_ns() - t_open);
  long rss_held = read_rss_kb(o.pid);
  std::printf("READY opened=%zu\n", fds.size());
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.duration));
  long rss_after_hold = read_rss_kb(o.pid);

  // Check: one more exchange on every connection, all at once.
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<std::size_t> got(fds.size(), 0);
  std::vector<std::uint32_t> offs(fds.size());
  std::vector<char> buf(std::max<std::size_t>(o.size, 4096));
  std::size_t pending = 0, answered = 0;
  for (std::size_t i = 0; i < fds.size(); ++i) {
    offs[i] = pl.offset(i * 31 + 5);
    ssize_t w = send(fds[i], pl.send(offs[i]), o.size, MSG_NOSIGNAL);
    if (w != static_cast<ssize_t>(o.size)) {
      report_error("idle: connection %zu: send: %s", i + 1, w < 0 ? std::strerror(errno) : "short");
      continue;
    }
    epoll_set(ep, EPOLL_CTL_ADD, fds[i], EPOLLIN, i);
    ++pending;
  }
  u64 deadline = now_ns() + s_to_ns(o.timeout);
  std::vector<epoll_event> evs(1024);
  while (pending > 0 && now_ns() < deadline) {
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 50);
    for (int k = 0; k < n; ++k) {
      std::size_t i = static_cast<std::size_t>(evs[static_cast<std::size_t>(k)].data.u64);
      ssize_t r = read(fds[i], buf.data(), o.size - got[i]);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      bool bad = r <= 0;
      std::string why = r == 0 ? "closed by the server" : r < 0 ? std::strerror(errno) : "";
      if (!bad &&
          std::memcmp(buf.data(), pl.expect(offs[i]) + got[i], static_cast<std::size_t>(r)) != 0) {
        bad = true;
        why = "wrong reply '" + show(buf.data(), static_cast<std::size_t>(r)) + "'";
      }
      if (bad) {
        report_error("idle: connection %zu: %s", i + 1, why.c_str());
        epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], nullptr);
        --pending;
        continue;
      }
      got[i] += static_cast<std::size_t>(r);
      if (got[i] == o.size) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], nullptr);
        --pending;
        ++answered;
      }
    }
  }
  if (pending > 0)
    report_error("idle: %zu connections did not answer within %.1f s", pending, o.timeout);
  close(ep);
  for (int fd : fds) close(fd);
  int missing = o.conns - static_cast<int>(answered);
  unsigned long long errors = g_errors.load();
  if (missing > 0 && errors == 0) errors = static_cast<unsigned long long>(missing);
  double per_conn =
      (rss_base >= 0 && rss_held >= 0 && !fds.empty())
          ? static_cast<double>(rss_held - rss_base) * 1024.0 / static_cast<double>(fds.size())
          : -1;
  std::printf(
      "idle: %d conns: opened %zu in %.2f s, %zu answered after %.2f s; server VmRSS %ld kB "
      "before, %ld kB held (%.0f B per connection), %ld kB after the hold; %llu errors\n",
      o.conns, fds.size(), open_s, answered, o.duration, rss_base, rss_held, per_conn,
      rss_after_hold, errors);
  std::printf(
      "RESULT mode=idle conns=%d opened=%zu answered=%zu open_s=%.2f rss_base_kb=%ld "
      "rss_kb=%ld rss_after_kb=%ld rss_per_conn_b=%.0f rps=0 mbps=0 p50_us=0 p99_us=0 "
      "errors=%llu\n",
      o.conns, fds.size(), answered, open_s, rss_base, rss_held, rss_after_hold, per_conn, errors);
  return errors == 0 ? 0 : 1;
}

// True while process pid exists and is not a zombie.
bool process_alive(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  std::size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

int do_wait(const Options& o) {
  u64 deadline = now_ns() + s_to_ns(o.timeout);
  std::string why;
  while (now_ns() < deadline) {
    if (o.pid != 0 && !process_alive(o.pid)) {
      std::fprintf(stderr, "sockecho-loadgen: wait: process %d exited before %s:%d answered\n",
                   o.pid, o.host.c_str(), o.port);
      return 1;
    }
    if (!o.udp) {
      u64 step = std::min(deadline, now_ns() + u64{1'000'000'000});
      int fd = connect_tcp(step, why);
      if (fd >= 0 && o.tls && !tls_handshake(fd, step, why)) {
        close(fd);
        fd = -1;
      }
      if (fd >= 0) {
        close_conn(fd);
        return 0;
      }
    } else {
      int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd >= 0 && connect(fd, target(), sizeof g_addr) == 0) {
        const char ping[] = "ping";
        send(fd, ping, 4, 0);
        if (poll_one(fd, POLLIN, std::min(deadline, now_ns() + u64{200'000'000})) > 0) {
          char buf[64];
          ssize_t r = recv(fd, buf, sizeof buf, 0);
          if (r >= 0) {
            close(fd);
            return 0;
          }
          why = std::string("recv: ") + std::strerror(errno);
        } else {
          why = "no reply";
        }
      }
      if (fd >= 0) close(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::fprintf(stderr, "sockecho-loadgen: wait: %s:%d did not answer within %.1f s (%s)\n",
               o.host.c_str(), o.port, o.timeout, why.c_str());
  return 1;
}

int do_freeport() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (t < 0 || bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(t, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      std::perror("sockecho-loadgen: freeport");
      return 1;
    }
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok = u >= 0 && bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (u >= 0) close(u);
    close(t);
    if (ok) {
      std::printf("%d\n", ntohs(a.sin_port));
      return 0;
    }
  }
  std::fputs("sockecho-loadgen: freeport: no port free for both TCP and UDP\n", stderr);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_options(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  if (o.workload == Workload::freeport) return do_freeport();
  set_target(o);
  if (o.tls) tls_init();
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  switch (o.workload) {
    case Workload::echo:
      return do_echo(o);
    case Workload::udp:
      return do_udp(o);
    case Workload::connrate:
      return do_connrate(o);
    case Workload::idle:
      return do_idle(o);
    case Workload::wait:
      return do_wait(o);
    case Workload::freeport:
      break;
  }
  return 2;
}
