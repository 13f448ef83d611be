#pragma once

#include <string>
#include <string_view>

#include "report/event.h"

namespace sockecho::report {

// One JSON object, without the newline. Keys are stable and documented in sockecho(1).
std::string format_json(const Event& event);

// s as a JSON string literal, quotes included; bytes that are not valid UTF-8 become
// \u00XX of the byte, so the output is always valid JSON.
std::string json_string(std::string_view s);

}  // namespace sockecho::report
