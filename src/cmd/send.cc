#include "cmd/send.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "net/connector.h"
#include "net/datagram_client.h"
#include "net/relay.h"
#include "net/resolver.h"
#include "net/service.h"
#include "net/socket.h"
#include "net/sys.h"
#include "cmd/net_report.h"
#include "failure.h"
#include "net/stream.h"
#include "net/tls_error.h"
#include "net/tls_stream.h"
#include "report/hexdump.h"
#include "report/reporter.h"

namespace sockecho::cmd {
namespace {

using namespace std::chrono_literals;

constexpr auto k_stream_drain_default = 10s;
constexpr auto k_datagram_reply_default = 1s;
constexpr std::string_view k_prompt = "sockecho> ";

void prompt() { net::write_all(STDERR_FILENO, k_prompt); }

// -v: the connection as netstat would show it, on stderr, so stdout stays the replies.
class Diagnostics {
 public:
  Diagnostics(bool on, net::Proto proto, bool timestamps)
      : m_reporter(stderr, report::Format::netstat,
                   on ? report::Verbosity::verbose : report::Verbosity::quiet, timestamps),
        m_on(on),
        m_proto(proto),
        m_started(std::chrono::steady_clock::now()) {}

  void established(int fd, const net::Address& peer, const net::TlsSession* tls = nullptr) {
    if (!m_on) return;
    m_local = net::Address::local_of(fd);
    m_peer = net::Peer{peer, std::nullopt};
    std::optional<report::TlsInfo> t;
    if (tls) {
      t = report::TlsInfo{tls->version, tls->cipher, tls->alpn, tls->sni, ""};
      if (tls->peer) {
        t->peer = tls->peer->subject;
        t->issuer = tls->peer->issuer;
        t->not_after = iso8601(tls->peer->not_after);
      }
      t->verify = std::string(verify_name(*tls));
    }
    m_reporter.emit(report::Established{socket(fd), tcp(fd), std::move(t)});
  }

  void closed(int fd, std::uint64_t sent, std::uint64_t received, net::CloseReason reason) {
    if (!m_on) return;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started).count();
    m_reporter.emit(report::Closed{socket(fd), received, sent, seconds,
                                   std::string(reason_name(reason)), "", tcp(fd), ""});
  }

 private:
  report::Socket socket(int fd) const {
    return to_report(net::socket_info(m_proto, fd, m_local, m_peer));
  }
  std::optional<report::TcpInfo> tcp(int fd) const {
    return m_proto == net::Proto::tcp ? to_report(net::tcp_stats(fd)) : std::nullopt;
  }

  report::Reporter m_reporter;
  bool m_on;
  net::Proto m_proto;
  net::Address m_local;
  net::Peer m_peer;
  std::chrono::steady_clock::time_point m_started;
};

// -x: each chunk sent or received as a hex dump on stderr, so stdout stays the replies.
// A stderr whose reader went away says so (false), and the session ends as for stdout.
class HexDump {
 public:
  explicit HexDump(const net::Address& peer) : m_peer(peer.to_string()) {}

  bool operator()(net::Direction direction, std::string_view bytes) {
    std::string text = report::format_data_text(
        report::Data{std::string(direction_mark(direction)), m_peer, std::string(bytes)});
    text += '\n';
    net::IoResult w = net::write_all(STDERR_FILENO, text);
    if (!w.ok() && w.error == EPIPE) m_gone = true;
    return !m_gone;
  }

  bool gone() const { return m_gone; }

