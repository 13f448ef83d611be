#include "cmd/serve.h"

#include <signal.h>

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "net/datagram_service.h"
#include "net/event_loop.h"
#include "net/resolver.h"
#include "net/socket.h"
#include "net/stream_server.h"
#include "net/unix_socket_file.h"
#include "report/reporter.h"

namespace sockecho::cmd {
namespace {

// The wildcard is dual-stack [::] unless -4/-6 say otherwise, falling back to 0.0.0.0 on
// a host without IPv6. A named address binds the first of its addresses that binds.
net::Fd open_service_socket(const cli::ServeOptions& o) {
  const net::SockType type = o.transport.type;
  net::ListenOptions lo{o.backlog, o.reuseport, o.transport.family == net::Family::v6};
  if (o.bind.empty()) {
    if (o.transport.family == net::Family::v4)
      return net::open_listener(net::Address::ipv4_any(o.port), type, lo);
    try {
      return net::open_listener(net::Address::ipv6_any(o.port), type, lo);
    } catch (const std::system_error& e) {
      if (o.transport.family == net::Family::v6 || e.code().value() != EAFNOSUPPORT) throw;
      return net::open_listener(net::Address::ipv4_any(o.port), type, lo);
    }
  }
  std::vector<net::Address> addresses = net::resolve(o.bind, o.port, o.transport.family, type, true);
  for (std::size_t i = 0;; ++i) {
    try {
      return net::open_listener(addresses[i], type, lo);
    } catch (const std::system_error&) {
      if (i + 1 == addresses.size()) throw;
    }
  }
}

std::string protocol_name(const cli::TransportOptions& t) {
  if (t.unix_domain) return t.type == net::SockType::stream ? "unix" : "unixdg";
  return t.type == net::SockType::stream ? "tcp" : "udp";
}

net::ServiceOptions service_options(const cli::ServeOptions& o) {
  net::ServiceOptions s;
  s.mode = o.mode;
  s.exit_word = o.exit_word;
  s.shutdown_word = o.shutdown_word;
  s.max_clients = o.max_clients;
  s.idle_timeout = o.idle_timeout;
  s.once = o.once;
  s.report_connections = o.verbosity != cli::Verbosity::quiet;
  s.report_messages = o.verbosity == cli::Verbosity::verbose;
  s.proto = protocol_name(o.transport);
  s.access = o.access;
  return s;
}

// Runs any service type with the same sequence: report, serve until stopped, summarise.
template <typename Service>
void serve_with(net::EventLoop& loop, Service& service, report::Reporter& reporter) {
  loop.on_signals({SIGINT, SIGTERM}, [&service](int) { service.shutdown(); });
  service.start();
  loop.run();
  reporter.emit(service.summary());
}

}  // namespace

ExitStatus run_serve(const cli::ServeOptions& o) {
  report::Reporter reporter(stdout, o.json ? report::Format::json : report::Format::netstat,
                            o.verbosity == cli::Verbosity::quiet     ? report::Verbosity::quiet
                            : o.verbosity == cli::Verbosity::verbose ? report::Verbosity::verbose
                                                                     : report::Verbosity::normal);
  auto sink = [&reporter](const report::Event& e) { reporter.emit(e); };
  net::EventLoop loop;
  net::Fd fd;
  net::UnixSocketFile socket_file;  // removed on every way out of this function
  if (o.transport.unix_domain) {
    net::UnixListener l = net::open_unix_listener(
        o.bind, o.transport.type, net::ListenOptions{o.backlog, false, false}, o.unix_mode);
    fd = std::move(l.fd);
    socket_file = std::move(l.file);
  } else {
    fd = open_service_socket(o);
  }
  if (o.transport.type == net::SockType::stream) {
    net::StreamServer server(loop, std::move(fd), o.backlog, service_options(o), sink);
    serve_with(loop, server, reporter);
  } else {
    net::DatagramService service(loop, std::move(fd), service_options(o), sink);
    serve_with(loop, service, reporter);
  }
  return ExitStatus::ok;
}

}  // namespace sockecho::cmd
