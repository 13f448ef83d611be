#include "app.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <system_error>

#include <fmt/format.h>

#include "cli/parse.h"
#include "cmd/probe.h"
#include "cmd/send.h"
#include "cmd/serve.h"
#include "net/tls_error.h"
#include "exit_status.h"
#include "failure.h"
#include "overloaded.h"
#include "report/output_closed.h"
#include "net/sys.h"

namespace sockecho {
namespace {

int report_error(std::string_view message, ExitStatus status) {
  std::string line = fmt::format("sockecho: {}\n", message);
  net::write_all(STDERR_FILENO, line);
  return static_cast<int>(status);
}

}  // namespace

int app_main(int argc, char** argv) {
  // A peer that goes away must be an error value from send(2), never a silent death; so
  // must a closed stdout (EPIPE), which the commands answer by closing their connections
  // cleanly and exiting 141, as a shell reports SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  try {
    net::open_std_fds();
    cli::Command command = cli::parse(argc, argv);
    ExitStatus status = std::visit(
        Overloaded{
            [](const cli::HelpRequest& h) {
              net::IoResult r = net::write_all(STDOUT_FILENO, h.text);
              return r.ok()                ? ExitStatus::ok
                     : r.error == EPIPE ? ExitStatus::broken_pipe
                                           : ExitStatus::failure;
            },
            [](const cli::ServeOptions& o) { return cmd::run_serve(o); },
            [](const cli::SendOptions& o) { return cmd::run_send(o); },
            [](const cli::ProbeOptions& o) { return cmd::run_probe(o); },
        },
        command);
    return static_cast<int>(status);
  } catch (const report::OutputClosed&) {
    // stdout's (or the diagnostics') reader went away: end quietly, as SIGPIPE would.
    return static_cast<int>(ExitStatus::broken_pipe);
  } catch (const cli::UsageError& e) {
    return report_error(e.what(), ExitStatus::usage);
  } catch (const std::system_error& e) {
    // fmt::system_error reads "<context>: <strerror>"; getaddrinfo errors likewise.
    return report_error(e.what(), ExitStatus::failure);
  } catch (const net::TlsError& e) {
    return report_error(e.what(), ExitStatus::failure);
  } catch (const Failure& e) {
    return report_error(e.what(), ExitStatus::failure);
  } catch (const std::bad_alloc&) {
    return report_error("out of memory", ExitStatus::failure);
  } catch (const std::exception& e) {
    return report_error(fmt::format("internal error: {}", e.what()), ExitStatus::failure);
  }
}

}  // namespace sockecho
