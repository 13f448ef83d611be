#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "cli/options.h"

namespace sockecho::cli {

// Bytes typed on the command line, made safe for a one-line message: control bytes and
// bytes above 0x7e as \xNN, so a newline in an argument cannot split the error line.
std::string printable_ascii(std::string_view text);

// A command line the program cannot run: app_main prints "sockecho: <what>: <why>"
// and exits 2. Both parts are printable ASCII, whatever was typed.
struct UsageError : std::runtime_error {
  UsageError(const std::string& what, const std::string& why)
      : std::runtime_error(printable_ascii(what) + ": " + printable_ascii(why)),
        subject(printable_ascii(what)),
        reason(printable_ascii(why)) {}
  std::string subject;
  std::string reason;
};

// argv -> the command to run. Throws UsageError; never prints, never exits.
Command parse(int argc, const char* const* argv);

// The subcommand name closest to a mistyped one, or "" when none is close.
std::string suggest_subcommand(std::string_view typed);

// The long option of subcommand closest to a mistyped one ("--tiemout" -> "--timeout"),
// or "" when none is close or typed is not a long option. Same rule as for subcommands.
std::string suggest_option(std::string_view subcommand, std::string_view typed);

// The program's top-level help.
std::string main_help();

}  // namespace sockecho::cli
