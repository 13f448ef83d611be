#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "net/event_loop.h"
#include "net/fd.h"
#include "net/service.h"

namespace sockecho::net {

// The service on a listening stream socket (TCP or Unix): accepts clients and runs one
// Session state machine per client on the loop.
//
// Per client, at most one read buffer of replies is ever held: a client that does not
// read its replies stops being read from until it does (backpressure), so memory per
// client is bounded by k_read_size and no client can slow another.
class StreamServer final : public EventLoop::Handler, public Service {
 public:
  static constexpr std::size_t k_read_size = 64 * 1024;

  StreamServer(EventLoop& loop, Fd listener, int backlog, ServiceOptions options, EventSink sink);
  ~StreamServer() override;

  void start() override;     // reports LISTEN, starts accepting
  void shutdown() override;  // stop accepting, flush and close every client, then stop the loop
  report::Summary summary() const override;

  void on_events(std::uint32_t events) override;

 private:
  class Session;
  friend class Session;

  void accept_ready();
  void accept_one(Fd fd, const Address& peer);
  std::string remote_name(int fd, const Address& peer) const;
  void stop_accepting();
  void session_done(Session* session);
  std::size_t client_count() const;
  void maybe_finish();
  void emit(report::Event&& event) {
    if (m_sink) m_sink(event);
  }

  EventLoop& m_loop;
  Fd m_listener;
  Fd m_spare;  // a reserved fd, released to accept-and-close a client when out of fds
  int m_backlog;
  ServiceOptions m_options;
  EventSink m_sink;
  Address m_local;
  BufferPool m_pool{k_read_size};
  std::vector<char> m_scratch;
  std::unordered_map<Session*, std::unique_ptr<Session>> m_sessions;
  bool m_accepting = false;
  bool m_stopping = false;
  EventLoop::TimePoint m_started;
  report::Summary m_summary;
};

}  // namespace sockecho::net
