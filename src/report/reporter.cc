#include "report/reporter.h"

#include <fmt/format.h>

#include "report/json_format.h"
#include "report/netstat_format.h"

namespace sockecho::report {

void Reporter::emit(const Event& event) {
  if (m_verbosity == Verbosity::quiet) return;
  if (std::holds_alternative<Message>(event) && m_verbosity != Verbosity::verbose) return;
  std::string line = m_format == Format::json ? format_json(event) : format_netstat(event);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), m_out);
  std::fflush(m_out);
}

}  // namespace sockecho::report
