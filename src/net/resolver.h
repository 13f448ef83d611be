#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "net/address.h"

namespace sockecho::net {

enum class Family { any, v4, v6 };
enum class SockType { stream, datagram };

// getaddrinfo(3) errors (EAI_*) as an error category of their own.
const std::error_category& gai_category();

// Resolves host (a name or a numeric address, without brackets) to every address
// getaddrinfo returns, in its order, duplicates removed. passive=true with an empty host
// gives the wildcard. Throws std::system_error (gai_category, or errno for EAI_SYSTEM)
// with the host as context.
std::vector<Address> resolve(const std::string& host, std::uint16_t port, Family family,
                             SockType type, bool passive = false);

// The port of a service name in /etc/services (getservbyname_r) for the transport's
// protocol: "http" is 80 for tcp; "tftp" is 69 for udp and nothing for tcp. Aliases count
// ("www"). Local files only (NSS), never the network. nullopt when there is no such entry.
std::optional<std::uint16_t> lookup_service(std::string_view name, SockType type);

// "tcp" or "udp": the protocol an /etc/services entry is for.
const char* service_protocol(SockType type);

int socket_type(SockType type);  // SOCK_STREAM / SOCK_DGRAM

}  // namespace sockecho::net
