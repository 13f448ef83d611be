#include "net/relay.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "net/sys.h"
#include "scripted_stream.h"

using namespace sockecho::net;
using namespace sockecho::net::testing;
using namespace std::chrono_literals;

namespace {

// The relay's stream over a socketpair; the test plays the server on the other end by
// putting its whole reply in the socket before the relay runs.
struct Fixture {
  Fd server;
  std::unique_ptr<ScriptedStream> stream;
  Fd out_read, out_write;  // the relay's stdout, a pipe

  Fixture() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    stream = std::make_unique<ScriptedStream>(Fd(sv[0]));
    server = Fd(sv[1]);
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
    out_read = Fd(p[0]);
    out_write = Fd(p[1]);
  }

  void server_says(std::string_view reply, bool then_close) {
    REQUIRE(write_all(server.get(), reply).ok());
    if (then_close) ::shutdown(server.get(), SHUT_WR);
  }

  static std::string drain(int fd) {
    std::string s;
    char buf[4096];
    for (IoResult r; (r = read_some(fd, buf)).ok();) s.append(buf, r.bytes);
    return s;
  }

  RelayResult run(const std::string& input, RelayOptions o = {}) {
    return relay(-1, input, *stream, out_write.get(), o);
  }
};

}  // namespace

TEST_CASE("net::relay sends the input, half-closes, and copies the reply until EOF") {
  Fixture f;
  f.server_says("HELLO\n", true);
  RelayResult r = f.run("hello\n");
  CHECK(r.end == RelayEnd::peer_closed);
  CHECK(r.failed == RelayStep::none);
  CHECK(r.sent == 6);
  CHECK(r.received == 6);
  CHECK(Fixture::drain(f.out_read.get()) == "HELLO\n");
  CHECK(Fixture::drain(f.server.get()) == "hello\n");
  char c;
  CHECK(recv_some(f.server.get(), {&c, 1}).status == IoStatus::eof);  // the half-close came
}

TEST_CASE("net::relay names the side that failed: send") {
  Fixture f;
  f.stream->writes = {failed(ENOBUFS)};
  RelayResult r = f.run("hello\n");
  CHECK(r.end == RelayEnd::failed);
  CHECK(r.failed == RelayStep::send);
  CHECK(r.error == ENOBUFS);
}

TEST_CASE("net::relay names the side that failed: receive") {
  Fixture f;
  f.server_says("x", false);
  f.stream->reads = {failed(ECONNRESET)};
  RelayResult r = f.run("");
  CHECK(r.failed == RelayStep::receive);
  CHECK(r.error == ECONNRESET);
}

TEST_CASE("net::relay names the side that failed: write output") {
  Fixture f;
  ::signal(SIGPIPE, SIG_IGN);  // as app_main does
  f.out_read.reset();
  f.server_says("REPLY", true);
  RelayResult r = f.run("");
  CHECK(r.failed == RelayStep::write_output);
  CHECK(r.error == EPIPE);
}

TEST_CASE("net::relay retries a blocked write and a blocked half-close as the stream asks") {
  Fixture f;
  f.stream->writes = {wants(IoStatus::want_read), wants(IoStatus::want_write)};
  f.stream->shutdowns = {wants(IoStatus::want_write)};
  f.server_says("OK", false);  // readable, for the write that wants readable
  RelayOptions o;
  o.drain_timeout = 200ms;
  RelayResult r = f.run("data", o);
  CHECK(r.sent == 4);
  CHECK(Fixture::drain(f.server.get()) == "data");
  char c;
  CHECK(recv_some(f.server.get(), {&c, 1}).status == IoStatus::eof);
  CHECK(r.end == RelayEnd::drain_timeout);  // the server never closed
}

TEST_CASE("net::relay ends after the drain timeout of silence when the peer never closes") {
  Fixture f;
  RelayOptions o;
  o.drain_timeout = 100ms;
  auto start = std::chrono::steady_clock::now();
  RelayResult r = f.run("x", o);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.end == RelayEnd::drain_timeout);
  CHECK(took >= 100ms);
  CHECK(took < 5s);  // does not hang
}

TEST_CASE("net::relay still delivers the input when the peer finished sending first") {
  Fixture f;
  f.server_says("EARLY\n", true);  // reply and FIN are there before any input is read
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  Fd in_read(p[0]), in_write(p[1]);
  REQUIRE(write_all(in_write.get(), std::string_view("late input\n")).ok());
  in_write.reset();
  RelayResult r = relay(in_read.get(), "", *f.stream, f.out_write.get(), RelayOptions{});
  CHECK(r.end == RelayEnd::peer_closed);
  CHECK(r.sent == 11);
  CHECK(Fixture::drain(f.out_read.get()) == "EARLY\n");
  CHECK(Fixture::drain(f.server.get()) == "late input\n");
}

