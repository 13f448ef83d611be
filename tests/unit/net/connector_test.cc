#include "net/connector.h"

#include <poll.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <vector>

#include "failpoint.h"
#include "net/socket.h"
#include "net/sys.h"

using namespace sockecho::net;
using namespace std::chrono_literals;

namespace {

Address loopback4(std::uint16_t port) {
  return resolve("127.0.0.1", port, Family::v4, SockType::stream).front();
}

struct Listener {
  Fd fd;
  Address address;
};

Listener listening(int backlog = 16) {
  ListenOptions options;
  options.backlog = backlog;
  Fd fd = open_listener(loopback4(0), SockType::stream, options);
  Address a = Address::local_of(fd.get());
  return {std::move(fd), a};
}

// 127.0.0.1:port where nobody listens (a bound, not listening socket keeps it ours, so no
// other test's listener can take it meanwhile).
Listener closed_port() {
  Fd fd = open_socket(AF_INET, SockType::stream);
  Address a = loopback4(0);
  REQUIRE(sys::bind(fd.get(), a.get(), a.size()).ok());
  Address bound = Address::local_of(fd.get());
  return {std::move(fd), bound};
}

// Fills the accept queue of a listener nobody accepts on, so that the next SYN is dropped
// and a connect to it hangs. Returns the connections holding the queue.
std::vector<Fd> fill_backlog(const Listener& l) {
  std::vector<Fd> held;
  for (int i = 0; i < 64; ++i) {
    Fd c = open_socket(AF_INET, SockType::stream);
    SysResult r = sys::connect(c.get(), l.address.get(), l.address.size());
    held.push_back(std::move(c));
    if (r.ok()) continue;
    REQUIRE(r.error == EINPROGRESS);
    pollfd p{held.back().get(), POLLOUT, 0};
    if (sys::poll(&p, 1, 200).value == 0) return held;  // this one hangs: the queue is full
  }
  FAIL("the accept queue never filled");
  return held;
}

}  // namespace

TEST_CASE("net::connect_any connects to a listener") {
  Listener l = listening();
  std::vector<Address> addresses{l.address};
  ConnectResult r = connect_any(addresses, SockType::stream, 5s);
  CHECK(r.error == 0);
  REQUIRE(r.fd);
  CHECK(r.address == l.address);
  CHECK(Address::peer_of(r.fd.get()) == l.address);
}

TEST_CASE("net::connect_any: refused, with the address tried") {
  Listener closed = closed_port();
  std::vector<Address> addresses{closed.address};
  ConnectResult r = connect_any(addresses, SockType::stream, 5s);
  CHECK(r.error == ECONNREFUSED);
  CHECK_FALSE(r.fd);
  CHECK(r.address == closed.address);
}

TEST_CASE("net::connect_any: the first address fails, the second works") {
  Listener closed = closed_port();
  Listener l = listening();
  std::vector<Address> addresses{closed.address, l.address};
  ConnectResult r = connect_any(addresses, SockType::stream, 5s);
  CHECK(r.error == 0);
  CHECK(r.fd);
  CHECK(r.address == l.address);
}

TEST_CASE("net::connect_any: no address at all is EADDRNOTAVAIL") {
  ConnectResult r = connect_any({}, SockType::stream, 1s);
  CHECK(r.error == EADDRNOTAVAIL);
  CHECK_FALSE(r.fd);
}

TEST_CASE("net::connect_any gives up on an address after its timeout") {
  Listener l = listening(0);
  std::vector<Fd> held = fill_backlog(l);
  std::vector<Address> addresses{l.address};
  auto start = std::chrono::steady_clock::now();
  ConnectResult r = connect_any(addresses, SockType::stream, 150ms);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.error == ETIMEDOUT);
  CHECK_FALSE(r.fd);
  CHECK(took >= 150ms);
  CHECK(took < 2s);
}

#ifdef SOCKECHO_FAULTS

