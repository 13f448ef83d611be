#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "net/event_loop.h"
#include "net/fd.h"
#include "net/service.h"

namespace sockecho::net {

// The service on one unconnected datagram socket (UDP or Unix datagram): each datagram
// gets one reply datagram to its sender, by recvfrom/sendto, with no per-peer state.
// Several services on several loops may share the socket (--threads, shared: each waits
// on it with EPOLLEXCLUSIVE).
class DatagramService final : public EventLoop::Handler, public Service {
 public:
  DatagramService(EventLoop& loop, std::shared_ptr<Fd> socket, ServiceOptions options,
                  EventSink sink, bool shared = false);

  void start() override;     // reports LISTEN, starts reading
  void shutdown() override;  // stops the loop: there is nothing in flight to finish
  ServiceStats stats() const override;

  void on_events(std::uint32_t events) override;

 private:
  void handle(std::span<char> datagram, const Address& peer, bool truncated);
  void emit(ServiceEvent&& event) {
    if (m_sink) m_sink(event);
  }

  EventLoop& m_loop;
  std::shared_ptr<Fd> m_socket;
  bool m_shared;
  ServiceOptions m_options;
  EventSink m_sink;
  Address m_local;
  std::vector<char> m_buffer;
  EventLoop::TimePoint m_started;
  ServiceStats m_stats;
  bool m_done = false;  // --once answered, or the shutdown word came
};

}  // namespace sockecho::net
