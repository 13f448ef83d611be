#pragma once

#include <string>

#include "report/event.h"

namespace sockecho::report {

// One line, without the newline, in netstat -tan's columns (Proto Recv-Q Send-Q Local
// Foreign State) followed by the event's extras as key=value pairs.
std::string format_netstat(const Event& event);

// The header line of the probe table.
std::string probe_table_header(bool tls = false);

// Bytes shown on a -v line: control characters and DEL as \xNN, everything else as is.
std::string printable(std::string_view bytes);

// A key=value extra's value: as it is, or in double quotes (with \" and \\) when it has
// a space, a quote, a backslash or an equals sign, or is empty.
std::string quoted_value(std::string_view value);

}  // namespace sockecho::report
