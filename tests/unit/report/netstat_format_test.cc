#include "report/netstat_format.h"

#include <catch2/catch.hpp>

#include <sstream>
#include <vector>

using namespace sockecho::report;

namespace {

std::vector<std::string> fields(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

}  // namespace

TEST_CASE("report::format_netstat lines up with netstat -tan's columns") {
  Socket listen{"tcp", "[::]:48763", "[::]:*", 0, 0};
  CHECK(format_netstat(Listen{listen}) ==
        "tcp        0      0 [::]:48763          [::]:*               LISTEN");
  Socket est{"tcp", "127.0.0.1:48763", "127.0.0.1:51514", 0, 0};
  CHECK(format_netstat(Established{est, std::nullopt}) ==
        "tcp        0      0 127.0.0.1:48763     127.0.0.1:51514      ESTABLISHED");
}

TEST_CASE("report::format_netstat pushes columns right for long addresses") {
  Socket s{"tcp", "[fe80::1234:5678:9abc:def0%eth0]:48763", "[2001:db8::1]:51514", 12, 34};
  auto f = fields(format_netstat(Established{s, std::nullopt}));
  REQUIRE(f.size() == 6);
  CHECK(f[0] == "tcp");
  CHECK(f[1] == "12");
  CHECK(f[2] == "34");
  CHECK(f[3] == "[fe80::1234:5678:9abc:def0%eth0]:48763");
  CHECK(f[4] == "[2001:db8::1]:51514");
  CHECK(f[5] == "ESTABLISHED");
}

TEST_CASE("report::format_netstat adds the extras of CLOSED and REFUSED") {
  Socket s{"tcp", "127.0.0.1:48763", "127.0.0.1:51514", 0, 0};
  CHECK(format_netstat(Closed{s, 12, 12, 1.2, "eof", "", std::nullopt}) ==
        "tcp        0      0 127.0.0.1:48763     127.0.0.1:51514      CLOSED  rx=12 tx=12 "
        "time=1.200s reason=eof");
  CHECK(format_netstat(Refused{s, "max-clients", ""}) ==
        "tcp        0      0 127.0.0.1:48763     127.0.0.1:51514      REFUSED  reason=max-clients");
  CHECK(format_netstat(Closed{s, 3, 0, 0.5, "error", "ENOMEM", std::nullopt})
            .ends_with("time=0.500s reason=error err=ENOMEM"));
  CHECK(format_netstat(Refused{s, "error", "EMFILE"}).ends_with("REFUSED  reason=error err=EMFILE"));
  Socket u{"udp", "0.0.0.0:53", "0.0.0.0:*", 0, 0};
  CHECK(fields(format_netstat(Listen{u}))[0] == "udp");
}

TEST_CASE("report::format_netstat shows TCP_INFO when it has it") {
  Socket s{"tcp", "127.0.0.1:1", "127.0.0.1:2", 0, 0};
  std::string line = format_netstat(Established{s, TcpInfo{0.5, 0.25, 3, 10}});
  CHECK(line.find("rtt=0.500/0.250ms retrans=3 cwnd=10") != std::string::npos);
}

TEST_CASE("report::format_netstat prints messages as the tutorial server does") {
  CHECK(format_netstat(Message{"tcp", "127.0.0.1:48763", "127.0.0.1:51514", "hello", "HELLO",
                               "hello\r\n", "HELLO\r\n"}) ==
        "get message from [127.0.0.1:51514]: hello -> HELLO");
  CHECK(format_netstat(Message{"tcp", "[::1]:48763", "[::1]:5", std::string("a\0b\x1b", 4), "x",
                               "", ""}) == "get message from [::1]:5: a\\x00b\\x1b -> x");  // one pair of brackets
  CHECK(format_netstat(Message{"unix", "/tmp/s", "pid=42,uid=1000", "hi", "HI", "", ""}) ==
        "get message from [pid=42,uid=1000]: hi -> HI");
}

TEST_CASE("report::format_netstat summarises") {
  CHECK(format_netstat(Summary{3, 1, 36, 30, 3, 0, 4.2}) ==
        "summary clients=3 refused=1 rx=36 tx=30 messages=3 errors=0 time=4.200s");
}

TEST_CASE("report::format_netstat prints durations to the millisecond") {
  Socket s{"tcp", "a", "b", 0, 0};
  CHECK(format_netstat(Closed{s, 0, 0, 0.0000511, "", "", std::nullopt}).find("time=0.000s") != std::string::npos);
  CHECK(format_netstat(Closed{s, 0, 0, 0.0344, "", "", std::nullopt}).find("time=0.034s") != std::string::npos);
  CHECK(format_netstat(Closed{s, 0, 0, 75.25, "", "", std::nullopt}).find("time=75.250s") != std::string::npos);
}

TEST_CASE("report::printable escapes control bytes only") {
  CHECK(printable("h\xC3\xA9llo") == "h\xC3\xA9llo");
  CHECK(printable("\t\x7f") == "\\x09\\x7f");
}

TEST_CASE("report::format_netstat shows every family and socket type") {
  CHECK(fields(format_netstat(Listen{Socket{"udp", "[::]:53", "[::]:*", 0, 0}})) ==
        std::vector<std::string>{"udp", "0", "0", "[::]:53", "[::]:*", "LISTEN"});
  CHECK(fields(format_netstat(Established{Socket{"unix", "/tmp/s", "pid=42,uid=1000", 3, 4}, std::nullopt})) ==
        std::vector<std::string>{"unix", "3", "4", "/tmp/s", "pid=42,uid=1000", "ESTABLISHED"});
  CHECK(fields(format_netstat(Listen{Socket{"unixdg", "@echo", "*", 0, 0}})) ==
        std::vector<std::string>{"unixdg", "0", "0", "@echo", "*", "LISTEN"});
}

TEST_CASE("report::format_netstat prints probe rows under their header") {
  std::string header = probe_table_header();
  ProbeResult open{"tcp", "127.0.0.1:40312", "127.0.0.1:48763", "OPEN", 0.101, 1, ""};
  std::string row = format_netstat(open);
  CHECK(row == "tcp   127.0.0.1:40312         127.0.0.1:48763         OPEN         0.101ms");
  CHECK(header.find("Foreign Address") == row.find("127.0.0.1:48763"));
  CHECK(header.find("State") == row.find("OPEN"));
  ProbeResult closed{"tcp", "*", "127.0.0.1:1", "CLOSED", std::nullopt, 1, "Connection refused"};
  CHECK(format_netstat(closed) ==
        "tcp   *                       127.0.0.1:1             CLOSED       - (Connection refused)");
}

TEST_CASE("report::format_netstat keeps a space between full columns") {
  auto f = fields(format_netstat(ProbeResult{"unixdg", "@f685d", "/tmp/d", "OPEN|FILTERED", std::nullopt, 1, ""}));
  CHECK(f == std::vector<std::string>{"unixdg", "@f685d", "/tmp/d", "OPEN|FILTERED", "-"});
  auto g = fields(format_netstat(Listen{Socket{"unixdg", "/tmp/d", "*", 123456, 654321}}));
  CHECK(g == std::vector<std::string>{"unixdg", "123456", "654321", "/tmp/d", "*", "LISTEN"});
}

TEST_CASE("report::format_netstat prints probe statistics like ping") {
  ProbeResult r{"tcp", "*", "127.0.0.1:1", "OPEN", 0.2, 3, ""};
  RttStats s{3, 3, 0, 0.1, 0.2, 0.3, 0.08165, 0.2, 0.3, 0.3};
  CHECK(format_netstat(ProbeStats{r, s}).find(
            "sent=3 recv=3 loss=0.0% min/avg/max/stddev=0.100/0.200/0.300/0.082ms "
            "p50/p90/p99=0.200/0.300/0.300ms") != std::string::npos);
  RttStats lost{4, 0, 100, 0, 0, 0, 0, 0, 0, 0};
  std::string line = format_netstat(ProbeStats{ProbeResult{"tcp", "*", "h:1", "CLOSED", std::nullopt, 4, ""}, lost});
  CHECK(line.find("sent=4 recv=0 loss=100.0%") != std::string::npos);
  CHECK(line.find("min/avg") == std::string::npos);
}

TEST_CASE("report::format_netstat summarises a probe run") {
  ProbeSummary s;
  s.endpoints = 3;
  s.states = {{"OPEN", 1}, {"CLOSED", 2}, {"FILTERED", 0}, {"UNREACHABLE", 0},
              {"OPEN|FILTERED", 0}, {"BADECHO", 1}};
  s.seconds = 0.0123;
  s.resolved = {{"localhost", {"127.0.0.1", "::1"}}};
  CHECK(format_netstat(s) ==
        "localhost resolved to 127.0.0.1 ::1\n"
        "summary endpoints=3 open=1 closed=2 filtered=0 unreachable=0 badecho=1 time=0.012s");
}

TEST_CASE("report::format_netstat numbers a probe row under --count and times it under --wait") {
  ProbeResult r{"tcp", "127.0.0.1:40312", "127.0.0.1:48763", "OPEN", 0.101, 3, ""};
  r.show_seq = true;
  CHECK(format_netstat(r) == "tcp   127.0.0.1:40312         127.0.0.1:48763         OPEN         0.101ms seq=3");
  ProbeResult closed{"tcp", "*", "127.0.0.1:1", "CLOSED", std::nullopt, 2, "Connection refused"};
  closed.show_seq = true;
  CHECK(format_netstat(closed).ends_with("CLOSED       - seq=2 (Connection refused)"));
  ProbeResult up{"tcp", "127.0.0.1:40312", "127.0.0.1:48763", "OPEN", 0.101, 7, ""};
  up.up_s = 1.5004;
  CHECK(format_netstat(up).ends_with("OPEN         0.101ms up=1.500s"));
}

TEST_CASE("report::format_netstat shows a BADECHO reply quoted, escaped and cut") {
  ProbeResult r{"tcp", "127.0.0.1:40312", "127.0.0.1:48763", "BADECHO", 0.2, 1, ""};
  r.reply = std::string("pro\"be\\\r\n\0\x7f\xc3\xa9", 13);
  CHECK(format_netstat(r).ends_with(R"(0.200ms got="pro\"be\\\x0d\x0a\x00\x7f\xc3\xa9")"));
  r.reply = "probe";
  r.reply_truncated = true;
  CHECK(format_netstat(r).ends_with(R"(got="probe"...)"));
  r.reply = "";
  r.reply_truncated = false;
  CHECK(format_netstat(r).ends_with(R"(got="")"));
}