using sockecho::test::Failpoint;

TEST_CASE("net::connect_any moves on when connect fails for the first address") {
  Listener l = listening();
  std::vector<Address> twice{l.address, l.address};
  {
    auto fp = Failpoint::once("net/connect", ECONNREFUSED);
    ConnectResult r = connect_any(twice, SockType::stream, 5s);
    CHECK(r.error == 0);
    CHECK(r.fd);
  }
  {
    Failpoint fp("net/connect", ENETUNREACH);
    ConnectResult r = connect_any(twice, SockType::stream, 5s);
    CHECK(r.error == ENETUNREACH);
    CHECK_FALSE(r.fd);
  }
}

TEST_CASE("net::connect_any reports socket and poll failures as its error") {
  Listener l = listening();
  std::vector<Address> one{l.address};
  {
    Failpoint fp("net/socket", EMFILE);
    ConnectResult r = connect_any(one, SockType::stream, 5s);
    CHECK(r.error == EMFILE);
    CHECK_FALSE(r.fd);
  }
  {
    // The handshake is waited for with poll: make connect say "in progress" first.
    auto in_progress = Failpoint::once("net/connect", EINTR);
    Failpoint fp("net/poll", ENOMEM);
    ConnectResult r = connect_any(one, SockType::stream, 5s);
    CHECK(r.error == ENOMEM);
  }
  {
    auto in_progress = Failpoint::once("net/connect", EINTR);
    auto interrupted = Failpoint::once("net/poll", EINTR);
    ConnectResult r = connect_any(one, SockType::stream, 5s);
    CHECK(r.error == 0);
    CHECK(r.fd);
  }
}

#endif  // SOCKECHO_FAULTS

TEST_CASE("net::match_source pairs a source with the target addresses of its family") {
  Address v4 = resolve("127.0.0.2", 0, Family::v4, SockType::stream).front();
  Address v6 = resolve("::1", 0, Family::v6, SockType::stream).front();
  Address t4 = loopback4(80);
  Address t6 = resolve("::1", 80, Family::v6, SockType::stream).front();
  std::vector<Address> both{t6, t4};
  auto m = match_source(std::vector<Address>{v4}, both);
  REQUIRE(m.has_value());
  CHECK(m->source == v4);
  CHECK(m->targets == std::vector<Address>{t4});
  // The target's order decides when the source has both families.
  m = match_source(std::vector<Address>{v4, v6}, both);
  REQUIRE(m.has_value());
  CHECK(m->source == v6);
  CHECK(m->targets == std::vector<Address>{t6});
  CHECK_FALSE(match_source(std::vector<Address>{v6}, std::vector<Address>{t4}).has_value());
  CHECK(std::string(source_family_error(v6).what()) ==
        "bind to [::1]: an IPv6 address, and the target has no IPv6 address");
}

TEST_CASE("net::connect_any binds to the source first") {
  Listener l = listening();
  Address source = resolve("127.0.0.2", 0, Family::v4, SockType::stream).front();
  std::vector<Address> addresses{l.address};
  ConnectResult r = connect_any(addresses, SockType::stream, 5s, source);
  REQUIRE(r.fd);
  CHECK(Address::local_of(r.fd.get()).host() == "127.0.0.2");
  // An address this host does not have: a failed bind, not a failed connect.
  Address elsewhere = resolve("192.0.2.1", 0, Family::v4, SockType::stream).front();
  r = connect_any(addresses, SockType::stream, 5s, elsewhere);
  CHECK_FALSE(r.fd);
  CHECK(r.bind_failed);
  CHECK(r.error == EADDRNOTAVAIL);
  CHECK_THROWS_WITH(check_source(elsewhere, SockType::stream),
                    "bind to 192.0.2.1: Cannot assign requested address");
  CHECK(source_name(resolve("127.0.0.3", 5000, Family::v4, SockType::stream).front()) ==
        "127.0.0.3:5000");
}
