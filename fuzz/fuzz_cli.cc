// cli::parse on an argv made of the input split at NUL bytes (argv[0] is "sockecho"):
// it must return a Command or throw cli::UsageError, never another exception, never crash.
// A UsageError's reason is non-empty and what() is "<subject>: <reason>" (an empty subject
// is only noted).
// When every argument is printable ASCII, what() must be one printable ASCII line too: any
// other byte in it would come from sockecho itself (e.g. cxxopts's U+2018 quotes). (With
// arbitrary bytes in argv, the message quotes them as typed: noted once, a crash with
// FUZZ_CLI_STRICT=1; see fuzz/README.md.)

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cli/parse.h"
#include "fuzz_util.h"

using namespace sockecho;
using fuzz::check;
using fuzz::fail;

namespace {

constexpr std::size_t k_max_args = 64;

// FUZZ_CLI_STRICT=1: a message with a newline or non-ASCII byte is a crash even when argv
// put it there.
// Strict by default since UsageError escapes what was typed; FUZZ_CLI_STRICT=0 relaxes it.
const bool strict = [] {
  const char* v = std::getenv("FUZZ_CLI_STRICT");
  return v == nullptr || std::string_view(v) != "0";
}();

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args{"sockecho"};
  for (std::size_t start = 0;;) {
    std::size_t nul = input.find('\0', start);
    args.emplace_back(input.substr(start, nul == std::string_view::npos ? nul : nul - start));
    if (nul == std::string_view::npos || args.size() > k_max_args) break;
    start = nul + 1;
  }
  bool printable = true;
  for (const std::string& a : args) printable = printable && fuzz::is_printable_ascii(a);

  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  const int argc = static_cast<int>(args.size());

  try {
    cli::Command cmd = cli::parse(argc, argv.data());
    if (auto* help = std::get_if<cli::HelpRequest>(&cmd))
      check(!help->text.empty() && help->text.back() == '\n', "help text empty or unterminated",
            input);
    if (auto* probe = std::get_if<cli::ProbeOptions>(&cmd)) {
      check(!probe->targets.empty(), "probe with no targets", input);
      for (const cli::ProbeTarget& t : probe->targets)
        check(probe->transport.unix_domain || !t.ports.empty(), "probe target with no port",
              input);
    }
  } catch (const cli::UsageError& e) {
    std::string_view what = e.what();
    check(what == e.subject + ": " + e.reason, "UsageError what() is not 'subject: reason'", input);
    check(!e.reason.empty(), "UsageError with an empty reason: " + fuzz::quoted(what), input);
    if (e.subject.empty()) fuzz::note("empty-subject", "UsageError with an empty subject: " + fuzz::quoted(what), input);
    if (printable)
      check(fuzz::is_printable_ascii(what),
            "UsageError message is not one printable ASCII line: " + fuzz::quoted(what), input);
    else if (!fuzz::is_ascii_line(what)) {
      std::string msg = "UsageError message carries non-ASCII or line-breaking bytes from argv: " +
                        fuzz::quoted(what);
      if (strict) fail(msg, input);
      fuzz::note("raw-bytes-in-message", msg, input);
    }
  } catch (...) {
    fail("cli::parse threw something other than UsageError: " + fuzz::current_exception_text(),
         input);
  }
  return 0;
}
