#pragma once

// A test double for net::Stream, shared by the tests of the state machines that use one.

#include <deque>
#include <optional>

#include "net/stream.h"

namespace sockecho::net::testing {

// A socket stream whose next handshake/read/write/shutdown results can be scripted, to
// play a TLS-like stream (a read that wants writable, a handshake that takes turns) or a
// call that fails, without a TLS library.
class ScriptedStream final : public Stream {
 public:
  explicit ScriptedStream(Fd fd) : m_real(std::move(fd)) {}

  std::deque<IoResult> handshakes, reads, writes, shutdowns;

  int fd() const override { return m_real.fd(); }
  IoResult handshake() override { return next(handshakes).value_or(IoResult{}); }
  IoResult read(std::span<char> b) override {
    auto r = next(reads);
    return r ? *r : m_real.read(b);
  }
  IoResult write(std::span<const char> d) override {
    auto r = next(writes);
    return r ? *r : m_real.write(d);
  }
  IoResult shutdown_write() override {
    auto r = next(shutdowns);
    return r ? *r : m_real.shutdown_write();
  }
  void close() override { m_real.close(); }

 private:
  static std::optional<IoResult> next(std::deque<IoResult>& q) {
    if (q.empty()) return std::nullopt;
    IoResult r = q.front();
    q.pop_front();
    return r;
  }
  SocketStream m_real;
};

inline IoResult wants(IoStatus s) { return IoResult{s, 0, 0}; }
inline IoResult failed(int err) { return IoResult{IoStatus::error, 0, err}; }

}  // namespace sockecho::net::testing
