#pragma once

#include <signal.h>
#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/fd.h"

namespace sockecho::net {

// A single-threaded epoll loop with timers and signals (level-triggered).
//
// Ownership: the loop owns none of the fds it watches; registrants own them and must
// remove() before closing. A handler that may be destroyed while events for it are still
// in the current batch must be destroyed through defer(), and must ignore events once it
// has closed its fd (the number may already be reused).
class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using TimerId = std::uint64_t;

  class Handler {
   public:
    virtual void on_events(std::uint32_t events) = 0;

   protected:
    ~Handler() = default;
  };

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // events: EPOLLIN / EPOLLOUT / EPOLLRDHUP. An fd epoll refuses (EPERM: a regular file,
  // /dev/null) is treated as always ready for what it asks for, as poll(2) would.
  void add(int fd, std::uint32_t events, Handler* handler);
  void modify(int fd, std::uint32_t events, Handler* handler);
  void remove(int fd);

  TimerId add_timer(TimePoint when, std::function<void()> fn);
  TimerId add_timer(Clock::duration after, std::function<void()> fn) {
    return add_timer(Clock::now() + after, std::move(fn));
  }
  void cancel_timer(TimerId id);

  // Runs fn after the current batch of events has been dispatched.
  void defer(std::function<void()> fn);

  // Runs fn on the loop's thread soon. The only member that may be called from another
  // thread.
  void post(std::function<void()> fn);

  // Blocks the signals and delivers them through a signalfd to fn, on the loop.
  void on_signals(std::initializer_list<int> signals, std::function<void(int)> fn);

  void run();   // until stop()
  void stop() { m_stopped = true; }
  TimePoint now() const { return m_now; }

 private:
  struct AlwaysReady {
    int fd;
    std::uint32_t events;
    Handler* handler;
  };
  class SignalHandler;
  class WakeHandler;

  int next_timeout_ms() const;
  void run_timers();
  void run_deferred();

  Fd m_epoll;
  bool m_stopped = false;
  TimePoint m_now = Clock::now();
  std::vector<epoll_event> m_events;
  std::vector<AlwaysReady> m_always_ready;
  std::map<std::pair<TimePoint, TimerId>, std::function<void()>> m_timers;
  std::unordered_map<TimerId, TimePoint> m_timer_index;
  TimerId m_next_timer = 1;
  std::vector<std::function<void()>> m_deferred;

  Fd m_wake_fd;  // an eventfd: post() writes it, the loop reads it
  std::unique_ptr<WakeHandler> m_wake_handler;
  std::mutex m_posted_mutex;
  std::vector<std::function<void()>> m_posted;

  Fd m_signal_fd;
  sigset_t m_old_mask{};
  std::function<void(int)> m_signal_fn;
  std::unique_ptr<SignalHandler> m_signal_handler;
};

}  // namespace sockecho::net
