#include "net/service.h"

#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <string_view>

#include "net/sys.h"

using namespace sockecho::net;

TEST_CASE("net::socket_info shows a Unix socket's Send-Q as 0, its unread bytes at the peer") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  Fd a(sv[0]), b(sv[1]);
  REQUIRE(write_all(a.get(), std::string_view("abc")).ok());
  // The kernel charges the 3 unread bytes hundreds of bytes of buffer memory (SIOCOUTQ):
  // not a byte count, and the bytes are in the peer's queue, not ours.
  REQUIRE(queued_out(a.get()) > 3);
  SocketInfo mine = socket_info(Proto::unix_stream, a.get(), Address{}, Peer{});
  CHECK(mine.send_q == 0);
  SocketInfo theirs = socket_info(Proto::unix_stream, b.get(), Address{}, Peer{});
  CHECK(theirs.recv_q == 3);
}
