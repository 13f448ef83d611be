#pragma once

#include <cstdio>

#include "report/event.h"
#include "report/verbosity.h"

namespace sockecho::report {

enum class Format { netstat, json };

// Writes events to the stream the runner chose, one line each, flushed per line so that
// a script reading the LISTEN line sees it at once. Message events need Verbosity::verbose;
// nothing is written when quiet. When the stream's reader has gone (EPIPE), emit throws
// OutputClosed (report/output_closed.h), then and on every later call.
class Reporter {
 public:
  Reporter(std::FILE* out, Format format, Verbosity verbosity)
      : m_out(out), m_format(format), m_verbosity(verbosity) {}

  void emit(const Event& event);

 private:
  std::FILE* m_out;
  Format m_format;
  Verbosity m_verbosity;
  bool m_closed = false;  // the reader went away
};

}  // namespace sockecho::report
