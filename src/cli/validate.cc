#include "cli/validate.h"

#include <optional>

#include <fmt/format.h>

#include "net/endpoint.h"

namespace sockecho::cli {

void validate_transport(const TransportOptions& t) {
  if (t.unix_domain && t.family != net::Family::any)
    throw UsageError("--unix", "does not go with -4 or -6");
}

void validate_family(std::string_view what, std::string_view host, net::Family family) {
  const std::string subject(what);
  switch (net::host_kind(host)) {
    case net::HostKind::name:
      return;
    case net::HostKind::ipv4:
      if (family == net::Family::v6)
        throw UsageError(subject, "an IPv4 address, and -6 is IPv6 only");
      return;
    case net::HostKind::ipv6:
      if (family == net::Family::v4)
        throw UsageError(subject, "an IPv6 address, and -4 is IPv4 only");
      return;
    case net::HostKind::v4_mapped: {
      const std::string v4(host.substr(host.rfind(':') + 1));
      if (family == net::Family::v6)
        throw UsageError(
            subject, "a v4-mapped address is IPv4, and -6 is IPv6 only; drop -6, or write " + v4);
      if (family == net::Family::v4)
        throw UsageError(subject, "a v4-mapped address is IPv6 notation; with -4, write " + v4);
      return;
    }
  }
}

namespace {

// The address family a numeric host is written in; nullopt for a name. A v4-mapped
// address is IPv6 to a socket (AF_INET6).
std::optional<net::Family> literal_family(std::string_view host) {
  switch (net::host_kind(host)) {
    case net::HostKind::name:
      return std::nullopt;
    case net::HostKind::ipv4:
      return net::Family::v4;
    case net::HostKind::ipv6:
    case net::HostKind::v4_mapped:
      return net::Family::v6;
  }
  return std::nullopt;
}

const char* family_word(net::Family f) { return f == net::Family::v4 ? "IPv4" : "IPv6"; }

}  // namespace

void validate_source(std::string_view what, const SourceAddress& source, const TransportOptions& t) {
  if (t.unix_domain)
    throw UsageError(std::string(what), "does not go with --unix (a path has no local address)");
  validate_family(what, source.host, t.family);
}

void validate_source_target(std::string_view what, const SourceAddress& source,
                            std::string_view target_what, std::string_view target_host) {
  std::optional<net::Family> from = literal_family(source.host);
  std::optional<net::Family> to = literal_family(target_host);
  if (from && to && *from != *to)
    throw UsageError(std::string(what), fmt::format("an {} address, and {} is {}", family_word(*from),
                                                    target_what, family_word(*to)));
}

void validate_tls_flags(const std::vector<std::string>& given, bool tls) {
  if (!tls && !given.empty()) throw UsageError(given.front(), "goes with --tls only");
}

void validate_tls(const net::TlsConfig& tls, const TransportOptions& t) {
  if (!tls.enabled) return;
  if (t.type == net::SockType::datagram)
    throw UsageError("--tls", "does not go with --udp (TLS runs over a stream)");
  if (!tls.cert_file.empty() && tls.key_file.empty())
    throw UsageError("--cert", "needs --key too (a key in the certificate file: name it twice)");
  if (tls.cert_file.empty() && !tls.key_file.empty()) throw UsageError("--key", "needs --cert too");
}

void validate_tls_client(const net::TlsConfig& tls) {
  if (!tls.enabled) return;
  if (tls.pin && tls.insecure)
    throw UsageError("--pin/-k", "pick one (--pin accepts one certificate, -k any)");
  if (!tls.ca_file.empty() && tls.insecure)
    throw UsageError("--cafile", "does not go with -k (nothing is verified)");
  if (!tls.ca_file.empty() && tls.pin)
    throw UsageError("--cafile", "does not go with --pin (the fingerprint is the whole check)");
}

void validate_serve(const ServeOptions& o) {
  validate_transport(o.transport);
  const bool unix_domain = o.transport.unix_domain;
  if (o.unix_mode && !unix_domain) throw UsageError("--unix-mode", "goes with --unix only");
  if (unix_domain && o.bind.empty()) throw UsageError("--unix", "needs a PATH (or @name)");
  if (unix_domain && !o.access.empty())
    throw UsageError("--allow/--deny", "do not go with --unix (use --unix-mode)");
  if (!o.shutdown_word.empty() && o.shutdown_word == o.exit_word)
    throw UsageError("--shutdown-word", "must differ from the exit word");
  if (o.threads > 1 && o.once) throw UsageError("--threads", "does not go with --once");
  validate_tls(o.tls, o.transport);
}

void validate_send(const SendOptions& o) {
  validate_transport(o.transport);
  if (o.retries > 0 && o.transport.type == net::SockType::stream)
    throw UsageError("--retries", "goes with --udp only (a stream resends by itself)");
  if (o.crlf && o.transport.type == net::SockType::datagram)
    throw UsageError("--crlf", "goes with a stream only (a datagram is a line without its end)");
  validate_tls(o.tls, o.transport);
  validate_tls_client(o.tls);
}

void validate_probe(const ProbeOptions& o) {
  validate_transport(o.transport);
  if (o.echo && o.payload.empty()) throw UsageError("--payload", "must not be empty with --echo");
  if (o.wait && o.interval.count() == 0)
    throw UsageError("--interval", "must be more than 0 with --wait");
  if (o.source && o.source->port != 0) {
    std::size_t endpoints = 0;
    for (const ProbeTarget& t : o.targets) endpoints += t.ports.size();
    if (endpoints > 1)
      throw UsageError("--source",
                       "a fixed local port serves one endpoint at a time; probe one port, or "
                       "leave the port out");
  }
  validate_tls(o.tls, o.transport);
  validate_tls_client(o.tls);
}

}  // namespace sockecho::cli
