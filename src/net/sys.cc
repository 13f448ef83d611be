#include "net/sys.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

namespace sockecho::net {
namespace {

// zero_is_eof: a read of a non-empty buffer; blocked: what a would-block call waits for.
IoResult to_result(ssize_t n, bool zero_is_eof, IoStatus blocked) {
  if (n > 0 || (n == 0 && !zero_is_eof)) return {IoStatus::ok, static_cast<std::size_t>(n), 0};
  if (n == 0) return {IoStatus::eof, 0, 0};
  if (errno == EAGAIN || errno == EWOULDBLOCK) return {blocked, 0, 0};
  return {IoStatus::error, 0, errno};
}

}  // namespace

IoResult read_some(int fd, std::span<char> buffer) {
  return to_result(retry_eintr([&] { return ::read(fd, buffer.data(), buffer.size()); }),
                   !buffer.empty(), IoStatus::want_read);
}

IoResult recv_some(int fd, std::span<char> buffer) {
  return to_result(retry_eintr([&] { return ::recv(fd, buffer.data(), buffer.size(), 0); }),
                   !buffer.empty(), IoStatus::want_read);
}

IoResult send_some(int fd, std::span<const char> data) {
  return to_result(
      retry_eintr([&] { return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL); }), false,
      IoStatus::want_write);
}

IoResult write_some(int fd, std::span<const char> data) {
  return to_result(retry_eintr([&] { return ::write(fd, data.data(), data.size()); }), false,
                   IoStatus::want_write);
}

IoResult shutdown_socket(int fd, int how) {
  if (::shutdown(fd, how) == 0) return {};
  return {IoStatus::error, 0, errno};
}

IoResult write_all(int fd, std::span<const char> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    IoResult r = write_some(fd, data.subspan(done));
    if (r.status == IoStatus::error) return r;
    if (r.blocked()) {
      pollfd p{fd, POLLOUT, 0};
      if (retry_eintr([&] { return ::poll(&p, 1, -1); }) < 0) return {IoStatus::error, done, errno};
      continue;
    }
    done += r.bytes;
  }
  return {IoStatus::ok, done, 0};
}

void throw_error(int error, std::string_view what) {
  throw fmt::system_error(error, "{}", what);
}

void throw_errno(std::string_view what) { throw_error(errno, what); }

void set_nonblocking(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) throw_errno("fcntl F_GETFL");
  int wanted = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (wanted != flags && ::fcntl(fd, F_SETFL, wanted) < 0) throw_errno("fcntl F_SETFL");
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
  return lim.rlim_cur == RLIM_INFINITY ? std::size_t{1} << 20 : static_cast<std::size_t>(lim.rlim_cur);
}

}  // namespace sockecho::net
