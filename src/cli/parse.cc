// The only file that knows cxxopts. cxxopts has no subcommands, so argv is split at the
// subcommand name and each subcommand gets its own cxxopts::Options; the same tables
// produce --help. Every value is taken as a string and checked here, so every message is
// ours, in ASCII, in the form "<what>: <why>".

#include "cli/parse.h"

#include <algorithm>
#include <array>
#include <functional>

// cxxopts splits vector values at commas by default; a port list ("host:22,80") or a WORD
// with a comma must stay whole.
#define CXXOPTS_VECTOR_DELIMITER '\0'
#include <cxxopts.hpp>
#include <fmt/format.h>

#include "cli/duration.h"
#include "cli/tls_values.h"
#include "cli/validate.h"
#include "net/endpoint.h"

#ifndef SOCKECHO_VERSION
#define SOCKECHO_VERSION "0"
#endif

namespace sockecho::cli {
namespace {

// probe --wait's default --interval: a readiness gate answers soon after the service is up.
constexpr std::chrono::milliseconds k_wait_interval{250};

using Result = cxxopts::ParseResult;

struct Subcommand {
  std::string_view name;
  std::string_view summary;
  std::function<cxxopts::Options()> options;
  std::function<Command(const Result&)> build;
};

void add_transport(cxxopts::Options& o) {
  o.add_options("Transport")
      ("tcp", "stream socket (the default)")
      ("udp", "datagram socket")
      ("unix", "Unix domain socket: the address is a path, @name is abstract")
      ("4", "IPv4 only")
      ("6", "IPv6 only")
      ("p,port", "port number or /etc/services name (default 48763); a port in the address wins",
       cxxopts::value<std::string>(), "N")
      ("h,help", "show this help");
}

// The TLS group. A flag means a little more on serve than on a client: there --cafile asks
// every client for a certificate, and --cert may be left out for a generated one.
enum class TlsRole { server, client };

void add_tls(cxxopts::Options& o, TlsRole role) {
  auto file = [] { return cxxopts::value<std::string>(); };
  cxxopts::OptionAdder tls = o.add_options("TLS");
  if (role == TlsRole::server) {
    tls("tls", "serve TLS over the stream (TCP or Unix)")
        ("cert", "certificate chain, PEM, with --key (default: a generated one)", file(), "FILE")
        ("key", "private key of --cert, PEM", file(), "FILE")
        ("cafile", "ask clients for a certificate, verified against FILE (mutual TLS)", file(),
         "FILE")
        ("alpn", "protocols to accept, by preference (e.g. h2,http/1.1)",
         cxxopts::value<std::string>(), "LIST");
  } else {
    tls("tls", "talk TLS over the stream, verifying the server's certificate")
        ("cafile", "trust the CAs in FILE instead of the system's", file(), "FILE")
        ("servername", "name to check and send as SNI (default: TARGET's host)",
         cxxopts::value<std::string>(), "NAME")
        ("k,insecure", "do not verify the server's certificate")
        ("pin", "accept only the certificate with this fingerprint, as serve prints it",
         cxxopts::value<std::string>(), "SHA256")
        ("cert", "client certificate, PEM, with --key", file(), "FILE")
        ("key", "private key of --cert, PEM", file(), "FILE")
        ("alpn", "application protocols to offer, comma-separated (e.g. h2,http/1.1)",
         cxxopts::value<std::string>(), "LIST");
  }
  tls("tls-min", "lowest TLS version to accept: 1.2 (default) or 1.3",
      cxxopts::value<std::string>(), "VERSION");
}

cxxopts::Options serve_options() {
  cxxopts::Options o("sockecho serve", "Run the uppercase echo service.");
  o.custom_help("[options]").positional_help("[[ADDR:]PORT]").set_width(100);
  add_transport(o);
  o.add_options("Service")
      ("b,bind", "address to listen on (default: dual-stack ::, else 0.0.0.0)",
       cxxopts::value<std::string>(), "ADDR")
      ("backlog", "listen(2) backlog (default 128)", cxxopts::value<std::string>(), "N")
      ("mode", "upper (default), echo, lower or discard", cxxopts::value<std::string>(), "MODE")
      ("exit-word", "a line that closes the client's connection (default exit; '' disables)",
       cxxopts::value<std::string>(), "WORD")
      ("shutdown-word", "a line that stops the server (default: none)",
       cxxopts::value<std::string>(), "WORD")
      ("max-clients", "serve at most N clients at once; close the rest (default 0: no cap)",
       cxxopts::value<std::string>(), "N")
      ("idle-timeout", "close clients silent this long (default: never)",
       cxxopts::value<std::string>(), "DUR")
      ("once", "serve one client or one datagram, then exit")
      ("reuseport", "set SO_REUSEPORT (share the port with other servers)")
      ("threads", "serve on N threads, event loops sharing the one socket (default 1)",
       cxxopts::value<std::string>(), "N")
      ("unix-mode", "with --unix: permissions of the socket file, in octal (e.g. 0600)",
       cxxopts::value<std::string>(), "MODE")
      ("allow", "serve only peers in CIDR (repeatable; default: everyone)",
       cxxopts::value<std::vector<std::string>>(), "CIDR")
      ("deny", "refuse peers in CIDR (repeatable; wins over --allow)",
       cxxopts::value<std::vector<std::string>>(), "CIDR");
  add_tls(o, TlsRole::server);
  o.add_options("TLS")
      ("handshake-timeout", "close a client not through the handshake in DUR (default 10s)",
       cxxopts::value<std::string>(), "DUR");
  o.add_options("Output")
      ("v,verbose", "also print every message")
      ("q,quiet", "print only errors")
      ("json", "print events as JSON lines")
      ("timestamps", "start each line with its time, RFC 3339 UTC (JSON has a time key anyway)")
      ("x,hexdump", "also print every chunk read or written as a hex dump");
  o.add_options()("args", "", cxxopts::value<std::vector<std::string>>());
  o.parse_positional({"args"});
  return o;
}

cxxopts::Options send_options() {
  cxxopts::Options o("sockecho send", "Send stdin (or WORDs) and print the replies.");
  o.custom_help("[options] TARGET").positional_help("[WORD...]").set_width(100);
  add_transport(o);
  o.add_options("Client")
      ("w,timeout",
       "stream: give up after this much silence once input ended, or this long without "
       "the peer taking or acknowledging bytes (default 10s); "
       "datagram: wait this long for each reply (default 1s)",
       cxxopts::value<std::string>(), "DUR")
      ("connect-timeout", "give up connecting after DUR (default 10s)",
       cxxopts::value<std::string>(), "DUR")
      ("retries", "datagram: send each datagram at most N+1 times (default 0)",
       cxxopts::value<std::string>(), "N")
      ("exit-word", "interactive: this line is sent, then the session ends (default exit)",
       cxxopts::value<std::string>(), "WORD")
      ("crlf", "send each input line ending as CRLF (a CRLF stays one); streams only")
      ("v,verbose", "print connection details on stderr")
      ("x,hexdump", "print every chunk sent or received as a hex dump on stderr")
      ("timestamps", "start each -v line with its time, RFC 3339 UTC")
      ("s,source", "connect from this local address (and port), as nc -s",
       cxxopts::value<std::string>(), "ADDR[:PORT]");
  add_tls(o, TlsRole::client);
  o.add_options()("args", "", cxxopts::value<std::vector<std::string>>());
  o.parse_positional({"args"});
  return o;
}

cxxopts::Options probe_options() {
  cxxopts::Options o("sockecho probe", "Check that endpoints answer, and how fast.");
  o.custom_help("[options] TARGET").positional_help("[TARGET...]").set_width(100);
  add_transport(o);
  o.add_options("Probe")
      ("w,timeout", "give up on a probe after DUR (default 2s)", cxxopts::value<std::string>(), "DUR")
      ("concurrency", "probes in flight at once (default: up to 1024, within the fd limit)",
       cxxopts::value<std::string>(), "N")
      ("payload", "what UDP and --echo probes send (default 'probe')",
       cxxopts::value<std::string>(), "STR")
      ("echo", "also check the service answers the payload upper-cased")
      ("expect", "the reply to expect instead of the payload upper-cased (implies --echo)",
       cxxopts::value<std::string>(), "STR")
      ("c,count", "probe each endpoint N times (default 1)", cxxopts::value<std::string>(), "N")
      ("i,interval", "between probes of one endpoint (default 1s; 250ms with --wait)",
       cxxopts::value<std::string>(), "DUR")
      ("wait", "probe again until every endpoint is up, for at most DUR; exit 0 if all came up",
       cxxopts::value<std::string>(), "DUR")
      ("s,source", "connect from this local address (and port), as nc -s",
       cxxopts::value<std::string>(), "ADDR[:PORT]")
      ("open", "list only OPEN endpoints in the table");
  add_tls(o, TlsRole::client);
  o.add_options("TLS")
      ("warn-expiry", "EXPIRING when the certificate expires within DUR (e.g. 21d)",
       cxxopts::value<std::string>(), "DUR");
  o.add_options("Output")
      ("q,quiet", "print nothing; the exit status says it all")
      ("json", "print results as JSON lines")
      ("timestamps", "start each line with its time, RFC 3339 UTC (JSON has a time key anyway)");
  o.add_options()("args", "", cxxopts::value<std::vector<std::string>>());
  o.parse_positional({"args"});
  return o;
}

std::string help_of(cxxopts::Options o, std::initializer_list<std::string> groups) {
  return o.help(std::vector<std::string>(groups));
}

std::string dashed(const std::string& name) { return (name.size() == 1 ? "-" : "--") + name; }

std::string string_of(const Result& r, const std::string& name) { return r[name].as<std::string>(); }

// A word the user typed, quoted so that even an empty one shows: "'serv'", "''".
std::string quoted(std::string_view word) { return "'" + std::string(word) + "'"; }

// How a flag's value is named in a message: "--port '70000'".
std::string flag_value(const std::string& name, std::string_view value) {
  return dashed(name) + " " + quoted(value);
}

// Runs fn and turns a net::ParseError into a usage error about subject.
template <typename F>
auto checked(const std::string& subject, F fn) {
  try {
    return fn();
  } catch (const net::ParseError& e) {
    throw UsageError(subject, e.what());
  }
}

unsigned long long number(const Result& r, const std::string& name, unsigned long long lo,
                          unsigned long long hi) {
  std::string text = string_of(r, name);
  return checked(flag_value(name, text), [&] { return net::parse_number(text, lo, hi); });
}

// A flag's value through parse, a function that throws net::ParseError.
template <typename F>
auto value_of(const Result& r, const std::string& name, F parse) {
  std::string text = string_of(r, name);
  return checked(flag_value(name, text), [&] { return parse(text); });
}

std::chrono::milliseconds duration(const Result& r, const std::string& name) {
  std::string text = string_of(r, name);
  return checked(flag_value(name, text), [&] { return parse_duration(text); });
}

// A duration that must not be 0 (a timeout of nothing).
std::chrono::milliseconds positive_duration(const Result& r, const std::string& name) {
  std::chrono::milliseconds d = duration(r, name);
  if (d.count() == 0) throw UsageError(flag_value(name, string_of(r, name)), "must be more than 0");
  return d;
}

std::uint16_t port_flag(const Result& r, net::PortRules rules) {
  std::string text = string_of(r, "port");
  return checked(flag_value("port", text), [&] { return net::parse_port(text, rules); });
}

TransportOptions transport(const Result& r) {
  if (r.count("tcp") && r.count("udp")) throw UsageError("--tcp/--udp", "pick one");
  if (r.count("4") && r.count("6")) throw UsageError("-4/-6", "pick one");
  TransportOptions t;
  if (r.count("udp")) t.type = net::SockType::datagram;
  if (r.count("unix")) t.unix_domain = true;
  if (r.count("4")) t.family = net::Family::v4;
  if (r.count("6")) t.family = net::Family::v6;
  validate_transport(t);
  if (t.unix_domain && r.count("port"))
    throw UsageError("--unix", "does not go with --port: the address is a path");
  return t;
}

std::string file_flag(const Result& r, const std::string& name) {
  std::string path = string_of(r, name);
  if (path.empty()) throw UsageError(flag_value(name, path), "empty file name");
  return path;
}

// The TLS flags given besides --tls, as --help names them and in its order: the group of
// the subcommand's own table, so a flag added there is held to --tls with no more code.
std::vector<std::string> tls_flags_given(const Result& r, const cxxopts::Options& options) {
  std::vector<std::string> given;
  for (const cxxopts::HelpOptionDetails& d : options.group_help("TLS").options)
    for (const std::string& name : d.l)
      if (name != "tls" && r.count(name)) given.push_back(dashed(name));
  return given;
}

// --tls and its flags; a flag the subcommand lacks is never in r, so one reader serves all.
net::TlsConfig tls_config(const Result& r, const cxxopts::Options& options) {
  net::TlsConfig tls;
  tls.enabled = r.count("tls") > 0;
  validate_tls_flags(tls_flags_given(r, options), tls.enabled);
  if (r.count("cert")) tls.cert_file = file_flag(r, "cert");
  if (r.count("key")) tls.key_file = file_flag(r, "key");
  if (r.count("cafile")) tls.ca_file = file_flag(r, "cafile");
  if (r.count("alpn")) tls.alpn = value_of(r, "alpn", parse_alpn_list);
  if (r.count("tls-min")) tls.min_version = value_of(r, "tls-min", parse_tls_version);
  if (r.count("servername")) tls.servername = value_of(r, "servername", parse_servername);
  tls.insecure = r.count("insecure") > 0;
  if (r.count("pin")) tls.pin = value_of(r, "pin", parse_fingerprint);
  if (r.count("handshake-timeout"))
    tls.handshake_timeout = positive_duration(r, "handshake-timeout");
  return tls;
}

std::vector<std::string> positionals(const Result& r) {
  return r.count("args") ? r["args"].as<std::vector<std::string>>() : std::vector<std::string>{};
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string unix_path(const std::string& subject, const std::string& text) {
  return checked(subject, [&] { return net::parse_unix_path(text); });
}

// serve's address, from --bind and the positional [[ADDR:]PORT] (or PATH with --unix);
// the two may both be given when they name the same address.
void serve_address(const Result& r, ServeOptions& o) {
  const net::PortRules rules{o.transport.type, net::PortUse::listen};
  const bool unix_domain = o.transport.unix_domain;
  if (r.count("bind")) {
    std::string b = string_of(r, "bind");
    std::string subject = flag_value("bind", b);
    o.bind = unix_domain ? unix_path(subject, b) : checked(subject, [&] { return net::parse_host(b); });
    if (!unix_domain) validate_family(subject, o.bind, o.transport.family);
  }
  std::vector<std::string> args = positionals(r);
  if (args.size() > 1) throw UsageError(quoted(args[1]), "unexpected argument (serve takes [[ADDR:]PORT])");
  if (args.empty()) return;
  const std::string& a = args[0];
  std::string host;
  if (unix_domain) {
    host = unix_path("path " + quoted(a), a);
  } else if (all_digits(a)) {
    o.port = checked("port " + quoted(a), [&] { return net::parse_port(a, rules); });
    return;
  } else {
    net::HostPort hp = checked("address " + quoted(a), [&] { return net::parse_host_port(a, rules); });
    validate_family("address " + quoted(a), hp.host, o.transport.family);
    host = hp.host;
    if (hp.port) o.port = *hp.port;
  }
  if (r.count("bind") && host != o.bind) throw UsageError(quoted(a), "conflicts with --bind " + o.bind);
  o.bind = host;
}

Command build_serve(const Result& r) {
  ServeOptions o;
  o.transport = transport(r);
  if (r.count("port")) o.port = port_flag(r, {o.transport.type, net::PortUse::listen});
  serve_address(r, o);
  if (r.count("unix-mode")) {
    std::string m = string_of(r, "unix-mode");
    o.unix_mode = static_cast<unsigned>(checked(flag_value("unix-mode", m), [&] {
      try {
        return net::parse_number(m, 0, 0777, 8);
      } catch (const net::ParseError&) {
        throw net::ParseError("not an octal mode (e.g. 0600)");
      }
    }));
  }
  if (r.count("backlog")) o.backlog = static_cast<int>(number(r, "backlog", 1, 1 << 20));
  if (r.count("mode")) {
    std::string m = string_of(r, "mode");
    auto mode = net::parse_mode(m);
    if (!mode) throw UsageError(flag_value("mode", m), "unknown mode (upper, echo, lower, discard)");
    o.mode = *mode;
  }
  if (r.count("exit-word")) o.exit_word = string_of(r, "exit-word");
  if (r.count("shutdown-word")) {
    o.shutdown_word = string_of(r, "shutdown-word");
    if (o.shutdown_word.empty()) throw UsageError("--shutdown-word", "must not be empty");
  }
  if (r.count("max-clients")) o.max_clients = number(r, "max-clients", 0, 1'000'000'000);
  if (r.count("idle-timeout")) o.idle_timeout = positive_duration(r, "idle-timeout");
  for (const char* rule : {"allow", "deny"}) {
    if (!r.count(rule)) continue;
    for (const std::string& text : r[rule].as<std::vector<std::string>>()) {
      net::Cidr c = checked(flag_value(rule, text), [&] { return net::parse_cidr(text); });
      if (std::string_view(rule) == "allow") o.access.allow(c);
      else o.access.deny(c);
    }
  }
  if (r.count("threads")) o.threads = static_cast<unsigned>(number(r, "threads", 1, 256));
  o.once = r.count("once") > 0;
  o.reuseport = r.count("reuseport") > 0;
  if (r.count("verbose") && r.count("quiet")) throw UsageError("-v/-q", "pick one");
  if (r.count("verbose")) o.verbosity = Verbosity::verbose;
  if (r.count("quiet")) o.verbosity = Verbosity::quiet;
  if (r.count("hexdump") && r.count("quiet")) throw UsageError("-x/-q", "pick one");
  o.hexdump = r.count("hexdump") > 0;
  o.json = r.count("json") > 0;
  o.timestamps = r.count("timestamps") > 0;
  o.tls = tls_config(r, serve_options());
  validate_serve(o);
  return o;
}

// -s/--source ADDR[:PORT]: an address as for a listener (port 0, or none: any port).
std::optional<SourceAddress> source_flag(const Result& r, const TransportOptions& t) {
  if (!r.count("source")) return std::nullopt;
  std::string text = string_of(r, "source");
  std::string subject = flag_value("source", text);
  SourceAddress source;
  if (!t.unix_domain) {
    net::HostPort hp = checked(
        subject, [&] { return net::parse_host_port(text, {t.type, net::PortUse::listen}); });
    source = SourceAddress{hp.host, hp.port.value_or(0)};
  }
  validate_source(subject, source, t);
  return source;
}

// A client's TARGET: host[:port], [v6][:port], or with --unix a path. A port in TARGET
// wins over -p.
std::string target_subject(const std::string& text) { return "TARGET " + quoted(text); }

void reject_port_alone(const std::string& text) {
  if (all_digits(text)) throw UsageError(target_subject(text), "a port alone; write localhost:" + text);
}

Command build_send(const Result& r) {
  SendOptions o;
  o.transport = transport(r);
  const net::PortRules rules{o.transport.type, net::PortUse::connect};
  std::vector<std::string> args = positionals(r);
  if (args.empty()) throw UsageError("TARGET", "missing (e.g. localhost:48763)");
  std::optional<std::uint16_t> flag_port;
  if (r.count("port")) flag_port = port_flag(r, rules);
  const std::string& target = args[0];
  if (o.transport.unix_domain) {
    o.host = unix_path(target_subject(target), target);
    o.port = 0;
  } else {
    reject_port_alone(target);
    net::HostPort hp =
        checked(target_subject(target), [&] { return net::parse_host_port(target, rules); });
    validate_family(target_subject(target), hp.host, o.transport.family);
    o.host = hp.host;
    o.port = hp.port.value_or(flag_port.value_or(k_default_port));
  }
  o.source = source_flag(r, o.transport);
  if (o.source)
    validate_source_target(flag_value("source", string_of(r, "source")), *o.source,
                           target_subject(target), o.host);
  if (args.size() > 1) {
    std::string joined;
    for (std::size_t i = 1; i < args.size(); ++i) joined += (i > 1 ? " " : "") + args[i];
    o.words = joined + "\n";
  }
  if (r.count("timeout")) o.timeout = duration(r, "timeout");
  if (r.count("connect-timeout")) o.connect_timeout = positive_duration(r, "connect-timeout");
  if (r.count("retries")) o.retries = static_cast<unsigned>(number(r, "retries", 0, 1000));
  if (r.count("exit-word")) o.exit_word = string_of(r, "exit-word");
  o.verbose = r.count("verbose") > 0;
  o.crlf = r.count("crlf") > 0;
  o.hexdump = r.count("hexdump") > 0;
  o.timestamps = r.count("timestamps") > 0;
  o.tls = tls_config(r, send_options());
  validate_send(o);
  return o;
}

Command build_probe(const Result& r) {
  ProbeOptions o;
  o.transport = transport(r);
  std::vector<std::string> args = positionals(r);
  if (args.empty()) throw UsageError("TARGET", "missing (e.g. localhost:22,80,8000-8100)");
  std::optional<std::uint16_t> flag_port;
  if (r.count("port")) flag_port = port_flag(r, {o.transport.type, net::PortUse::connect});
  for (const std::string& a : args) {
    ProbeTarget t{a, a, {}};
    if (o.transport.unix_domain) {
      t.host = unix_path(target_subject(a), a);
    } else {
      reject_port_alone(a);
      net::HostPorts hp =
          checked(target_subject(a), [&] { return net::parse_host_ports(a, o.transport.type); });
      validate_family(target_subject(a), hp.host, o.transport.family);
      t.host = hp.host;
      t.ports = hp.ports.empty() ? std::vector<std::uint16_t>{flag_port.value_or(k_default_port)}
                                 : hp.ports;
    }
    o.targets.push_back(std::move(t));
  }
  o.source = source_flag(r, o.transport);
  if (o.source)
    for (const ProbeTarget& t : o.targets)
      validate_source_target(flag_value("source", string_of(r, "source")), *o.source,
                             target_subject(t.text), t.host);
  if (r.count("timeout")) o.timeout = positive_duration(r, "timeout");
  if (r.count("concurrency")) o.concurrency = number(r, "concurrency", 1, 1'000'000);
  if (r.count("payload")) o.payload = string_of(r, "payload");
  // --expect says what the echo check expects: it implies --echo (documented so).
  o.echo = r.count("echo") > 0 || r.count("expect") > 0;
  if (r.count("expect")) o.expect = string_of(r, "expect");
  if (r.count("wait") && r.count("count"))
    throw UsageError("--wait", "does not go with --count (it probes until each endpoint is up)");
  if (r.count("count")) o.count = number(r, "count", 1, 1'000'000);
  if (r.count("wait")) {
    o.wait = positive_duration(r, "wait");
    o.interval = k_wait_interval;
  }
  if (r.count("interval")) o.interval = duration(r, "interval");
  o.open_only = r.count("open") > 0;
  if (r.count("quiet")) o.verbosity = Verbosity::quiet;
  o.json = r.count("json") > 0;
  o.timestamps = r.count("timestamps") > 0;
  o.tls = tls_config(r, probe_options());
  if (r.count("warn-expiry")) o.warn_expiry = duration(r, "warn-expiry");
  validate_probe(o);
  return o;
}

const std::array<Subcommand, 3>& subcommands() {
  static const std::array<Subcommand, 3> table{{
      {"serve", "run the uppercase echo service", serve_options, build_serve},
      {"send", "send stdin or WORDs, print the replies", send_options, build_send},
      {"probe", "is it there, and how fast does it answer?", probe_options, build_probe},
  }};
  return table;
}

const Subcommand* find_subcommand(std::string_view name) {
  for (const Subcommand& s : subcommands())
    if (s.name == name) return &s;
  return nullptr;
}

std::string help_for(const Subcommand& s) {
  return help_of(s.options(), {"Transport", "Service", "Client", "Probe", "TLS", "Output"});
}

// cxxopts quotes names with U+2018/U+2019; take the name out and speak ASCII.
std::string option_in(const std::string& message) {
  std::size_t open = message.find("\xE2\x80\x98");
  std::size_t close = message.find("\xE2\x80\x99");
  if (open == std::string::npos || close == std::string::npos || close < open) return "option";
  return message.substr(open + 3, close - open - 3);
}

std::string display_option(const std::string& name) {
  return name.rfind('-', 0) == 0 ? name : dashed(name);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The "did you mean" of subcommands and long options alike: the candidate fewest edits
// away, if at most two, else the first one the typed word (two characters or more)
// begins. "" when nothing is near.
std::string closest(std::string_view typed, const std::vector<std::string_view>& candidates) {
  std::string best;
  std::size_t best_distance = 3;
  for (std::string_view c : candidates) {
    std::size_t d = edit_distance(typed, c);
    bool prefix = typed.size() >= 2 && c.substr(0, typed.size()) == typed;
    if (d < best_distance || (prefix && best.empty())) {
      best_distance = std::min(d, best_distance);
      best = std::string(c);
    }
  }
  return best;
}

// Every long option name of a subcommand ("timeout", "connect-timeout").
std::vector<std::string> long_options(const Subcommand& s) {
  std::vector<std::string> names;
  cxxopts::Options o = s.options();
  for (const std::string& group : o.groups())
    for (const cxxopts::HelpOptionDetails& d : o.group_help(group).options)
      for (const std::string& name : d.l)
        if (name.size() > 1 && name != "args") names.push_back(name);
  return names;
}

}  // namespace

std::string printable_ascii(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) out += fmt::format("\\x{:02x}", u);
    else out += c;
  }
  return out;
}

std::string suggest_subcommand(std::string_view typed) {
  std::vector<std::string_view> names;
  for (const Subcommand& s : subcommands()) names.push_back(s.name);
  return closest(typed, names);
}

std::string suggest_option(std::string_view subcommand, std::string_view typed) {
  const Subcommand* sub = find_subcommand(subcommand);
  if (sub == nullptr) return "";
  std::string_view bare = typed.substr(std::min(typed.find_first_not_of('-'), typed.size()));
  if (typed.rfind("--", 0) != 0 || bare.size() < 2) return "";  // -x: one letter is no clue
  std::vector<std::string> names = long_options(*sub);
  std::string near = closest(bare, std::vector<std::string_view>(names.begin(), names.end()));
  return near.empty() ? "" : "--" + near;
}

std::string main_help() {
  std::string out =
      "Usage: sockecho SUBCOMMAND [options]\n"
      "       sockecho --help | --version | help SUBCOMMAND\n\n"
      "An uppercase echo service and its client, over TCP or UDP, IPv4 or IPv6.\n\n"
      "Subcommands:\n";
  for (const Subcommand& s : subcommands()) out += fmt::format("  {:<8}{}\n", s.name, s.summary);
  out += "\nRun 'sockecho SUBCOMMAND --help' for its options; see sockecho(1).\n";
  return out;
}

Command parse(int argc, const char* const* argv) {
  if (argc < 2) throw UsageError("missing subcommand", "try 'sockecho --help'");
  std::string_view first = argv[1];
  if (first == "-h" || first == "--help") return HelpRequest{main_help()};
  if (first == "-V" || first == "--version")
    return HelpRequest{fmt::format("sockecho {}\n", SOCKECHO_VERSION)};
  if (first == "help") {
    if (argc < 3) return HelpRequest{main_help()};
    const Subcommand* s = find_subcommand(argv[2]);
    if (!s) throw UsageError(quoted(argv[2]), "unknown subcommand; try 'sockecho --help'");
    return HelpRequest{help_for(*s)};
  }
  if (!first.empty() && first.front() == '-')
    throw UsageError(std::string(first), "unknown option; options go after the subcommand");
  const Subcommand* sub = find_subcommand(first);
  if (!sub) {
    std::string near = suggest_subcommand(first);
    throw UsageError(quoted(first),
                     near.empty() ? "unknown subcommand; try 'sockecho --help'"
                                  : "unknown subcommand; did you mean '" + near + "'?");
  }
  cxxopts::Options options = sub->options();
  std::vector<const char*> sub_argv(argv + 1, argv + argc);
  Result result;
  try {
    result = options.parse(static_cast<int>(sub_argv.size()), sub_argv.data());
  } catch (const cxxopts::exceptions::no_such_option& e) {
    std::string typed = display_option(option_in(e.what()));
    std::string near = suggest_option(sub->name, typed);
    throw UsageError(typed, near.empty()
                                ? fmt::format("unknown option; see 'sockecho {} --help'", sub->name)
                                : fmt::format("unknown option; did you mean '{}'?", near));
  } catch (const cxxopts::exceptions::missing_argument& e) {
    throw UsageError(display_option(option_in(e.what())), "needs a value");
  } catch (const cxxopts::exceptions::option_requires_argument& e) {
    throw UsageError(display_option(option_in(e.what())), "needs a value");
  } catch (const cxxopts::exceptions::gratuitous_argument_for_option& e) {
    throw UsageError(display_option(option_in(e.what())), "takes no value");
  } catch (const cxxopts::exceptions::incorrect_argument_type& e) {
    // Only our boolean flags are typed: "--once=yes".
    throw UsageError("'" + option_in(e.what()) + "'", "a value given to a flag that takes none");
  } catch (const cxxopts::exceptions::invalid_option_syntax& e) {
    throw UsageError(option_in(e.what()), "not an option this subcommand knows");
  } catch (const cxxopts::exceptions::exception& e) {
    std::string msg = e.what();
    for (const char* q : {"\xE2\x80\x98", "\xE2\x80\x99"})
      for (std::size_t at; (at = msg.find(q)) != std::string::npos;) msg.replace(at, 3, "'");
    throw UsageError(std::string(sub->name), msg);
  }
  if (result.count("help")) return HelpRequest{help_for(*sub)};
  if (!result.unmatched().empty())
    throw UsageError(quoted(result.unmatched().front()), "unexpected argument");
  return sub->build(result);
}

}  // namespace sockecho::cli
