#include "report/reporter.h"

#include <stdio_ext.h>

#include <cerrno>

#include <fmt/format.h>

#include "report/json_format.h"
#include "report/netstat_format.h"
#include "report/output_closed.h"

namespace sockecho::report {

void Reporter::emit(const Event& event) {
  if (m_verbosity == Verbosity::quiet) return;
  if (std::holds_alternative<Message>(event) && m_verbosity != Verbosity::verbose) return;
  if (m_closed) throw OutputClosed();
  std::string line = m_format == Format::json ? format_json(event) : format_netstat(event);
  line += '\n';
  const bool written = std::fwrite(line.data(), 1, line.size(), m_out) == line.size();
  if (std::fflush(m_out) == 0 && written) return;
  const int error = errno;
  if (error == EPIPE) {
    // Nobody reads any more: drop what stdio still holds, so that exit() does not try
    // again, and say so to the runner.
    m_closed = true;
    __fpurge(m_out);
    std::clearerr(m_out);
    throw OutputClosed();
  }
  std::clearerr(m_out);  // anything else (ENOSPC on a file, say) loses this line only
}

}  // namespace sockecho::report
