#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "net/event_loop.h"
#include "net/fd.h"
#include "net/service.h"
#include "net/stream_session.h"

namespace sockecho::net {

// The service on a listening stream socket (TCP or Unix): accepts clients and runs one
// StreamSession per client on the loop.
//
// Several servers, each on its own loop and thread, may share one listening socket
// (--threads): each registers it with EPOLLEXCLUSIVE, so a new client wakes one loop, and
// the port stays one socket that nobody else can bind (no SO_REUSEPORT).
//
// Failure policy: a failure for one client closes that client (see StreamSession); a
// failed accept(2) never ends the service: out of fds, the waiting client is accepted on
// a reserved fd and closed with a RefuseEvent; other failures pause accepting briefly.
class StreamServer final : public EventLoop::Handler, public Service {
 public:
  static constexpr std::size_t k_read_size = 64 * 1024;
  static_assert(k_read_size >= k_min_read);

  // shared: other servers on other loops accept on the same listener.
  StreamServer(EventLoop& loop, std::shared_ptr<Fd> listener, int backlog,
               ServiceOptions options, EventSink sink, bool shared = false);
  ~StreamServer() override;

  void start() override;     // reports LISTEN, starts accepting
  void shutdown() override;  // stop accepting, flush and close every client, then stop the loop
  ServiceStats stats() const override;

  void on_events(std::uint32_t events) override;

 private:
  void accept_ready();
  bool accept_failed(int error);  // false: stop accepting for this wakeup
  void refuse(Fd fd, const Address& peer, RefuseReason reason, int error);
  void accept_one(Fd fd, const Address& peer);
  Peer peer_of(int fd, const Address& address) const;
  void watch_listener();
  void pause_accepting();
  void schedule_resume();
  void stop_accepting();
  void session_closed(StreamSession* session);
  std::size_t client_count() const;
  void maybe_finish();

  EventLoop& m_loop;
  std::shared_ptr<Fd> m_listener;
  bool m_shared;
  Fd m_spare;  // a reserved fd, released to accept-and-close a client when out of fds
  int m_backlog;
  ServiceOptions m_options;
  Address m_local;
  SessionContext m_ctx;
  std::unordered_map<StreamSession*, std::unique_ptr<StreamSession>> m_sessions;
  bool m_accepting = false;   // the listener is ours to accept on
  bool m_watching = false;    // and registered with the loop (not paused)
  bool m_stopping = false;
  EventLoop::TimerId m_resume = 0;
  EventLoop::TimePoint m_started;
};

}  // namespace sockecho::net
