#pragma once

// What the command line asked for, as plain values. Filled by cli::parse, read by cmd/.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "net/access_list.h"
#include "net/resolver.h"
#include "net/tls_config.h"
#include "net/transform.h"
#include "report/verbosity.h"

namespace sockecho::cli {

inline constexpr std::uint16_t k_default_port = 48763;

struct TransportOptions {
  net::SockType type = net::SockType::stream;
  net::Family family = net::Family::any;
  bool unix_domain = false;  // --unix: addresses are paths ("@name": abstract)
};

// -q / -v: the reporter's own enum, so cmd/ hands it over as it is.
using Verbosity = report::Verbosity;

struct ServeOptions {
  TransportOptions transport;
  std::string bind;  // empty: the wildcard (dual-stack unless -4/-6)
  std::uint16_t port = k_default_port;
  int backlog = 128;
  net::Mode mode = net::Mode::upper;
  std::string exit_word = "exit";
  std::string shutdown_word;
  std::size_t max_clients = 0;
  std::optional<std::chrono::milliseconds> idle_timeout;
  bool once = false;
  bool reuseport = false;
  Verbosity verbosity = Verbosity::normal;
  bool json = false;
  bool timestamps = false;  // --timestamps: each text line starts with its time
  bool hexdump = false;               // -x: every chunk read or written, on stdout
  std::optional<unsigned> unix_mode;  // --unix-mode: the socket file's permission bits
  net::AccessList access;             // --allow / --deny
  unsigned threads = 1;               // --threads: event loops, each on its own socket
  net::TlsConfig tls;                 // --tls and its flags
};

// -s/--source ADDR[:PORT]: the local address a client connects from, as nc -s. host is
// a name or a numeric address (without brackets), resolved for the transport's family;
// port 0 lets the kernel pick one.
struct SourceAddress {
  std::string host;
  std::uint16_t port = 0;
};

struct SendOptions {
  TransportOptions transport;
  std::string host;  // with --unix, the path
  std::uint16_t port = k_default_port;
  std::optional<std::string> words;  // WORDs joined by spaces plus "\n", instead of stdin
  std::optional<std::chrono::milliseconds> timeout;  // unset: the default for the socket type
  std::chrono::milliseconds connect_timeout{10'000};
  unsigned retries = 0;
  std::string exit_word = "exit";
  bool verbose = false;
  bool timestamps = false;  // --timestamps: each -v line starts with its time
  bool crlf = false;   // --crlf: input line endings go out as CRLF
  bool hexdump = false;  // -x: every chunk read or written, on stderr
  net::TlsConfig tls;  // --tls and its flags
  std::optional<SourceAddress> source;  // -s/--source
};

struct ProbeTarget {
  std::string text;  // as typed, for messages and sorting
  std::string host;  // with --unix, the path
  std::vector<std::uint16_t> ports;
};

struct ProbeOptions {
  TransportOptions transport;
  std::vector<ProbeTarget> targets;
  std::chrono::milliseconds timeout{2000};
  std::size_t concurrency = 0;  // 0: derived from RLIMIT_NOFILE
  std::string payload = "probe";
  bool echo = false;
  std::optional<std::string> expect;
  std::size_t count = 1;
  std::chrono::milliseconds interval{1000};  // 250ms under --wait, unless given
  // --wait: probe every endpoint each interval until all are good, for at most this long.
  std::optional<std::chrono::milliseconds> wait;
  std::optional<SourceAddress> source;  // -s/--source
  bool open_only = false;
  net::TlsConfig tls;                                  // --tls and its flags
  std::optional<std::chrono::milliseconds> warn_expiry;  // --warn-expiry
  Verbosity verbosity = Verbosity::normal;
  bool json = false;
  bool timestamps = false;  // --timestamps: each text line starts with its time
};

struct HelpRequest {
  std::string text;
};

using Command = std::variant<HelpRequest, ServeOptions, SendOptions, ProbeOptions>;

}  // namespace sockecho::cli