 private:
  std::string m_peer;
  bool m_gone = false;
};

[[noreturn]] void network_failure(int error, std::string_view what, const net::Address& peer) {
  net::throw_error(error, fmt::format("{} {}", what, peer));
}

// Why a TLS session failed after its handshake, when the peer or OpenSSL said: an alert
// (a server that refuses our lack of a client certificate, which under TLS 1.3 it does
// only after our handshake is over) beats the EPROTO, or the reset that follows it when
// we were writing. A failed write has not read the alert yet: one read, which cannot
// block, picks it up. Empty when there is nothing to say beyond the errno.
std::string tls_reason(net::Stream& stream, net::RelayStep failed) {
  if (!stream.failure().empty() || failed != net::RelayStep::send) return stream.failure();
  char scratch[4096];
  net::IoResult r = stream.read(scratch);
  return r.status == net::IoStatus::error ? stream.failure() : std::string();
}

// Connecting failed: binding to -s/--source, or the connect itself.
[[noreturn]] void connect_failure(const net::ConnectResult& c, const std::optional<net::Address>& source) {
  if (c.bind_failed && source) net::throw_error(c.error, "bind to " + net::source_name(*source));
  network_failure(c.error, "connect to", c.address);
}

ExitStatus send_stream(const cli::SendOptions& o, const std::vector<net::Address>& addresses,
                       const std::optional<net::Address>& source) {
  // Built before connecting: a bad --cafile or --cert is an error before any traffic.
  std::shared_ptr<const net::TlsContext> tls;
  if (o.tls.enabled) tls = net::TlsContext::client(o.tls, false);
  net::ConnectResult c =
      net::connect_any(addresses, net::SockType::stream, o.connect_timeout, source);
  if (!c.fd) connect_failure(c, source);
  Diagnostics diag(o.verbose, net::protocol_of(o.transport.type, o.transport.unix_domain),
                   o.timestamps);
  const int fd = c.fd.get();
  std::unique_ptr<net::Stream> owned;
  if (tls) {
    if (c.address.is_inet()) net::set_no_delay(fd);  // the first line goes at once: socket.h
    owned = std::make_unique<net::TlsStream>(std::move(c.fd), tls, o.transport.unix_domain ? "" : o.host);
    net::IoResult h = net::handshake_within(*owned, o.connect_timeout);
    if (!h.ok()) {
      std::string why = owned->failure();
      if (why.empty()) why = h.error == ETIMEDOUT ? "handshake timed out" : std::strerror(h.error);
      throw net::TlsError(fmt::format("tls with {}: {}", c.address, why));
    }
  } else {
    owned = std::make_unique<net::SocketStream>(std::move(c.fd));
  }
  diag.established(fd, c.address, owned->tls());
  net::Stream& stream = *owned;

  const bool interactive = !o.words && ::isatty(STDIN_FILENO);
  net::RelayOptions ro;
  ro.drain_timeout = o.timeout.value_or(k_stream_drain_default);
  ro.crlf = o.crlf;
  HexDump dump(c.address);
  if (o.hexdump)
    ro.on_data = [&dump](net::Direction d, std::span<const char> bytes) {
      return dump(d, std::string_view(bytes.data(), bytes.size()));
    };
  // Exit 0 means the peer's TCP has every byte: the relay waits for the kernel's send
  // queue to empty. A Unix socket has no such queue (SIOCOUTQ there counts buffer memory):
  // what is written is in the peer's socket.
  if (c.address.is_inet()) ro.kernel_unacknowledged = [fd] { return net::queued_out(fd); };
  if (interactive) {
    ro.input_exit_word = o.exit_word;
    ro.on_reply_line = prompt;
    prompt();
  }
  net::RelayResult r = net::relay(o.words ? -1 : STDIN_FILENO, o.words.value_or(""), stream,
                                  STDOUT_FILENO, ro);
  diag.closed(stream.fd(), r.sent, r.received,
              r.end == net::RelayEnd::drain_timeout || r.end == net::RelayEnd::unacknowledged
                  ? net::CloseReason::timeout
              : r.end == net::RelayEnd::failed ? net::CloseReason::error
                                               : net::CloseReason::eof);
  if (r.end == net::RelayEnd::unacknowledged)
    throw Failure(
        fmt::format("send to {}: {} bytes not acknowledged", c.address, r.unacknowledged));
  // stdout's (or the dump's) reader went away: the relay has closed the session politely.
  if (r.failed == net::RelayStep::write_output && r.error == EPIPE) return ExitStatus::broken_pipe;
  if (tls && (r.failed == net::RelayStep::send || r.failed == net::RelayStep::receive)) {
    std::string why = tls_reason(stream, r.failed);
    if (!why.empty()) throw net::TlsError(fmt::format("tls with {}: {}", c.address, why));
  }
  switch (r.failed) {
    case net::RelayStep::none:
      return ExitStatus::ok;
    case net::RelayStep::write_output:
      net::throw_error(r.error, "write to stdout");
    case net::RelayStep::read_input:
      net::throw_error(r.error, "read from stdin");
    case net::RelayStep::send:
      network_failure(r.error, "send to", c.address);
    case net::RelayStep::receive:
      network_failure(r.error, "receive from", c.address);
  }
  return ExitStatus::ok;
}

// Reads stdin a line at a time (the last line may lack its newline). Blocking reads:
// stdin is the only thing a datagram client waits on between exchanges.
class LineReader {
 public:
  explicit LineReader(int fd) : m_fd(fd) {}
  // Lines of text already in hand (the WORDs), no fd behind them.
  explicit LineReader(std::string text) : m_fd(-1), m_buffer(std::move(text)), m_eof(true) {}
  std::optional<std::string> next() {
    for (;;) {
      std::size_t nl = m_buffer.find('\n', m_scanned);
      if (nl != std::string::npos) {
        std::string line = m_buffer.substr(0, nl);
        m_buffer.erase(0, nl + 1);
        m_scanned = 0;
        return line;
      }
      m_scanned = m_buffer.size();
      if (m_eof) {
        if (m_buffer.empty()) return std::nullopt;
        std::string line = std::move(m_buffer);
        m_buffer.clear();
        m_scanned = 0;
        return line;
      }
      char chunk[65536];
      net::IoResult r = net::read_some(m_fd, chunk);
      if (r.status == net::IoStatus::error) net::throw_error(r.error, "read from stdin");
      if (r.status == net::IoStatus::eof) m_eof = true;
      else m_buffer.append(chunk, r.bytes);
    }
  }

