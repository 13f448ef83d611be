#pragma once

#include <chrono>
#include <string_view>

namespace sockecho::cli {

// "250ms", "2s", "1.5s", "1m", "1h", "21d"; a bare number is seconds. Throws net::ParseError.
std::chrono::milliseconds parse_duration(std::string_view text);

}  // namespace sockecho::cli
