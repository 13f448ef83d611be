// The server side of net::TlsStream fed arbitrary bytes: what a client on the network can
// send before and after a handshake.
//
// Once per process: a server TlsContext with a generated certificate (and ALPN, so the
// selection callback is reached). Per input: a socketpair; the input is written to the
// client's end, which then half-closes; the server's stream runs its handshake, and if that
// succeeds (it cannot finish, since nothing answers, but a prefix of a real ClientHello
// goes far), reads until EOF. Checks: no crash, no sanitizer report, no leak (LeakSanitizer
// at exit); every call ends in a defined IoResult; a failed handshake always says why
// (failure() non-empty, or an errno); the stream never reports data before a handshake.

#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "fuzz_util.h"
#include "net/certificate.h"
#include "net/fd.h"
#include "net/sys.h"
#include "net/tls_context.h"
#include "net/tls_stream.h"

using namespace sockecho;
using fuzz::check;

namespace {

std::shared_ptr<const net::TlsContext> server_context() {
  static const auto ctx = [] {
    net::TlsConfig c;
    c.enabled = true;
    c.alpn = {"h2", "http/1.1"};
    return net::TlsContext::server(c, {"localhost", "127.0.0.1"});
  }();
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return 0;
  net::Fd client(sv[1]);
  // A socketpair holds far more than a fuzz input: one write, then the client's FIN.
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!net::write_all(client.get(), input).ok()) return 0;
  ::shutdown(client.get(), SHUT_WR);

  net::TlsStream stream(net::Fd(sv[0]), server_context());
  net::IoResult r{net::IoStatus::want_read, 0, 0};
  // Each step consumes input or ends; the input is finite, so a handful of steps suffice.
  for (int step = 0; step < 64 && r.blocked(); ++step) r = stream.handshake();
  if (r.blocked()) return 0;  // waiting for a reply that never comes: the client only wrote
  if (!r.ok()) {
    check(r.status == net::IoStatus::error, "a failed handshake is an error, never eof", input);
    check(!stream.failure().empty() || r.error != 0, "a failed handshake says why", input);
    check(stream.tls() == nullptr, "no session after a failed handshake", input);
    return 0;
  }
  check(stream.tls() != nullptr, "a finished handshake has a session", input);
  char buf[4096];
  for (int step = 0; step < 64; ++step) {
    net::IoResult rr = stream.read(buf);
    if (!rr.ok()) break;
    check(rr.bytes <= sizeof buf, "a read fits its buffer", input);
  }
  return 0;
}