 private:
  int m_fd;
  std::string m_buffer;
  std::size_t m_scanned = 0;
  bool m_eof = false;
};

ExitStatus send_datagram(const cli::SendOptions& o, const std::vector<net::Address>& addresses,
                         const std::optional<net::Address>& source) {
  const auto timeout = o.timeout.value_or(k_datagram_reply_default);
  const bool interactive = !o.words && ::isatty(STDIN_FILENO);
  std::size_t next_address = 0;
  net::ConnectResult c;
  auto connect_next = [&] {
    c = net::connect_any(std::span(addresses).subspan(next_address, 1), net::SockType::datagram,
                         o.connect_timeout, source);
    if (!c.fd) connect_failure(c, source);
    ++next_address;
  };
  connect_next();
  Diagnostics diag(o.verbose, net::protocol_of(o.transport.type, o.transport.unix_domain),
                   o.timestamps);
  diag.established(c.fd.get(), c.address);

  LineReader reader = o.words ? LineReader(*o.words) : LineReader(STDIN_FILENO);

  // Bytes sent count every datagram that went out, retries included, answered or not.
  std::uint64_t sent = 0, received = 0;
  std::optional<HexDump> dump;
  net::DatagramHook on_data;
  auto dump_to = [&](const net::Address& peer) {
    if (!o.hexdump) return;
    dump.emplace(peer);
    on_data = [&dump](net::Direction d, std::string_view bytes) { (*dump)(d, bytes); };
  };
  dump_to(c.address);
  bool answered_once = false;
  for (;;) {
    if (interactive) prompt();
    std::optional<std::string> line = reader.next();
    if (!line) break;
    if (net::is_word(*line, o.exit_word)) {
      // The server answers the exit word with silence: send it and go, as the tutorial does.
      net::IoResult w = net::send_some(c.fd.get(), *line);
      if (w.ok()) {
        sent += w.bytes;
        if (on_data) on_data(net::Direction::sent, std::string_view(*line).substr(0, w.bytes));
      }
      break;
    }
    net::Exchange x = net::exchange(c.fd.get(), *line, timeout, o.retries, on_data);
    sent += x.sent;
    if (dump && dump->gone()) return ExitStatus::broken_pipe;
    // Nothing ever answered and this address refused: the name may have more addresses
    // (localhost is ::1 and 127.0.0.1); try the next before calling it a failure.
    while (x.status == net::ExchangeStatus::refused && !answered_once &&
           next_address < addresses.size()) {
      connect_next();
      dump_to(c.address);
      x = net::exchange(c.fd.get(), *line, timeout, o.retries, on_data);
      sent += x.sent;
    }
    if (x.status == net::ExchangeStatus::timeout) {
      diag.closed(c.fd.get(), sent, received, net::CloseReason::timeout);
      net::throw_error(ETIMEDOUT, fmt::format("no reply from {} within {}ms", c.address, timeout.count()));
    }
    if (x.status != net::ExchangeStatus::reply) {
      diag.closed(c.fd.get(), sent, received, net::CloseReason::error);
      network_failure(x.error, "send to", c.address);
    }
    answered_once = true;
    received += x.reply.size();
    if (x.reply.empty() || x.reply.back() != '\n') x.reply += '\n';
    net::IoResult w = net::write_all(STDOUT_FILENO, x.reply);
    if (!w.ok() && w.error == EPIPE) return ExitStatus::broken_pipe;  // a datagram has no goodbye
    if (!w.ok()) net::throw_error(w.error, "write to stdout");
  }
  diag.closed(c.fd.get(), sent, received, net::CloseReason::eof);
  return ExitStatus::ok;
}

}  // namespace

ExitStatus run_send(const cli::SendOptions& o) {
  std::vector<net::Address> addresses =
      o.transport.unix_domain
          ? std::vector<net::Address>{net::Address::unix_path(o.host)}
          : net::resolve(o.host, o.port, o.transport.family, o.transport.type);
  // -s/--source: only the target's addresses of a family the source has can be reached.
  std::optional<net::Address> source;
  if (o.source) {
    std::vector<net::Address> sources =
        net::resolve_source(o.source->host, o.source->port, o.transport.family, o.transport.type);
    std::optional<net::SourcedTargets> m = net::match_source(sources, addresses);
    if (!m) throw net::source_family_error(sources.front());
    source = m->source;
    addresses = std::move(m->targets);
  }
  if (o.transport.type == net::SockType::stream) return send_stream(o, addresses, source);
  return send_datagram(o, addresses, source);
}

}  // namespace sockecho::cmd
