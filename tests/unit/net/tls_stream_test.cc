#include "net/tls_stream.h"

#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <string>

#include "net/certificate.h"
#include "net/tls_context.h"
#include "net/tls_error.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>

using namespace sockecho::net;

namespace {

struct Pair {
  std::unique_ptr<TlsStream> server;
  std::unique_ptr<TlsStream> client;
};

// A CA file that trusts only a certificate nobody serves; removed with the test.
struct UnrelatedCa {
  std::string path = "/tmp/sockecho-unit-ca-" + std::to_string(::getpid()) + ".pem";
  UnrelatedCa() {
    SelfSigned other = make_self_signed({"elsewhere.invalid"});
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f);
    PEM_write_X509(f, other.cert.get());
    std::fclose(f);
  }
  ~UnrelatedCa() { std::remove(path.c_str()); }
};

Pair make_pair(const TlsConfig& server_config, const TlsConfig& client_config,
               const std::string& name = "localhost", bool report_untrusted = false) {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  auto sctx = TlsContext::server(server_config, generated_names("127.0.0.1"));
  auto cctx = TlsContext::client(client_config, report_untrusted);
  return {std::make_unique<TlsStream>(Fd(sv[0]), sctx),
          std::make_unique<TlsStream>(Fd(sv[1]), cctx, name)};
}

// Steps both handshakes until neither is blocked; the results of the last step.
std::pair<IoResult, IoResult> handshake(Pair& p) {
  IoResult s{IoStatus::want_read, 0, 0}, c{IoStatus::want_read, 0, 0};
  for (int i = 0; i < 20 && (c.blocked() || s.blocked()); ++i) {
    if (c.blocked()) c = p.client->handshake();
    if (s.blocked()) s = p.server->handshake();
  }
  return {s, c};
}

std::string drain(Stream& s) {
  std::string out;
  char buf[4096];
  for (int i = 0; i < 100; ++i) {
    IoResult r = s.read(buf);
    if (r.ok()) out.append(buf, r.bytes);
    else break;
  }
  return out;
}

}  // namespace

TEST_CASE("a pinned TLS pair hands bytes both ways and half-closes with close_notify") {
  TlsConfig server;
  server.enabled = true;
  auto probe_ctx = TlsContext::server(server, generated_names(""));
  TlsConfig client;
  client.enabled = true;
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  client.pin = probe_ctx->fingerprint();
  Pair p{std::make_unique<TlsStream>(Fd(sv[0]), probe_ctx),
         std::make_unique<TlsStream>(Fd(sv[1]), TlsContext::client(client, false), "localhost")};
  auto [s, c] = handshake(p);
  REQUIRE(s.ok());
  REQUIRE(c.ok());
  REQUIRE(p.client->tls());
  CHECK(p.client->tls()->verify == Verify::pinned);
  CHECK(p.client->tls()->version == "TLSv1.3");
  CHECK(p.server->tls()->sni == "localhost");
  REQUIRE(p.client->tls()->peer);
  const CertificateInfo& cert = *p.client->tls()->peer;
  CHECK(cert.not_after - cert.not_before == 30 * 86400 + 3600);
  CHECK(cert.san.front() == "DNS:localhost");
  CHECK(std::find(cert.san.begin(), cert.san.end(), "IP:::1") != cert.san.end());

  REQUIRE(p.client->write(std::string_view("hello")).ok());
  CHECK(drain(*p.server) == "hello");
  REQUIRE(p.client->shutdown_write().ok());
  CHECK(p.server->read(std::span<char>()).status != IoStatus::error);
  char buf[16];
  CHECK(p.server->read(buf).status == IoStatus::eof);
  // After the client's close_notify the server still answers (a half-close).
  REQUIRE(p.server->write(std::string_view("HELLO")).ok());
  CHECK(drain(*p.client) == "HELLO");
}

TEST_CASE("a client that trusts nothing refuses the generated certificate with the reason") {
  TlsConfig server, client;
  server.enabled = client.enabled = true;
  UnrelatedCa ca;
  client.ca_file = ca.path;
  Pair p = make_pair(server, client);
  auto [s, c] = handshake(p);
  CHECK(c.status == IoStatus::error);
  CHECK(c.error == k_protocol_error);
  CHECK(p.client->failure() == "certificate verify failed: self-signed certificate");
  CHECK(s.status == IoStatus::error);
  CHECK_FALSE(p.server->failure().empty());
}

