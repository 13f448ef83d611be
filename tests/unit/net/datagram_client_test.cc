#include "net/datagram_client.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "failpoint.h"
#include "net/address.h"
#include "net/connector.h"
#include "net/socket.h"
#include "net/sys.h"

using namespace sockecho::net;
using namespace std::chrono_literals;

namespace {

Address loopback4(std::uint16_t port) {
  return resolve("127.0.0.1", port, Family::v4, SockType::datagram).front();
}

// A UDP "server" on 127.0.0.1 and a client socket connected to it.
struct Peers {
  Fd server;
  Address server_address;
  ConnectResult client;
};

Peers peers() {
  Peers p;
  p.server = open_listener(loopback4(0), SockType::datagram, {});
  p.server_address = Address::local_of(p.server.get());
  std::vector<Address> to{p.server_address};
  p.client = connect_any(to, SockType::datagram, 1s);
  REQUIRE(p.client.fd);
  return p;
}

// Every datagram waiting at fd, without blocking.
std::vector<std::string> drain(int fd) {
  std::vector<std::string> got;
  char buf[2048];
  for (;;) {
    IoResult r = recv_datagram(fd, buf, nullptr, nullptr);
    if (!r.ok()) return got;
    got.emplace_back(buf, r.bytes);
  }
}

void reply_to(const Peers& p, std::string_view text) {
  Address client = Address::local_of(p.client.fd.get());
  REQUIRE(send_datagram(p.server.get(), text, client.get(), client.size()).ok());
}

}  // namespace

TEST_CASE("net::exchange returns the reply") {
  Peers p = peers();
  reply_to(p, "HELLO");  // already waiting when exchange sends: no second thread needed
  Exchange x = exchange(p.client.fd.get(), "hello", 2s, 0);
  CHECK(x.status == ExchangeStatus::reply);
  CHECK(x.reply == "HELLO");
  CHECK(drain(p.server.get()) == std::vector<std::string>{"hello"});
}

TEST_CASE("net::exchange takes a 0-byte reply as a reply") {
  Peers p = peers();
  reply_to(p, "");
  Exchange x = exchange(p.client.fd.get(), "", 2s, 0);
  CHECK(x.status == ExchangeStatus::reply);
  CHECK(x.reply.empty());
}

TEST_CASE("net::exchange times out after each try, sending again each time") {
  Peers p = peers();
  auto start = std::chrono::steady_clock::now();
  Exchange x = exchange(p.client.fd.get(), "anyone?", 60ms, 2);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(x.status == ExchangeStatus::timeout);
  CHECK(x.error == ETIMEDOUT);
  CHECK(took >= 180ms);
  CHECK(took < 3s);
  CHECK(drain(p.server.get()) == std::vector<std::string>(3, "anyone?"));
}

TEST_CASE("net::exchange: a reply to a retry ends the wait") {
  Peers p = peers();
  // The peer answers only the second datagram. It runs on its own thread and only records;
  // every check is made here, after join (Catch2 is not thread-safe).
  std::vector<std::string> seen;
  int fd = p.server.get();
  std::thread peer([&] {
    char buf[256];
    for (int n = 0; n < 2; ++n) {
      pollfd pfd{fd, POLLIN, 0};
      if (sys::poll(&pfd, 1, 5000).value != 1) return;
      Address from;
      IoResult r = recv_datagram(fd, buf, from.get_mutable(), from.size_mutable());
      if (!r.ok()) return;
      seen.emplace_back(buf, r.bytes);
      if (n == 1) send_datagram(fd, std::string_view("PING"), from.get(), from.size());
    }
  });
  Exchange x = exchange(p.client.fd.get(), "ping", 100ms, 3);
  peer.join();
  CHECK(x.status == ExchangeStatus::reply);
  CHECK(x.reply == "PING");
  CHECK(seen == std::vector<std::string>{"ping", "ping"});
}

TEST_CASE("net::exchange: an ICMP port unreachable on loopback is refused") {
  Address gone;
  {
    Fd closed = open_listener(loopback4(0), SockType::datagram, {});
    gone = Address::local_of(closed.get());
  }  // nobody has the port now: the kernel answers with ICMP port unreachable
  std::vector<Address> to{gone};
  ConnectResult c = connect_any(to, SockType::datagram, 1s);
  REQUIRE(c.fd);
  Exchange x = exchange(c.fd.get(), "hello?", 2s, 0);
  CHECK(x.status == ExchangeStatus::refused);
  CHECK(x.error == ECONNREFUSED);
}

TEST_CASE("net::exchange counts every datagram sent, answered or not, and shows each to on_data") {
  Peers p = peers();
  std::vector<std::pair<Direction, std::string>> seen;
  DatagramHook hook = [&](Direction d, std::string_view b) { seen.emplace_back(d, b); };
  Exchange lost = exchange(p.client.fd.get(), "anyone?", 20ms, 2, hook);
  CHECK(lost.status == ExchangeStatus::timeout);
  CHECK(lost.sent == 21);  // three tries of 7 bytes
  CHECK(seen == std::vector<std::pair<Direction, std::string>>(3, {Direction::sent, "anyone?"}));
  drain(p.server.get());
  seen.clear();
  reply_to(p, "HI");
  Exchange x = exchange(p.client.fd.get(), "hi", 2s, 0, hook);
  CHECK(x.sent == 2);
  CHECK(seen == std::vector<std::pair<Direction, std::string>>{{Direction::sent, "hi"},
                                                               {Direction::received, "HI"}});
}

TEST_CASE("net::exchange counts the datagram a port unreachable answered") {
  Address gone;
  {
    Fd closed = open_listener(loopback4(0), SockType::datagram, {});
    gone = Address::local_of(closed.get());
  }
  std::vector<Address> to{gone};
  ConnectResult c = connect_any(to, SockType::datagram, 1s);
  REQUIRE(c.fd);
  Exchange x = exchange(c.fd.get(), "hello?", 2s, 3);
  CHECK(x.status == ExchangeStatus::refused);
  CHECK(x.sent == 6);
}

#ifdef SOCKECHO_FAULTS

using sockecho::test::Failpoint;

TEST_CASE("net::exchange with failing send, poll and recv") {
  Peers p = peers();
  {
    Failpoint fp("net/send", EPERM);  // e.g. a firewall rule
    Exchange x = exchange(p.client.fd.get(), "x", 1s, 2);
    CHECK(x.status == ExchangeStatus::failed);
    CHECK(x.error == EPERM);
  }
  {
    Failpoint fp("net/send", ECONNREFUSED);
    CHECK(exchange(p.client.fd.get(), "x", 1s, 0).status == ExchangeStatus::refused);
  }
  {
    Failpoint fp("net/poll", ENOMEM);
    Exchange x = exchange(p.client.fd.get(), "x", 1s, 0);
    CHECK(x.status == ExchangeStatus::failed);
    CHECK(x.error == ENOMEM);
  }
  {
    reply_to(p, "Y");
    Failpoint fp("net/recvfrom", ECONNREFUSED);
    Exchange x = exchange(p.client.fd.get(), "y", 1s, 0);
    CHECK(x.status == ExchangeStatus::refused);
  }
  drain(p.client.fd.get());
  {
    reply_to(p, "Z");
    auto interrupted = Failpoint::once("net/poll", EINTR);
    auto again = Failpoint::once("net/recvfrom", EINTR);
    Exchange x = exchange(p.client.fd.get(), "z", 1s, 0);
    CHECK(x.status == ExchangeStatus::reply);
    CHECK(x.reply == "Z");
  }
}

#endif  // SOCKECHO_FAULTS
