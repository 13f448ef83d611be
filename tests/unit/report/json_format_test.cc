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
  CHECK(format_json(Closed{s, 12, 10, 1.5, "eof", std::nullopt}) ==
        R"({"event":"closed","proto":"tcp","local":"127.0.0.1:48763","remote":"127.0.0.1:51514","state":"CLOSED","recv_q":1,"send_q":2,"rx":12,"tx":10,"duration_s":1.500000,"reason":"eof"})");
  CHECK(format_json(Refused{s, "max-clients"}).find(R"("reason":"max-clients"})") != std::string::npos);
  CHECK(format_json(Message{"127.0.0.1:5", "hi", "HI"}) ==
        R"({"event":"message","remote":"127.0.0.1:5","data":"hi","reply":"HI"})");
  CHECK(format_json(Summary{1, 2, 3, 4, 5, 6, 0.5}) ==
        R"({"event":"summary","clients":1,"refused":2,"rx":3,"tx":4,"messages":5,"errors":6,"duration_s":0.500000})");
  CHECK(format_json(Established{s, TcpInfo{1, 2, 3, 4}}).find(R"("rtt_ms":1.000,"rttvar_ms":2.000,"retransmits":3,"cwnd":4})") != std::string::npos);
}
