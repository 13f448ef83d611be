#include "net/unix_socket_file.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <fmt/format.h>

#include "net/address.h"
#include "net/sys.h"

namespace sockecho::net {
namespace {

bool is_abstract(const std::string& path) { return !path.empty() && path[0] == '@'; }

// Makes room for a new server at path, or says why not.
void claim_path(const std::string& path, SockType type) {
  struct stat st {};
  if (SysResult r = sys::lstat(path.c_str(), &st); !r.ok()) {
    if (r.error == ENOENT) return;
    throw_error(r.error, fmt::format("stat {}", path));
  }
  if (!S_ISSOCK(st.st_mode)) throw_error(EEXIST, fmt::format("{}: not a socket, left untouched", path));
  Fd probe = open_socket(AF_UNIX, type);
  Address a = Address::unix_path(path);
  SysResult c = sys::connect(probe.get(), a.get(), a.size());
  if (c.ok() || c.error == EAGAIN || c.error == EPROTOTYPE)
    throw_error(EADDRINUSE, fmt::format("bind {}: a server is listening there", path));
  if (c.error != ECONNREFUSED) throw_error(c.error, fmt::format("connect {}", path));
  // Nobody answers: a socket file left by a server that died. Replace it.
  if (SysResult u = sys::unlink(path.c_str()); !u.ok() && u.error != ENOENT)
    throw_error(u.error, fmt::format("remove stale {}", path));
}

}  // namespace

UnixSocketFile::~UnixSocketFile() {
  if (m_path.empty()) return;
  struct stat st {};
  if (sys::lstat(m_path.c_str(), &st).ok() && st.st_dev == m_dev && st.st_ino == m_ino)
    sys::unlink(m_path.c_str());
}

UnixSocketFile::UnixSocketFile(UnixSocketFile&& other) noexcept
    : m_path(std::exchange(other.m_path, {})), m_dev(other.m_dev), m_ino(other.m_ino) {}

UnixSocketFile& UnixSocketFile::operator=(UnixSocketFile&& other) noexcept {
  if (this != &other) {
    UnixSocketFile old(std::move(*this));
    m_path = std::exchange(other.m_path, {});
    m_dev = other.m_dev;
    m_ino = other.m_ino;
  }
  return *this;
}

UnixListener open_unix_listener(const std::string& path, SockType type,
                                const ListenOptions& options, std::optional<unsigned> mode) {
  if (path.empty()) throw_error(EINVAL, "Unix socket path is empty");
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    throw_error(ENAMETOOLONG, fmt::format("Unix socket path {}", path));
  if (!is_abstract(path)) claim_path(path, type);

  Fd fd = open_socket(AF_UNIX, type);
  Address a = Address::unix_path(path);
  // The umask decides the new file's mode at bind time, so no one can connect in the
  // moment between bind and a chmod. (umask(2) cannot fail, so it has no wrapper in sys.h.)
  mode_t old_mask = mode ? ::umask(static_cast<mode_t>(~*mode & 0777)) : 0;
  SysResult bound = sys::bind(fd.get(), a.get(), a.size());
  if (mode) ::umask(old_mask);
  if (!bound.ok()) throw_error(bound.error, fmt::format("bind {}", path));

  UnixListener out{std::move(fd), {}};
  if (!is_abstract(path)) {
    struct stat st {};
    if (SysResult r = sys::lstat(path.c_str(), &st); !r.ok())
      throw_error(r.error, fmt::format("stat {}", path));
    out.file = UnixSocketFile(path, st.st_dev, st.st_ino);
    if (mode) {
      if (SysResult r = sys::chmod(path.c_str(), static_cast<mode_t>(*mode)); !r.ok())
        throw_error(r.error, fmt::format("chmod {}", path));
    }
  }
  if (type == SockType::stream) {
    if (SysResult r = sys::listen(out.fd.get(), options.backlog); !r.ok())
      throw_error(r.error, fmt::format("listen {}", path));
  }
  return out;
}

void autobind(int fd) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (SysResult r = sys::bind(fd, reinterpret_cast<const sockaddr*>(&sun), sizeof(sa_family_t));
      !r.ok())
    throw_error(r.error, "bind an address to be answered at");
}

std::optional<Credentials> peer_credentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (!sys::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len).ok() || cred.pid == 0)
    return std::nullopt;
  return Credentials{cred.pid, cred.uid};
}

}  // namespace sockecho::net
