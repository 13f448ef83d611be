#pragma once

// One client of a stream service: the state machine that reads, transforms, answers and
// closes, over any Stream (a plain socket or a TLS session).
//
//   handshaking -> open -> draining -> lingering -> closed
//
// - handshaking: until the stream's handshake is done (at once for a plain socket).
// - open: read at most one scratch buffer, transform it in place, write it. What the
//   stream does not take is copied into a pooled buffer and reading stops until it is
//   written (backpressure: at most one read's worth is held; idle clients hold none).
// - draining: after EOF, the exit word, --idle-timeout or shutdown: write what is queued.
// - lingering: after our end of data, read and drop until the client closes (bounded),
//   so unread input does not turn our close into a RST that destroys replies.
//
// Failure policy: any failure of a call made for this client (a read, a write, an epoll
// registration, getsockname, an allocation) closes this client with its errno in the
// CloseEvent, and never escapes to the loop: the service goes on for everyone else.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "net/event_loop.h"
#include "net/service.h"
#include "net/stream.h"
#include "net/transform.h"

namespace sockecho::net {

class StreamSession;

// What all the sessions of one server share; the server owns it and outlives them.
struct SessionContext {
  SessionContext(EventLoop& l, const ServiceOptions& o, Address listen, std::size_t read_size,
                 EventSink s)
      : loop(l), options(o), listen_address(std::move(listen)), scratch(read_size),
        pool(read_size), sink(std::move(s)) {}

  EventLoop& loop;
  const ServiceOptions& options;
  Address listen_address;      // shown as the local address when getsockname fails
  std::vector<char> scratch;   // one read, transformed in place: sessions run one at a time
  BufferPool pool;             // buffers for replies a client has not taken yet
  ServiceStats stats;
  EventSink sink;
  std::function<void(StreamSession*)> on_closed;  // after its CloseEvent; destroy via defer
  std::function<void()> on_shutdown_word;

  void emit(ServiceEvent&& event) {
    if (sink) sink(event);
  }
};

class StreamSession final : public EventLoop::Handler {
 public:
  StreamSession(SessionContext& context, std::unique_ptr<Stream> stream, Peer peer);
  ~StreamSession();
  StreamSession(const StreamSession&) = delete;
  StreamSession& operator=(const StreamSession&) = delete;

  // Registers with the loop and starts the handshake. May close the session at once.
  void start();

  // Stop reading, write what is queued, then end politely (idle, exit word, shutdown).
  void finish(CloseReason reason);

  void on_events(std::uint32_t events) override;

  bool closed() const { return m_state == State::closed; }

 private:
  enum class State { handshaking, open, draining, lingering, closed };

  template <typename F>
  void guarded(F fn);

  void handle(std::uint32_t events);
  void handshake();
  void established();
  void read_once();
  void report_messages(std::string_view data, std::string_view reply);
  void report_data(Direction direction, std::span<const char> bytes);
  bool write_or_queue(std::span<const char> data);
  bool flush();
  void after_drained();
  void end_writing();
  void discard_input();
  void update_interest();
  void arm_idle_timer();
  void arm_handshake_timer();
  void cancel_timer();
  // Closes for a failed call: reset for ECONNRESET/EPIPE, tls for the stream's own
  // protocol failure (with its reason), else error with err.
  void fail(int err);
  void close(CloseReason reason, int err = 0);
  SocketInfo info() const;

  SessionContext& m_ctx;
  std::unique_ptr<Stream> m_stream;
  Peer m_peer;
  Address m_local;
  WordWatcher m_words;
  State m_state = State::handshaking;
  std::vector<char> m_buffer;       // from the pool, only while replies are queued
  std::span<const char> m_pending;  // the unwritten part of m_buffer
  IoStatus m_read_wants = IoStatus::want_read;    // what a blocked read waits for
  IoStatus m_write_wants = IoStatus::want_write;  // what a blocked write waits for
  std::uint32_t m_interest = 0;
  bool m_registered = false;
  bool m_peer_eof = false;
  bool m_fin_pending = false;  // our end of data is still to be sent (the stream blocked)
  CloseReason m_reason = CloseReason::eof;
  std::string m_detail;  // why, in words, for CloseReason::tls
  std::uint64_t m_rx = 0;
  std::uint64_t m_tx = 0;
  EventLoop::TimePoint m_started;
  EventLoop::TimePoint m_last_active;
  EventLoop::TimerId m_timer = 0;
};

}  // namespace sockecho::net
