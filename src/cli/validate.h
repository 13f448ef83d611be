#pragma once

// Rules between flags, apart from reading each flag's value (parse.cc). parse() calls them
// once every flag is read, so the order flags were typed in never matters; each throws
// UsageError naming the flags or the address involved, and can be called on its own.

#include <string>
#include <string_view>
#include <vector>

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

// Every TLS flag but --tls itself goes with --tls only. given: the TLS flags on the command
// line as --help names them ("--cert"), whatever their value, since "--tls-min 1.2" without
// --tls is as much a mistake as any other; the first is the one named.
void validate_tls_flags(const std::vector<std::string>& given, bool tls);

// --tls, on any subcommand: it needs a stream (TCP or Unix), and --cert and --key come
// together (serve: both or neither, neither being a generated certificate).
void validate_tls(const net::TlsConfig& tls, const TransportOptions& t);

// --tls on a client: --pin and -k contradict each other, and --cafile would be ignored
// beside either, so each pair is a usage error rather than a silent choice.
void validate_tls_client(const net::TlsConfig& tls);

// -s/--source against the transport and a target: it does not go with --unix (a path has
// no local address to choose), it is held to -4/-6 as any address, and a numeric source of
// one family with a numeric target of the other (IPv4 from IPv6, or the reverse) is a
// usage error. A name on either side is settled once resolved. what: the flag as typed
// ("--source '127.0.0.2'"); target_what: the target as typed ("TARGET '[::1]:80'").
void validate_source(std::string_view what, const SourceAddress& source, const TransportOptions& t);
void validate_source_target(std::string_view what, const SourceAddress& source,
                            std::string_view target_what, std::string_view target_host);

// serve: --unix-mode, --allow/--deny and --threads against --unix; --threads with --once;
// the shutdown word against the exit word; a Unix server's path; validate_tls.
void validate_serve(const ServeOptions& o);

// send: --retries is for datagram sockets, --crlf for streams; validate_tls and
// validate_tls_client.
void validate_send(const SendOptions& o);

// probe: --echo (or --expect) needs a payload to send; --wait repeats probes of one
// endpoint, so it needs an --interval of more than 0 (a refused connect would otherwise be
// retried in a hot loop); a --source with a fixed port serves one endpoint only (a port list,
// a range or several targets would all need it at once); validate_tls and
// validate_tls_client.
void validate_probe(const ProbeOptions& o);

}  // namespace sockecho::cli
