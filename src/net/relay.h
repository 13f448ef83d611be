#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "net/stream.h"

namespace sockecho::net {

struct RelayOptions {
  // After input ends (and the socket is half-closed), give up after this much silence.
  std::optional<std::chrono::milliseconds> drain_timeout;
  // Interactive use: an input line that is this word is sent, then input counts as ended.
  std::string input_exit_word;
  // Called after received bytes that end a line were written (a prompt, say). May be empty.
  std::function<void()> on_reply_line;
};

enum class RelayEnd { peer_closed, drain_timeout, failed };

// Which side a failed relay failed on.
enum class RelayStep { none, send, receive, read_input, write_output };

struct RelayResult {
  RelayEnd end = RelayEnd::peer_closed;
  RelayStep failed = RelayStep::none;
  int error = 0;  // errno when failed
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
};

// Copies in_fd (or, when in_fd < 0, preset_input) to the connected stream and the stream
// to out_fd, byte for byte, on an event loop, until the peer closes. At the end of input
// the stream's writing side is shut down and reading goes on. in_fd may be anything: a
// pipe, a terminal, a regular file or /dev/null. Writes to out_fd may block.
RelayResult relay(int in_fd, const std::string& preset_input, Stream& stream, int out_fd,
                  const RelayOptions& options);

}  // namespace sockecho::net
