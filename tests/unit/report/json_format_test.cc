#include "report/json_format.h"

#include <catch2/catch.hpp>

using namespace sockecho::report;

TEST_CASE("report::json_string escapes and keeps UTF-8") {
  CHECK(json_string("plain") == "\"plain\"");
  CHECK(json_string("a\"b\\c\n\r\t") == "\"a\\\"b\\\\c\\n\\r\\t\"");
  CHECK(json_string(std::string("\0\x1f", 2)) == "\"\\u0000\\u001f\"");
  CHECK(json_string("h\xC3\xA9") == "\"h\xC3\xA9\"");
  CHECK(json_string("\xff\xC3") == "\"\\u00ff\\u00c3\"");  // invalid UTF-8, byte by byte
  CHECK(json_string("\xC0\x80") == "\"\\u00c0\\u0080\"");  // overlong NUL
}

TEST_CASE("report::format_json writes one object with stable keys") {
  Socket s{"tcp", "127.0.0.1:48763", "127.0.0.1:51514", 1, 2};
  CHECK(format_json(Listen{s}) ==
        R"({"event":"listen","proto":"tcp","local":"127.0.0.1:48763","remote":"127.0.0.1:51514","state":"LISTEN","recv_q":1,"send_q":2})");
  CHECK(format_json(Closed{s, 12, 10, 1.5, "eof", "", std::nullopt}) ==
        R"({"event":"closed","proto":"tcp","local":"127.0.0.1:48763","remote":"127.0.0.1:51514","state":"CLOSED","recv_q":1,"send_q":2,"rx":12,"tx":10,"duration_s":1.500000,"reason":"eof","err":""})");
  CHECK(format_json(Closed{s, 0, 0, 0, "error", "ENOMEM", std::nullopt}).find(R"("reason":"error","err":"ENOMEM"})") != std::string::npos);
  CHECK(format_json(Refused{s, "max-clients", ""}).find(R"("reason":"max-clients","err":""})") != std::string::npos);
  CHECK(format_json(Refused{s, "error", "EMFILE"}).find(R"("reason":"error","err":"EMFILE"})") != std::string::npos);
  CHECK(format_json(Message{"127.0.0.1:5", "hi", "HI"}) ==
        R"({"event":"message","remote":"127.0.0.1:5","data":"hi","reply":"HI"})");
  CHECK(format_json(Summary{1, 2, 3, 4, 5, 6, 0.5}) ==
        R"({"event":"summary","clients":1,"refused":2,"rx":3,"tx":4,"messages":5,"errors":6,"duration_s":0.500000})");
  CHECK(format_json(Established{s, TcpInfo{1, 2, 3, 4}}).find(R"("rtt_ms":1.000,"rttvar_ms":2.000,"retransmits":3,"cwnd":4})") != std::string::npos);
}

TEST_CASE("report::format_json writes probe results, stats and summary") {
  ProbeResult r{"udp", "*", "127.0.0.1:53", "OPEN|FILTERED", std::nullopt, 2, ""};
  CHECK(format_json(r) ==
        R"({"event":"probe","proto":"udp","local":"*","remote":"127.0.0.1:53","state":"OPEN|FILTERED","rtt_ms":null,"seq":2,"error":"","up_s":null,"reply":null})");
  RttStats lost{2, 0, 100, 0, 0, 0, 0, 0, 0, 0};
  CHECK(format_json(ProbeStats{r, lost}).find(R"("received":0,"loss_percent":100.0,"min_ms":null)") != std::string::npos);
  ProbeSummary s;
  s.endpoints = 1;
  s.states = {{"OPEN", 0}, {"OPEN|FILTERED", 1}};
  s.seconds = 0.5;
  s.resolved = {{"localhost", {"127.0.0.1"}}, {"nosuch", {}}};
  CHECK(format_json(s) ==
        R"({"event":"probe_summary","endpoints":1,"open":0,"open_filtered":1,"duration_s":0.500000,"resolved":{"localhost":["127.0.0.1"],"nosuch":[]}})");
}

TEST_CASE("report::format_json gives every probe event up_s and reply") {
  ProbeResult r{"tcp", "127.0.0.1:2", "127.0.0.1:1", "OPEN", 0.5, 4, ""};
  r.up_s = 1.25;
  CHECK(format_json(r).ends_with(R"("seq":4,"error":"","up_s":1.250000,"reply":null})"));
  ProbeResult bad{"tcp", "127.0.0.1:2", "127.0.0.1:1", "BADECHO", 0.5, 1, ""};
  bad.reply = std::string("pr\"obe\n\x01", 8);
  CHECK(format_json(bad).ends_with(R"("up_s":null,"reply":"pr\"obe\n\u0001"})"));
  // probe_stats keeps its keys: the reply and the time to come up belong to one probe.
  RttStats lost{1, 0, 100, 0, 0, 0, 0, 0, 0, 0};
  CHECK(format_json(ProbeStats{bad, lost}).find("reply") == std::string::npos);
}
