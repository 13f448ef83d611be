#include "net/prober.h"

#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "net/socket.h"
#include "net/stream_server.h"

using namespace sockecho::net;
using namespace std::chrono_literals;

namespace {

struct Run {
  EventLoop loop;
  Prober prober{loop, 64};
  std::vector<ProbeOutcome> outcomes;

  void probe(ProbeSpec spec) {
    prober.submit(std::make_shared<const ProbeSpec>(std::move(spec)), EventLoop::Clock::now(),
                  [this](const ProbeOutcome& o) {
      outcomes.push_back(o);
      if (prober.idle()) loop.stop();
    });
  }
  void run() {
    if (!prober.idle()) {
      loop.add_timer(10s, [this] { loop.stop(); });
      loop.run();
    }
  }
};

Address loopback(std::uint16_t port) {
  return resolve("127.0.0.1", port, Family::v4, SockType::stream).front();
}

// A port that is surely closed: bound, never listening, kept while the test runs.
std::pair<Fd, std::uint16_t> closed_port(SockType type) {
  Fd fd = open_socket(AF_INET, type);
  Address a = loopback(0);
  REQUIRE(::bind(fd.get(), a.get(), a.size()) == 0);
  std::uint16_t port = Address::local_of(fd.get()).port();
  return {std::move(fd), port};
}

}  // namespace

TEST_CASE("net::Prober tells open from closed TCP ports") {
  Fd listener = open_listener(loopback(0), SockType::stream, ListenOptions{});
  std::uint16_t open_port = Address::local_of(listener.get()).port();
  auto [holder, closed] = closed_port(SockType::stream);
  Run r;
  r.probe(ProbeSpec{{loopback(open_port)}, SockType::stream, 2s, false, "", ""});
  r.probe(ProbeSpec{{loopback(closed)}, SockType::stream, 2s, false, "", ""});
  r.run();
  REQUIRE(r.outcomes.size() == 2);
  int open = 0, refused = 0;
  for (const auto& o : r.outcomes) {
    if (o.state == ProbeState::open) {
      ++open;
      CHECK(o.rtt_ms.has_value());
      CHECK(o.remote.port() == open_port);
      CHECK(o.local.port() != 0);
    }
    if (o.state == ProbeState::closed) {
      ++refused;
      CHECK(o.error == ECONNREFUSED);
    }
  }
  CHECK(open == 1);
  CHECK(refused == 1);
}

TEST_CASE("net::Prober tries the next candidate when one refuses") {
  Fd listener = open_listener(loopback(0), SockType::stream, ListenOptions{});
  std::uint16_t open_port = Address::local_of(listener.get()).port();
  auto [holder, closed] = closed_port(SockType::stream);
  Run r;
  r.probe(ProbeSpec{{loopback(closed), loopback(open_port)}, SockType::stream, 2s, false, "", ""});
  r.run();
  REQUIRE(r.outcomes.size() == 1);
  CHECK(r.outcomes[0].state == ProbeState::open);
  CHECK(r.outcomes[0].remote.port() == open_port);
}

TEST_CASE("net::Prober reads UDP silence as OPEN|FILTERED and ICMP as CLOSED") {
  Fd silent = open_socket(AF_INET, SockType::datagram);
  Address a = loopback(0);
  REQUIRE(::bind(silent.get(), a.get(), a.size()) == 0);
  std::uint16_t silent_port = Address::local_of(silent.get()).port();
  std::uint16_t closed;
  {
    auto [fd, port] = closed_port(SockType::datagram);
    closed = port;
  }  // unbound again: datagrams to it draw a port unreachable
  Run r;
  r.probe(ProbeSpec{{loopback(silent_port)}, SockType::datagram, 200ms, false, "probe", ""});
  r.probe(ProbeSpec{{loopback(closed)}, SockType::datagram, 2s, false, "probe", ""});
  r.run();
  REQUIRE(r.outcomes.size() == 2);
  for (const auto& o : r.outcomes) {
    if (o.remote.port() == silent_port) CHECK(o.state == ProbeState::open_filtered);
    else CHECK(o.state == ProbeState::closed);
  }
}

