#include "net/stream_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "net/connector.h"
#include "net/resolver.h"
#include "net/socket.h"
#include "net/sys.h"

using namespace sockecho;
using namespace sockecho::net;
using namespace std::chrono_literals;

namespace {

// A plain blocking client with a receive timeout, so a broken server fails the test
// instead of hanging it. It runs on a thread of its own, where Catch2 (not thread-safe)
// must not assert: what it sees is collected and checked on the main thread.
struct Client {
  Fd fd;
  explicit Client(std::uint16_t port) {
    auto addrs = resolve("127.0.0.1", port, Family::v4, SockType::stream);
    ConnectResult c = connect_any(addrs, SockType::stream, 2000ms);
    fd = std::move(c.fd);
    if (!fd) return;  // every read then comes back empty, and the test's checks fail
    set_nonblocking(fd.get(), false);
    timeval tv{5, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  bool send(std::string_view s) { return fd && write_all(fd.get(), s).ok(); }
  std::string recv_exactly(std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      ssize_t r = ::recv(fd.get(), out.data() + got, n - got, 0);
      if (r <= 0) break;
      got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
  }
  bool at_eof() {
    char c;
    return ::recv(fd.get(), &c, 1, 0) == 0;
  }
};

struct Fixture {
  EventLoop loop;
  std::vector<ServiceEvent> events;
  std::unique_ptr<StreamServer> server;
  std::uint16_t port = 0;

  explicit Fixture(ServiceOptions options) {
    auto listener = std::make_shared<Fd>(
        open_listener(Address::ipv4_any(0), SockType::stream, ListenOptions{}));
    port = Address::local_of(listener->get()).port();
    server = std::make_unique<StreamServer>(loop, std::move(listener), 128, std::move(options),
                                            [this](const ServiceEvent& e) { events.push_back(e); });
    server->start();
    loop.add_timer(20s, [this] { loop.stop(); });  // a hung test fails, it does not hang
  }

  template <typename T>
  std::size_t count() const {
    std::size_t n = 0;
    for (const auto& e : events) n += std::holds_alternative<T>(e) ? 1u : 0u;
    return n;
  }
};

ServiceOptions with_shutdown_word() {
  ServiceOptions o;
  o.shutdown_word = "halt";
  return o;
}

}  // namespace

TEST_CASE("net::StreamServer upper-cases as data arrives and keeps the connection") {
  Fixture f(with_shutdown_word());
  std::string reply, after;
  std::thread client([&] {  // no assertions in here: Catch2 v2 is not thread-safe
    Client c(f.port);
    c.send("hello");  // no newline: the reply must come without a close
    reply = c.recv_exactly(5);
    c.send("\x01\xff z\n");
    after = c.recv_exactly(5);
    c.send("halt\n");
  });
  f.loop.run();
  client.join();
  CHECK(reply == "HELLO");
  CHECK(after == "\x01\xff Z\n");
  CHECK(f.count<ListenEvent>() == 1);
  CHECK(f.count<AcceptEvent>() == 1);
  CHECK(f.server->stats().rx == 5 + 5 + 5);
}

TEST_CASE("net::StreamServer closes one client on the exit word, others go on") {
  Fixture f(with_shutdown_word());
  bool first_eof = false;
  std::string first, second;
  std::thread client([&] {
    Client a(f.port), b(f.port);
    a.send("one\nexit\n");
    first = a.recv_exactly(4);
    first_eof = a.at_eof();
    b.send("two\n");
    second = b.recv_exactly(4);
    b.send("halt\n");
  });
  f.loop.run();
  client.join();
  CHECK(first == "ONE\n");
  CHECK(first_eof);
  CHECK(second == "TWO\n");
}

TEST_CASE("net::StreamServer answers everything after a half-close, then closes") {
  Fixture f(with_shutdown_word());
  std::string big(3 * 1024 * 1024, 'a');
  std::string got;
  bool eof = false;
  std::thread client([&] {
    Client c(f.port);
    std::thread writer([&] {
      c.send(big);
      ::shutdown(c.fd.get(), SHUT_WR);
    });
    got = c.recv_exactly(big.size());
    eof = c.at_eof();
    writer.join();
    Client stopper(f.port);
    stopper.send("halt\n");
  });
  f.loop.run();
  client.join();
  CHECK(got.size() == big.size());
  CHECK(got == std::string(big.size(), 'A'));
  CHECK(eof);
}

TEST_CASE("net::StreamServer refuses clients past --max-clients") {
  ServiceOptions o = with_shutdown_word();
  o.max_clients = 1;
  Fixture f(o);
  bool refused_eof = false;
  std::string first;
  std::thread client([&] {
    Client a(f.port);
    a.send("x\n");
    first = a.recv_exactly(2);  // a is surely accepted before b connects
    Client b(f.port);
    refused_eof = b.at_eof();
    a.send("halt\n");
  });
  f.loop.run();
  client.join();
  CHECK(first == "X\n");
  CHECK(refused_eof);
  CHECK(f.count<RefuseEvent>() == 1);
  CHECK(f.server->stats().refused == 1);
}

TEST_CASE("net::StreamServer closes idle clients") {
  ServiceOptions o = with_shutdown_word();
  o.idle_timeout = 100ms;
  Fixture f(o);
  bool eof = false;
  std::thread client([&] {
    Client a(f.port);
    eof = a.at_eof();
    Client b(f.port);
    b.send("halt\n");
  });
  f.loop.run();
  client.join();
  CHECK(eof);
  bool saw_idle = false;
  for (const auto& e : f.events)
    if (auto* c = std::get_if<CloseEvent>(&e)) saw_idle |= c->reason == CloseReason::idle;
  CHECK(saw_idle);
}

#ifdef SOCKECHO_FAULTS
#include "failpoint.h"

namespace {

// The round trip of one client that connects while accepting is paused; on the main
// thread, after the loop has run.
struct PausedClient {
  std::string reply;
  std::chrono::steady_clock::duration took{};

