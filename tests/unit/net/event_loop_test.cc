#include "net/event_loop.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <vector>

using namespace sockecho::net;
using namespace std::chrono_literals;

namespace {

struct Counter final : EventLoop::Handler {
  std::function<void(std::uint32_t)> fn;
  void on_events(std::uint32_t events) override { fn(events); }
};

}  // namespace

TEST_CASE("net::EventLoop fires timers in order and honours cancel") {
  EventLoop loop;
  std::vector<int> order;
  // Deadlines from one instant, so a test machine busy between the calls cannot reorder them.
  auto start = EventLoop::Clock::now();
  loop.add_timer(start + 30ms, [&] { order.push_back(3); loop.stop(); });
  loop.add_timer(start + 10ms, [&] { order.push_back(1); });
  auto id = loop.add_timer(start + 20ms, [&] { order.push_back(99); });
  loop.add_timer(start + 20ms, [&] { order.push_back(2); });
  loop.cancel_timer(id);
  loop.run();
  CHECK(order == std::vector<int>{1, 2, 3});
  CHECK(EventLoop::Clock::now() - start >= 30ms);
}

TEST_CASE("net::EventLoop treats /dev/null and regular files as always ready") {
  EventLoop loop;
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  REQUIRE(devnull);
  int calls = 0;
  Counter c;
  c.fn = [&](std::uint32_t ev) {
    CHECK((ev & EPOLLIN) != 0);
    if (++calls == 3) {
      loop.modify(devnull.get(), 0, &c);  // no interest: must stop firing
      loop.add_timer(20ms, [&] { loop.stop(); });
    }
  };
  loop.add(devnull.get(), EPOLLIN, &c);
  loop.run();
  CHECK(calls == 3);
  loop.remove(devnull.get());
}

TEST_CASE("net::EventLoop reports pipe readiness and runs deferred work after the batch") {
  EventLoop loop;
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  Fd r(fds[0]), w(fds[1]);
  std::vector<std::string> log;
  Counter c;
  c.fn = [&](std::uint32_t) {
    char buf[8];
    auto n = ::read(r.get(), buf, sizeof buf);
    log.push_back("read " + std::to_string(n));
    loop.defer([&] {
      log.push_back("deferred");
      loop.stop();
    });
  };
  loop.add(r.get(), EPOLLIN, &c);
  REQUIRE(::write(w.get(), "abc", 3) == 3);
  loop.run();
  CHECK(log == std::vector<std::string>{"read 3", "deferred"});
}

TEST_CASE("net::EventLoop delivers signals on the loop") {
  EventLoop loop;
  int got = 0;
  loop.on_signals({SIGUSR1}, [&](int sig) {
    got = sig;
    loop.stop();
  });
  ::kill(::getpid(), SIGUSR1);
  loop.add_timer(5s, [&] { loop.stop(); });
  loop.run();
  CHECK(got == SIGUSR1);
}

#ifdef SOCKECHO_FAULTS
#include <system_error>

#include "failpoint.h"

TEST_CASE("net::EventLoop waits again after epoll_wait fails for want of memory") {
  // A failed wait is that wait's trouble: the loop pauses, waits again, and readiness and
  // timers are still delivered (it used to throw, which ended serve for every client).
  EventLoop loop;
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  Fd r(fds[0]), w(fds[1]);
  bool readable = false;
  Counter c;
  c.fn = [&](std::uint32_t) {
    readable = true;
    loop.stop();
  };
  loop.add(r.get(), EPOLLIN, &c);
  REQUIRE(::write(w.get(), "x", 1) == 1);
  loop.add_timer(5s, [&] { loop.stop(); });  // a broken loop fails the test, not hangs it
  auto start = EventLoop::Clock::now();
  {
    sockecho::test::Failpoint some("net/epoll_wait", ENOMEM, sockecho::test::Probability{0.5f});
    REQUIRE_NOTHROW(loop.run());
  }
  CHECK(readable);
  loop.remove(r.get());
  bool fired = false;
  {
    auto once = sockecho::test::Failpoint::once("net/epoll_wait", ENOMEM);
    loop.add_timer(20ms, [&] {
      fired = true;
      loop.stop();
    });
    REQUIRE_NOTHROW(loop.run());
  }
  CHECK(fired);
  CHECK(EventLoop::Clock::now() - start < 4s);
}

TEST_CASE("net::EventLoop still throws when epoll_wait says the loop is broken") {
  EventLoop loop;
  loop.add_timer(5s, [&] { loop.stop(); });
  sockecho::test::Failpoint fp("net/epoll_wait", EBADF);
  CHECK_THROWS_AS(loop.run(), std::system_error);
}
#endif  // SOCKECHO_FAULTS
