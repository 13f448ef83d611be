#include "net/connector.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <climits>

#include "net/socket.h"
#include "net/sys.h"
#include "net/unix_socket_file.h"

namespace sockecho::net {
namespace {

int poll_timeout(std::chrono::milliseconds timeout) {
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(timeout.count(), 0, INT_MAX));
}

int connect_one(int fd, const Address& address, std::chrono::milliseconds timeout) {
  SysResult c = sys::connect(fd, address.get(), address.size());
  if (c.ok()) return 0;
  if (c.error != EINPROGRESS) return c.error;
  pollfd p{fd, POLLOUT, 0};
  SysResult n = sys::poll(&p, 1, poll_timeout(timeout));
  if (!n.ok()) return n.error;
  if (n.value == 0) return ETIMEDOUT;
  return pending_error(fd);
}

}  // namespace

IoResult handshake_within(Stream& stream, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    IoResult r = stream.handshake();
    if (!r.blocked()) return r;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{stream.fd(), static_cast<short>(r.status == IoStatus::want_write ? POLLOUT : POLLIN), 0};
    SysResult n = sys::poll(&p, 1, poll_timeout(left));
    if (!n.ok()) return {IoStatus::error, 0, n.error};
    if (n.value == 0) return {IoStatus::error, 0, ETIMEDOUT};
  }
}

void bind_source(int fd, const Address& source) {
  if (source.port() != 0) {
    int on = 1;
    sys::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // best effort
  }
  SysResult b = sys::bind(fd, source.get(), source.size());
  if (!b.ok()) throw_error(b.error, "bind to " + source_name(source));
}

std::string source_name(const Address& source) {
  std::string name = source.to_string();
  if (source.port() == 0 && source.is_inet()) name.erase(name.rfind(':'));
  return name;
}

std::vector<Address> resolve_source(const std::string& host, std::uint16_t port, Family family,
                                    SockType type) {
  try {
    return resolve(host, port, family, type);
  } catch (const std::system_error& e) {
    throw std::system_error(e.code(), "bind to " + host);
  }
}

std::optional<SourcedTargets> match_source(std::span<const Address> sources,
                                           std::span<const Address> targets) {
  for (const Address& t : targets) {
    auto s = std::find_if(sources.begin(), sources.end(),
                          [&](const Address& a) { return a.family() == t.family(); });
    if (s == sources.end()) continue;
    SourcedTargets out{*s, {}};
    for (const Address& a : targets)
      if (a.family() == s->family()) out.targets.push_back(a);
    return out;
  }
  return std::nullopt;
}

namespace {

// Why a source cannot reach a target, by the source's family (AF_INET, AF_INET6).
class SourceFamilyCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "source"; }
  std::string message(int family) const override {
    return family == AF_INET ? "an IPv4 address, and the target has no IPv4 address"
                             : "an IPv6 address, and the target has no IPv6 address";
  }
};

}  // namespace

std::system_error source_family_error(const Address& source) {
  static const SourceFamilyCategory category;
  return std::system_error(source.family(), category, "bind to " + source_name(source));
}

void check_source(const Address& source, SockType type) {
  Fd fd = open_socket(source.family(), type);
  bind_source(fd.get(), source);
}

bool reset_on_close(int fd) {
  linger l{1, 0};
  return sys::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l).ok();
}

ConnectResult connect_any(std::span<const Address> addresses, SockType type,
                          std::chrono::milliseconds timeout, const std::optional<Address>& source) {
  ConnectResult result;
  result.error = EADDRNOTAVAIL;
  for (const Address& a : addresses) {
    result.address = a;
    Fd fd;
    try {
      fd = open_socket(a.family(), type);
      // A Unix datagram server can only answer a client that has an address.
      if (a.family() == AF_UNIX && type == SockType::datagram) autobind(fd.get());
    } catch (const std::system_error& e) {
      result.error = e.code().value();  // e.g. no IPv6 on this host: try the next address
      continue;
    }
    if (source) {
      try {
        bind_source(fd.get(), *source);
      } catch (const std::system_error& e) {
        result.error = e.code().value();
        result.bind_failed = true;
        return result;
      }
    }
    int err = connect_one(fd.get(), a, timeout);
    if (err == 0) {
      result.fd = std::move(fd);
      result.error = 0;
      return result;
    }
    result.error = err;
  }
  return result;
}

}  // namespace sockecho::net
