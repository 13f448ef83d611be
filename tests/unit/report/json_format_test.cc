#include "report/json_format.h"

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace sockecho::report;
using namespace std::chrono;

namespace {

// 2026-12-03T16:34:17.123456Z
Clock::time_point at() {
  return sys_days{year{2026} / 12 / 3} + hours{16} + minutes{34} + seconds{17} +
         microseconds{123456};
}

// A small reader of the formatter's output: the kind of each top-level value, named as
// tests/e2e/json_schema.py names types ("string", "integer", "number", "null", "boolean",
// "array<string>", "object<integer>", ...). An empty array or object is "array<>" /
// "object<>". Throws on anything that is not JSON.
class Reader {
 public:
  explicit Reader(std::string_view text) : m_s(text) {}

  std::vector<std::pair<std::string, std::string>> object() {
    std::vector<std::pair<std::string, std::string>> members;
    expect('{');
    if (peek() == '}') {
      ++m_i;
    } else {
      for (;;) {
        std::string key = string();
        expect(':');
        members.emplace_back(key, value());
        if (peek() == ',') {
          ++m_i;
          continue;
        }
        expect('}');
        break;
      }
    }
    return members;
  }

  void end() {
    if (m_i != m_s.size()) throw std::runtime_error("text after the object");
  }

 private:
  char peek() const {
    if (m_i >= m_s.size()) throw std::runtime_error("unexpected end");
    return m_s[m_i];
  }
  void expect(char c) {
    if (peek() != c) throw std::runtime_error(std::string("expected ") + c + " at " + std::to_string(m_i));
    ++m_i;
  }
  void literal(std::string_view word) {
    if (m_s.substr(m_i, word.size()) != word) throw std::runtime_error("bad literal");
    m_i += word.size();
  }

  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      char c = peek();
      ++m_i;
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) throw std::runtime_error("raw control byte");
      if (c != '\\') {
        out += c;
        continue;
      }
      char e = peek();
      ++m_i;
      if (e == 'u') {
        for (int k = 0; k < 4; ++k, ++m_i)
          if (!std::isxdigit(static_cast<unsigned char>(peek()))) throw std::runtime_error("bad \\u");
        out += '?';
      } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
        throw std::runtime_error("bad escape");
      } else {
        out += e;
      }
    }
  }

  // The kind of a container's elements: the one they share, "" when empty.
  static std::string common(const std::set<std::string>& kinds) {
    if (kinds.empty()) return "";
    if (kinds.size() == 1) return *kinds.begin();
    if (kinds == std::set<std::string>{"integer", "number"}) return "number";
    return "mixed";
  }

  std::string value() {
    char c = peek();
    if (c == '"') {
      string();
      return "string";
    }
    if (c == 'n') {
      literal("null");
      return "null";
    }
    if (c == 't' || c == 'f') {
      literal(c == 't' ? "true" : "false");
      return "boolean";
    }
    if (c == '[') {
      ++m_i;
      std::set<std::string> kinds;
      if (peek() != ']') {
        for (;;) {
          kinds.insert(value());
          if (peek() != ',') break;
          ++m_i;
        }
      }
      expect(']');
      return "array<" + common(kinds) + ">";
    }
    if (c == '{') {
      std::set<std::string> kinds;
      for (const auto& member : object()) kinds.insert(member.second);
      return "object<" + common(kinds) + ">";
    }
    std::size_t start = m_i;
    if (peek() == '-') ++m_i;
    bool fraction = false;
    while (m_i < m_s.size() && std::string_view("0123456789.eE+-").find(m_s[m_i]) != std::string_view::npos) {
      fraction |= m_s[m_i] == '.' || m_s[m_i] == 'e' || m_s[m_i] == 'E';
      ++m_i;
    }
    if (m_i == start) throw std::runtime_error("not a value at " + std::to_string(m_i));
    return fraction ? "number" : "integer";
  }

  std::string_view m_s;
  std::size_t m_i = 0;
};

