#include "cli/validate.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace sockecho;
using namespace sockecho::cli;

namespace {

// The usage error f throws, or "(no error)".
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("cli::validate_transport keeps --unix apart from -4 and -6") {
  TransportOptions t;
  CHECK(error_of([&] { validate_transport(t); }) == "(no error)");
  t.unix_domain = true;
  CHECK(error_of([&] { validate_transport(t); }) == "(no error)");
  t.family = net::Family::v6;
  CHECK(error_of([&] { validate_transport(t); }) == "--unix: does not go with -4 or -6");
  t.unix_domain = false;
  CHECK(error_of([&] { validate_transport(t); }) == "(no error)");
}

TEST_CASE("cli::validate_family holds numeric addresses to -4 and -6") {
  auto check = [](const char* host, net::Family f) {
    return error_of([&] { validate_family("--bind 'X'", host, f); });
  };
  for (const char* host : {"localhost", "127.0.0.1", "::1", "::ffff:127.0.0.1", "fe80::1%lo"})
    CHECK(check(host, net::Family::any) == "(no error)");
  CHECK(check("localhost", net::Family::v4) == "(no error)");
  CHECK(check("localhost", net::Family::v6) == "(no error)");
  CHECK(check("127.0.0.1", net::Family::v4) == "(no error)");
  CHECK(check("::1", net::Family::v6) == "(no error)");
  CHECK(check("fe80::1%lo", net::Family::v6) == "(no error)");
  CHECK(check("127.0.0.1", net::Family::v6) == "--bind 'X': an IPv4 address, and -6 is IPv6 only");
  CHECK(check("::1", net::Family::v4) == "--bind 'X': an IPv6 address, and -4 is IPv4 only");
  CHECK(
      check("::ffff:127.0.0.1", net::Family::v6) ==
      "--bind 'X': a v4-mapped address is IPv4, and -6 is IPv6 only; drop -6, or write 127.0.0.1");
  CHECK(check("::ffff:127.0.0.1", net::Family::v4) ==
        "--bind 'X': a v4-mapped address is IPv6 notation; with -4, write 127.0.0.1");
}

TEST_CASE("cli::validate_serve checks the rules between serve's flags") {
  ServeOptions o;
  CHECK(error_of([&] { validate_serve(o); }) == "(no error)");

  ServeOptions mode = o;
  mode.unix_mode = 0600;
  CHECK(error_of([&] { validate_serve(mode); }) == "--unix-mode: goes with --unix only");
  mode.transport.unix_domain = true;
  mode.bind = "/tmp/s";
  CHECK(error_of([&] { validate_serve(mode); }) == "(no error)");

  ServeOptions no_path = o;
  no_path.transport.unix_domain = true;
  CHECK(error_of([&] { validate_serve(no_path); }) == "--unix: needs a PATH (or @name)");

  ServeOptions access = o;
  access.access.deny(net::parse_cidr("127.0.0.2"));
  CHECK(error_of([&] { validate_serve(access); }) == "(no error)");
  access.transport.unix_domain = true;
  access.bind = "/tmp/s";
  CHECK(error_of([&] { validate_serve(access); }) ==
        "--allow/--deny: do not go with --unix (use --unix-mode)");

  ServeOptions words = o;
  words.shutdown_word = "exit";
  CHECK(error_of([&] { validate_serve(words); }) ==
        "--shutdown-word: must differ from the exit word");
  words.exit_word = "bye";
  CHECK(error_of([&] { validate_serve(words); }) == "(no error)");

  ServeOptions threads = o;
  threads.threads = 4;
  CHECK(error_of([&] { validate_serve(threads); }) == "(no error)");
  threads.once = true;
  CHECK(error_of([&] { validate_serve(threads); }) == "--threads: does not go with --once");
  threads.once = false;
  threads.transport.unix_domain = true;
  threads.bind = "/tmp/s";
  CHECK(error_of([&] { validate_serve(threads); }) == "(no error)");  // one shared socket
}

TEST_CASE("cli::validate_send keeps --retries to datagram sockets") {
  SendOptions o;
  CHECK(error_of([&] { validate_send(o); }) == "(no error)");
  o.retries = 2;
  CHECK(error_of([&] { validate_send(o); }) ==
        "--retries: goes with --udp only (a stream resends by itself)");
  o.transport.type = net::SockType::datagram;
  CHECK(error_of([&] { validate_send(o); }) == "(no error)");
  o.transport.unix_domain = true;  // --unix --udp: a datagram socket too
  CHECK(error_of([&] { validate_send(o); }) == "(no error)");
}

TEST_CASE("cli::validate_send keeps --crlf to streams") {
  SendOptions o;
  o.crlf = true;
  CHECK(error_of([&] { validate_send(o); }) == "(no error)");
  o.transport.unix_domain = true;
  CHECK(error_of([&] { validate_send(o); }) == "(no error)");
  o.transport.type = net::SockType::datagram;
  CHECK(error_of([&] { validate_send(o); }) ==
        "--crlf: goes with a stream only (a datagram is a line without its end)");
}

TEST_CASE("cli::validate_probe needs a payload for --echo") {
  ProbeOptions o;
  CHECK(error_of([&] { validate_probe(o); }) == "(no error)");
  o.payload = "";
  CHECK(error_of([&] { validate_probe(o); }) == "(no error)");
  o.echo = true;
  CHECK(error_of([&] { validate_probe(o); }) == "--payload: must not be empty with --echo");
}

TEST_CASE("cli::validate_tls_flags holds every other TLS flag to --tls") {
  CHECK(error_of([] { validate_tls_flags({}, false); }) == "(no error)");
  CHECK(error_of([] { validate_tls_flags({}, true); }) == "(no error)");
  for (const char* flag : {"--cert", "--key", "--cafile", "--pin", "--insecure", "--servername",
                           "--alpn", "--tls-min", "--handshake-timeout", "--warn-expiry"}) {
    INFO(flag);
    CHECK(error_of([&] { validate_tls_flags({flag}, true); }) == "(no error)");
    CHECK(error_of([&] { validate_tls_flags({flag}, false); }) ==
          std::string(flag) + ": goes with --tls only");
  }
  // The first given is the one named.
  const std::vector<std::string> two{"--key", "--cert"};
  CHECK(error_of([&] { validate_tls_flags(two, false); }) == "--key: goes with --tls only");
}

TEST_CASE("cli::validate_tls wants a stream and --cert with --key") {
  TransportOptions stream;
  TransportOptions datagram;
  datagram.type = net::SockType::datagram;
  net::TlsConfig off;
  CHECK(error_of([&] { validate_tls(off, datagram); }) == "(no error)");
  net::TlsConfig on;
  on.enabled = true;
  CHECK(error_of([&] { validate_tls(on, stream); }) == "(no error)");
  CHECK(error_of([&] { validate_tls(on, datagram); }) ==
        "--tls: does not go with --udp (TLS runs over a stream)");
  TransportOptions unix_stream;
  unix_stream.unix_domain = true;
  CHECK(error_of([&] { validate_tls(on, unix_stream); }) == "(no error)");

  net::TlsConfig cert = on;
  cert.cert_file = "c.pem";
  CHECK(error_of([&] { validate_tls(cert, stream); }) ==
        "--cert: needs --key too (a key in the certificate file: name it twice)");
  cert.key_file = "c.pem";  // one file holding both
  CHECK(error_of([&] { validate_tls(cert, stream); }) == "(no error)");
  net::TlsConfig key = on;
  key.key_file = "k.pem";
  CHECK(error_of([&] { validate_tls(key, stream); }) == "--key: needs --cert too");
}

TEST_CASE("cli::validate_tls_client refuses contradictory checks") {
  net::TlsConfig tls;
  tls.enabled = true;
  CHECK(error_of([&] { validate_tls_client(tls); }) == "(no error)");

  net::TlsConfig both = tls;
  both.insecure = true;
  both.pin = net::Fingerprint{};
  CHECK(error_of([&] { validate_tls_client(both); }) ==
        "--pin/-k: pick one (--pin accepts one certificate, -k any)");

  net::TlsConfig k_ca = tls;
  k_ca.insecure = true;
  CHECK(error_of([&] { validate_tls_client(k_ca); }) == "(no error)");
  k_ca.ca_file = "ca.pem";
  CHECK(error_of([&] { validate_tls_client(k_ca); }) ==
        "--cafile: does not go with -k (nothing is verified)");

  net::TlsConfig pin_ca = tls;
  pin_ca.pin = net::Fingerprint{};
  CHECK(error_of([&] { validate_tls_client(pin_ca); }) == "(no error)");
  pin_ca.ca_file = "ca.pem";
  CHECK(error_of([&] { validate_tls_client(pin_ca); }) ==
        "--cafile: does not go with --pin (the fingerprint is the whole check)");

  net::TlsConfig named = tls;  // a name is SNI as well as the check: fine beside -k
  named.servername = "example.org";
  named.insecure = true;
  CHECK(error_of([&] { validate_tls_client(named); }) == "(no error)");
}

TEST_CASE("cli::validate_serve, validate_send and validate_probe apply the TLS rules") {
  ServeOptions serve;
  serve.tls.enabled = true;
  CHECK(error_of([&] { validate_serve(serve); }) == "(no error)");
  serve.transport.unix_domain = true;  // TLS over a Unix stream
  serve.bind = "/tmp/s";
  CHECK(error_of([&] { validate_serve(serve); }) == "(no error)");
  serve.tls.ca_file = "ca.pem";  // mutual TLS: --cafile means something else here
  CHECK(error_of([&] { validate_serve(serve); }) == "(no error)");
  serve.transport.type = net::SockType::datagram;
  CHECK(error_of([&] { validate_serve(serve); }) ==
        "--tls: does not go with --udp (TLS runs over a stream)");

  SendOptions send;
  send.tls.enabled = true;
  send.tls.cert_file = "me.pem";
  CHECK(error_of([&] { validate_send(send); }) ==
        "--cert: needs --key too (a key in the certificate file: name it twice)");
  send.tls.key_file = "me.key";
  CHECK(error_of([&] { validate_send(send); }) == "(no error)");
  send.tls.insecure = true;
  send.tls.pin = net::Fingerprint{};
  CHECK(error_of([&] { validate_send(send); }) ==
        "--pin/-k: pick one (--pin accepts one certificate, -k any)");

  ProbeOptions probe;
  probe.tls.enabled = true;
  probe.warn_expiry = std::chrono::hours(24 * 21);
  CHECK(error_of([&] { validate_probe(probe); }) == "(no error)");
  probe.tls.pin = net::Fingerprint{};
  // Pinned, the expiry is still checked: --warn-expiry goes with --pin.
  CHECK(error_of([&] { validate_probe(probe); }) == "(no error)");
  probe.transport.type = net::SockType::datagram;
  CHECK(error_of([&] { validate_probe(probe); }) ==
        "--tls: does not go with --udp (TLS runs over a stream)");
}
