#pragma once

#include <cstdint>
#include <vector>

#include "net/event_loop.h"
#include "net/fd.h"
#include "net/service.h"

namespace sockecho::net {

// The service on one unconnected datagram socket (UDP or Unix datagram): each datagram
// gets one reply datagram to its sender, by recvfrom/sendto, with no per-peer state.
class DatagramService final : public EventLoop::Handler, public Service {
 public:
  DatagramService(EventLoop& loop, Fd socket, ServiceOptions options, EventSink sink);

  void start() override;     // reports LISTEN, starts reading
  void shutdown() override;  // stops the loop: there is nothing in flight to finish
  report::Summary summary() const override;

  void on_events(std::uint32_t events) override;

 private:
  void handle(std::span<char> datagram, const Address& peer, bool truncated);
  void emit(report::Event&& event) {
    if (m_sink) m_sink(event);
  }

  EventLoop& m_loop;
  Fd m_socket;
  ServiceOptions m_options;
  EventSink m_sink;
  Address m_local;
  std::vector<char> m_buffer;
  EventLoop::TimePoint m_started;
  report::Summary m_summary;
  bool m_done = false;  // --once answered, or the shutdown word came
};

}  // namespace sockecho::net
