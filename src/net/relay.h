#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

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

struct RelayResult {
  RelayEnd end = RelayEnd::peer_closed;
  int error = 0;            // errno when failed
  const char* failed = "";  // what failed: "send", "recv", "read input", "write output"
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
};

// Copies in_fd (or, when in_fd < 0, preset_input) to the connected stream socket and the
// socket to out_fd, byte for byte, on an event loop, until the peer closes. At the end of
// input the socket is half-closed (SHUT_WR) and reading goes on. in_fd may be anything:
// a pipe, a terminal, a regular file or /dev/null. Writes to out_fd may block.
RelayResult relay(int in_fd, const std::string& preset_input, int sock_fd, int out_fd,
                  const RelayOptions& options);

}  // namespace sockecho::net