TEST_CASE("probe's client finishes the handshake with an untrusted peer and says why") {
  TlsConfig server, client;
  server.enabled = client.enabled = true;
  UnrelatedCa ca;
  client.ca_file = ca.path;
  Pair p = make_pair(server, client, "localhost", true);
  auto [s, c] = handshake(p);
  REQUIRE(c.ok());
  CHECK(p.client->tls()->verify == Verify::failed);
  CHECK(p.client->tls()->verify_error == "self-signed certificate");
}

TEST_CASE("a wrong pin is refused, -k is skipped") {
  TlsConfig server, client;
  server.enabled = client.enabled = true;
  client.pin = Fingerprint{};
  Pair p = make_pair(server, client);
  auto [s, c] = handshake(p);
  CHECK(c.status == IoStatus::error);
  CHECK(p.client->failure().rfind("certificate verify failed: certificate does not match --pin", 0) == 0);

  TlsConfig insecure;
  insecure.enabled = insecure.insecure = true;
  Pair q = make_pair(server, insecure);
  auto [s2, c2] = handshake(q);
  REQUIRE(c2.ok());
  CHECK(q.client->tls()->verify == Verify::skipped);
}

TEST_CASE("ALPN: the server's preference wins; none in common is refused; none offered is served") {
  TlsConfig server, client;
  server.enabled = client.enabled = client.insecure = true;
  server.alpn = {"h2", "http/1.1"};
  client.alpn = {"http/1.1", "h2"};
  Pair p = make_pair(server, client);
  auto [s, c] = handshake(p);
  REQUIRE(c.ok());
  CHECK(p.client->tls()->alpn == "h2");

  client.alpn = {"smtp"};
  Pair q = make_pair(server, client);
  auto [s2, c2] = handshake(q);
  CHECK(s2.status == IoStatus::error);
  CHECK(q.server->failure() == "no application protocol");

  client.alpn.clear();
  Pair r = make_pair(server, client);
  auto [s3, c3] = handshake(r);
  REQUIRE(c3.ok());
  CHECK(r.client->tls()->alpn.empty());
}

TEST_CASE("TLS: --tls-min 1.3 on one side and TLS 1.2 only on the other do not meet") {
  TlsConfig server, client;
  server.enabled = client.enabled = client.insecure = true;
  server.min_version = TlsVersion::v1_3;
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  auto cctx = TlsContext::client(client, false);
  SSL_CTX_set_max_proto_version(cctx->get(), TLS1_2_VERSION);
  Pair p{std::make_unique<TlsStream>(Fd(sv[0]), TlsContext::server(server, {"localhost"})),
         std::make_unique<TlsStream>(Fd(sv[1]), cctx, "localhost")};
  auto [s, c] = handshake(p);
  CHECK(s.status == IoStatus::error);
  CHECK(p.server->failure() == "unsupported protocol");
}

TEST_CASE("plaintext at a TLS server fails the handshake with OpenSSL's reason") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  TlsConfig server;
  server.enabled = true;
  TlsStream s{Fd(sv[0]), TlsContext::server(server, {"localhost"})};
  Fd peer(sv[1]);
  REQUIRE(write_all(peer.get(), std::string_view("GET / HTTP/1.0\r\n\r\n")).ok());
  IoResult r = s.handshake();
  CHECK(r.status == IoStatus::error);
  CHECK(s.failure() == "http request");
}

TEST_CASE("a peer that leaves mid-handshake fails it; one that leaves without close_notify is EOF") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  TlsConfig server;
  server.enabled = true;
  TlsStream s{Fd(sv[0]), TlsContext::server(server, {"localhost"})};
  ::close(sv[1]);
  IoResult r = s.handshake();
  CHECK(r.status == IoStatus::error);
  CHECK_FALSE(s.failure().empty());

  TlsConfig client;
  client.enabled = client.insecure = true;
  Pair p = make_pair(server, client);
  auto [s2, c2] = handshake(p);
  REQUIRE(c2.ok());
  p.client->close();
  char buf[16];
  CHECK(p.server->read(buf).status == IoStatus::eof);
}

TEST_CASE("a server with a bad --cert or --key does not start") {
  TlsConfig server;
  server.enabled = true;
  server.cert_file = "/nonexistent.pem";
  server.key_file = "/nonexistent.pem";
  CHECK_THROWS_AS(TlsContext::server(server, {}), TlsError);
}
