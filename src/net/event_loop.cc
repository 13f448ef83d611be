#include "net/event_loop.h"

#include <sys/eventfd.h>
#include <sys/signalfd.h>

#include <algorithm>
#include <memory>
#include <thread>

#include "net/sys.h"

namespace sockecho::net {
namespace {

// How long the loop pauses after epoll_wait failed for want of memory (or any other
// error that is not a broken loop) before it waits again.
constexpr auto k_wait_backoff = std::chrono::milliseconds(10);

// epoll_wait's errors that mean the loop itself is broken (a bad epoll fd or buffer):
// waiting again cannot help.
bool broken_loop(int error) {
  return error == EBADF || error == EFAULT || error == EINVAL;
}

}  // namespace

class EventLoop::SignalHandler final : public EventLoop::Handler {
 public:
  explicit SignalHandler(EventLoop& loop) : m_loop(loop) {}
  void on_events(std::uint32_t) override {
    signalfd_siginfo info{};
    while (read_some(m_loop.m_signal_fd.get(), {reinterpret_cast<char*>(&info), sizeof info}).ok())
      m_loop.m_signal_fn(static_cast<int>(info.ssi_signo));
  }

 private:
  EventLoop& m_loop;
};

class EventLoop::WakeHandler final : public EventLoop::Handler {
 public:
  explicit WakeHandler(EventLoop& loop) : m_loop(loop) {}
  void on_events(std::uint32_t) override {
    std::uint64_t count = 0;
    read_some(m_loop.m_wake_fd.get(), {reinterpret_cast<char*>(&count), sizeof count});
    std::vector<std::function<void()>> posted;
    {
      std::lock_guard<std::mutex> lock(m_loop.m_posted_mutex);
      posted.swap(m_loop.m_posted);
    }
    for (auto& fn : posted) fn();
  }

 private:
  EventLoop& m_loop;
};

EventLoop::EventLoop() : m_events(256) {
  SysResult epoll = sys::epoll_create1(EPOLL_CLOEXEC);
  if (!epoll.ok()) throw_error(epoll.error, "epoll_create1");
  m_epoll.reset(epoll.value);
  SysResult wake = sys::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!wake.ok()) throw_error(wake.error, "eventfd");
  m_wake_fd.reset(wake.value);
  m_wake_handler = std::make_unique<WakeHandler>(*this);
  add(m_wake_fd.get(), EPOLLIN, m_wake_handler.get());
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(m_posted_mutex);
    m_posted.push_back(std::move(fn));
  }
  std::uint64_t one = 1;
  write_some(m_wake_fd.get(), {reinterpret_cast<const char*>(&one), sizeof one});
}

EventLoop::~EventLoop() {
  if (m_signal_fd) sys::sigprocmask(SIG_SETMASK, &m_old_mask, nullptr);
}

void EventLoop::add(int fd, std::uint32_t events, Handler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  SysResult r = sys::epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, fd, &ev);
  if (r.ok()) return;
  if (r.error == EPERM) {
    m_always_ready.push_back({fd, events, handler});
    return;
  }
  throw_error(r.error, "epoll_ctl ADD");
}

void EventLoop::modify(int fd, std::uint32_t events, Handler* handler) {
  for (AlwaysReady& a : m_always_ready) {
    if (a.fd == fd) {
      a.events = events;
      a.handler = handler;
      return;
    }
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  SysResult r = sys::epoll_ctl(m_epoll.get(), EPOLL_CTL_MOD, fd, &ev);
  if (!r.ok()) throw_error(r.error, "epoll_ctl MOD");
}

void EventLoop::remove(int fd) {
  auto it = std::find_if(m_always_ready.begin(), m_always_ready.end(),
                         [fd](const AlwaysReady& a) { return a.fd == fd; });
  if (it != m_always_ready.end()) {
    m_always_ready.erase(it);
    return;
  }
  // Failure means the fd was never added or is already gone: nothing left to undo.
  sys::epoll_ctl(m_epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::add_timer(TimePoint when, std::function<void()> fn) {
  TimerId id = m_next_timer++;
  m_timers.emplace(std::make_pair(when, id), std::move(fn));
  m_timer_index.emplace(id, when);
  return id;
}

void EventLoop::cancel_timer(TimerId id) {
  auto it = m_timer_index.find(id);
  if (it == m_timer_index.end()) return;
  m_timers.erase({it->second, id});
  m_timer_index.erase(it);
}

void EventLoop::defer(std::function<void()> fn) { m_deferred.push_back(std::move(fn)); }

void EventLoop::on_signals(std::initializer_list<int> signals, std::function<void(int)> fn) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : signals) sigaddset(&mask, s);
  if (SysResult r = sys::sigprocmask(SIG_BLOCK, &mask, &m_old_mask); !r.ok())
    throw_error(r.error, "sigprocmask");
  SysResult fd = sys::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (!fd.ok()) {
    sys::sigprocmask(SIG_SETMASK, &m_old_mask, nullptr);
    throw_error(fd.error, "signalfd");
  }
  m_signal_fd.reset(fd.value);
  m_signal_fn = std::move(fn);
  m_signal_handler = std::make_unique<SignalHandler>(*this);
  add(m_signal_fd.get(), EPOLLIN, m_signal_handler.get());
}

int EventLoop::next_timeout_ms() const {
  for (const AlwaysReady& a : m_always_ready)
    if (a.events & (EPOLLIN | EPOLLOUT)) return 0;
  if (m_timers.empty()) return -1;
  auto wait = m_timers.begin()->first.first - Clock::now();
  if (wait <= Clock::duration::zero()) return 0;
  // Round up so a timer never fires a little early and spins.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return static_cast<int>(std::min<long long>(ms, 24 * 3600 * 1000));
}

void EventLoop::run_timers() {
  while (!m_timers.empty() && m_timers.begin()->first.first <= m_now) {
    auto node = m_timers.extract(m_timers.begin());
    m_timer_index.erase(node.key().second);
    node.mapped()();
  }
}

void EventLoop::run_deferred() {
  while (!m_deferred.empty()) {
    std::vector<std::function<void()>> batch;
    batch.swap(m_deferred);
    for (auto& fn : batch) fn();
  }
}

void EventLoop::run() {
  m_stopped = false;
  while (!m_stopped) {
    SysResult r = sys::epoll_wait(m_epoll.get(), m_events.data(),
                                  static_cast<int>(m_events.size()), next_timeout_ms());
    if (!r.ok() && broken_loop(r.error)) throw_error(r.error, "epoll_wait");
    // Any other failure (ENOMEM; EINTR is retried in the seam) is this one wait's, not the
    // service's: nothing was taken from the ready list, so pause briefly (without a pause,
    // a persistent failure would spin) and wait again; timers and deferred work due
    // meanwhile still run. Throwing here would end every client's service (serve exits).
    if (!r.ok()) std::this_thread::sleep_for(k_wait_backoff);
    int n = r.ok() ? r.value : 0;
    m_now = Clock::now();
    for (int i = 0; i < n; ++i)
      static_cast<Handler*>(m_events[static_cast<std::size_t>(i)].data.ptr)
          ->on_events(m_events[static_cast<std::size_t>(i)].events);
    if (!m_always_ready.empty()) {
      std::vector<AlwaysReady> ready = m_always_ready;  // handlers may remove themselves
      for (const AlwaysReady& a : ready) {
        std::uint32_t ev = a.events & (EPOLLIN | EPOLLOUT);
        if (ev != 0) a.handler->on_events(ev);
      }
    }
    run_deferred();
    m_now = Clock::now();
    run_timers();
    run_deferred();
  }
}

}  // namespace sockecho::net
