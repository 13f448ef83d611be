#pragma once

// What the program reports about sockets, as plain values. net/ produces these, the
// formatters turn them into text; neither side sees the other's types.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "report/data_event.h"
#include "report/rtt_stats.h"

namespace sockecho::report {

// Where netstat would say tcp/udp/unix; the same word is printed.
struct Socket {
  std::string proto;  // "tcp", "udp", "unix", "unixdg"
  std::string local;  // "127.0.0.1:48763", "[::1]:48763", "/tmp/s"
  std::string remote; // "127.0.0.1:51514", "0.0.0.0:*"
  std::uint32_t recv_q = 0;
  std::uint32_t send_q = 0;
};

struct TcpInfo {
  double rtt_ms = 0;
  double rttvar_ms = 0;
  std::uint32_t retransmits = 0;
  std::uint32_t cwnd = 0;
};

// What a TLS handshake agreed, as serve's ESTABLISHED line shows it; "" where the
// client did not send one (printed "-", null in JSON).
struct TlsInfo {
  std::string version;
  std::string cipher;
  std::string alpn;
  std::string sni;
  std::string peer;  // the peer certificate's subject (serve: under mutual TLS)
  // send -v: the server certificate's issuer and expiry, and how it was judged.
  std::string issuer{};
  std::string not_after{};
  std::string verify{};
};

struct Listen {
  Socket socket;
  std::string sha256{};  // the served certificate's fingerprint under TLS, or ""
};

struct Established {
  Socket socket;
  std::optional<TcpInfo> tcp;
  std::optional<TlsInfo> tls{};
};

struct Closed {
  Socket socket;
  std::uint64_t rx = 0;
  std::uint64_t tx = 0;
  double seconds = 0;
  std::string reason;  // "eof", "exit-word", "idle", "reset", "error", "shutdown", ...
  std::string err;     // errno name behind reason=error ("ENOMEM"), or ""
  std::optional<TcpInfo> tcp;
  std::string tls_error{};  // why, with reason=tls ("wrong version number"), or ""
};

struct Refused {
  Socket socket;
  std::string reason;  // "max-clients", "denied", "error"
  std::string err;     // errno name behind reason=error ("EMFILE"), or ""
};

// One message of a client, as the tutorial server prints it (-v only).
struct Message {
  std::string proto;
  std::string local;   // the server's address
  std::string remote;  // the client's, as Socket::remote
  std::string data;    // shown: without trailing "\r\n" and NUL padding
  std::string reply;   // likewise; empty in discard mode
  std::string data_bytes;   // the message exactly as received (a line with its newline)
  std::string reply_bytes;  // the reply exactly as sent; empty in discard mode
};

struct Summary {
  std::uint64_t clients = 0;
  std::uint64_t refused = 0;
  std::uint64_t rx = 0;
  std::uint64_t tx = 0;
  std::uint64_t messages = 0;
  std::uint64_t errors = 0;
  double seconds = 0;
};

// probe --tls: the handshake and the leaf certificate, reported even when verification
// failed. "" (printed "-", null in JSON) where there is nothing to say.
struct TlsCheck {
  std::optional<double> tls_ms;  // the handshake's time, apart from the connect
  std::string version;
  std::string cipher;
  std::string alpn;
  std::string subject;
  std::string issuer;
  std::vector<std::string> san;  // "DNS:name", "IP:addr"
  std::string not_before;        // ISO 8601 UTC, "2026-12-03T15:04:05Z"
  std::string not_after;
  std::optional<std::int64_t> days_left;  // whole days to not_after; 0 or less once expired
  std::string sha256;
  std::string verify;  // "ok", "skipped" (-k), "pinned" (--pin), or why it failed
};

// One probe of one endpoint.
struct ProbeResult {
  std::string proto;
  std::string local;   // "*" when there was no connection
  std::string remote;
  std::string state;   // OPEN, CLOSED, FILTERED, UNREACHABLE, OPEN|FILTERED, BADECHO, NOECHO
  std::optional<double> rtt_ms;
  std::size_t seq = 0;  // 1-based, with --count
  std::string error;    // strerror of what made it not OPEN, or ""
  std::optional<TlsCheck> tls{};  // under --tls, once connected
  bool show_seq = false;  // --count: one row per probe, numbered (seq=) as ping numbers them
  std::optional<double> up_s{};  // --wait: seconds from the start until the endpoint was good
  // BADECHO: the first bytes that came back instead of the expected reply, and whether
  // more came than these.
  std::optional<std::string> reply{};
  bool reply_truncated = false;
};

// Every probe of one endpoint, with --count (or the one probe otherwise).
struct ProbeStats {
  ProbeResult last;  // the row: the endpoint and its latest state
  RttStats rtt;
  std::optional<RttStats> tls{};  // under --tls: the handshake times
};

// A state word as a key: "OPEN|FILTERED" -> "open_filtered".
std::string state_key(std::string_view state);

struct ProbeSummary {
  std::size_t endpoints = 0;
  // state word -> count, every state in a fixed order (OPEN, CLOSED, FILTERED, UNREACHABLE first)
  std::vector<std::pair<std::string, std::size_t>> states;
  double seconds = 0;
  std::vector<std::pair<std::string, std::vector<std::string>>> resolved;  // name -> addresses
};

using Event = std::variant<Listen, Established, Closed, Refused, Message, Summary, ProbeResult,
                           ProbeStats, ProbeSummary, Data>;

}  // namespace sockecho::report
