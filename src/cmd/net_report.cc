#include "cmd/net_report.h"

#include <cstring>

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
            return report::Message{peer_name(e.peer), e.data, e.reply};
          },
      },
      event);
}

report::Summary to_report(const net::ServiceStats& s) {
  return report::Summary{s.clients, s.refused, s.rx, s.tx, s.messages, s.errors, s.seconds};
}

}  // namespace sockecho::cmd
