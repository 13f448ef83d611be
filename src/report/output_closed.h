#pragma once

#include <stdexcept>

namespace sockecho::report {

// The reader of the stream a Reporter writes to has gone away (EPIPE: `... | head -1`).
// Not a failure to report: the command ends quietly, closing its connections cleanly,
// with exit status 141 as a shell reports a process ended by SIGPIPE. Thrown by
// Reporter::emit on that write and on every emit after it.
class OutputClosed : public std::runtime_error {
 public:
  OutputClosed() : std::runtime_error("output closed") {}
};

}  // namespace sockecho::report
