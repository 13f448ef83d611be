#include "net/sys.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "failpoint.h"
#include "net/address.h"
#include "net/fd.h"

using namespace sockecho::net;
using namespace std::chrono_literals;

namespace {

Fd checked(SysResult r) {
  REQUIRE(r.ok());
  return Fd(r.value);
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(port);
  return sin;
}

const sockaddr* sa(const sockaddr_in& sin) { return reinterpret_cast<const sockaddr*>(&sin); }

// A socket bound to 127.0.0.1 on a port the kernel picked; not listening.
Fd bound(int type, std::uint16_t& port) {
  Fd fd = checked(sys::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  sockaddr_in sin = loopback(0);
  REQUIRE(sys::bind(fd.get(), sa(sin), sizeof sin).ok());
  port = Address::local_of(fd.get()).port();
  return fd;
}

struct Pair {
  Fd a, b;
};

Pair socket_pair(int type = SOCK_STREAM) {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) == 0);
  return {Fd(fds[0]), Fd(fds[1])};
}

}  // namespace

TEST_CASE("net::sys wrappers return the errno as a value") {
  SysResult r = sys::fcntl(-1, F_GETFL);
  CHECK_FALSE(r.ok());
  CHECK(r.error == EBADF);
  CHECK(r.value == -1);

  std::uint16_t port = 0;
  Fd first = bound(SOCK_STREAM, port);
  Fd second = checked(sys::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in same = loopback(port);
  CHECK(sys::bind(second.get(), sa(same), sizeof same).error == EADDRINUSE);

  // Bound but not listening: a blocking connect is refused at once.
  Fd client = checked(sys::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  CHECK(sys::connect(client.get(), sa(same), sizeof same).error == ECONNREFUSED);

  IoResult io = recv_some(-1, std::span<char>());
  CHECK(io.status == IoStatus::error);
  CHECK(io.error == EBADF);
}

TEST_CASE("net::sys::poll waits its timeout and reports readiness") {
  Pair p = socket_pair();
  pollfd pfd{p.a.get(), POLLIN, 0};
  auto start = std::chrono::steady_clock::now();
  SysResult none = sys::poll(&pfd, 1, 30);
  CHECK(none.ok());
  CHECK(none.value == 0);
  CHECK(std::chrono::steady_clock::now() - start >= 30ms);

  REQUIRE(send_some(p.b.get(), std::string_view("x")).bytes == 1);
  SysResult one = sys::poll(&pfd, 1, 1000);
  CHECK(one.value == 1);
  char c = 0;
  IoResult got = read_some(p.a.get(), {&c, 1});
  CHECK(got.ok());
  CHECK(c == 'x');
}

TEST_CASE("net::recv_datagram takes empty and cut datagrams and says who sent them") {
  std::uint16_t server_port = 0, client_port = 0;
  Fd server = bound(SOCK_DGRAM, server_port);
  Fd client = bound(SOCK_DGRAM, client_port);
  sockaddr_in to = loopback(server_port);
  CHECK(send_datagram(client.get(), std::string_view(), sa(to), sizeof to).ok());
  CHECK(send_datagram(client.get(), std::string_view("0123456789"), sa(to), sizeof to).bytes == 10);

  char buf[4];
  Address peer;
  IoResult empty = recv_datagram(server.get(), buf, peer.get_mutable(), peer.size_mutable());
  CHECK(empty.ok());
  CHECK(empty.bytes == 0);
  CHECK(peer.port() == client_port);
  IoResult cut = recv_datagram(server.get(), buf, nullptr, nullptr);
  CHECK(cut.ok());
  CHECK(cut.bytes == 10);  // its full size: the caller sees it was cut to 4
  CHECK(std::string(buf, 4) == "0123");
}

TEST_CASE("net::sys::connect and wrappers for fds, signals and files work untouched") {
  Fd ev = checked(sys::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  Fd ep = checked(sys::epoll_create1(EPOLL_CLOEXEC));
  epoll_event event{};
  event.events = EPOLLIN;
  CHECK(sys::epoll_ctl(ep.get(), EPOLL_CTL_ADD, ev.get(), &event).ok());
  epoll_event out[1];
  CHECK(sys::epoll_wait(ep.get(), out, 1, 0).value == 0);
  CHECK(sys::epoll_ctl(ep.get(), EPOLL_CTL_ADD, ev.get(), &event).error == EEXIST);

  sigset_t none;
  sigemptyset(&none);
  Fd sfd = checked(sys::signalfd(-1, &none, SFD_CLOEXEC));
  CHECK(sys::sigprocmask(SIG_BLOCK, &none, nullptr).ok());

  struct stat st {};
  CHECK(sys::lstat("/nonexistent-sockecho-path", &st).error == ENOENT);
  CHECK(sys::unlink("/nonexistent-sockecho-path").error == ENOENT);
  Fd null = checked(sys::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

#ifdef SOCKECHO_FAULTS

using sockecho::test::Failpoint;

namespace {

// One call of a wrapper, reduced to the errno it failed with (0: it worked).
struct Call {
  const char* failpoint;
  int default_errno;
  std::function<int()> run;
};

int io_error(IoResult r) { return r.status == IoStatus::error ? r.error : 0; }

}  // namespace

TEST_CASE("net::sys fails each wrapper with the failpoint's errno, or its default") {
  Pair p = socket_pair();
  Pair d = socket_pair(SOCK_DGRAM);
  REQUIRE(send_some(p.b.get(), std::string_view("data")).ok());
  char buf[16];
  std::uint16_t port = 0;
  Fd udp = bound(SOCK_DGRAM, port);
  sockaddr_in here = loopback(port);
  Fd ep = checked(sys::epoll_create1(EPOLL_CLOEXEC));
  epoll_event event{};
  event.events = EPOLLIN;
  int flag = 1;
  socklen_t flag_len = sizeof flag;
  sigset_t none;
  sigemptyset(&none);
  struct stat st {};

  // The defaults here are the ones documented in sys.h and docs/FAULTS.md.
  std::vector<Call> calls = {
      {"net/socket", EMFILE, [] { return sys::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0).error; }},
      {"net/accept4", EMFILE, [&] { return sys::accept4(p.a.get(), nullptr, nullptr, 0).error; }},
      {"net/bind", EADDRINUSE, [&] { return sys::bind(udp.get(), sa(here), sizeof here).error; }},
      {"net/listen", EADDRINUSE, [&] { return sys::listen(udp.get(), 1).error; }},
      {"net/connect", ECONNREFUSED,
       [&] { return sys::connect(udp.get(), sa(here), sizeof here).error; }},
      {"net/shutdown", ENOTCONN, [&] { return sys::shutdown(p.a.get(), SHUT_RD).error; }},
      {"net/getsockname", ENOBUFS,
       [&] {
         Address a;
         return sys::getsockname(udp.get(), a.get_mutable(), a.size_mutable()).error;
       }},
      {"net/getpeername", ENOTCONN,
       [&] {
         Address a;
         return sys::getpeername(p.a.get(), a.get_mutable(), a.size_mutable()).error;
       }},
      {"net/getsockopt", ENOPROTOOPT,
       [&] { return sys::getsockopt(udp.get(), SOL_SOCKET, SO_ERROR, &flag, &flag_len).error; }},
      {"net/setsockopt", ENOPROTOOPT,
       [&] { return sys::setsockopt(udp.get(), SOL_SOCKET, SO_REUSEADDR, &flag, sizeof flag).error; }},
      {"net/ioctl", EINVAL, [&] { return sys::ioctl(p.a.get(), FIONREAD, &flag).error; }},
      {"net/fcntl", EBADF, [&] { return sys::fcntl(p.a.get(), F_GETFL).error; }},
      {"net/poll", ENOMEM,
       [&] {
         pollfd pfd{p.a.get(), POLLIN, 0};
         return sys::poll(&pfd, 1, 0).error;
       }},
      {"net/epoll_create1", EMFILE,
       [] {
         SysResult r = sys::epoll_create1(EPOLL_CLOEXEC);
         Fd owner(r.ok() ? r.value : -1);
         return r.error;
       }},
      {"net/epoll_ctl", ENOMEM,
       [&] { return sys::epoll_ctl(ep.get(), EPOLL_CTL_MOD, p.a.get(), &event).error; }},
      {"net/epoll_wait", ENOMEM,
       [&] {
         epoll_event out[1];
         return sys::epoll_wait(ep.get(), out, 1, 0).error;
       }},
      {"net/eventfd", EMFILE,
       [] {
         SysResult r = sys::eventfd(0, EFD_CLOEXEC);
         Fd owner(r.ok() ? r.value : -1);
         return r.error;
       }},
      {"net/signalfd", EMFILE,
       [&] {
         SysResult r = sys::signalfd(-1, &none, SFD_CLOEXEC);
         Fd owner(r.ok() ? r.value : -1);
         return r.error;
       }},
      {"net/sigprocmask", EINVAL, [&] { return sys::sigprocmask(SIG_BLOCK, &none, nullptr).error; }},
      {"net/open", EMFILE,
       [] {
         SysResult r = sys::open("/dev/null", O_RDONLY | O_CLOEXEC);
         Fd owner(r.ok() ? r.value : -1);
         return r.error;
       }},
      {"net/lstat", EACCES, [&] { return sys::lstat("/dev/null", &st).error; }},
      {"net/unlink", EACCES, [] { return sys::unlink("/nonexistent-sockecho-path").error; }},
      {"net/chmod", EPERM, [] { return sys::chmod("/nonexistent-sockecho-path", 0600).error; }},
      {"net/read", EIO, [&] { return io_error(read_some(p.a.get(), buf)); }},
      {"net/recv", ECONNRESET, [&] { return io_error(recv_some(p.a.get(), buf)); }},
      {"net/send", EPIPE, [&] { return io_error(send_some(p.a.get(), std::string_view("x"))); }},
      {"net/write", EPIPE, [&] { return io_error(write_some(p.a.get(), std::string_view("x"))); }},
      {"net/recvfrom", ENOMEM,
       [&] { return io_error(recv_datagram(d.a.get(), buf, nullptr, nullptr)); }},
      {"net/sendto", ENOBUFS,
       [&] { return io_error(send_datagram(d.a.get(), std::string_view("x"), nullptr, 0)); }},
  };
  for (const Call& c : calls) {
    INFO(c.failpoint);
    {
      Failpoint fp(c.failpoint, ENOTRECOVERABLE);
      CHECK(c.run() == ENOTRECOVERABLE);
      CHECK(c.run() == ENOTRECOVERABLE);  // enabled stays enabled
    }
    {
      Failpoint fp(c.failpoint, 0);
      CHECK(c.run() == c.default_errno);
    }
  }
  // And the buffer pool's: no syscall, just a yes or no.
  CHECK_FALSE(fault_alloc());
  {
    Failpoint fp("alloc/buffer", 0);
    CHECK(fault_alloc());
  }
  CHECK_FALSE(fault_alloc());
}

TEST_CASE("net::sys retries an injected EINTR and the call then succeeds") {
  Pair p = socket_pair();
  REQUIRE(send_some(p.b.get(), std::string_view("ok")).ok());
  char buf[8];
  {
    auto fp = Failpoint::once("net/recv", EINTR);
    IoResult r = recv_some(p.a.get(), buf);
    CHECK(r.ok());
    CHECK(std::string(buf, r.bytes) == "ok");
  }
  {
    auto fp = Failpoint::once("net/send", EINTR);
    CHECK(send_some(p.a.get(), std::string_view("back")).bytes == 4);
  }
  {
    auto fp = Failpoint::once("net/socket", EINTR);
    SysResult r = sys::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    Fd owner(r.value);
    CHECK(r.ok());
  }
  {
    // A wait keeps its deadline across the retry.
    auto fp = Failpoint::once("net/poll", EINTR);
    pollfd pfd{p.b.get(), POLLIN, 0};
    SysResult r = sys::poll(&pfd, 1, 1000);
    CHECK(r.value == 1);
  }
  {
    // EINTR for 30% of calls: every call still ends in success.
    Failpoint fp("net/fcntl", EINTR, sockecho::test::Probability{0.3f});
    for (int i = 0; i < 50; ++i) CHECK(sys::fcntl(p.a.get(), F_GETFL).ok());
  }
}

TEST_CASE("net::sys::connect reports an interrupted connect as in progress, not retried") {
  std::uint16_t port = 0;
  Fd udp = bound(SOCK_DGRAM, port);
  sockaddr_in here = loopback(port);
  auto fp = Failpoint::once("net/connect", EINTR);
  CHECK(sys::connect(udp.get(), sa(here), sizeof here).error == EINPROGRESS);
  CHECK(sys::connect(udp.get(), sa(here), sizeof here).ok());
}

TEST_CASE("net::sys onetime failpoints fail exactly once; random ones sometimes") {
  {
    auto fp = Failpoint::once("net/fcntl", ENFILE);
    CHECK(sys::fcntl(0, F_GETFD).error == ENFILE);
    CHECK(sys::fcntl(0, F_GETFD).ok());
    CHECK(sys::fcntl(0, F_GETFD).ok());
  }
  {
    Failpoint fp("net/fcntl", ENFILE, sockecho::test::Probability{0.5f});
    int failed = 0;
    for (int i = 0; i < 200; ++i) failed += sys::fcntl(0, F_GETFD).error == ENFILE ? 1 : 0;
    CHECK(failed > 0);
    CHECK(failed < 200);
  }
  CHECK(sys::fcntl(0, F_GETFD).ok());  // disabled with its scope
}

TEST_CASE("net::sys failpoint names take a wildcard: net/* fails every wrapper") {
  Failpoint fp("net/*", EACCES);
  CHECK(sys::fcntl(0, F_GETFD).error == EACCES);
  CHECK(sys::socket(AF_INET, SOCK_STREAM, 0).error == EACCES);
  CHECK_FALSE(fault_alloc());  // alloc/ is another family
}

#endif  // SOCKECHO_FAULTS