// Whether a value of kind fits the schema type ("string|null", "number", "array<string>").
bool fits(const std::string& kind, const std::string& type) {
  for (std::size_t start = 0; start <= type.size();) {
    std::size_t bar = type.find('|', start);
    if (bar == std::string::npos) bar = type.size();
    std::string one = type.substr(start, bar - start);
    if (kind == one) return true;
    if (one == "number" && kind == "integer") return true;
    if (one.rfind("array<", 0) == 0 && kind == "array<>") return true;
    if (one.rfind("object<", 0) == 0 && kind == "object<>") return true;
    if (one == "object<number>" && kind == "object<integer>") return true;
    start = bar + 1;
  }
  return false;
}

using Keys = std::vector<std::pair<std::string, std::string>>;  // key, schema type, in order

const Keys k_socket = {{"proto", "string"}, {"local", "string"},    {"remote", "string"},
                       {"state", "string"}, {"recv_q", "integer"}, {"send_q", "integer"}};
const Keys k_tcp = {{"rtt_ms", "number|null"},
                    {"rttvar_ms", "number"},
                    {"retransmits", "integer"},
                    {"cwnd", "integer"}};
const Keys k_tls_session = {{"tls_version", "string|null"},
                            {"cipher", "string|null"},
                            {"alpn", "string|null"},
                            {"sni", "string|null"},
                            {"peer_subject", "string|null"}};
const Keys k_tls_check = {{"tls_ms", "number|null"},       {"tls_version", "string|null"},
                          {"cipher", "string|null"},       {"alpn", "string|null"},
                          {"subject", "string|null"},      {"issuer", "string|null"},
                          {"san", "array<string>|null"},   {"not_before", "string|null"},
                          {"not_after", "string|null"},    {"days_left", "integer|null"},
                          {"sha256", "string|null"},       {"verify", "string|null"}};

Keys stats_keys(const std::string& prefix) {
  Keys out;
  for (const char* k : {"min_ms", "avg_ms", "max_ms", "stddev_ms", "p50_ms", "p90_ms", "p99_ms"})
    out.emplace_back(prefix + k, "number|null");
  return out;
}

Keys join(std::initializer_list<Keys> parts) {
  Keys out = {{"event", "string"}, {"time", "string"}};
  for (const Keys& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Checks the formatter's line: JSON, "event" then "time", exactly these keys in this
// order, each value of its key's type.
void check_shape(const std::string& line, const std::string& event, const Keys& want) {
  INFO(line);
  Reader r(line);
  Keys got;
  REQUIRE_NOTHROW(got = r.object());
  REQUIRE_NOTHROW(r.end());
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO(want[i].first);
    CHECK(got[i].first == want[i].first);
    CHECK(fits(got[i].second, want[i].second));
  }
  CHECK(line.rfind(R"({"event":")" + event + R"(","time":"2026-12-03T16:34:17.123456Z",)", 0) == 0);
}

const Socket k_s{"tcp", "127.0.0.1:48763", "127.0.0.1:51514", 1, 2};

TlsCheck full_check() {
  TlsCheck t;
  t.tls_ms = 1.25;
  t.version = "TLSv1.3";
  t.cipher = "TLS_AES_256_GCM_SHA384";
  t.subject = "CN=localhost";
  t.issuer = "CN=localhost";
  t.san = {"DNS:localhost", "IP:127.0.0.1"};
  t.not_before = "2026-12-03T15:04:05Z";
  t.not_after = "2027-01-02T16:04:05Z";
  t.days_left = 30;
  t.sha256 = "AB:CD";
  t.verify = "skipped";
  return t;
}

}  // namespace

TEST_CASE("report::json_string escapes and keeps UTF-8") {
  CHECK(json_string("plain") == "\"plain\"");
  CHECK(json_string("a\"b\\c\n\r\t") == "\"a\\\"b\\\\c\\n\\r\\t\"");
  CHECK(json_string(std::string("\0\x1f\x7f", 3)) == "\"\\u0000\\u001f\\u007f\"");
  CHECK(json_string("h\xC3\xA9") == "\"h\xC3\xA9\"");
  CHECK(json_string("\xF0\x9F\x98\x80") == "\"\xF0\x9F\x98\x80\"");  // U+1F600
  CHECK(json_string("\xEF\xBF\xBD") == "\"\xEF\xBF\xBD\"");          // a real U+FFFD
}

