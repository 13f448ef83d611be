#pragma once

namespace sockecho::report {

// How much a command prints: what the user asked for with -q / -v, and what the Reporter
// writes. Defined here, the lowest layer that needs it; cli/ uses this one (cli::Verbosity
// is an alias), so the two cannot drift apart.
enum class Verbosity { quiet, normal, verbose };

}  // namespace sockecho::report
