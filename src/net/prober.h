#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/address.h"
#include "net/event_loop.h"
#include "net/resolver.h"
#include "net/tls_context.h"
#include "net/tls_session.h"

namespace sockecho::net {

enum class ProbeState {
  open, closed, filtered, unreachable, open_filtered, bad_echo, no_echo,
  bad_tls,   // the TLS handshake or the certificate's verification failed
  expiring,  // TLS is fine but the certificate expires within --warn-expiry (set by cmd/)
  error
};

// The word printed for a state: OPEN, CLOSED, FILTERED, UNREACHABLE, OPEN|FILTERED, ...
std::string_view state_name(ProbeState state);

struct ProbeSpec {
  std::vector<Address> candidates;  // tried in order until one is OPEN
  SockType type = SockType::stream;
  std::chrono::milliseconds timeout{2000};  // per candidate
  bool echo = false;        // streams: send payload after connecting, check the reply
  std::string payload;      // sent by datagram probes and by echo probes
  std::string expect;       // the reply an echo (or datagram) probe must get; empty: any
  // Streams under --tls: a handshake after the connect, timed apart, within `timeout`.
  std::shared_ptr<const TlsContext> tls{};
  std::string server_name{};  // verified against, and sent as SNI unless an IP literal
  // -s/--source: the local address each socket is bound to before it connects (port 0: any
  // port). The candidates must be of its family (cmd/ keeps only those). With a fixed port
  // a stream probe ends its connection with a reset, leaving no TIME_WAIT behind that
  // would keep the next probe of the same endpoint from using the port again.
  std::optional<Address> source{};
};

struct ProbeOutcome {
  ProbeState state = ProbeState::error;
  std::optional<double> rtt_ms;  // connect time, or the echo/datagram round trip
  int error = 0;                 // errno behind a state that is not OPEN, when there is one
  Address remote;                // the candidate that gave this outcome
  Address local;                 // the local address used, when there was one
  // Under --tls, once connected: the handshake's time, what it agreed (also when
  // verification failed: the certificate is reported all the same), or why it failed.
  std::optional<double> tls_ms{};
  std::optional<TlsSession> tls{};
  std::string tls_failure{};
  // Why the stream failed after the handshake, when TLS said (an alert from the peer:
  // "tlsv13 alert certificate required"); the errno alone would be EPROTO.
  std::string failure{};
  // BADECHO: what came back instead of the expected reply (as much as was read).
  std::string reply{};
};

// Runs probes on the loop, at most `concurrency` at once, each started no earlier than
// the time it was submitted for. Owns the probe sockets; reports each outcome once.
class Prober {
 public:
  using Done = std::function<void(const ProbeOutcome&)>;

  Prober(EventLoop& loop, std::size_t concurrency);
  ~Prober();

  // The spec is shared, not copied: one per endpoint, however often it is probed.
  void submit(std::shared_ptr<const ProbeSpec> spec, EventLoop::TimePoint when, Done done);
  std::size_t in_flight() const { return m_in_flight; }
  // Ends the run now: every probe in flight finishes as if its timeout had passed (no
  // further candidate is tried) and reports its outcome before this returns; the probes
  // not started yet, and any submitted later, never start.
  void stop();
  bool idle() const { return m_in_flight == 0 && m_queue.empty(); }

 private:
  class Probe;
  friend class Probe;
  struct Job {
    std::shared_ptr<const ProbeSpec> spec;
    Done done;
  };

  void pump();
  void finished(Probe* probe, const ProbeOutcome& outcome, const Done& done);

  EventLoop& m_loop;
  std::size_t m_concurrency;
  std::size_t m_in_flight = 0;
  bool m_pumping = false;
  bool m_stopped = false;
  std::multimap<EventLoop::TimePoint, Job> m_queue;
  EventLoop::TimerId m_wakeup = 0;
  EventLoop::TimePoint m_wakeup_at{};
  std::unordered_map<Probe*, std::unique_ptr<Probe>> m_probes;
};

}  // namespace sockecho::net
