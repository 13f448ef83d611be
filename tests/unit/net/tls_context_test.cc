#include "net/tls_context.h"

#include <catch2/catch.hpp>

#include <string>

#include "net/tls_error.h"

using namespace sockecho::net;

namespace {

std::string start_failure(const TlsConfig& config) {
  try {
    TlsContext::server(config, {"localhost"});
  } catch (const TlsError& e) {
    return e.what();
  }
  return "started";
}

}  // namespace

TEST_CASE("net::TlsContext names a missing --cert file's errno in words, not OpenSSL's code") {
  TlsConfig c;
  c.enabled = true;
  c.cert_file = "/nonexistent/server.crt";
  c.key_file = "/nonexistent/server.key";
  CHECK(start_failure(c) == "--cert /nonexistent/server.crt: No such file or directory");
}
