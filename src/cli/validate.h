#pragma once

// Rules between flags, apart from reading each flag's value (parse.cc). parse() calls them
// once every flag is read, so the order flags were typed in never matters; each throws
// UsageError naming the flags or the address involved, and can be called on its own.

#include <string>
#include <string_view>

#include "cli/options.h"
#include "cli/parse.h"

namespace sockecho::cli {

// --unix does not go with -4 or -6: a path has no address family.
void validate_transport(const TransportOptions& t);

// A numeric address held to -4/-6 before any lookup: -4 with an IPv6 address, -6 with an
// IPv4 one, and -6 with a v4-mapped one (::ffff:a.b.c.d is IPv4 traffic on an IPv6
// socket, which IPV6_V6ONLY excludes) are usage errors. Names are resolved for the family
// later. what: the address as typed, for the message ("--bind '[::1]'").
void validate_family(std::string_view what, std::string_view host, net::Family family);

// serve: --unix-mode, --allow/--deny and --threads against --unix; --threads with --once;
// the shutdown word against the exit word; a Unix server's path.
void validate_serve(const ServeOptions& o);

// send: --retries is for datagram sockets.
void validate_send(const SendOptions& o);

// probe: --echo (or --expect) needs a payload to send.
void validate_probe(const ProbeOptions& o);

}  // namespace sockecho::cli
