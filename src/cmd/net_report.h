#pragma once

// Where net's typed facts become what users read: protocol words, close and refusal
// reasons, errno names, addresses as netstat prints them. net/ never sees report/, and
// report/ never sees a socket; the runners in cmd/ call these to join the two.

#include <optional>
#include <string>
#include <string_view>

#include "net/prober.h"
#include "net/service.h"
#include "net/socket.h"
#include "report/event.h"

namespace sockecho::cmd {

std::string_view proto_name(net::Proto proto);          // tcp, udp, unix, unixdg
std::string_view reason_name(net::CloseReason reason);  // eof, exit-word, ...
std::string_view reason_name(net::RefuseReason reason); // denied, max-clients, error
std::string errno_name(int error);                      // "ENOMEM"; "" for 0
std::string_view direction_mark(net::Direction direction);  // "<" received, ">" sent

// "127.0.0.1:51514"; a Unix client as "pid=1234,uid=1000" (or "*" when unknown).
std::string peer_name(const net::Peer& peer);

// A listener (no remote) shows netstat's wildcard foreign address, "0.0.0.0:*".
report::Socket to_report(const net::SocketInfo& socket);
std::optional<report::TcpInfo> to_report(const std::optional<net::TcpStats>& tcp);
report::Event to_report(const net::ServiceEvent& event);

// probe --tls: what the handshake and the certificate said, as probe reports it. `now`
// (seconds since the epoch) is what days_left counts from.
report::TlsCheck to_report(const net::ProbeOutcome& outcome, std::int64_t now);

// Seconds since the epoch as ISO 8601 UTC: "2026-12-03T15:04:05Z".
std::string iso8601(std::int64_t seconds);

std::string_view verify_name(const net::TlsSession& session);
report::Summary to_report(const net::ServiceStats& stats);

}  // namespace sockecho::cmd