// Honest delivery: the kernel's count of bytes the peer has not acknowledged is faked, so
// that a peer whose traffic is dropped (nothing ever acknowledged) needs no firewall.
TEST_CASE("net::relay gives up on bytes the peer never acknowledges, counting them") {
  Fixture f;
  RelayOptions o;
  o.drain_timeout = 100ms;
  int calls = 0;
  o.kernel_unacknowledged = [&] {
    ++calls;
    return std::uint64_t{7};  // "hello\n" and the FIN, for ever
  };
  auto start = std::chrono::steady_clock::now();
  RelayResult r = f.run("hello\n", o);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.end == RelayEnd::unacknowledged);
  CHECK(r.unacknowledged == 6);  // the FIN is no input byte
  CHECK(took >= 100ms);
  CHECK(took < 5s);
  CHECK(calls > 1);  // looked at again while waiting
}

TEST_CASE("net::relay caps the kernel's count at the bytes sent (TLS records are larger)") {
  Fixture f;
  RelayOptions o;
  o.drain_timeout = 50ms;
  o.kernel_unacknowledged = [] { return std::uint64_t{500}; };
  RelayResult r = f.run("abc", o);
  CHECK(r.end == RelayEnd::unacknowledged);
  CHECK(r.unacknowledged == 3);
}

TEST_CASE("net::relay keeps waiting while acknowledgements make progress") {
  Fixture f;
  RelayOptions o;
  o.drain_timeout = 100ms;
  // Drains one byte every 10 ms poll or so: 40 bytes take several drain timeouts in all,
  // but never one without progress.
  std::uint64_t queued = 41;
  o.kernel_unacknowledged = [&] { return queued > 0 ? queued-- : 0; };
  RelayResult r = f.run(std::string(40, 'x'), o);
  CHECK(r.end == RelayEnd::drain_timeout);  // then silence, with everything acknowledged
  CHECK(queued == 0);
}

TEST_CASE("net::relay waits for the acknowledgement when the peer closed first") {
  Fixture f;
  f.server_says("BYE\n", true);
  RelayOptions o;
  o.drain_timeout = 2s;
  int polls = 0;
  o.kernel_unacknowledged = [&] { return ++polls < 5 ? std::uint64_t{4} : std::uint64_t{0}; };
  RelayResult r = f.run("bye\n", o);
  CHECK(r.end == RelayEnd::peer_closed);
  CHECK(polls >= 5);
  CHECK(r.unacknowledged == 0);
}

TEST_CASE("net::relay ends a write that makes no progress after the drain timeout") {
  Fixture f;  // the server end never reads: the socket buffers fill and writes block
  RelayOptions o;
  o.drain_timeout = 200ms;
  const std::string input(8 << 20, 'x');
  auto start = std::chrono::steady_clock::now();
  RelayResult r = f.run(input, o);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.end == RelayEnd::unacknowledged);
  CHECK(r.sent > 0);
  CHECK(r.sent < input.size());
  CHECK(r.unacknowledged == input.size() - r.sent);  // no kernel count: what was not written
  CHECK(took >= 200ms);
  CHECK(took < 5s);
}

TEST_CASE("net::relay with a closed output drops the rest and half-closes without a reset") {
  Fixture f;
  ::signal(SIGPIPE, SIG_IGN);
  f.out_read.reset();
  f.server_says("REPLY\n", false);
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  Fd in_read(p[0]), in_write(p[1]);
  REQUIRE(write_all(in_write.get(), std::string_view("more\n")).ok());  // input not ended
  RelayOptions o;
  o.drain_timeout = 5s;
  auto start = std::chrono::steady_clock::now();
  std::thread server([&] {
    // The server sees our end of data, then closes: the relay must end at once.
    std::string got;
    char buf[256];
    for (;;) {
      pollfd pfd{f.server.get(), POLLIN, 0};
      ::poll(&pfd, 1, 5000);
      IoResult r = recv_some(f.server.get(), buf);
      if (!r.ok()) break;
      got.append(buf, r.bytes);
    }
    ::shutdown(f.server.get(), SHUT_WR);
  });
  RelayResult r = relay(in_read.get(), "", *f.stream, f.out_write.get(), o);
  server.join();
  CHECK(r.failed == RelayStep::write_output);
  CHECK(r.error == EPIPE);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
}

TEST_CASE("net::relay --crlf sends each LF as CRLF and a CRLF as one") {
  Fixture f;
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  Fd in_read(p[0]), in_write(p[1]);
  REQUIRE(write_all(in_write.get(), std::string_view("a\nb\r\n")).ok());
  in_write.reset();
  f.server_says("", true);
  RelayOptions o;
  o.crlf = true;
  RelayResult r = relay(in_read.get(), "", *f.stream, f.out_write.get(), o);
  CHECK(r.end == RelayEnd::peer_closed);
  CHECK(r.sent == 6);
  CHECK(Fixture::drain(f.server.get()) == "a\r\nb\r\n");
}
