#include "cmd/serve.h"

#include <signal.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "net/datagram_service.h"
#include "net/event_loop.h"
#include "net/resolver.h"
#include "net/socket.h"
#include "net/sys.h"
#include "net/stream_server.h"
#include "net/unix_socket_file.h"
#include "report/reporter.h"

namespace sockecho::cmd {
namespace {

// The wildcard is dual-stack [::] unless -4/-6 say otherwise, falling back to 0.0.0.0 on
// a host without IPv6. A named address binds the first of its addresses that binds.
net::Fd open_service_socket(const cli::ServeOptions& o, const net::ListenOptions& lo) {
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

// One socket per thread. With several, all share the port by SO_REUSEPORT: the first
// binds (port 0 picks it), the others bind the address the first one got.
std::vector<net::Fd> open_service_sockets(const cli::ServeOptions& o) {
  net::ListenOptions lo{o.backlog, o.reuseport || o.threads > 1,
                        o.transport.family == net::Family::v6};
  std::vector<net::Fd> fds;
  fds.push_back(open_service_socket(o, lo));
  net::Address bound = net::Address::local_of(fds.front().get());
  for (unsigned i = 1; i < o.threads; ++i) fds.push_back(net::open_listener(bound, o.transport.type, lo));
  return fds;
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
  s.proto = net::protocol_name(o.transport.type, o.transport.unix_domain);
  s.access = o.access;
  return s;
}

// A thread's share of the service: its own loop, socket and service.
struct Worker {
  net::EventLoop loop;
  std::unique_ptr<net::Service> service;
  std::thread thread;
  std::exception_ptr failure;
};

report::Summary total(const std::vector<std::unique_ptr<Worker>>& workers) {
  report::Summary sum;
  for (const auto& w : workers) {
    report::Summary s = w->service->summary();
    sum.clients += s.clients;
    sum.refused += s.refused;
    sum.rx += s.rx;
    sum.tx += s.tx;
    sum.messages += s.messages;
    sum.errors += s.errors;
    sum.seconds = std::max(sum.seconds, s.seconds);
  }
  return sum;
}

}  // namespace

ExitStatus run_serve(const cli::ServeOptions& o) {
  // Lines from several threads do not mix: each is one fwrite, which stdio locks.
  report::Reporter reporter(stdout, o.json ? report::Format::json : report::Format::netstat,
                            o.verbosity == cli::Verbosity::quiet     ? report::Verbosity::quiet
                            : o.verbosity == cli::Verbosity::verbose ? report::Verbosity::verbose
                                                                     : report::Verbosity::normal);
  auto sink = [&reporter](const report::Event& e) { reporter.emit(e); };

  std::vector<net::Fd> fds;
  net::UnixSocketFile socket_file;  // removed on every way out of this function
  if (o.transport.unix_domain) {
    net::UnixListener l = net::open_unix_listener(
        o.bind, o.transport.type, net::ListenOptions{o.backlog, false, false}, o.unix_mode);
    fds.push_back(std::move(l.fd));
    socket_file = std::move(l.file);
  } else {
    net::raise_fd_limit();  // a server's clients are fds
    fds = open_service_sockets(o);
  }

  std::vector<std::unique_ptr<Worker>> workers;
  auto stop_all = [&workers] {
    for (auto& w : workers) {
      Worker* worker = w.get();
      worker->loop.post([worker] { worker->service->shutdown(); });
    }
  };
  net::ServiceOptions options = service_options(o);
  if (fds.size() > 1) {
    options.shared_clients = std::make_shared<std::atomic<std::size_t>>(0);
    options.on_shutdown_word = stop_all;
  }
  for (net::Fd& fd : fds) {
    auto w = std::make_unique<Worker>();
    if (o.transport.type == net::SockType::stream)
      w->service = std::make_unique<net::StreamServer>(w->loop, std::move(fd), o.backlog, options, sink);
    else
      w->service = std::make_unique<net::DatagramService>(w->loop, std::move(fd), options, sink);
    workers.push_back(std::move(w));
  }

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
  reporter.emit(total(workers));
  return ExitStatus::ok;
}

}  // namespace sockecho::cmd
