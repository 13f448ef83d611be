#pragma once

#include <string>
#include <string_view>

namespace sockecho::report {

// bytes in standard base64 (RFC 4648 section 4: A-Z a-z 0-9 + /, '=' padding, no line
// breaks), so that JSON can carry any bytes exactly: data_b64, reply_b64.
std::string base64(std::string_view bytes);

}  // namespace sockecho::report