TEST_CASE("report::json_string writes U+FFFD for each byte that is not UTF-8") {
  const std::string r = "\xEF\xBF\xBD";
  // Byte 0xff is not the character U+00FF (written C3 BF): the two must not look alike.
  CHECK(json_string("\xff") == "\"" + r + "\"");
  CHECK(json_string("\xC3\xBF") == "\"\xC3\xBF\"");
  CHECK(json_string("\xff\xC3") == "\"" + r + r + "\"");           // a lone lead byte too
  CHECK(json_string("\xC0\x80") == "\"" + r + r + "\"");           // overlong NUL
  CHECK(json_string("\xE0\x80\xAF") == "\"" + r + r + r + "\"");   // overlong '/'
  CHECK(json_string("\xED\xA0\x80") == "\"" + r + r + r + "\"");   // a surrogate, U+D800
  CHECK(json_string("\xF4\x90\x80\x80") == "\"" + r + r + r + r + "\"");  // above U+10FFFF
  CHECK(json_string("a\x80z") == "\"a" + r + "z\"");               // and the next byte is kept
}

TEST_CASE("report::format_json writes one object with event, then time, then stable keys") {
  CHECK(format_json(Listen{k_s}, at()) ==
        R"({"event":"listen","time":"2026-12-03T16:34:17.123456Z","proto":"tcp","local":"127.0.0.1:48763","remote":"127.0.0.1:51514","state":"LISTEN","recv_q":1,"send_q":2})");
  CHECK(format_json(Closed{k_s, 12, 10, 1.5, "eof", "", std::nullopt}, at()) ==
        R"({"event":"closed","time":"2026-12-03T16:34:17.123456Z","proto":"tcp","local":"127.0.0.1:48763","remote":"127.0.0.1:51514","state":"CLOSED","recv_q":1,"send_q":2,"rx":12,"tx":10,"duration_s":1.500000,"reason":"eof","err":""})");
  CHECK(format_json(Closed{k_s, 0, 0, 0, "error", "ENOMEM", std::nullopt}, at()).find(R"("reason":"error","err":"ENOMEM"})") != std::string::npos);
  CHECK(format_json(Refused{k_s, "max-clients", ""}, at()).find(R"("reason":"max-clients","err":""})") != std::string::npos);
  CHECK(format_json(Refused{k_s, "error", "EMFILE"}, at()).find(R"("reason":"error","err":"EMFILE"})") != std::string::npos);
  CHECK(format_json(Summary{1, 2, 3, 4, 5, 6, 0.5}, at()) ==
        R"({"event":"summary","time":"2026-12-03T16:34:17.123456Z","clients":1,"refused":2,"rx":3,"tx":4,"messages":5,"errors":6,"duration_s":0.500000})");
  CHECK(format_json(Established{k_s, TcpInfo{1, 2, 3, 4}}, at()).find(R"("rtt_ms":1.000,"rttvar_ms":2.000,"retransmits":3,"cwnd":4})") != std::string::npos);
}

TEST_CASE("report::format_json gives a message's exact bytes in base64 beside the readable text") {
  Message m{"tcp", "127.0.0.1:48763", "127.0.0.1:5", "hi", "HI", "hi\r\n", "HI\r\n"};
  CHECK(format_json(m, at()) ==
        R"({"event":"message","time":"2026-12-03T16:34:17.123456Z","proto":"tcp","local":"127.0.0.1:48763","remote":"127.0.0.1:5","data":"hi","reply":"HI","data_b64":"aGkNCg==","reply_b64":"SEkNCg=="})");
  // Byte 0xff: U+FFFD in the text, the byte itself in base64.
  Message binary{"udp", "[::]:48763", "[::1]:5", "\xff", "\xff", "\xff", "\xff"};
  std::string line = format_json(binary, at());
  CHECK(line.find("\"data\":\"\xEF\xBF\xBD\"") != std::string::npos);
  CHECK(line.find(R"("data_b64":"/w==","reply_b64":"/w==")") != std::string::npos);
  // discard mode: no reply, an empty string in both forms.
  Message discarded{"tcp", "a", "b", "x", "", "x\n", ""};
  CHECK(format_json(discarded, at()).find(R"("reply":"","data_b64":"eAo=","reply_b64":""})") != std::string::npos);
}

