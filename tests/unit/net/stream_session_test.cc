#include "net/stream_session.h"

#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "net/sys.h"
#include "net/tls_context.h"
#include "scripted_stream.h"

using namespace sockecho::net;
using namespace std::chrono_literals;
using namespace sockecho::net::testing;

namespace {

struct Fixture {
  EventLoop loop;
  ServiceOptions options;
  std::vector<ServiceEvent> events;
  SessionContext ctx{loop, options, Address::ipv4_any(0), 4096,
                     [this](const ServiceEvent& e) { events.push_back(e); }};
  Fd peer;  // the client's end
  ScriptedStream* stream = nullptr;
  std::unique_ptr<StreamSession> session;
  int closed_calls = 0;

  Fixture() {
    options.proto = Proto::unix_stream;
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    peer = Fd(sv[1]);
    auto s = std::make_unique<ScriptedStream>(Fd(sv[0]));
    stream = s.get();
    ctx.on_closed = [this](StreamSession*) { ++closed_calls; };
    session = std::make_unique<StreamSession>(ctx, std::move(s), Peer{});
  }

  // Runs the loop for a while: long enough for loopback, short for a test.
  void spin(std::chrono::milliseconds d = 50ms) {
    loop.add_timer(d, [this] { loop.stop(); });
    loop.run();
  }

  void send(std::string_view s) { REQUIRE(write_all(peer.get(), s).ok()); }

  std::string received() {
    std::string out;
    char buf[4096];
    for (;;) {
      IoResult r = recv_some(peer.get(), buf);
      if (!r.ok()) break;
      out.append(buf, r.bytes);
    }
    return out;
  }

  bool peer_at_eof() {
    char c;
    return recv_some(peer.get(), {&c, 1}).status == IoStatus::eof;
  }

  template <typename T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (const auto& e : events)
      if (auto* p = std::get_if<T>(&e)) out.push_back(*p);
    return out;
  }
};

}  // namespace

TEST_CASE("net::StreamSession serves a plain stream: established at once, replies as data comes") {
  Fixture f;
  f.session->start();
  CHECK(f.all<AcceptEvent>().size() == 1);
  f.send("hello");
  f.spin();
  CHECK(f.received() == "HELLO");
  CHECK(f.closed_calls == 0);
}

TEST_CASE("net::StreamSession reports each line as a message, with its exact bytes") {
  Fixture f;
  f.options.report_messages = true;
  f.session->start();
  f.send(std::string("hi\r\nyo\n\0\0", 9));  // one write: one read on a socketpair
  f.spin();
  CHECK(f.received() == std::string("HI\r\nYO\n\0\0", 9));
  std::vector<MessageEvent> m = f.all<MessageEvent>();
  REQUIRE(m.size() == 2);  // the NUL padding after the last newline is no message of its own
  CHECK(m[0].proto == Proto::unix_stream);
  CHECK((m[0].data == "hi\r\n" && m[0].reply == "HI\r\n"));
  CHECK((m[1].data == "yo\n" && m[1].reply == "YO\n"));
}

TEST_CASE("net::StreamSession reports ESTABLISHED only once the handshake is done") {
  Fixture f;
  f.stream->handshakes = {wants(IoStatus::want_read), wants(IoStatus::want_write), IoResult{}};
  f.session->start();  // first turn: wants readable, and nothing has come yet
  f.spin(20ms);
  CHECK(f.all<AcceptEvent>().empty());
  f.send("x");  // readable: the second turn wants writable (at once), the third is done
  f.spin();
  CHECK(f.all<AcceptEvent>().size() == 1);
  CHECK(f.received() == "X");
}

TEST_CASE("net::StreamSession retries a read that wanted writable when it is") {
  Fixture f;
  f.stream->reads = {wants(IoStatus::want_write)};  // as SSL_read may during a key update
  f.session->start();
  f.send("abc");
  f.spin();
  CHECK(f.received() == "ABC");
  CHECK(f.stream->reads.empty());
}

TEST_CASE("net::StreamSession closes on a failed write with its errno, and only once") {
  Fixture f;
  f.stream->writes = {failed(ENOMEM)};
  f.session->start();
  f.send("hi");
  f.spin();
  auto closed = f.all<CloseEvent>();
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].reason == CloseReason::error);
  CHECK(closed[0].error == ENOMEM);
  CHECK(closed[0].rx == 2);
  CHECK(f.closed_calls == 1);
  CHECK(f.session->closed());
  CHECK(f.peer_at_eof());
  CHECK(f.ctx.stats.errors == 1);
}

TEST_CASE("net::StreamSession calls a reset a reset, not an error") {
  Fixture f;
  f.stream->reads = {failed(ECONNRESET)};
  f.session->start();
  f.send("hi");
  f.spin();
  auto closed = f.all<CloseEvent>();
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].reason == CloseReason::reset);
  CHECK(f.ctx.stats.errors == 0);
}

TEST_CASE("net::StreamSession closes a client whose handshake fails, with no ESTABLISHED") {
  Fixture f;
  f.stream->handshakes = {failed(EPROTO)};
  f.session->start();
  CHECK(f.all<AcceptEvent>().empty());
  auto closed = f.all<CloseEvent>();
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].reason == CloseReason::tls);
  CHECK(closed[0].error == EPROTO);
}

