#pragma once

#include <string>
#include <string_view>

#include "report/event.h"
#include "report/timestamp.h"

namespace sockecho::report {

// One JSON object, without the newline: "event" first, then "time" (when it happened, as
// rfc3339), then the event's keys in a fixed order. Every key has one type in every event
// that has it; sockecho(1) documents each, and tests/e2e/json_schema.py holds the tests to it.
std::string format_json(const Event& event, Clock::time_point time);

// s as a JSON string literal, quotes included. Bytes that are not valid UTF-8 become
// U+FFFD, the replacement character, so the output is always valid UTF-8 and no byte passes
// for a character it is not; where the exact bytes matter, JSON also has them in base64.
std::string json_string(std::string_view s);

}  // namespace sockecho::report
