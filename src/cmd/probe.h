#pragma once

#include "cli/options.h"
#include "exit_status.h"

namespace sockecho::cmd {

// Resolve every target once, probe every endpoint (count times, interval apart) with a
// bounded number in flight, print the table (or JSON) and the summary.
// ok only when every endpoint answered OPEN (and echoed right).
ExitStatus run_probe(const cli::ProbeOptions& options);

}  // namespace sockecho::cmd
