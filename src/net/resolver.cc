#include "net/resolver.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>

namespace sockecho::net {
namespace {

class GaiCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int code) const override { return ::gai_strerror(code); }
};

}  // namespace

const std::error_category& gai_category() {
  static const GaiCategory category;
  return category;
}

int socket_type(SockType type) { return type == SockType::stream ? SOCK_STREAM : SOCK_DGRAM; }

std::vector<Address> resolve(const std::string& host, std::uint16_t port, Family family,
                             SockType type, bool passive) {
  addrinfo hints{};
  hints.ai_family = family == Family::v4 ? AF_INET : family == Family::v6 ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = socket_type(type);
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  std::string service = std::to_string(port);
  addrinfo* list = nullptr;
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &list);
  if (rc == EAI_SYSTEM) throw std::system_error(errno, std::generic_category(), host);
  if (rc != 0) throw std::system_error(rc, gai_category(), host);
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(list, &::freeaddrinfo);

  std::vector<Address> out;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    Address a(ai->ai_addr, ai->ai_addrlen);
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  return out;
}

}  // namespace sockecho::net
