#include "net/resolver.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
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

int socket_type(SockType type) {
  return type == SockType::stream ? SOCK_STREAM : SOCK_DGRAM;
}

const char* service_protocol(SockType type) {
  return type == SockType::stream ? "tcp" : "udp";
}

std::optional<std::uint16_t> lookup_service(std::string_view name, SockType type) {
  // Only what a service name is made of (an embedded NUL, say, would look up a shorter
  // name than the one typed); anything else is no name, without reading the files.
  auto in_name = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '+' || c == '*';
  };
  if (name.empty() || name.size() > 64 || !std::all_of(name.begin(), name.end(), in_name))
    return std::nullopt;
  const std::string n(name);
  servent entry{};
  servent* found = nullptr;
  std::array<char, 4096> buf{};  // an entry's name, aliases and protocol
  int rc =
      ::getservbyname_r(n.c_str(), service_protocol(type), &entry, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) return std::nullopt;
  return static_cast<std::uint16_t>(ntohs(static_cast<std::uint16_t>(found->s_port)));
}

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
