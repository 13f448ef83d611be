#include "net/unix_socket_file.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include "net/address.h"
#include "net/sys.h"

namespace sockecho::net {
namespace {

bool is_abstract(const std::string& path) { return !path.empty() && path[0] == '@'; }

// Makes room for a new server at path, or says why not.
void claim_path(const std::string& path, SockType type) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return;
    throw_errno(fmt::format("stat {}", path));
  }
  if (!S_ISSOCK(st.st_mode)) throw_error(EEXIST, fmt::format("{}: not a socket, left untouched", path));
  Fd probe = open_socket(AF_UNIX, type);
  Address a = Address::unix_path(path);
  if (::connect(probe.get(), a.get(), a.size()) == 0 || errno == EAGAIN || errno == EPROTOTYPE)
    throw_error(EADDRINUSE, fmt::format("bind {}: a server is listening there", path));
  if (errno != ECONNREFUSED) throw_errno(fmt::format("connect {}", path));
  // Nobody answers: a socket file left by a server that died. Replace it.
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) throw_errno(fmt::format("remove stale {}", path));
}

}  // namespace

UnixSocketFile::~UnixSocketFile() {
  if (m_path.empty()) return;
  struct stat st {};
  if (::lstat(m_path.c_str(), &st) == 0 && st.st_dev == m_dev && st.st_ino == m_ino)
    ::unlink(m_path.c_str());
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
  // moment between bind and a chmod.
  mode_t old_mask = mode ? ::umask(static_cast<mode_t>(~*mode & 0777)) : 0;
  int rc = ::bind(fd.get(), a.get(), a.size());
  int bind_errno = errno;
  if (mode) ::umask(old_mask);
  if (rc < 0) throw_error(bind_errno, fmt::format("bind {}", path));

  UnixListener out{std::move(fd), {}};
  if (!is_abstract(path)) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0) throw_errno(fmt::format("stat {}", path));
    out.file = UnixSocketFile(path, st.st_dev, st.st_ino);
    if (mode && ::chmod(path.c_str(), static_cast<mode_t>(*mode)) < 0)
      throw_errno(fmt::format("chmod {}", path));
  }
  if (type == SockType::stream && ::listen(out.fd.get(), options.backlog) < 0)
    throw_errno(fmt::format("listen {}", path));
  return out;
}

void autobind(int fd) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sun), sizeof(sa_family_t)) < 0)
    throw_errno("bind an address to be answered at");
}

std::optional<Credentials> peer_credentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid == 0) return std::nullopt;
  return Credentials{cred.pid, cred.uid};
}

}  // namespace sockecho::net
