#include "net/sys.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include <fmt/format.h>

#ifdef SOCKECHO_FAULTS
#include <fiu.h>
#endif

namespace sockecho::net {
namespace {

// Retries fn() while it fails with EINTR; for open_std_fds' start-up calls, which stay
// outside the failpoints (a test's chaos must not reroute the terminal to /dev/null).
template <typename F>
auto retry_eintr(F fn) {
  decltype(fn()) result;
  do {
    result = fn();
  } while (result == -1 && errno == EINTR);
  return result;
}

// The errno failpoint `name` injects now, or 0. failinfo (fiu-run/fiu-ctrl "failinfo=N",
// or fiu_enable's void*) is the errno; 0 means the wrapper's default.
#ifdef SOCKECHO_FAULTS
int injected(const char* name, int default_errno) {
  if (fiu_fail(name) == 0) return 0;
  auto info = reinterpret_cast<std::uintptr_t>(fiu_failinfo());
  return info != 0 ? static_cast<int>(info) : default_errno;
}
#else
constexpr int injected(const char*, int) {
  return 0;
}
#endif

// One call of fn() (a syscall returning -1 and errno on failure), unless the failpoint
// fails it first.
template <typename F>
auto attempt(const char* name, int default_errno, F fn) -> decltype(fn()) {
  if (int e = injected(name, default_errno)) {
    errno = e;
    return -1;
  }
  return fn();
}

// attempt(), again while it fails with EINTR (real or injected).
template <typename F>
auto call(const char* name, int default_errno, F fn) -> decltype(fn()) {
  for (;;) {
    auto r = attempt(name, default_errno, fn);
    if (r != -1 || errno != EINTR) return r;
  }
}

// A wait: fn(timeout_ms), retried on EINTR with what is left of the first timeout.
template <typename F>
int wait_retrying(const char* name, int default_errno, int timeout_ms, F fn) {
  using Clock = std::chrono::steady_clock;
  // No clock read for a wait without a deadline (the event loop's usual case: one fewer
  // clock_gettime per wakeup on the hot path).
  if (timeout_ms <= 0) return call(name, default_errno, [&] { return fn(timeout_ms); });
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int r = attempt(name, default_errno, [&] { return fn(timeout_ms); });
    if (r != -1 || errno != EINTR) return r;
    if (timeout_ms > 0) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      timeout_ms = static_cast<int>(std::max<long long>(left, 0));
    }
  }
}

SysResult to_sys(int r) {
  return r < 0 ? SysResult{-1, errno} : SysResult{r, 0};
}

// zero_is_eof: a read of a non-empty buffer; blocked: what a would-block call waits for.
IoResult to_result(ssize_t n, bool zero_is_eof, IoStatus blocked) {
  if (n > 0 || (n == 0 && !zero_is_eof)) return {IoStatus::ok, static_cast<std::size_t>(n), 0};
  if (n == 0) return {IoStatus::eof, 0, 0};
  if (errno == EAGAIN || errno == EWOULDBLOCK) return {blocked, 0, 0};
  return {IoStatus::error, 0, errno};
}

}  // namespace

IoResult read_some(int fd, std::span<char> buffer) {
  return to_result(call("net/read", EIO, [&] { return ::read(fd, buffer.data(), buffer.size()); }),
                   !buffer.empty(), IoStatus::want_read);
}

IoResult recv_some(int fd, std::span<char> buffer) {
  return to_result(
      call("net/recv", ECONNRESET, [&] { return ::recv(fd, buffer.data(), buffer.size(), 0); }),
      !buffer.empty(), IoStatus::want_read);
}

IoResult send_some(int fd, std::span<const char> data) {
  return to_result(
      call("net/send", EPIPE, [&] { return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL); }),
      false, IoStatus::want_write);
}

IoResult write_some(int fd, std::span<const char> data) {
  return to_result(call("net/write", EPIPE, [&] { return ::write(fd, data.data(), data.size()); }),
                   false, IoStatus::want_write);
}

