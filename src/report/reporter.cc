#include "report/reporter.h"

#include <fmt/format.h>

#include "report/json_format.h"
#include "report/netstat_format.h"

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
  std::fwrite(out.data(), 1, out.size(), m_out);
  std::fflush(m_out);
}

}  // namespace sockecho::report