TEST_CASE("report::format_json writes probe results, stats and summary") {
  ProbeResult r{"udp", "*", "127.0.0.1:53", "OPEN|FILTERED", std::nullopt, 2, ""};
  CHECK(format_json(r, at()) ==
        R"({"event":"probe","time":"2026-12-03T16:34:17.123456Z","proto":"udp","local":"*","remote":"127.0.0.1:53","state":"OPEN|FILTERED","rtt_ms":null,"seq":2,"error":"","up_s":null,"got":null})");
  RttStats lost{2, 0, 100, 0, 0, 0, 0, 0, 0, 0};
  // The endpoint and its statistics only: no one probe's local, rtt_ms, seq or error.
  CHECK(format_json(ProbeStats{r, lost}, at()) ==
        R"({"event":"probe_stats","time":"2026-12-03T16:34:17.123456Z","proto":"udp","remote":"127.0.0.1:53","state":"OPEN|FILTERED","sent":2,"received":0,"loss_percent":100.0,"min_ms":null,"avg_ms":null,"max_ms":null,"stddev_ms":null,"p50_ms":null,"p90_ms":null,"p99_ms":null})");
  ProbeSummary s;
  s.endpoints = 1;
  s.states = {{"OPEN", 0}, {"OPEN|FILTERED", 1}, {"ERROR", 0}};
  s.seconds = 0.5;
  s.resolved = {{"localhost", {"127.0.0.1"}}, {"nosuch", {}}};
  CHECK(format_json(s, at()) ==
        R"({"event":"probe_summary","time":"2026-12-03T16:34:17.123456Z","endpoints":1,"states":{"open":0,"open_filtered":1,"error":0},"duration_s":0.500000,"resolved":{"localhost":["127.0.0.1"],"nosuch":[]}})");
}