  void run(std::uint16_t port) {  // on a thread of its own: no assertions in here
    auto start = std::chrono::steady_clock::now();
    Client c(port);
    c.send("hi\n");
    reply = c.recv_exactly(3);
    took = std::chrono::steady_clock::now() - start;
    Client stopper(port);
    stopper.send("halt\n");
  }
};

void enable_once(const char* name, int error) {
  fiu_init(0);
  fiu_enable(name, 1, reinterpret_cast<void*>(static_cast<std::uintptr_t>(error)), FIU_ONETIME);
}

}  // namespace

TEST_CASE("net::StreamServer resumes accepting when re-registering the listener fails") {
  // accept4 fails for want of memory: accepting pauses 100 ms. When it resumes, the
  // listener's registration fails too: it must pause again, not stop accepting for good.
  Fixture f(with_shutdown_word());
  enable_once("net/accept4", ENOMEM);
  // After the pause's removal, before the resume's registration.
  f.loop.add_timer(50ms, [] { enable_once("net/epoll_ctl", ENOMEM); });
  PausedClient pc;
  std::thread client([&] { pc.run(f.port); });
  f.loop.run();
  client.join();
  fiu_disable("net/accept4");
  fiu_disable("net/epoll_ctl");
  CHECK(pc.reply == "HI\n");
  CHECK(pc.took >= 190ms);  // two back-offs
  CHECK(pc.took < 5s);
  CHECK(f.server->stats().errors == 1);
}

TEST_CASE("net::StreamServer resumes accepting when removing the listener failed") {
  // The pause's EPOLL_CTL_DEL fails: the listener stays registered (and readable). The
  // server must neither spin on it nor fail to watch it again (EEXIST) when it resumes.
  Fixture f(with_shutdown_word());
  enable_once("net/accept4", ENOMEM);
  enable_once("net/epoll_ctl", ENOMEM);
  PausedClient pc;
  std::thread client([&] { pc.run(f.port); });
  f.loop.run();
  client.join();
  fiu_disable("net/accept4");
  fiu_disable("net/epoll_ctl");
  CHECK(pc.reply == "HI\n");
  CHECK(pc.took >= 90ms);
  CHECK(pc.took < 5s);
}
#endif  // SOCKECHO_FAULTS
