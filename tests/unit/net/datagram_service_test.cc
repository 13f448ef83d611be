#include "net/datagram_service.h"

#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "net/access_list.h"
#include "net/resolver.h"
#include "net/socket.h"
#include "net/sys.h"

using namespace sockecho::net;
using namespace std::chrono_literals;

namespace {

// A DatagramService on 127.0.0.1 and a client socket connected to it; the service runs on
// this thread, driven a little at a time, so every check is on the main thread.
struct Fixture {
  EventLoop loop;
  std::vector<ServiceEvent> events;
  std::unique_ptr<DatagramService> service;
  Fd client;

  explicit Fixture(ServiceOptions options = {}) {
    options.proto = Proto::udp;
    auto local = resolve("127.0.0.1", 0, Family::v4, SockType::datagram).front();
    auto socket = std::make_shared<Fd>(open_listener(local, SockType::datagram, ListenOptions{}));
    Address bound = Address::local_of(socket->get());
    service = std::make_unique<DatagramService>(loop, socket, std::move(options),
                                                [this](const ServiceEvent& e) { events.push_back(e); });
    service->start();
    client = open_socket(AF_INET, SockType::datagram);
    REQUIRE(sys::connect(client.get(), bound.get(), bound.size()).ok());
  }

  void spin(std::chrono::milliseconds d = 30ms) {
    loop.add_timer(d, [this] { loop.stop(); });
    loop.run();
  }

  void send(std::string_view s) { REQUIRE(send_datagram(client.get(), s, nullptr, 0).ok()); }

  // The next reply, or nullopt when none came.
  std::optional<std::string> reply() {
    char buf[70000];
    IoResult r = recv_datagram(client.get(), buf, nullptr, nullptr);
    if (!r.ok()) return std::nullopt;
    return std::string(buf, r.bytes);
  }

  template <typename T>
  std::size_t count() const {
    std::size_t n = 0;
    for (const auto& e : events) n += std::holds_alternative<T>(e) ? 1u : 0u;
    return n;
  }
};

}  // namespace

TEST_CASE("net::DatagramService answers each datagram with one, upper-cased") {
  Fixture f;
  CHECK(f.count<ListenEvent>() == 1);
  f.send("hello");
  f.send(std::string("a\0b", 3));
  f.spin();
  CHECK(f.reply() == "HELLO");
  CHECK(f.reply() == std::string("A\0B", 3));
  CHECK(f.reply() == std::nullopt);
  CHECK(f.service->stats().messages == 2);
  CHECK(f.service->stats().rx == 8);
  CHECK(f.service->stats().tx == 8);
}

TEST_CASE("net::DatagramService answers an empty datagram with an empty one") {
  Fixture f;
  f.send("");
  f.spin();
  CHECK(f.reply() == "");
}

TEST_CASE("net::DatagramService does not echo the exit word, and serves on") {
  Fixture f;
  f.send(std::string("exit\0\0\0", 7));  // the tutorial C client pads with NULs
  f.send("next");
  f.spin();
  CHECK(f.reply() == "NEXT");
  CHECK(f.reply() == std::nullopt);
}

TEST_CASE("net::DatagramService reports a message per datagram with -v") {
  ServiceOptions o;
  o.report_messages = true;
  o.proto = Proto::udp;
  Fixture f(o);
  f.send("hi\r\n");
  f.spin();
  REQUIRE(f.count<MessageEvent>() == 1);
  const auto& m = std::get<MessageEvent>(f.events.back());
  CHECK(m.proto == Proto::udp);
  CHECK(m.data == "hi\r\n");  // the exact bytes; what -v shows is the reporter's choice
  CHECK(m.reply == "HI\r\n");
  CHECK(m.peer.address.port() != 0);
  CHECK(m.local.port() != 0);
}

TEST_CASE("net::DatagramService refuses a denied peer without an answer") {
  ServiceOptions o;
  o.access.deny(parse_cidr("127.0.0.0/8"));
  Fixture f(o);
  f.send("x");
  f.spin();
  CHECK(f.reply() == std::nullopt);
  CHECK(f.count<RefuseEvent>() == 1);
  CHECK(f.service->stats().refused == 1);
}

TEST_CASE("net::DatagramService stops after one datagram with --once, and on the shutdown word") {
  ServiceOptions once;
  once.once = true;
  Fixture f(once);
  f.send("one");
  f.spin(5s);  // stops by itself long before
  CHECK(f.reply() == "ONE");

  ServiceOptions word;
  word.shutdown_word = "halt";
  Fixture g(word);
  g.send("halt\n");
  g.spin(5s);
  CHECK(g.reply() == std::nullopt);
}

TEST_CASE("net::DatagramService reports each datagram and reply only with report_data") {
  {
    Fixture f;
    f.send("hi");
    f.spin();
    CHECK(f.reply() == "HI");
    CHECK(f.count<DataEvent>() == 0);
  }
  ServiceOptions o;
  o.report_data = true;
  Fixture f(o);
  f.send("hi");
  f.send("");
  f.spin();
  CHECK(f.reply() == "HI");
  CHECK(f.reply() == "");
  std::vector<std::pair<Direction, std::string>> got;
  for (const auto& e : f.events)
    if (auto* d = std::get_if<DataEvent>(&e)) got.emplace_back(d->direction, d->bytes);
  CHECK(got == std::vector<std::pair<Direction, std::string>>{{Direction::received, "hi"},
                                                              {Direction::sent, "HI"},
                                                              {Direction::received, ""},
                                                              {Direction::sent, ""}});
}
