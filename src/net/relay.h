#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "net/direction.h"
#include "net/stream.h"

namespace sockecho::net {

struct RelayOptions {
  // After input ends (and the socket is half-closed), give up after this much silence: no
  // data from the peer and no more of ours acknowledged. It also bounds a write that makes
  // no progress (a peer that stopped reading) and the wait for the peer to acknowledge
  // what was sent. Unset: no limit.
  std::optional<std::chrono::milliseconds> drain_timeout;
  // Interactive use: an input line that is this word is sent, then input counts as ended.
  std::string input_exit_word;
  // Called after received bytes that end a line were written (a prompt, say). May be empty.
  std::function<void()> on_reply_line;
  // Each input LF goes out as CRLF; a CRLF in the input stays one (send --crlf).
  bool crlf = false;
  // -x: called with each chunk read from the stream (before it is written out) and each
  // chunk the stream took. Returning false says its own output is gone (EPIPE): the relay
  // ends as for a closed out_fd. May be empty.
  std::function<bool(Direction, std::span<const char>)> on_data;
  // The bytes the kernel holds that the peer has not acknowledged (SIOCOUTQ on a TCP
  // socket, FIN included once sent). Set, the relay ends well only once this is 0 (after
  // the FIN), waiting for it as for silence. Empty: not checked (a Unix socket, whose
  // bytes are in the peer's socket once written).
  std::function<std::uint64_t()> kernel_unacknowledged;
};

enum class RelayEnd {
  peer_closed,     // the peer closed, and everything sent was acknowledged
  drain_timeout,   // silence for drain_timeout after input ended, everything acknowledged
  unacknowledged,  // drain_timeout passed with bytes never acknowledged (or a write stuck)
  failed,          // a call failed: RelayResult::failed says which side
};

// Which side a failed relay failed on.
enum class RelayStep { none, send, receive, read_input, write_output };

struct RelayResult {
  RelayEnd end = RelayEnd::peer_closed;
  RelayStep failed = RelayStep::none;
  int error = 0;  // errno when failed
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  // With RelayEnd::unacknowledged: the input bytes read that the peer never acknowledged
  // (those not yet written, and those the kernel still held, capped at `sent`).
  std::uint64_t unacknowledged = 0;
};

// Copies in_fd (or, when in_fd < 0, preset_input) to the connected stream and the stream
// to out_fd, byte for byte, on an event loop, until the peer closes. At the end of input
// the stream's writing side is shut down and reading goes on. in_fd may be anything: a
// pipe, a terminal, a regular file or /dev/null. Writes to out_fd may block.
//
// When out_fd's reader has gone (EPIPE), the relay stops reading input, drops what it had
// not sent, shuts down writing and reads and drops what the peer still sends until it
// closes (for at most drain_timeout from then, or 2 s without one), so that closing does
// not reset the connection; it then ends failed at write_output with EPIPE.
RelayResult relay(int in_fd, const std::string& preset_input, Stream& stream, int out_fd,
                  const RelayOptions& options);

}  // namespace sockecho::net
