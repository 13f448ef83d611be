#pragma once

#include <cstdio>
#include <functional>
#include <string_view>

#include "report/event.h"
#include "report/timestamp.h"
#include "report/verbosity.h"

namespace sockecho::report {

enum class Format { netstat, json };

// Writes events to the stream the runner chose, one line each, flushed per line so that
// a script reading the LISTEN line sees it at once. Message events need Verbosity::verbose;
// nothing is written when quiet.
//
// Every event has a time: when it is emitted, unless the runner says when it happened
// (probe's rows, printed after the probes). JSON carries it as "time"; with timestamps,
// each text line starts with it and a space (JSON lines have it already: no prefix).
//
// When the stream's reader has gone (EPIPE), emit and text throw OutputClosed
// (report/output_closed.h), then and on every later call.
class Reporter {
 public:
  Reporter(std::FILE* out, Format format, Verbosity verbosity, bool timestamps = false,
           std::function<Clock::time_point()> now = Clock::now)
      : m_out(out),
        m_format(format),
        m_verbosity(verbosity),
        m_timestamps(timestamps),
        m_now(std::move(now)) {}

  void emit(const Event& event) { emit(event, now()); }
  void emit(const Event& event, Clock::time_point when);

  // A line that is no event (probe's table header), with the same prefix as the rest.
  void text(std::string_view line) { text(line, now()); }
  void text(std::string_view line, Clock::time_point when);

  // The reporter's clock, for events whose time is taken before they are emitted.
  Clock::time_point now() const { return m_now(); }

 private:
  void write(std::string_view lines, Clock::time_point when);

  std::FILE* m_out;
  Format m_format;
  Verbosity m_verbosity;
  bool m_timestamps;
  std::function<Clock::time_point()> m_now;
  bool m_closed = false;  // the reader went away
};

}  // namespace sockecho::report
