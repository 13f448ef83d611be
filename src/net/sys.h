#pragma once

// The one place where syscalls meet errno: EINTR is retried here and nowhere else,
// EAGAIN becomes a value, and every send carries MSG_NOSIGNAL.

#include <cerrno>
#include <cstddef>
#include <span>
#include <string_view>

namespace sockecho::net {

// What one I/O call came to. A call that would block says which readiness it waits for:
// a plain socket's read waits for readable and its write for writable, but a TLS stream's
// read may need the socket writable (and the reverse), so the caller asks epoll for what
// the result says, never for what the call was.
enum class IoStatus { ok, want_read, want_write, eof, error };

struct IoResult {
  IoStatus status = IoStatus::ok;
  std::size_t bytes = 0;  // valid when status == ok
  int error = 0;          // errno, valid when status == error

  bool ok() const { return status == IoStatus::ok; }
  bool blocked() const { return status == IoStatus::want_read || status == IoStatus::want_write; }
};

// Retries fn() while it fails with EINTR; returns its last result.
template <typename F>
auto retry_eintr(F fn) {
  decltype(fn()) result;
  do {
    result = fn();
  } while (result == -1 && errno == EINTR);
  return result;
}

IoResult read_some(int fd, std::span<char> buffer);        // read(2); eof on 0 bytes
IoResult recv_some(int fd, std::span<char> buffer);        // recv(2); eof on 0 bytes
IoResult send_some(int fd, std::span<const char> data);    // send(2) with MSG_NOSIGNAL
IoResult write_some(int fd, std::span<const char> data);   // write(2), for non-sockets
IoResult shutdown_socket(int fd, int how);                 // shutdown(2): SHUT_WR, ...

// Writes everything, waiting with poll(2) when fd is non-blocking and full. May block:
// meant for stdout/stderr, never for sockets on the event loop.
IoResult write_all(int fd, std::span<const char> data);

// Throws fmt::system_error(errno, what). For setup failures only, never for I/O outcomes.
[[noreturn]] void throw_errno(std::string_view what);
[[noreturn]] void throw_error(int error, std::string_view what);

void set_nonblocking(int fd, bool on);

// Opens /dev/null on whichever of fds 0, 1 and 2 is closed (as OpenSSH's sanitise_stdfd),
// so that no socket ever lands there: a socket on fd 1 would get stdout's bytes, one on
// fd 2 the diagnostics, and one on fd 0 would be read as input. Call first thing, before
// anything opens an fd. Throws when /dev/null cannot be opened: running on would risk
// writing what is meant for the terminal into a connection.
void open_std_fds();

// Raises the soft RLIMIT_NOFILE to the hard limit (servers and scanners need fds, and the
// hard limit is what the administrator allows); returns the soft limit now in force.
std::size_t raise_fd_limit();

}  // namespace sockecho::net