TEST_CASE("net::Prober checks the echo of a stream service") {
  Run r;
  auto listener = std::make_shared<Fd>(open_listener(loopback(0), SockType::stream, ListenOptions{}));
  std::uint16_t port = Address::local_of(listener->get()).port();
  StreamServer upper(r.loop, std::move(listener), 16, ServiceOptions{}, nullptr);
  upper.start();
  ServiceOptions echo_options;
  echo_options.mode = Mode::echo;
  auto listener2 = std::make_shared<Fd>(open_listener(loopback(0), SockType::stream, ListenOptions{}));
  std::uint16_t port2 = Address::local_of(listener2->get()).port();
  StreamServer echo(r.loop, std::move(listener2), 16, echo_options, nullptr);
  echo.start();
  r.probe(ProbeSpec{{loopback(port)}, SockType::stream, 2s, true, "probe", "PROBE"});
  r.probe(ProbeSpec{{loopback(port2)}, SockType::stream, 2s, true, "probe", "PROBE"});
  r.run();
  REQUIRE(r.outcomes.size() == 2);
  for (const auto& o : r.outcomes)
    CHECK(o.state == (o.remote.port() == port ? ProbeState::open : ProbeState::bad_echo));
}

TEST_CASE("net::Prober keeps at most `concurrency` probes in flight") {
  auto listener = std::make_shared<Fd>(open_listener(loopback(0), SockType::stream, ListenOptions{}));
  std::uint16_t port = Address::local_of(listener->get()).port();
  EventLoop loop;
  Prober prober(loop, 3);
  std::size_t done = 0, max_in_flight = 0;
  for (int i = 0; i < 20; ++i) {
    prober.submit(std::make_shared<const ProbeSpec>(ProbeSpec{{loopback(port)}, SockType::stream, 100ms, true, "x", "X"}),
                  EventLoop::Clock::now(), [&](const ProbeOutcome&) {
                    ++done;
                    if (prober.idle()) loop.stop();
                  });
    max_in_flight = std::max(max_in_flight, prober.in_flight());
  }
  loop.add_timer(10s, [&] { loop.stop(); });
  loop.run();
  CHECK(done == 20);  // no one answers the echo: each ends by its timeout, 3 at a time
  CHECK(max_in_flight <= 3);
}

TEST_CASE("net::Prober reports what came back instead of the expected echo") {
  Run r;
  ServiceOptions echo_options;
  echo_options.mode = Mode::echo;
  auto listener = std::make_shared<Fd>(open_listener(loopback(0), SockType::stream, ListenOptions{}));
  std::uint16_t port = Address::local_of(listener->get()).port();
  StreamServer echo(r.loop, std::move(listener), 16, echo_options, nullptr);
  echo.start();
  r.probe(ProbeSpec{{loopback(port)}, SockType::stream, 2s, true, "probe", "PROBE"});
  r.run();
  REQUIRE(r.outcomes.size() == 1);
  CHECK(r.outcomes[0].state == ProbeState::bad_echo);
  CHECK(r.outcomes[0].reply == "probe");
}