IoResult recv_datagram(int fd, std::span<char> buffer, sockaddr* peer, socklen_t* peer_len) {
  return to_result(
      call("net/recvfrom", ENOMEM,
           [&] { return ::recvfrom(fd, buffer.data(), buffer.size(), MSG_TRUNC, peer, peer_len); }),
      false, IoStatus::want_read);
}

IoResult send_datagram(int fd, std::span<const char> data, const sockaddr* peer,
                       socklen_t peer_len) {
  return to_result(call("net/sendto", ENOBUFS,
                        [&] {
                          return ::sendto(fd, data.data(), data.size(), MSG_NOSIGNAL, peer,
                                          peer == nullptr ? 0 : peer_len);
                        }),
                   false, IoStatus::want_write);
}

IoResult shutdown_socket(int fd, int how) {
  SysResult r = sys::shutdown(fd, how);
  return r.ok() ? IoResult{} : IoResult{IoStatus::error, 0, r.error};
}

IoResult write_all(int fd, std::span<const char> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    IoResult r = write_some(fd, data.subspan(done));
    if (r.status == IoStatus::error) return r;
    if (r.blocked()) {
      pollfd p{fd, POLLOUT, 0};
      SysResult w = sys::poll(&p, 1, -1);
      if (!w.ok()) return {IoStatus::error, done, w.error};
      continue;
    }
    done += r.bytes;
  }
  return {IoStatus::ok, done, 0};
}

void throw_error(int error, std::string_view what) {
  throw fmt::system_error(error, "{}", what);
}

void throw_errno(std::string_view what) {
  throw_error(errno, what);
}

void set_nonblocking(int fd, bool on) {
  SysResult flags = sys::fcntl(fd, F_GETFL);
  if (!flags.ok()) throw_error(flags.error, "fcntl F_GETFL");
  int wanted = on ? (flags.value | O_NONBLOCK) : (flags.value & ~O_NONBLOCK);
  if (wanted == flags.value) return;
  SysResult set = sys::fcntl(fd, F_SETFL, wanted);
  if (!set.ok()) throw_error(set.error, "fcntl F_SETFL");
}

void open_std_fds() {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (::fcntl(fd, F_GETFL) != -1 || errno != EBADF) continue;  // open: leave it be
    // The lower std fds are open by now, so open(2), which takes the lowest free fd, puts
    // it on fd; dup2 only if something else got there first. No O_CLOEXEC: it is a std fd.
    int null_fd = retry_eintr([] { return ::open("/dev/null", O_RDWR); });
    if (null_fd < 0) throw_errno(fmt::format("open /dev/null for closed fd {}", fd));
    if (null_fd == fd) continue;
    int r = retry_eintr([&] { return ::dup2(null_fd, fd); });
    int error = errno;
    ::close(null_fd);
    if (r < 0) throw_error(error, fmt::format("dup2 /dev/null to fd {}", fd));
  }
}

std::size_t raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) < 0) return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit want = lim;
    want.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) lim = want;
  }
  return lim.rlim_cur == RLIM_INFINITY ? std::size_t{1} << 20
                                       : static_cast<std::size_t>(lim.rlim_cur);
}

bool fault_alloc() noexcept {
  return injected("alloc/buffer", ENOMEM) != 0;
}

