#include "report/reporter.h"

#include <stdio_ext.h>

#include <cerrno>

#include <fmt/format.h>

#include "report/json_format.h"
#include "report/netstat_format.h"
#include "report/output_closed.h"

namespace sockecho::report {

void Reporter::emit(const Event& event, Clock::time_point when) {
  if (m_verbosity == Verbosity::quiet) return;
  if (std::holds_alternative<Message>(event) && m_verbosity != Verbosity::verbose) return;
  if (m_format == Format::json)
    write(format_json(event, when), when);
  else
    write(format_netstat(event), when);
}

void Reporter::text(std::string_view line, Clock::time_point when) {
  if (m_verbosity == Verbosity::quiet) return;
  write(line, when);
}

// One fwrite for all the lines of an event, so that lines from several threads do not mix.
void Reporter::write(std::string_view lines, Clock::time_point when) {
  if (m_closed) throw OutputClosed();
  std::string out;
  const std::string prefix =
      m_timestamps && m_format == Format::netstat ? rfc3339(when) + " " : std::string();
  for (std::size_t start = 0; start <= lines.size();) {  // a text event may span lines
    std::size_t end = lines.find('\n', start);
    if (end == std::string_view::npos) end = lines.size();
    out += prefix;
    out.append(lines.substr(start, end - start));
    out += '\n';
    start = end + 1;
  }
  const bool written = std::fwrite(out.data(), 1, out.size(), m_out) == out.size();
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
