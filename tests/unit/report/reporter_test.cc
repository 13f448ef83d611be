#include "report/reporter.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

using namespace sockecho::report;
using namespace std::chrono;

namespace {

// What a Reporter wrote, through a temporary FILE*.
class Captured {
 public:
  Captured() : m_file(std::tmpfile()) { REQUIRE(m_file != nullptr); }
  ~Captured() { std::fclose(m_file); }
  Captured(const Captured&) = delete;
  Captured& operator=(const Captured&) = delete;

  std::FILE* file() { return m_file; }
  std::string text() {
    std::fflush(m_file);
    std::rewind(m_file);
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, m_file)) > 0;) out.append(buf, n);
    return out;
  }

 private:
  std::FILE* m_file;
};

const Clock::time_point k_t = sys_days{year{2026} / 12 / 3} + hours{16} + microseconds{42};
Clock::time_point fixed() {
  return k_t;
}

const Socket k_s{"tcp", "127.0.0.1:48763", "0.0.0.0:*", 0, 128};

}  // namespace

TEST_CASE("report::Reporter prefixes every text line with the time under timestamps") {
  Captured out;
  Reporter r(out.file(), Format::netstat, Verbosity::normal, true, fixed);
  r.emit(Listen{k_s});
  r.text("Proto Local Address");
  ProbeSummary s;
  s.endpoints = 1;
  s.states = {{"OPEN", 1}};
  s.resolved = {{"localhost", {"127.0.0.1"}}};
  r.emit(s, k_t + seconds{1});  // an event that says when it happened
  CHECK(out.text() ==
        "2026-12-03T16:00:00.000042Z tcp        0    128 127.0.0.1:48763     0.0.0.0:*            "
        "LISTEN\n"
        "2026-12-03T16:00:00.000042Z Proto Local Address\n"
        "2026-12-03T16:00:01.000042Z localhost resolved to 127.0.0.1\n"
        "2026-12-03T16:00:01.000042Z summary endpoints=1 open=1 time=0.000s\n");
}

TEST_CASE("report::Reporter writes text lines as they are without timestamps") {
  Captured out;
  Reporter r(out.file(), Format::netstat, Verbosity::normal, false, fixed);
  r.emit(Listen{k_s});
  r.text("header");
  CHECK(out.text() ==
        "tcp        0    128 127.0.0.1:48763     0.0.0.0:*            LISTEN\nheader\n");
}

TEST_CASE("report::Reporter: JSON has the time as a key, and no prefix under timestamps") {
  Captured out;
  Reporter r(out.file(), Format::json, Verbosity::normal, true, fixed);
  r.emit(Listen{k_s});
  CHECK(out.text().rfind(R"({"event":"listen","time":"2026-12-03T16:00:00.000042Z","proto":"tcp",)",
                         0) == 0);
}

TEST_CASE("report::Reporter prints messages only when verbose, and nothing when quiet") {
  const Message m{"udp", "[::]:1", "[::1]:2", "a", "A", "a", "A"};
  Captured normal, verbose, quiet;
  Reporter(normal.file(), Format::netstat, Verbosity::normal, false, fixed).emit(m);
  Reporter(verbose.file(), Format::netstat, Verbosity::verbose, true, fixed).emit(m);
  Reporter q(quiet.file(), Format::netstat, Verbosity::quiet, true, fixed);
  q.emit(Listen{k_s});
  q.text("header");
  CHECK(normal.text().empty());
  CHECK(verbose.text() == "2026-12-03T16:00:00.000042Z get message from [::1]:2: a -> A\n");
  CHECK(quiet.text().empty());
}
