#include "cmd/serve.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <exception>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "net/datagram_service.h"
#include "net/event_loop.h"
#include "net/resolver.h"
#include "net/socket.h"
#include "net/sys.h"
#include "net/tls_context.h"
#include "net/stream_server.h"
#include "net/unix_socket_file.h"
#include "cmd/net_report.h"
#include "report/output_closed.h"
#include "report/reporter.h"

namespace sockecho::cmd {
namespace {

// The service's one socket; with --threads, all the loops share it. No SO_REUSEPORT unless
// asked for, so a port in use stays an error and no other process can join the service.
// The wildcard is dual-stack [::] unless -4/-6 say otherwise, falling back to 0.0.0.0 on
// a host without IPv6. A named address binds the first of its addresses that binds.
net::Fd open_service_socket(const cli::ServeOptions& o) {
  const net::ListenOptions lo{o.backlog, o.reuseport, o.transport.family == net::Family::v6};
  const net::SockType type = o.transport.type;
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
  s.report_data = o.hexdump;
  s.proto = net::protocol_of(o.transport.type, o.transport.unix_domain);
  s.access = o.access;
  if (o.tls.enabled) {
    // Built once, before the first client: a bad --cert ends serve here, with exit 1.
    s.tls = net::TlsContext::server(o.tls, net::generated_names(o.bind));
    s.handshake_timeout = o.tls.handshake_timeout;
  }
  return s;
}

// A thread's share of the service: its own loop, socket and service.
struct Worker {
  net::EventLoop loop;
  std::unique_ptr<net::Service> service;
  std::thread thread;
  std::exception_ptr failure;
};

net::ServiceStats total(const std::vector<std::unique_ptr<Worker>>& workers) {
  net::ServiceStats sum;
  for (const auto& w : workers) sum += w->service->stats();
  return sum;
}

}  // namespace

ExitStatus run_serve(const cli::ServeOptions& o) {
  // Lines from several threads do not mix: each is one fwrite, which stdio locks.
  report::Reporter reporter(stdout, o.json ? report::Format::json : report::Format::netstat,
                            o.verbosity, o.timestamps);
  // Every loop of --threads reports LISTEN for the one socket they share: say it once.
  // (The loops start on this thread, before any other thread runs.)
  bool listen_reported = false;
  // When stdout's reader goes away (`serve -v | head -1`), serve ends as on SIGTERM
  // (finishing with every client, closing each cleanly), prints nothing more, and exits
  // 141, as a shell reports SIGPIPE. Events come from every thread of --threads.
  std::atomic<bool> output_closed{false};
  std::function<void()> stop_everything;  // set before the first event
  auto sink = [&](const net::ServiceEvent& e) {
    if (std::holds_alternative<net::ListenEvent>(e)) {
      if (listen_reported) return;
      listen_reported = true;
    }
    try {
      reporter.emit(to_report(e));
    } catch (const report::OutputClosed&) {
      if (!output_closed.exchange(true)) stop_everything();
    }
  };

  std::shared_ptr<net::Fd> socket;
  net::UnixSocketFile socket_file;  // removed on every way out of this function
  if (o.transport.unix_domain) {
    net::UnixListener l = net::open_unix_listener(
        o.bind, o.transport.type, net::ListenOptions{o.backlog, false, false}, o.unix_mode);
    socket = std::make_shared<net::Fd>(std::move(l.fd));
    socket_file = std::move(l.file);
  } else {
    net::raise_fd_limit();  // a server's clients are fds
    socket = std::make_shared<net::Fd>(open_service_socket(o));
  }

  std::vector<std::unique_ptr<Worker>> workers;
  auto stop_all = [&workers] {
    for (auto& w : workers) {
      Worker* worker = w.get();
      worker->loop.post([worker] { worker->service->shutdown(); });
    }
  };
  stop_everything = stop_all;
  net::ServiceOptions options = service_options(o);
  const bool shared = o.threads > 1;
  if (shared) {
    options.shared_clients = std::make_shared<std::atomic<std::size_t>>(0);
    options.on_shutdown_word = stop_all;
  }
  for (unsigned i = 0; i < std::max(o.threads, 1u); ++i) {
    auto w = std::make_unique<Worker>();
    if (o.transport.type == net::SockType::stream)
      w->service = std::make_unique<net::StreamServer>(w->loop, socket, o.backlog, options, sink, shared);
    else
      w->service = std::make_unique<net::DatagramService>(w->loop, socket, options, sink, shared);
    workers.push_back(std::move(w));
  }
  socket.reset();  // the services hold it now

  // Blocked here, before any thread starts, so every thread inherits the mask and the
  // signals reach only the first loop's signalfd.
  workers.front()->loop.on_signals({SIGINT, SIGTERM}, [&](int) {
    if (workers.size() == 1) workers.front()->service->shutdown();
    else stop_all();
  });
  for (auto& w : workers) w->service->start();
  for (std::size_t i = 1; i < workers.size(); ++i) {
    Worker* worker = workers[i].get();
    worker->thread = std::thread([worker] {
      try {
        worker->loop.run();
      } catch (...) {
        worker->failure = std::current_exception();
      }
    });
  }
  std::exception_ptr failure;
  try {
    workers.front()->loop.run();
  } catch (...) {
    failure = std::current_exception();
    stop_all();
  }
  for (auto& w : workers) {
    if (w->thread.joinable()) w->thread.join();
    if (!failure) failure = w->failure;
  }
  if (failure) std::rethrow_exception(failure);
  if (output_closed) return ExitStatus::broken_pipe;
  reporter.emit(to_report(total(workers)));
  return ExitStatus::ok;
}

}  // namespace sockecho::cmd