TEST_CASE("net::StreamSession: a call failing during the handshake is an error or a reset, not tls") {
  for (auto [err, reason] : {std::pair{ENOMEM, CloseReason::error}, {ENOBUFS, CloseReason::error},
                             {ECONNRESET, CloseReason::reset}}) {
    Fixture f;
    f.stream->handshakes = {wants(IoStatus::want_read), failed(err)};
    f.session->start();
    f.send("x");
    f.spin();
    auto closed = f.all<CloseEvent>();
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].reason == reason);
    CHECK(closed[0].error == err);
    CHECK(f.ctx.stats.errors == (reason == CloseReason::error ? 1u : 0u));
    CHECK(f.all<AcceptEvent>().empty());
  }
}

TEST_CASE("net::StreamSession counts idle time from the end of a slow handshake") {
  Fixture f;
  f.options.tls = TlsContext::server(TlsConfig{}, {"localhost"});  // for its timers only
  f.options.handshake_timeout = 10s;
  f.options.idle_timeout = 100ms;
  f.stream->handshakes = {wants(IoStatus::want_read), IoResult{}};
  f.session->start();
  f.spin(150ms);  // a handshake slower than the idle timeout
  f.send("x");    // its end; the client's first data comes right behind
  f.spin(30ms);
  CHECK(f.all<AcceptEvent>().size() == 1);
  CHECK(f.received() == "X");
  CHECK_FALSE(f.peer_at_eof());  // served, not ended as idle
  f.spin(150ms);
  CHECK(f.peer_at_eof());  // idle now: our end of data, then lingering until the client closes
  f.peer.reset();
  f.spin();
  auto closed = f.all<CloseEvent>();
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].reason == CloseReason::idle);
}

TEST_CASE("net::StreamSession retries ending its side when the stream blocks, then lingers") {
  Fixture f;
  f.stream->shutdowns = {wants(IoStatus::want_write)};  // a close_notify that did not fit
  f.session->start();
  f.send("bye\nexit");
  f.spin();
  CHECK(f.received() == "BYE\n");
  CHECK(f.stream->shutdowns.empty());
  CHECK(f.peer_at_eof());                 // our end of data reached the client
  CHECK(f.all<CloseEvent>().empty());     // lingering until the client closes too
  f.peer.reset();
  f.spin();
  auto closed = f.all<CloseEvent>();
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].reason == CloseReason::exit_word);
}

TEST_CASE("net::StreamSession ends its side before closing a client that half-closed") {
  // Over TLS that is the close_notify: without it a TLS client takes the end of the
  // replies for a cut connection ("unexpected eof").
  Fixture f;
  f.stream->shutdowns = {wants(IoStatus::want_write)};  // a close_notify that did not fit
  f.session->start();
  f.send("bye\n");
  REQUIRE(::shutdown(f.peer.get(), SHUT_WR) == 0);
  f.spin();
  CHECK(f.stream->shutdowns.empty());  // asked to end its side (and asked again when it blocked)
  CHECK(f.received() == "BYE\n");
  CHECK(f.peer_at_eof());
  auto closed = f.all<CloseEvent>();
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].reason == CloseReason::eof);
  CHECK(closed[0].tx == 4);
  CHECK(f.closed_calls == 1);
}

TEST_CASE("net::StreamSession holds one read of replies for a client that does not read") {
  Fixture f;
  int size = 4096;
  ::setsockopt(f.peer.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  f.session->start();
  std::string chunk(4096, 'a');
  std::size_t sent = 0;
  for (int i = 0; i < 2000; ++i) {  // until the kernel's buffers both ways are full
    IoResult r = send_some(f.peer.get(), chunk);
    if (!r.ok()) {
      f.spin(5ms);
      if (!send_some(f.peer.get(), chunk).ok()) break;
      sent += chunk.size();
      continue;
    }
    sent += r.bytes;
    f.spin(1ms);
  }
  f.spin(20ms);
  CHECK(f.closed_calls == 0);
  CHECK(f.ctx.stats.rx < sent);  // it stopped reading: backpressure
  CHECK(f.ctx.stats.rx - f.ctx.stats.tx <= 4096);  // at most one read held
  // Read everything: the rest flows, nothing lost or reordered.
  std::string got;
  for (int i = 0; i < 2000 && got.size() < sent; ++i) {
    got += f.received();
    f.spin(1ms);
  }
  CHECK(got.size() == sent);
  CHECK(got == std::string(sent, 'A'));
}

TEST_CASE("net::StreamSession reports each chunk read and written only with report_data") {
  Fixture f;
  f.session->start();
  f.send("hello");
  f.spin();
  CHECK(f.received() == "HELLO");
  CHECK(f.all<DataEvent>().empty());  // off by default

  Fixture g;
  g.options.report_data = true;
  g.session->start();
  g.send("hello");
  g.spin();
  CHECK(g.received() == "HELLO");
  auto data = g.all<DataEvent>();
  REQUIRE(data.size() == 2);
  CHECK(data[0].direction == Direction::received);
  CHECK(data[0].bytes == "hello");  // as read, before the transform
  CHECK(data[1].direction == Direction::sent);
  CHECK(data[1].bytes == "HELLO");
}

TEST_CASE("net::StreamSession reports a partial write as the bytes the stream took") {
  Fixture f;
  f.options.report_data = true;
  f.stream->writes = {IoResult{IoStatus::ok, 2, 0}, wants(IoStatus::want_write)};
  f.session->start();
  f.send("hello");
  f.spin();
  std::vector<std::string> sent;
  for (const DataEvent& e : f.all<DataEvent>())
    if (e.direction == Direction::sent) sent.push_back(e.bytes);
  // The scripted write "took" 2 bytes without writing them; the rest went for real.
  REQUIRE(sent.size() == 2);
  CHECK(sent[0] == "HE");
  CHECK(sent[1] == "LLO");
}
