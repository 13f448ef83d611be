#pragma once

// The one place where syscalls meet errno: EINTR is retried here and nowhere else,
// EAGAIN becomes a value, and every send carries MSG_NOSIGNAL.
//
// It is also the one seam tests fail syscalls through. Built with SOCKECHO_FAULTS, every
// wrapper below first asks libfiu whether its failpoint ("net/<syscall>", named in the
// comments) is enabled; if so it fails with the errno in the failpoint's failinfo (or the
// default shown, when failinfo is 0) without calling the kernel. Without the option the
// checks compile to nothing. See docs/FAULTS.md.

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <span>
#include <string_view>

struct stat;

namespace sockecho::net {

// Whether this build has the failpoints (SOCKECHO_FAULTS).
#ifdef SOCKECHO_FAULTS
inline constexpr bool k_faults_compiled = true;
#else
inline constexpr bool k_faults_compiled = false;
#endif

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

// The I/O calls, each an IoResult. The failpoint and its default errno follow each one.
IoResult read_some(int fd, std::span<char> buffer);       // read(2); eof on 0 bytes: net/read EIO
IoResult recv_some(int fd, std::span<char> buffer);       // recv(2); eof on 0: net/recv ECONNRESET
IoResult send_some(int fd, std::span<const char> data);   // send(2), MSG_NOSIGNAL: net/send EPIPE
IoResult write_some(int fd, std::span<const char> data);  // write(2), non-sockets: net/write EPIPE
IoResult shutdown_socket(int fd, int how);                // shutdown(2): SHUT_WR, ...: net/shutdown

// One datagram (recvfrom(2) with MSG_TRUNC): bytes is its full size, which is more than
// buffer.size() when the rest was cut off. A 0-byte datagram is ok with 0 bytes, never
// eof. peer and peer_len may be null (a connected socket). net/recvfrom ENOMEM.
IoResult recv_datagram(int fd, std::span<char> buffer, sockaddr* peer, socklen_t* peer_len);
// sendto(2) with MSG_NOSIGNAL; peer null: the connected peer. net/sendto ENOBUFS.
IoResult send_datagram(int fd, std::span<const char> data, const sockaddr* peer,
                       socklen_t peer_len);

// Writes everything, waiting with poll(2) when fd is non-blocking and full. May block:
// meant for stdout/stderr, never for sockets on the event loop.
IoResult write_all(int fd, std::span<const char> data);

// Throws fmt::system_error(errno, what). For setup failures only, never for I/O outcomes.
[[noreturn]] void throw_errno(std::string_view what);
[[noreturn]] void throw_error(int error, std::string_view what);

void set_nonblocking(int fd, bool on);  // throws

// Opens /dev/null on whichever of fds 0, 1 and 2 is closed (as OpenSSH's sanitise_stdfd),
// so that no socket ever lands there: a socket on fd 1 would get stdout's bytes, one on
// fd 2 the diagnostics, and one on fd 0 would be read as input. Call first thing, before
// anything opens an fd. Throws when /dev/null cannot be opened: running on would risk
// writing what is meant for the terminal into a connection.
void open_std_fds();

// Raises the soft RLIMIT_NOFILE to the hard limit (servers and scanners need fds, and the
// hard limit is what the administrator allows); returns the soft limit now in force.
std::size_t raise_fd_limit();

// True when the failpoint "alloc/buffer" says a client's buffer allocation should fail
// (act as for ENOMEM / std::bad_alloc). Always false without SOCKECHO_FAULTS.
bool fault_alloc() noexcept;

// What a thin wrapper returned: value is the call's result (an fd, a count, flags, 0)
// when error is 0; otherwise error is its errno (never EINTR) and value is -1. errno is
// left set as the call (or the failpoint) set it.
struct SysResult {
  int value = 0;
  int error = 0;

  bool ok() const { return error == 0; }
};

// Thin wrappers, one per syscall, named after it; the failpoint is "net/<name>" and the
// errno after it is what an enabled failpoint with failinfo 0 fails with. EINTR is
// retried unless said otherwise.
namespace sys {

SysResult socket(int domain, int type, int protocol);                       // EMFILE
SysResult accept4(int fd, sockaddr* peer, socklen_t* peer_len, int flags);  // EMFILE
SysResult bind(int fd, const sockaddr* address, socklen_t len);             // EADDRINUSE
SysResult listen(int fd, int backlog);                                      // EADDRINUSE
// Not retried: an interrupted connect goes on in the background, so EINTR is reported
// as EINPROGRESS (wait for POLLOUT, then read SO_ERROR).
SysResult connect(int fd, const sockaddr* address, socklen_t len);               // ECONNREFUSED
SysResult shutdown(int fd, int how);                                             // ENOTCONN
SysResult getsockname(int fd, sockaddr* address, socklen_t* len);                // ENOBUFS
SysResult getpeername(int fd, sockaddr* address, socklen_t* len);                // ENOTCONN
SysResult getsockopt(int fd, int level, int name, void* value, socklen_t* len);  // ENOPROTOOPT
SysResult setsockopt(int fd, int level, int name, const void* value, socklen_t len);  // ENOPROTOOPT
SysResult ioctl(int fd, unsigned long request, int* argument);                        // EINVAL
SysResult fcntl(int fd, int command, int argument = 0);                               // EBADF

// Waits are retried with what is left of timeout_ms (-1: no limit), so a signal never
// stretches a deadline.
SysResult poll(pollfd* fds, nfds_t count, int timeout_ms);                                // ENOMEM
SysResult epoll_create1(int flags);                                                       // EMFILE
SysResult epoll_ctl(int epoll_fd, int op, int fd, epoll_event* event);                    // ENOMEM
SysResult epoll_wait(int epoll_fd, epoll_event* events, int max_events, int timeout_ms);  // ENOMEM

SysResult eventfd(unsigned initial, int flags);                      // EMFILE
SysResult signalfd(int fd, const sigset_t* mask, int flags);         // EMFILE
SysResult sigprocmask(int how, const sigset_t* set, sigset_t* old);  // EINVAL

SysResult open(const char* path, int flags, mode_t mode = 0);  // EMFILE
SysResult lstat(const char* path, struct stat* st);            // EACCES
SysResult unlink(const char* path);                            // EACCES
SysResult chmod(const char* path, mode_t mode);                // EPERM
SysResult gethostname(char* name, std::size_t len);            // EFAULT

// close(2), never retried (Linux releases the fd even when it reports EINTR, and a retry
// could close someone else's new fd) and never failed on purpose: nobody can act on it.
void close(int fd) noexcept;

}  // namespace sys
}  // namespace sockecho::net
