#include "cmd/net_report.h"

#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "overloaded.h"

namespace sockecho::cmd {

std::string_view proto_name(net::Proto proto) {
  switch (proto) {
    case net::Proto::tcp:
      return "tcp";
    case net::Proto::udp:
      return "udp";
    case net::Proto::unix_stream:
      return "unix";
    case net::Proto::unix_datagram:
      return "unixdg";
  }
  return "?";
}

std::string_view reason_name(net::CloseReason reason) {
  switch (reason) {
    case net::CloseReason::eof:
      return "eof";
    case net::CloseReason::exit_word:
      return "exit-word";
    case net::CloseReason::shutdown_word:
      return "shutdown-word";
    case net::CloseReason::idle:
      return "idle";
    case net::CloseReason::shutdown:
      return "shutdown";
    case net::CloseReason::reset:
      return "reset";
    case net::CloseReason::tls:
      return "tls";
    case net::CloseReason::timeout:
      return "timeout";
    case net::CloseReason::error:
      return "error";
  }
  return "?";
}

std::string_view reason_name(net::RefuseReason reason) {
  switch (reason) {
    case net::RefuseReason::denied:
      return "denied";
    case net::RefuseReason::max_clients:
      return "max-clients";
    case net::RefuseReason::error:
      return "error";
  }
  return "?";
}

std::string_view direction_mark(net::Direction direction) {
  return direction == net::Direction::received ? "<" : ">";
}

std::string errno_name(int error) {
  if (error == 0) return "";
  const char* name = ::strerrorname_np(error);
  return name != nullptr ? name : fmt::format("E{}", error);
}

std::string peer_name(const net::Peer& peer) {
  if (peer.credentials) return fmt::format("pid={},uid={}", peer.credentials->pid, peer.credentials->uid);
  if (peer.address.family() == AF_UNIX && peer.address.host().empty()) return "*";
  if (peer.address.empty()) return "*";
  return peer.address.to_string();
}

report::Socket to_report(const net::SocketInfo& s) {
  const bool listener = s.remote.address.empty() && !s.remote.credentials;
  std::string remote = listener ? s.local.wildcard_peer() : peer_name(s.remote);
  return report::Socket{std::string(proto_name(s.proto)), s.local.to_string(), std::move(remote),
                        s.recv_q, s.send_q};
}

std::optional<report::TcpInfo> to_report(const std::optional<net::TcpStats>& t) {
  if (!t) return std::nullopt;
  return report::TcpInfo{t->rtt_us / 1000.0, t->rttvar_us / 1000.0, t->retransmits, t->cwnd};
}

report::Event to_report(const net::ServiceEvent& event) {
  return std::visit(
      Overloaded{
          [](const net::ListenEvent& e) -> report::Event {
            report::Socket s = to_report(e.socket);
            if (e.backlog > 0) s.send_q = static_cast<std::uint32_t>(e.backlog);  // as ss shows it
            return report::Listen{s, e.sha256 ? net::fingerprint_text(*e.sha256) : ""};
          },
          [](const net::AcceptEvent& e) -> report::Event {
            std::optional<report::TlsInfo> tls;
            if (e.tls)
              tls = report::TlsInfo{e.tls->version, e.tls->cipher, e.tls->alpn, e.tls->sni,
                                    e.tls->peer ? e.tls->peer->subject : ""};
            return report::Established{to_report(e.socket), to_report(e.tcp), std::move(tls)};
          },
          [](const net::CloseEvent& e) -> report::Event {
            const bool tls = e.reason == net::CloseReason::tls;
            std::string why = e.detail;
            if (tls && why.empty()) why = std::strerror(e.error);
            return report::Closed{to_report(e.socket), e.rx, e.tx, e.seconds,
                                  std::string(reason_name(e.reason)),
                                  e.reason == net::CloseReason::error ? errno_name(e.error) : "",
                                  to_report(e.tcp), std::move(why)};
          },
          [](const net::RefuseEvent& e) -> report::Event {
            return report::Refused{to_report(e.socket), std::string(reason_name(e.reason)),
                                   errno_name(e.error)};
          },
          [](const net::MessageEvent& e) -> report::Event {
            return report::Message{std::string(proto_name(e.proto)),
                                   e.local.to_string(),
                                   peer_name(e.peer),
                                   std::string(net::strip_padding(e.data)),
                                   std::string(net::strip_padding(e.reply)),
                                   e.data,
                                   e.reply};
          },
          [](const net::DataEvent& e) -> report::Event {
            return report::Data{std::string(direction_mark(e.direction)), peer_name(e.peer),
                                e.bytes};
          },
      },
      event);
}

std::string iso8601(std::int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string_view verify_name(const net::TlsSession& session) {
  switch (session.verify) {
    case net::Verify::ok:
      return "ok";
    case net::Verify::skipped:
      return "skipped";
    case net::Verify::pinned:
      return "pinned";
    case net::Verify::not_asked:
      return "-";
    case net::Verify::failed:
      return session.verify_error;
  }
  return "?";
}

report::TlsCheck to_report(const net::ProbeOutcome& outcome, std::int64_t now) {
  report::TlsCheck t;
  t.tls_ms = outcome.tls_ms;
  if (outcome.tls) {
    const net::TlsSession& s = *outcome.tls;
    t.version = s.version;
    t.cipher = s.cipher;
    t.alpn = s.alpn;
    t.verify = std::string(verify_name(s));
    if (s.peer) {
      const net::CertificateInfo& c = *s.peer;
      t.subject = c.subject;
      t.issuer = c.issuer;
      t.san = c.san;
      t.not_before = iso8601(c.not_before);
      t.not_after = iso8601(c.not_after);
      const std::int64_t left = c.not_after - now;
      // Whole days, rounded down: a certificate with 12 hours left has 0, an expired one less.
      t.days_left = left >= 0 ? left / 86400 : -((-left + 86399) / 86400);
      t.sha256 = net::fingerprint_text(c.sha256);
    }
  }
  if (!outcome.tls_failure.empty() && (!outcome.tls || outcome.tls->verify != net::Verify::failed))
    t.verify = outcome.tls_failure;
  return t;
}

report::Summary to_report(const net::ServiceStats& s) {
  return report::Summary{s.clients, s.refused, s.rx, s.tx, s.messages, s.errors, s.seconds};
}

}  // namespace sockecho::cmd
