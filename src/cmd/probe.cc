#include "cmd/probe.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "net/connector.h"
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
using Clock = net::EventLoop::Clock;

constexpr std::size_t k_max_default_concurrency = 1024;
constexpr std::size_t k_fds_kept_back = 32;  // stdio, epoll, timers, signalfd, and slack
// BADECHO shows this much of what came back; the rest is "...".
constexpr std::size_t k_reply_shown = 64;

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
  std::vector<double> rtts{};
  std::vector<double> tls_ms{};  // handshake times, under --tls
  std::size_t done = 0;
  bool any_open = false;
  bool any_bad_echo = false;
  ProbeState state = ProbeState::error;
  report::ProbeResult last{};
  report::Clock::time_point last_time{};  // when the last probe ended: its row's time
  // --wait: when the probe now queued or in flight was due; when the endpoint came up.
  Clock::time_point scheduled{};
  std::optional<double> up_s{};
};

std::string upper(std::string s) {
  net::apply_mode(net::Mode::upper, s);
  return s;
}

// Builds every endpoint; each name is resolved once, whatever its number of ports. With
// -s/--source, each endpoint keeps the addresses of a family the source has.
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
  std::vector<net::Address> sources;
  if (o.source)
    sources = net::resolve_source(o.source->host, o.source->port, o.transport.family, o.transport.type);

  std::vector<Endpoint> out;
  for (const cli::ProbeTarget& t : o.targets) {
    if (o.transport.unix_domain) {
      Endpoint e{t.host, 0, std::make_shared<net::ProbeSpec>(base), ""};
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
    std::optional<net::Address> source;
    if (o.source && !addresses.empty()) {
      std::optional<net::SourcedTargets> m = net::match_source(sources, addresses);
      if (!m) throw net::source_family_error(sources.front());
      source = m->source;
      addresses = std::move(m->targets);
    }
    out.reserve(out.size() + t.ports.size());
    for (std::uint16_t port : t.ports) {
      Endpoint e{t.host, port, std::make_shared<net::ProbeSpec>(base), failure};
      e.spec->server_name = t.host;
      e.spec->source = source;
      for (net::Address a : addresses) {
        a.set_port(port);
        e.spec->candidates.push_back(a);
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

// Every source address the endpoints use, bound once before the first probe: one this
// host does not have ends probe with "bind to ADDR: ..." instead of a row of errors.
void check_sources(const std::vector<Endpoint>& endpoints, net::SockType type) {
  std::set<std::string> checked;
  for (const Endpoint& e : endpoints)
    if (e.spec->source && checked.insert(e.spec->source->to_string()).second)
      net::check_source(*e.spec->source, type);
}

std::string remote_of(const Endpoint& e, const net::ProbeOutcome& outcome) {
  if (!outcome.remote.empty()) return outcome.remote.to_string();
  if (e.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", e.host, e.port);
  return fmt::format("{}:{}", e.host, e.port);
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// One run of probe: the endpoints, what each probe said, and the output.
class ProbeRun {
 public:
  explicit ProbeRun(const cli::ProbeOptions& o)
      : m_o(o),
        m_started(Clock::now()),
        m_quiet(o.verbosity == cli::Verbosity::quiet),
        m_out(stdout, o.json ? report::Format::json : report::Format::netstat,
              m_quiet ? report::Verbosity::quiet : report::Verbosity::normal, o.timestamps),
        m_proto(proto_name(net::protocol_of(o.transport.type, o.transport.unix_domain))),
        m_started_at(m_out.now()) {}

  ExitStatus run() {
    std::size_t fd_limit = net::raise_fd_limit();
    std::size_t concurrency =
        m_o.concurrency != 0
            ? m_o.concurrency
            : std::clamp<std::size_t>(fd_limit > k_fds_kept_back ? fd_limit - k_fds_kept_back : 1,
                                      1, k_max_default_concurrency);
    // A fixed source port takes one connection at a time: probes of the one endpoint it
    // allows must not overlap (--count with an interval shorter than a probe).
    if (m_o.source && m_o.source->port != 0) concurrency = 1;
    m_endpoints = endpoints_of(m_o, m_summary.resolved);
    check_sources(m_endpoints, m_o.transport.type);
    net::Prober prober(m_loop, concurrency);
    m_prober = &prober;

    // Everything that may fail is set up before the header and the first probe (probes
    // that finish at once print in submit): a setup failure ends probe with nothing on
    // stdout, instead of after a part of the rows, with no summary.
    const bool anything_to_probe = std::any_of(
        m_endpoints.begin(), m_endpoints.end(), [](const Endpoint& e) { return !e.spec->candidates.empty(); });
    if (anything_to_probe || m_o.wait) {
      // Ctrl-C ends early with what is known so far, as ping does.
      m_loop.on_signals({SIGINT, SIGTERM}, [this](int) { interrupt(); });
    }
    // At once, as every row (the reporter flushes each): under --wait or --count, rows
    // may be seconds apart.
    if (!m_o.json) m_out.text(report::probe_table_header(m_o.tls.enabled), m_started_at);

    bool all_good = m_o.wait ? wait_until_up() : probe_rounds();
    m_prober = nullptr;
    print_summary();
    return all_good ? ExitStatus::ok : ExitStatus::failure;
  }

 private:
  // What one probe said: the endpoint's state, statistics and row.
  void record(Endpoint& e, net::ProbeOutcome outcome, std::size_t seq) {
    ++e.done;
    std::optional<report::TlsCheck> tls;
    // Once connected, every TLS outcome has its fields, a handshake that timed out too
    // (no time, no session, and why in verify).
    if (m_o.tls.enabled && (outcome.tls_ms || outcome.tls || !outcome.tls_failure.empty())) {
      const std::int64_t now = std::time(nullptr);
      tls = to_report(outcome, now);
      if (outcome.tls_ms && outcome.tls) e.tls_ms.push_back(*outcome.tls_ms);
      // Checked under -k and --pin too, where nothing else looks at dates: an expired leaf
      // is EXPIRING (days_left <= 0) even without --warn-expiry, whose default is 0.
      const auto warn = std::chrono::duration_cast<std::chrono::seconds>(
          m_o.warn_expiry.value_or(std::chrono::milliseconds(0)));
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
    e.last = report::ProbeResult{m_proto,
                                 outcome.local.empty() ? "*" : outcome.local.to_string(),
                                 remote_of(e, outcome),
                                 std::string(net::state_name(outcome.state)),
                                 outcome.rtt_ms,
                                 seq,
                                 !outcome.tls_failure.empty() ? outcome.tls_failure
                                 : !outcome.failure.empty()   ? outcome.failure
                                 : outcome.error != 0         ? std::strerror(outcome.error)
                                                              : e.unresolved,
                                 std::move(tls)};
    e.last_time = m_out.now();
    if (outcome.state == ProbeState::bad_echo) {
      e.last.reply = outcome.reply.substr(0, k_reply_shown);
      e.last.reply_truncated = outcome.reply.size() > k_reply_shown;
    }
  }

  // Nothing to probe (a name that did not resolve): the row the network would give.
  void record_unresolved(Endpoint& e) {
    net::ProbeOutcome nothing;
    nothing.state = ProbeState::unreachable;
    record(e, nothing, e.done + 1);
  }

  bool shown(const std::string& state) const { return !m_o.open_only || state == "OPEN"; }

  // --count N (1 by default): N rounds, round k of every endpoint before round k+1, so
  // submissions come in time order. JSON prints each probe as it completes, and so does
  // the table with N > 1 (as ping prints a line per reply); the rows per endpoint follow.
  bool probe_rounds() {
    for (std::size_t k = 0; k < m_o.count; ++k) {
      for (Endpoint& e : m_endpoints) {
        if (e.spec->candidates.empty()) {
          record_unresolved(e);
          continue;
        }
        ++m_outstanding;
        m_prober->submit(e.spec, m_started + k * m_o.interval,
                         [this, ep = &e, seq = k + 1](const net::ProbeOutcome& r) {
                           record(*ep, r, seq);
                           if (m_o.json) {
                             m_out.emit(ep->last, ep->last_time);
                           } else if (m_o.count > 1 && shown(ep->last.state)) {
                             report::ProbeResult row = ep->last;
                             row.show_seq = true;
                             m_out.emit(row, ep->last_time);
                           }
                           if (--m_outstanding == 0) m_loop.stop();
                         });
      }
    }
    if (m_outstanding > 0) m_loop.run();

    bool all_good = true;
    for (Endpoint* row : sorted_endpoints()) {
      Endpoint& e = *row;
      if (e.done == 0) {  // interrupted before its first probe came back: no row, not good
        all_good = false;
        continue;
      }
      if (e.any_open) e.state = e.any_bad_echo ? ProbeState::bad_echo : ProbeState::open;
      e.last.state = std::string(net::state_name(e.state));
      all_good &= e.state == ProbeState::open;
      count(e.state);
      bool show_row = shown(e.last.state);
      if (m_o.count > 1) {
        if (show_row || m_o.json) {
          report::ProbeStats stats{e.last, report::summarize_rtts(e.rtts, e.done)};
          if (m_o.tls.enabled) stats.tls = report::summarize_rtts(e.tls_ms, e.done);
          m_out.emit(stats);
        }
      } else if (!m_o.json && show_row) {
        m_out.emit(e.last, e.last_time);
      }
    }
    return all_good;
  }

  // --wait DUR: every endpoint is probed again each interval until it is good (OPEN, which
  // under --echo and --tls means healthy), or DUR has passed since the start. A row as each
  // comes up, then one with the last state of each that never did.
  bool wait_until_up() {
    const Clock::time_point deadline = m_started + *m_o.wait;
    // Counted first: a probe that finishes inside submit must not see 0 too soon.
    for (Endpoint& e : m_endpoints) {
      if (e.spec->candidates.empty()) record_unresolved(e);  // never up: a final row says why
      else ++m_outstanding;
    }
    for (Endpoint& e : m_endpoints)
      if (!e.spec->candidates.empty()) submit_wait(e, m_started, deadline);
    // The probes in flight at the deadline are cut short, so the run ends on time.
    m_loop.add_timer(deadline, [this] { end_now(); });
    // Nothing left to wait for (every endpoint up at once, or none can be probed): done.
    if (m_outstanding > 0) m_loop.run();

    bool all_up = true;
    for (Endpoint* row : sorted_endpoints()) {
      Endpoint& e = *row;
      if (e.up_s) {
        count(ProbeState::open);
        continue;
      }
      all_up = false;
      if (e.done == 0) continue;
      count(e.state);
      if (shown(e.last.state)) m_out.emit(e.last, e.last_time);
    }
    return all_up;
  }

  void submit_wait(Endpoint& e, Clock::time_point when, Clock::time_point deadline) {
    e.scheduled = when;
    m_prober->submit(e.spec, when, [this, ep = &e, deadline](const net::ProbeOutcome& r) {
      waited(*ep, r, deadline);
    });
  }

  // A probe under --wait came back: the endpoint is up, or is probed again.
  void waited(Endpoint& e, const net::ProbeOutcome& outcome, Clock::time_point deadline) {
    if (m_ending) {
      // Cut short at the deadline (or by Ctrl-C): it says no more than "no answer yet",
      // so it stands only for an endpoint no probe of which had come back.
      if (e.done == 0) record(e, outcome, 1);
      return;
    }
    record(e, outcome, e.done + 1);
    if (e.state == ProbeState::open) {
      e.up_s = seconds_since(m_started);
      e.last.up_s = e.up_s;
      if (shown(e.last.state)) m_out.emit(e.last, e.last_time);
      if (--m_outstanding == 0) m_loop.stop();
      return;
    }
    // Start to start, as ping: a refused connect waits out the interval, and a probe that
    // took longer than it (a timeout) is followed at once, never overlapped.
    Clock::time_point next = std::max(e.scheduled + m_o.interval, Clock::now());
    if (next < deadline) submit_wait(e, next, deadline);
  }

  // The deadline, or Ctrl-C under --wait: the probes in flight report now.
  void end_now() {
    m_ending = true;
    if (m_prober) m_prober->stop();
    m_loop.stop();
  }

  // SIGINT or SIGTERM. --count: as ping, a probe in flight is not counted (nor lost);
  // --wait: it reports, cut short, as at the deadline.
  void interrupt() {
    if (m_o.wait) end_now();
    else m_loop.stop();
  }

  std::vector<Endpoint*> sorted_endpoints() {
    std::vector<Endpoint*> rows;
    rows.reserve(m_endpoints.size());
    for (Endpoint& e : m_endpoints) rows.push_back(&e);
    std::stable_sort(rows.begin(), rows.end(), [](const Endpoint* a, const Endpoint* b) {
      return std::tie(a->host, a->port) < std::tie(b->host, b->port);
    });
    return rows;
  }

  void count(ProbeState state) {
    for (std::size_t i = 0; i < std::size(k_state_order); ++i) m_counts[i] += k_state_order[i] == state;
  }

  void print_summary() {
    m_summary.endpoints = m_endpoints.size();
    for (std::size_t i = 0; i < std::size(k_state_order); ++i)
      m_summary.states.emplace_back(std::string(net::state_name(k_state_order[i])), m_counts[i]);
    m_summary.seconds = seconds_since(m_started);
    m_out.emit(m_summary);
  }

  const cli::ProbeOptions& m_o;
  const Clock::time_point m_started;
  const bool m_quiet;
  report::Reporter m_out;
  const std::string m_proto;
  const report::Clock::time_point m_started_at;  // the table header's time (wall clock)
  net::EventLoop m_loop;
  net::Prober* m_prober = nullptr;  // while probing
  std::vector<Endpoint> m_endpoints;
  report::ProbeSummary m_summary;
  std::size_t m_counts[std::size(k_state_order)] = {};
  // Probes not yet back (--count), or endpoints not yet up (--wait): the loop stops at 0.
  std::size_t m_outstanding = 0;
  bool m_ending = false;       // --wait: the deadline passed, or interrupted
};

}  // namespace

ExitStatus run_probe(const cli::ProbeOptions& o) { return ProbeRun(o).run(); }

}  // namespace sockecho::cmd
