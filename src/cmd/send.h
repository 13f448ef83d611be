#pragma once

#include "cli/options.h"
#include "exit_status.h"

namespace sockecho::cmd {

// Connect (trying every resolved address), relay stdin or the WORDs, print the replies.
ExitStatus run_send(const cli::SendOptions& options);

}  // namespace sockecho::cmd
