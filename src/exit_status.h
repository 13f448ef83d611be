#pragma once

#include <csignal>

namespace sockecho {

// The process's exit statuses, as sockecho(1) documents them.
enum class ExitStatus : int {
  ok = 0,       // everything sent, session ended cleanly; serve stopped by a signal
  failure = 1,  // a network failure: refused, unreachable, reset, timeout, port in use
  usage = 2,    // the command line is wrong; nothing was sent
  // The reader of stdout went away (`... | head -1`): the command ended quietly, closing
  // its connections cleanly, and says so as a shell reports a process killed by SIGPIPE.
  broken_pipe = 128 + SIGPIPE,
};

}  // namespace sockecho