TEST_CASE("report::format_json: every event has its documented keys, each of one type") {
  const TcpInfo tcp{0.5, 0.25, 0, 10};
  const TlsInfo session{"TLSv1.3", "TLS_AES_128_GCM_SHA256", "", "localhost", ""};
  const ProbeResult open{"tcp", "127.0.0.1:40000", "127.0.0.1:48763", "OPEN", 0.2, 1, ""};
  ProbeResult tls_probe = open;
  tls_probe.tls = full_check();
  ProbeResult no_certificate = open;
  no_certificate.state = "BADTLS";
  no_certificate.error = "handshake timed out";
  no_certificate.tls = TlsCheck{};
  no_certificate.tls->verify = "handshake timed out";
  const RttStats answered = summarize_rtts({0.1, 0.2, 0.3}, 3);
  ProbeSummary summary;
  summary.endpoints = 2;
  summary.states = {{"OPEN", 1}, {"CLOSED", 1}};
  summary.resolved = {{"localhost", {"127.0.0.1", "::1"}}};

  // Each event with and without its optional groups of keys.
  const std::vector<std::tuple<Event, std::string, Keys>> cases = {
      {Listen{k_s}, "listen", join({k_socket})},
      {Listen{k_s, "AB:CD"}, "listen", join({k_socket, {{"sha256", "string|null"}}})},
      {Established{k_s, std::nullopt}, "established", join({k_socket})},
      {Established{k_s, tcp, session}, "established", join({k_socket, k_tls_session, k_tcp})},
      {Closed{k_s, 1, 2, 0.5, "eof", "", std::nullopt}, "closed",
       join({k_socket, {{"rx", "integer"}, {"tx", "integer"}, {"duration_s", "number"},
                        {"reason", "string"}, {"err", "string"}}})},
      {Closed{k_s, 1, 2, 0.5, "tls", "", tcp, "wrong version number"}, "closed",
       join({k_socket,
             {{"rx", "integer"}, {"tx", "integer"}, {"duration_s", "number"}, {"reason", "string"},
              {"err", "string"}, {"tls_error", "string"}},
             k_tcp})},
      {Refused{k_s, "max-clients", ""}, "refused",
       join({k_socket, {{"reason", "string"}, {"err", "string"}}})},
      {Message{"unix", "/tmp/s", "pid=1,uid=2", "a", "A", "a\n", "A\n"}, "message",
       join({{{"proto", "string"}, {"local", "string"}, {"remote", "string"}, {"data", "string"},
              {"reply", "string"}, {"data_b64", "string"}, {"reply_b64", "string"}}})},
      {Data{"<", "127.0.0.1:51514", "hi\n"}, "data",
       join({{{"dir", "string"}, {"peer", "string"}, {"len", "integer"}, {"data_b64", "string"}}})},
      {Summary{1, 0, 3, 3, 1, 0, 2.5}, "summary",
       join({{{"clients", "integer"}, {"refused", "integer"}, {"rx", "integer"}, {"tx", "integer"},
              {"messages", "integer"}, {"errors", "integer"}, {"duration_s", "number"}}})},
      {open, "probe",
       join({{{"proto", "string"}, {"local", "string"}, {"remote", "string"}, {"state", "string"},
              {"rtt_ms", "number|null"}, {"seq", "integer"}, {"error", "string"},
              {"up_s", "number|null"}, {"got", "string|null"}}})},
      {tls_probe, "probe",
       join({{{"proto", "string"}, {"local", "string"}, {"remote", "string"}, {"state", "string"},
              {"rtt_ms", "number|null"}, {"seq", "integer"}, {"error", "string"},
              {"up_s", "number|null"}, {"got", "string|null"}},
             k_tls_check})},
      {no_certificate, "probe",
       join({{{"proto", "string"}, {"local", "string"}, {"remote", "string"}, {"state", "string"},
              {"rtt_ms", "number|null"}, {"seq", "integer"}, {"error", "string"},
              {"up_s", "number|null"}, {"got", "string|null"}},
             k_tls_check})},
      {ProbeStats{tls_probe, answered}, "probe_stats",
       join({{{"proto", "string"}, {"remote", "string"}, {"state", "string"}, {"sent", "integer"},
              {"received", "integer"}, {"loss_percent", "number"}},
             stats_keys("")})},
      {ProbeStats{tls_probe, answered, answered}, "probe_stats",
       join({{{"proto", "string"}, {"remote", "string"}, {"state", "string"}, {"sent", "integer"},
              {"received", "integer"}, {"loss_percent", "number"}},
             stats_keys(""), stats_keys("tls_")})},
      {summary, "probe_summary",
       join({{{"endpoints", "integer"}, {"states", "object<integer>"}, {"duration_s", "number"},
              {"resolved", "object<array<string>>"}}})},
  };
  std::map<std::string, std::set<std::string>> types;  // key -> every type it is given
  for (const auto& [event, name, keys] : cases) {
    check_shape(format_json(event, at()), name, keys);
    for (const auto& [key, type] : keys) types[key].insert(type);
  }
  for (const auto& [key, declared] : types) {
    INFO(key);
    CHECK(declared.size() == 1);  // a key has one type in every event that has it
  }
}

TEST_CASE("report::format_json: a certificate's keys are null without a certificate") {
  ProbeResult p{"tcp", "127.0.0.1:1", "127.0.0.1:2", "BADTLS", 0.1, 1, "handshake timed out"};
  p.tls = TlsCheck{};
  p.tls->verify = "handshake timed out";
  CHECK(format_json(p, at()).find(
            R"("tls_ms":null,"tls_version":null,"cipher":null,"alpn":null,"subject":null,"issuer":null,"san":null,"not_before":null,"not_after":null,"days_left":null,"sha256":null,"verify":"handshake timed out"})") !=
        std::string::npos);
}

TEST_CASE("report::format_json gives every probe event up_s and got") {
  ProbeResult r{"tcp", "127.0.0.1:2", "127.0.0.1:1", "OPEN", 0.5, 4, ""};
  r.up_s = 1.25;
  CHECK(format_json(r, at()).ends_with(R"("seq":4,"error":"","up_s":1.250000,"got":null})"));
  ProbeResult bad{"tcp", "127.0.0.1:2", "127.0.0.1:1", "BADECHO", 0.5, 1, ""};
  bad.reply = std::string("pr\"obe\n\x01", 8);
  CHECK(format_json(bad, at()).ends_with(R"("up_s":null,"got":"pr\"obe\n\u0001"})"));
  // probe_stats keeps its keys: the reply and the time to come up belong to one probe.
  RttStats lost{1, 0, 100, 0, 0, 0, 0, 0, 0, 0};
  CHECK(format_json(ProbeStats{bad, lost}, at()).find("got") == std::string::npos);
}
