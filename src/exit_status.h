#pragma once

namespace sockecho {

// The process's exit statuses, as sockecho(1) documents them.
enum class ExitStatus : int {
  ok = 0,       // everything sent, session ended cleanly; serve stopped by a signal
  failure = 1,  // a network failure: refused, unreachable, reset, timeout, port in use
  usage = 2,    // the command line is wrong; nothing was sent
};

}  // namespace sockecho
