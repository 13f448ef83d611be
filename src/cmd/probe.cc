#include "cmd/probe.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <tuple>

#include <fmt/format.h>

#include "net/event_loop.h"
#include "net/prober.h"
#include "net/resolver.h"
#include "cmd/net_report.h"
#include "net/service.h"
#include "net/transform.h"
#include "net/sys.h"
#include "report/netstat_format.h"
#include "report/reporter.h"

namespace sockecho::cmd {
namespace {

using net::ProbeState;

constexpr std::size_t k_max_default_concurrency = 1024;
constexpr std::size_t k_fds_kept_back = 32;  // stdio, epoll, timers, signalfd, and slack

// The order rows are printed in and the summary counts them in.
constexpr ProbeState k_state_order[] = {ProbeState::open,        ProbeState::closed,
                                        ProbeState::filtered,    ProbeState::unreachable,
                                        ProbeState::open_filtered, ProbeState::bad_echo,
                                        ProbeState::no_echo,     ProbeState::bad_tls,
                                        ProbeState::expiring,    ProbeState::error};

struct Endpoint {
  std::string host;  // as the user wrote it, for sorting
  std::uint16_t port = 0;
  std::shared_ptr<net::ProbeSpec> spec;
  std::string unresolved;  // why there is nothing to probe (a name that did not resolve)
  std::vector<double> rtts;
  std::vector<double> tls_ms;  // handshake times, under --tls
  std::size_t done = 0;
  bool any_open = false;
  bool any_bad_echo = false;
  ProbeState state = ProbeState::error;
  report::ProbeResult last;
  report::Clock::time_point last_time{};  // when the last probe ended: its row's time
};

std::string upper(std::string s) {
  net::apply_mode(net::Mode::upper, s);
  return s;
}

// Builds every endpoint; each name is resolved once, whatever its number of ports.
std::vector<Endpoint> endpoints_of(const cli::ProbeOptions& o,
                                   std::vector<std::pair<std::string, std::vector<std::string>>>& resolved) {
  net::ProbeSpec base;
  base.type = o.transport.type;
  base.timeout = o.timeout;
  base.echo = o.echo;
  base.payload = o.payload;
  if (o.echo) base.expect = o.expect.value_or(upper(o.payload));
  // Built once: a bad --cafile or --cert ends probe before anything is probed.
  if (o.tls.enabled) base.tls = net::TlsContext::client(o.tls, true);

  std::vector<Endpoint> out;
  for (const cli::ProbeTarget& t : o.targets) {
    if (o.transport.unix_domain) {
      Endpoint e{t.host, 0, std::make_shared<net::ProbeSpec>(base), "", {}, {}, 0, false, false, ProbeState::error, {}, {}};
      e.spec->candidates = {net::Address::unix_path(t.host)};
      e.spec->server_name = o.tls.servername;
      out.push_back(std::move(e));
      continue;
    }
    std::vector<net::Address> addresses;
    std::string failure;
    try {
      addresses = net::resolve(t.host, 0, o.transport.family, o.transport.type);
      std::vector<std::string> names;
      for (const auto& a : addresses) names.push_back(a.host());
      if (names.size() != 1 || names[0] != t.host) resolved.emplace_back(t.host, names);
    } catch (const std::system_error& e) {
      failure = e.code().message();
      resolved.emplace_back(t.host, std::vector<std::string>{});
    }
    out.reserve(out.size() + t.ports.size());
    for (std::uint16_t port : t.ports) {
      Endpoint e{t.host, port, std::make_shared<net::ProbeSpec>(base), failure, {}, {}, 0, false, false, ProbeState::error, {}, {}};
      e.spec->server_name = t.host;
      for (net::Address a : addresses) {
        a.set_port(port);
        e.spec->candidates.push_back(a);
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

std::string remote_of(const Endpoint& e, const net::ProbeOutcome& outcome) {
  if (!outcome.remote.empty()) return outcome.remote.to_string();
  if (e.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", e.host, e.port);
  return fmt::format("{}:{}", e.host, e.port);
}

}  // namespace

ExitStatus run_probe(const cli::ProbeOptions& o) {
  const auto started = net::EventLoop::Clock::now();
  std::size_t fd_limit = net::raise_fd_limit();
  std::size_t concurrency = o.concurrency != 0
                                ? o.concurrency
                                : std::clamp<std::size_t>(fd_limit > k_fds_kept_back ? fd_limit - k_fds_kept_back : 1,
                                                          1, k_max_default_concurrency);
  const bool quiet = o.verbosity == cli::Verbosity::quiet;
  report::Reporter out(stdout, o.json ? report::Format::json : report::Format::netstat,
                       quiet ? report::Verbosity::quiet : report::Verbosity::normal,
                       o.timestamps);
  const std::string proto(proto_name(net::protocol_of(o.transport.type, o.transport.unix_domain)));
  const report::Clock::time_point started_at = out.now();  // the table header's time

  report::ProbeSummary summary;
  std::vector<Endpoint> endpoints = endpoints_of(o, summary.resolved);

  net::EventLoop loop;
  net::Prober prober(loop, concurrency);
  std::size_t outstanding = 0;
  auto record = [&](Endpoint& e, net::ProbeOutcome outcome) {
    ++e.done;
    std::optional<report::TlsCheck> tls;
    // Once connected, every TLS outcome has its fields, a handshake that timed out too
    // (no time, no session, and why in verify).
    if (o.tls.enabled && (outcome.tls_ms || outcome.tls || !outcome.tls_failure.empty())) {
      const std::int64_t now = std::time(nullptr);
      tls = to_report(outcome, now);
      if (outcome.tls_ms && outcome.tls) e.tls_ms.push_back(*outcome.tls_ms);
      // Checked under -k and --pin too, where nothing else looks at dates: an expired leaf
      // is EXPIRING (days_left <= 0) even without --warn-expiry, whose default is 0.
      const auto warn = std::chrono::duration_cast<std::chrono::seconds>(
          o.warn_expiry.value_or(std::chrono::milliseconds(0)));
      if (outcome.state == ProbeState::open && outcome.tls && outcome.tls->peer &&
          outcome.tls->peer->not_after - now < warn.count())
        outcome.state = ProbeState::expiring;
    }
    e.state = outcome.state;
    e.any_open |= outcome.state == ProbeState::open;
    e.any_bad_echo |= outcome.state == ProbeState::bad_echo;
    // EXPIRING is a warning about an endpoint that answered: its round trips count.
    if (outcome.rtt_ms &&
        (outcome.state == ProbeState::open || outcome.state == ProbeState::expiring))
      e.rtts.push_back(*outcome.rtt_ms);
    e.last = report::ProbeResult{proto,
                                 outcome.local.empty() ? "*" : outcome.local.to_string(),
                                 remote_of(e, outcome),
                                 std::string(net::state_name(outcome.state)),
                                 outcome.rtt_ms,
                                 e.done,
                                 !outcome.tls_failure.empty() ? outcome.tls_failure
                                 : !outcome.failure.empty()   ? outcome.failure
                                 : outcome.error != 0         ? std::strerror(outcome.error)
                                                              : e.unresolved,
                                 std::move(tls)};
    e.last_time = out.now();
    if (o.json) out.emit(e.last, e.last_time);
  };

  // Set up before the first probe starts (probes that finish at once print their rows in
  // submit): a setup failure then ends probe before it printed anything, instead of
  // after a part of the rows, with no summary.
  const bool anything_to_probe =
      o.count > 0 && std::any_of(endpoints.begin(), endpoints.end(),
                                 [](const Endpoint& e) { return !e.spec->candidates.empty(); });
  if (anything_to_probe) {
    // Ctrl-C during --count ends early with the statistics so far, as ping does.
    loop.on_signals({SIGINT, SIGTERM}, [&loop](int) { loop.stop(); });
  }

  // Round k of every endpoint before round k+1: submissions come in time order.
  for (std::size_t k = 0; k < o.count; ++k) {
    for (Endpoint& e : endpoints) {
      if (e.spec->candidates.empty()) {  // nothing to probe: report it as the network would
        net::ProbeOutcome nothing;
        nothing.state = ProbeState::unreachable;
        record(e, nothing);
        continue;
      }
      ++outstanding;
      prober.submit(e.spec, started + k * o.interval, [&, ep = &e](const net::ProbeOutcome& r) {
        record(*ep, r);
        if (--outstanding == 0) loop.stop();
      });
    }
  }
  if (outstanding > 0) loop.run();

  std::vector<Endpoint*> rows;
  rows.reserve(endpoints.size());
  for (Endpoint& e : endpoints) rows.push_back(&e);
  std::stable_sort(rows.begin(), rows.end(), [](const Endpoint* a, const Endpoint* b) {
    return std::tie(a->host, a->port) < std::tie(b->host, b->port);
  });
  bool all_good = true;
  std::vector<std::size_t> counts(std::size(k_state_order), 0);
  if (!o.json) out.text(report::probe_table_header(o.tls.enabled), started_at);
  for (Endpoint* row : rows) {
    Endpoint& e = *row;
    if (e.any_open) e.state = e.any_bad_echo ? ProbeState::bad_echo : ProbeState::open;
    e.last.state = std::string(net::state_name(e.state));
    all_good &= e.state == ProbeState::open;
    for (std::size_t i = 0; i < std::size(k_state_order); ++i) counts[i] += k_state_order[i] == e.state;
    bool show_row = !o.open_only || e.state == ProbeState::open;
    if (o.count > 1) {
      if (show_row || o.json) {
        report::ProbeStats stats{e.last, report::summarize_rtts(e.rtts, e.done)};
        if (o.tls.enabled) stats.tls = report::summarize_rtts(e.tls_ms, e.done);
        out.emit(stats);
      }
    } else if (!o.json && show_row) {
      out.emit(e.last, e.last_time);
    }
  }
  summary.endpoints = endpoints.size();
  for (std::size_t i = 0; i < std::size(k_state_order); ++i)
    summary.states.emplace_back(std::string(net::state_name(k_state_order[i])), counts[i]);
  summary.seconds = std::chrono::duration<double>(net::EventLoop::Clock::now() - started).count();
  out.emit(summary);
  return all_good ? ExitStatus::ok : ExitStatus::failure;
}

}  // namespace sockecho::cmd
