#include "system_error_of.h"
#include "net/socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <string_view>
#include <system_error>

#include "failpoint.h"
#include "net/sys.h"

using namespace sockecho::net;
using sockecho::test::error_of;

namespace {

Address loopback4(std::uint16_t port) {
  Address a = resolve("127.0.0.1", port, Family::v4, SockType::stream).front();
  return a;
}

bool ipv6_loopback() {
  SysResult r = sys::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (!r.ok()) return false;
  Fd fd(r.value);
  Address a = resolve("::1", 0, Family::v6, SockType::stream).front();
  return sys::bind(fd.get(), a.get(), a.size()).ok();
}

// A connected pair over 127.0.0.1: (client, accepted).
struct Connection {
  Fd listener, client, server;
};

Connection connect_loopback() {
  Connection c;
  c.listener = open_listener(loopback4(0), SockType::stream, {});
  Address at = Address::local_of(c.listener.get());
  c.client = open_socket(AF_INET, SockType::stream);
  SysResult r = sys::connect(c.client.get(), at.get(), at.size());
  REQUIRE((r.ok() || r.error == EINPROGRESS));
  pollfd p{c.listener.get(), POLLIN, 0};
  REQUIRE(sys::poll(&p, 1, 5000).value == 1);
  SysResult s = sys::accept4(c.listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  REQUIRE(s.ok());
  c.server.reset(s.value);
  pollfd w{c.client.get(), POLLOUT, 0};
  REQUIRE(sys::poll(&w, 1, 5000).value == 1);
  return c;
}

}  // namespace

TEST_CASE("net::open_listener binds port 0 to a free port and listens") {
  Fd fd = open_listener(loopback4(0), SockType::stream, {});
  Address local = Address::local_of(fd.get());
  CHECK(local.port() != 0);
  CHECK(local.host() == "127.0.0.1");
  Fd client = open_socket(AF_INET, SockType::stream);
  SysResult r = sys::connect(client.get(), local.get(), local.size());
  CHECK((r.ok() || r.error == EINPROGRESS));
  CHECK((sys::fcntl(fd.get(), F_GETFL).value & O_NONBLOCK) != 0);
  CHECK((sys::fcntl(fd.get(), F_GETFD).value & FD_CLOEXEC) != 0);
}

TEST_CASE("net::open_listener: a port in use is an error naming the address") {
  for (SockType type : {SockType::stream, SockType::datagram}) {
    Fd first = open_listener(loopback4(0), type, {});
    std::uint16_t port = Address::local_of(first.get()).port();
    std::string what;
    int err = error_of([&] { open_listener(loopback4(port), type, {}); }, what);
    CHECK(err == EADDRINUSE);
    CHECK(what.find("bind 127.0.0.1:" + std::to_string(port)) == 0);
  }
}

TEST_CASE("net::open_listener sets IPV6_V6ONLY as asked") {
  if (!ipv6_loopback()) {
    WARN("::1 is not available: skipped");
    return;
  }
  // Linux makes any socket bound to a specific IPv6 address v6-only, so the flag shows on
  // the IPv4-mapped loopback address: only a dual-stack socket may bind it.
  Address mapped = resolve("::ffff:127.0.0.1", 0, Family::v6, SockType::stream).front();
  ListenOptions dual;
  Fd fd = open_listener(mapped, SockType::stream, dual);
  int value = -1;
  socklen_t len = sizeof value;
  REQUIRE(sys::getsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &value, &len).ok());
  CHECK(value == 0);
  // ... and an IPv4 client reaches it.
  Address v4 = loopback4(Address::local_of(fd.get()).port());
  Fd client = open_socket(AF_INET, SockType::stream);
  SysResult r = sys::connect(client.get(), v4.get(), v4.size());
  CHECK((r.ok() || r.error == EINPROGRESS));

  ListenOptions v6only;
  v6only.v6only = true;
  std::string what;
  CHECK(error_of([&] { open_listener(mapped, SockType::stream, v6only); }, what) == EINVAL);
}

TEST_CASE("net::queued_in and queued_out say what the kernel holds") {
  Connection c = connect_loopback();
  CHECK(queued_in(c.server.get()) == 0);
  REQUIRE(send_some(c.client.get(), std::string_view("hello")).bytes == 5);
  pollfd p{c.server.get(), POLLIN, 0};
  REQUIRE(sys::poll(&p, 1, 5000).value == 1);
  CHECK(queued_in(c.server.get()) == 5);
  CHECK(queued_out(c.server.get()) == 0);  // nothing sent, nothing unacknowledged
  CHECK(queued_in(-1) == 0);               // the kernel will not say: 0
  CHECK(queued_out(-1) == 0);
}

TEST_CASE("net::tcp_stats reads TCP_INFO of a TCP connection only") {
  Connection c = connect_loopback();
  std::optional<TcpStats> stats = tcp_stats(c.client.get());
  REQUIRE(stats);
  CHECK(stats->cwnd > 0);
  Fd udp = open_socket(AF_INET, SockType::datagram);
  CHECK_FALSE(tcp_stats(udp.get()));
  CHECK_FALSE(tcp_stats(-1));
}

TEST_CASE("net::pending_error reports how a non-blocking connect ended, once") {
  Fd closed = open_listener(loopback4(0), SockType::datagram, {});  // a port with no TCP listener
  Address at = loopback4(Address::local_of(closed.get()).port());
  Fd client = open_socket(AF_INET, SockType::stream);
  SysResult r = sys::connect(client.get(), at.get(), at.size());
  if (!r.ok() && r.error == EINPROGRESS) {
    pollfd p{client.get(), POLLOUT, 0};
    REQUIRE(sys::poll(&p, 1, 5000).value == 1);
    CHECK(pending_error(client.get()) == ECONNREFUSED);
  } else {
    CHECK(r.error == ECONNREFUSED);
  }
  CHECK(pending_error(client.get()) == 0);  // SO_ERROR is cleared by reading it
  CHECK(pending_error(-1) == EBADF);
}

#ifdef SOCKECHO_FAULTS

using sockecho::test::Failpoint;

TEST_CASE("net::open_listener turns each failing setup call into an error with context") {
  struct Case {
    const char* failpoint;
    int error;
    std::string_view what;
  };
  for (const Case& c : {Case{"net/socket", EMFILE, "socket"},
                        Case{"net/setsockopt", ENOPROTOOPT, "SO_REUSEADDR"},
                        Case{"net/bind", EACCES, "bind 127.0.0.1:0"},
                        Case{"net/listen", ENOBUFS, "listen 127.0.0.1:0"}}) {
    INFO(c.failpoint);
    Failpoint fp(c.failpoint, c.error);
    std::string what;
    CHECK(error_of([] { open_listener(loopback4(0), SockType::stream, {}); }, what) == c.error);
    CHECK(what.find(c.what) == 0);
  }
}

TEST_CASE("net::queued_in, tcp_stats and pending_error when the kernel call fails") {
  Connection c = connect_loopback();
  REQUIRE(send_some(c.client.get(), std::string_view("hello")).bytes == 5);
  pollfd p{c.server.get(), POLLIN, 0};
  REQUIRE(sys::poll(&p, 1, 5000).value == 1);
  {
    Failpoint fp("net/ioctl", EINVAL);
    CHECK(queued_in(c.server.get()) == 0);
  }
  CHECK(queued_in(c.server.get()) == 5);
  Failpoint fp("net/getsockopt", ENOBUFS);
  CHECK_FALSE(tcp_stats(c.client.get()));
  CHECK(pending_error(c.client.get()) == ENOBUFS);
}

#endif  // SOCKECHO_FAULTS
