#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "net/fd.h"
#include "net/resolver.h"
#include "net/socket.h"

namespace sockecho::net {

// The file a Unix-domain server binds. Removed when this object goes away, but only if
// the path still names the very socket we created (a successor's file is left alone).
class UnixSocketFile {
 public:
  UnixSocketFile() = default;
  UnixSocketFile(std::string path, dev_t dev, ino_t ino)
      : m_path(std::move(path)), m_dev(dev), m_ino(ino) {}
  ~UnixSocketFile();
  UnixSocketFile(UnixSocketFile&& other) noexcept;
  UnixSocketFile& operator=(UnixSocketFile&& other) noexcept;
  UnixSocketFile(const UnixSocketFile&) = delete;
  UnixSocketFile& operator=(const UnixSocketFile&) = delete;

 private:
  std::string m_path;  // empty: nothing to remove (abstract name, or moved from)
  dev_t m_dev = 0;
  ino_t m_ino = 0;
};

struct UnixListener {
  Fd fd;
  UnixSocketFile file;
};

// Binds (and for streams, listens on) a Unix socket at path ("@name": abstract namespace).
// A stale socket file nobody answers on is replaced; a path where a live server answers,
// or that is not a socket, is an error and is left untouched. mode, when given, is the
// socket file's permission bits, set as it is created.
UnixListener open_unix_listener(const std::string& path, SockType type,
                                const ListenOptions& options, std::optional<unsigned> mode);

// Binds fd to an address the kernel picks in the abstract namespace, so a datagram
// server can answer it.
void autobind(int fd);

// Who is at the other end of a Unix stream socket (SO_PEERCRED).
struct Credentials {
  pid_t pid = 0;
  uid_t uid = 0;
};

// nullopt when the kernel does not say (no peer process, or not a Unix stream socket).
std::optional<Credentials> peer_credentials(int fd);

}  // namespace sockecho::net
