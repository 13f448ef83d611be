#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "cli/options.h"

namespace sockecho::cli {

// A command line the program cannot run: app_main prints "sockecho: <what>: <why>"
// and exits 2.
struct UsageError : std::runtime_error {
  UsageError(std::string what, std::string why)
      : std::runtime_error(what + ": " + why), subject(std::move(what)), reason(std::move(why)) {}
  std::string subject;
  std::string reason;
};

// argv -> the command to run. Throws UsageError; never prints, never exits.
Command parse(int argc, const char* const* argv);

// The subcommand name closest to a mistyped one, or "" when none is close.
std::string suggest_subcommand(std::string_view typed);

// The program's top-level help.
std::string main_help();

}  // namespace sockecho::cli