namespace sys {

SysResult socket(int domain, int type, int protocol) {
  return to_sys(call("net/socket", EMFILE, [&] { return ::socket(domain, type, protocol); }));
}

SysResult accept4(int fd, sockaddr* peer, socklen_t* peer_len, int flags) {
  return to_sys(call("net/accept4", EMFILE, [&] { return ::accept4(fd, peer, peer_len, flags); }));
}

SysResult bind(int fd, const sockaddr* address, socklen_t len) {
  return to_sys(call("net/bind", EADDRINUSE, [&] { return ::bind(fd, address, len); }));
}

SysResult listen(int fd, int backlog) {
  return to_sys(call("net/listen", EADDRINUSE, [&] { return ::listen(fd, backlog); }));
}

SysResult connect(int fd, const sockaddr* address, socklen_t len) {
  int fault = injected("net/connect", ECONNREFUSED);
  if (fault != 0 && fault != EINTR) {
    errno = fault;
    return {-1, fault};
  }
  int r = ::connect(fd, address, len);
  // An injected EINTR is a signal that arrives once the kernel has started the handshake,
  // as a real one does: the call was made, its outcome comes later.
  bool interrupted = (r < 0 && errno == EINTR) ||
                     (fault == EINTR && (r == 0 || errno == EINPROGRESS));
  if (interrupted) {
    errno = EINPROGRESS;
    return {-1, EINPROGRESS};
  }
  return to_sys(r);
}

SysResult shutdown(int fd, int how) {
  return to_sys(call("net/shutdown", ENOTCONN, [&] { return ::shutdown(fd, how); }));
}

SysResult getsockname(int fd, sockaddr* address, socklen_t* len) {
  return to_sys(call("net/getsockname", ENOBUFS, [&] { return ::getsockname(fd, address, len); }));
}

SysResult getpeername(int fd, sockaddr* address, socklen_t* len) {
  return to_sys(call("net/getpeername", ENOTCONN, [&] { return ::getpeername(fd, address, len); }));
}

SysResult getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  return to_sys(call("net/getsockopt", ENOPROTOOPT,
                     [&] { return ::getsockopt(fd, level, name, value, len); }));
}

SysResult setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  return to_sys(call("net/setsockopt", ENOPROTOOPT,
                     [&] { return ::setsockopt(fd, level, name, value, len); }));
}

SysResult ioctl(int fd, unsigned long request, int* argument) {
  return to_sys(call("net/ioctl", EINVAL, [&] { return ::ioctl(fd, request, argument); }));
}

SysResult fcntl(int fd, int command, int argument) {
  return to_sys(call("net/fcntl", EBADF, [&] { return ::fcntl(fd, command, argument); }));
}

SysResult poll(pollfd* fds, nfds_t count, int timeout_ms) {
  return to_sys(wait_retrying("net/poll", ENOMEM, timeout_ms,
                              [&](int ms) { return ::poll(fds, count, ms); }));
}

SysResult epoll_create1(int flags) {
  return to_sys(call("net/epoll_create1", EMFILE, [&] { return ::epoll_create1(flags); }));
}

SysResult epoll_ctl(int epoll_fd, int op, int fd, epoll_event* event) {
  return to_sys(
      call("net/epoll_ctl", ENOMEM, [&] { return ::epoll_ctl(epoll_fd, op, fd, event); }));
}

SysResult epoll_wait(int epoll_fd, epoll_event* events, int max_events, int timeout_ms) {
  return to_sys(wait_retrying("net/epoll_wait", ENOMEM, timeout_ms, [&](int ms) {
    return ::epoll_wait(epoll_fd, events, max_events, ms);
  }));
}

SysResult eventfd(unsigned initial, int flags) {
  return to_sys(call("net/eventfd", EMFILE, [&] { return ::eventfd(initial, flags); }));
}

SysResult signalfd(int fd, const sigset_t* mask, int flags) {
  return to_sys(call("net/signalfd", EMFILE, [&] { return ::signalfd(fd, mask, flags); }));
}

SysResult sigprocmask(int how, const sigset_t* set, sigset_t* old) {
  return to_sys(call("net/sigprocmask", EINVAL, [&] { return ::sigprocmask(how, set, old); }));
}

SysResult open(const char* path, int flags, mode_t mode) {
  return to_sys(call("net/open", EMFILE, [&] { return ::open(path, flags, mode); }));
}

SysResult gethostname(char* name, std::size_t len) {
  return to_sys(call("net/gethostname", EFAULT, [&] { return ::gethostname(name, len); }));
}

SysResult lstat(const char* path, struct stat* st) {
  return to_sys(call("net/lstat", EACCES, [&] { return ::lstat(path, st); }));
}

SysResult unlink(const char* path) {
  return to_sys(call("net/unlink", EACCES, [&] { return ::unlink(path); }));
}

SysResult chmod(const char* path, mode_t mode) {
  return to_sys(call("net/chmod", EPERM, [&] { return ::chmod(path, mode); }));
}

void close(int fd) noexcept {
  ::close(fd);
}

}  // namespace sys
}  // namespace sockecho::net