TEST_CASE("net::Prober::stop ends the probes in flight at once and starts no more") {
  // Nobody accepts here: the connect succeeds (the kernel queues it), the echo never comes.
  Fd silent = open_listener(loopback(0), SockType::stream, ListenOptions{});
  std::uint16_t silent_port = Address::local_of(silent.get()).port();
  // A full accept queue drops SYNs: a connect here hangs.
  Fd full = open_listener(loopback(0), SockType::stream, ListenOptions{0, false, false});
  std::uint16_t full_port = Address::local_of(full.get()).port();
  Fd filler = open_socket(AF_INET, SockType::stream);
  Address f = loopback(full_port);
  ::connect(filler.get(), f.get(), f.size());  // takes the one place in the queue
  pollfd p{filler.get(), POLLOUT, 0};
  REQUIRE(::poll(&p, 1, 2000) == 1);

  EventLoop loop;
  Prober prober(loop, 8);
  std::vector<ProbeOutcome> outcomes;
  auto echo = std::make_shared<const ProbeSpec>(
      ProbeSpec{{loopback(silent_port)}, SockType::stream, 30s, true, "probe", "PROBE"});
  // Two candidates: a timeout would try the second; stop does not.
  auto hang = std::make_shared<const ProbeSpec>(
      ProbeSpec{{loopback(full_port), loopback(silent_port)}, SockType::stream, 30s, false, "", ""});
  auto record = [&](const ProbeOutcome& o) { outcomes.push_back(o); };
  prober.submit(echo, EventLoop::Clock::now(), record);
  prober.submit(hang, EventLoop::Clock::now(), record);
  prober.submit(echo, EventLoop::Clock::now() + 20s, record);  // not due before the stop
  const auto t0 = EventLoop::Clock::now();
  loop.add_timer(200ms, [&] {
    prober.stop();
    CHECK(outcomes.size() == 2);  // reported inside stop
    prober.submit(echo, EventLoop::Clock::now(), record);  // after stop: never started
    loop.stop();
  });
  loop.add_timer(10s, [&] { loop.stop(); });
  loop.run();
  CHECK(EventLoop::Clock::now() - t0 < 5s);
  REQUIRE(outcomes.size() == 2);
  for (const ProbeOutcome& o : outcomes) {
    CHECK(o.error == ETIMEDOUT);  // as the timeout would have said
    if (o.remote.port() == silent_port) CHECK(o.state == ProbeState::no_echo);
    else CHECK((o.state == ProbeState::filtered && o.remote.port() == full_port));
  }
  CHECK(prober.idle());
}

TEST_CASE("net::Prober connects from the source address") {
  Fd listener = open_listener(loopback(0), SockType::stream, ListenOptions{});
  std::uint16_t port = Address::local_of(listener.get()).port();
  Address any_port = resolve("127.0.0.2", 0, Family::v4, SockType::stream).front();
  Run r;
  ProbeSpec spec{{loopback(port)}, SockType::stream, 2s, false, "", ""};
  spec.source = any_port;
  r.probe(spec);
  r.run();
  REQUIRE(r.outcomes.size() == 1);
  CHECK(r.outcomes[0].state == ProbeState::open);
  CHECK(r.outcomes[0].local.host() == "127.0.0.2");
  CHECK(r.outcomes[0].local.port() != 0);
}

#ifdef SOCKECHO_FAULTS
#include <fiu-control.h>
#include <fiu.h>
#include <poll.h>

#include <cstdint>

TEST_CASE("net::Prober fails the probe, not the loop, when the next candidate cannot be watched") {
  // A listener with a full accept queue drops SYNs: a connect to it times out.
  Fd listener = open_listener(loopback(0), SockType::stream, ListenOptions{0, false, false});
  std::uint16_t port = Address::local_of(listener.get()).port();
  Fd filler = open_socket(AF_INET, SockType::stream);
  Address a = loopback(port);
  ::connect(filler.get(), a.get(), a.size());  // takes the one place in the queue
  pollfd p{filler.get(), POLLOUT, 0};
  REQUIRE(::poll(&p, 1, 2000) == 1);  // connected: it is in the queue
  Run r;
  r.probe(ProbeSpec{{loopback(port), loopback(port)}, SockType::stream, 300ms, false, "", ""});
  // Before the first candidate times out: from then on, registering with epoll fails, so
  // the second candidate (tried from the timeout's timer) cannot be watched.
  fiu_init(0);
  r.loop.add_timer(150ms, [] {
    fiu_enable("net/epoll_ctl", 1, reinterpret_cast<void*>(std::uintptr_t{ENOMEM}), 0);
  });
  CHECK_NOTHROW(r.run());
  fiu_disable("net/epoll_ctl");
  REQUIRE(r.outcomes.size() == 1);
  CHECK(r.outcomes[0].state == ProbeState::error);
  CHECK(r.outcomes[0].error == ENOMEM);
}
#endif  // SOCKECHO_FAULTS
