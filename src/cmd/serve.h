#pragma once

#include "cli/options.h"
#include "exit_status.h"

namespace sockecho::cmd {

// Resolve, bind, report LISTEN, serve until --once, the shutdown word or SIGINT/SIGTERM,
// report the summary. Setup failures throw (port in use -> exit 1 from app_main).
ExitStatus run_serve(const cli::ServeOptions& options);

}  // namespace sockecho::cmd
