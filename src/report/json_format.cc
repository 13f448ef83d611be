#include "report/json_format.h"

#include <fmt/format.h>

#include "overloaded.h"
#include "report/base64.h"
#include "report/hexdump.h"

namespace sockecho::report {
namespace {

// Length of the well-formed UTF-8 sequence at s[i] (Unicode's table 3-7: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 when it is not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the range of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size() || b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  return n;
}

// "event" and "time": the head of every object, without its closing brace.
std::string head(std::string_view event, Clock::time_point time) {
  return fmt::format(R"({{"event":"{}","time":"{}")", event, rfc3339(time));
}

std::string socket_fields(const Socket& s, std::string_view state) {
  return fmt::format(R"(,"proto":{},"local":{},"remote":{},"state":"{}","recv_q":{},"send_q":{})",
                     json_string(s.proto), json_string(s.local), json_string(s.remote), state,
                     s.recv_q, s.send_q);
}

std::string tcp_fields(const std::optional<TcpInfo>& t) {
  if (!t) return "";
  return fmt::format(R"(,"rtt_ms":{:.3f},"rttvar_ms":{:.3f},"retransmits":{},"cwnd":{})",
                     t->rtt_ms, t->rttvar_ms, t->retransmits, t->cwnd);
}

// A string that may be absent: null in JSON.
std::string json_or_null(const std::string& s) { return s.empty() ? "null" : json_string(s); }

std::string tls_fields(const std::optional<TlsInfo>& t) {
  if (!t) return "";
  return fmt::format(R"(,"tls_version":{},"cipher":{},"alpn":{},"sni":{},"peer_subject":{})",
                     json_or_null(t->version), json_or_null(t->cipher), json_or_null(t->alpn),
                     json_or_null(t->sni), json_or_null(t->peer));
}

std::string ms_or_null(const std::optional<double>& ms) {
  return ms ? fmt::format("{:.3f}", *ms) : "null";
}

std::string string_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + json_string(items[i]);
  return out + "]";
}

// probe --tls: every key at the top level, null where there is nothing to say (the
// certificate's keys, san too, when there was no certificate).
std::string tls_check_fields(const std::optional<TlsCheck>& t) {
  if (!t) return "";
  return fmt::format(
      R"(,"tls_ms":{},"tls_version":{},"cipher":{},"alpn":{},"subject":{},"issuer":{},"san":{},"not_before":{},"not_after":{},"days_left":{},"sha256":{},"verify":{})",
      ms_or_null(t->tls_ms), json_or_null(t->version), json_or_null(t->cipher),
      json_or_null(t->alpn), json_or_null(t->subject), json_or_null(t->issuer),
      t->sha256.empty() ? "null" : string_array(t->san), json_or_null(t->not_before), json_or_null(t->not_after),
      t->days_left ? std::to_string(*t->days_left) : "null", json_or_null(t->sha256),
      json_or_null(t->verify));
}

// Every probe event: up_s (--wait: seconds until the endpoint was good) and got (BADECHO:
// what came back; the text row's got=), null when there is none. Not "reply": a message's
// reply is a string, never null.
std::string probe_event_fields(const ProbeResult& p) {
  return fmt::format(R"(,"up_s":{},"got":{})", p.up_s ? fmt::format("{:.6f}", *p.up_s) : "null",
                     p.reply ? json_string(*p.reply) : "null");
}

// The statistics of a probe_stats object: prefix "" for the round trips, "tls_" for the
// handshakes. null where nothing came back.
std::string stats_fields(std::string_view prefix, const RttStats& r) {
  if (r.received == 0)
    return fmt::format(
        R"(,"{0}min_ms":null,"{0}avg_ms":null,"{0}max_ms":null,"{0}stddev_ms":null,"{0}p50_ms":null,"{0}p90_ms":null,"{0}p99_ms":null)",
        prefix);
  return fmt::format(
      R"(,"{0}min_ms":{1:.3f},"{0}avg_ms":{2:.3f},"{0}max_ms":{3:.3f},"{0}stddev_ms":{4:.3f},"{0}p50_ms":{5:.3f},"{0}p90_ms":{6:.3f},"{0}p99_ms":{7:.3f})",
      prefix, r.min, r.avg, r.max, r.stddev, r.p50, r.p90, r.p99);
}

}  // namespace

std::string json_string(std::string_view s) {
  std::string out = "\"";
  out.reserve(s.size() + 2);
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = utf8_length(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for the one byte; the next may start a character
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(s.substr(i, n));
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
    i += n;
  }
  out += '"';
  return out;
}

std::string format_json(const Event& event, Clock::time_point time) {
  return std::visit(
      Overloaded{
          [&](const Listen& e) {
            return head("listen", time) + socket_fields(e.socket, "LISTEN") +
                   (e.sha256.empty() ? "" : R"(,"sha256":)" + json_string(e.sha256)) + "}";
          },
          [&](const Established& e) {
            return head("established", time) + socket_fields(e.socket, "ESTABLISHED") +
                   tls_fields(e.tls) + tcp_fields(e.tcp) + "}";
          },
          [&](const Closed& e) {
            return fmt::format(R"({}{},"rx":{},"tx":{},"duration_s":{:.6f},"reason":{},"err":{}{}{}}})",
                               head("closed", time), socket_fields(e.socket, "CLOSED"), e.rx, e.tx,
                               e.seconds, json_string(e.reason), json_string(e.err),
                               e.tls_error.empty() ? "" : R"(,"tls_error":)" + json_string(e.tls_error),
                               tcp_fields(e.tcp));
          },
          [&](const Refused& e) {
            return fmt::format(R"({}{},"reason":{},"err":{}}})", head("refused", time),
                               socket_fields(e.socket, "REFUSED"), json_string(e.reason),
                               json_string(e.err));
          },
          [&](const Message& e) {
            return fmt::format(
                R"({},"proto":{},"local":{},"remote":{},"data":{},"reply":{},"data_b64":"{}","reply_b64":"{}"}})",
                head("message", time), json_string(e.proto), json_string(e.local),
                json_string(e.remote), json_string(e.data), json_string(e.reply),
                base64(e.data_bytes), base64(e.reply_bytes));
          },
          [&](const Summary& e) {
            return fmt::format(
                R"({},"clients":{},"refused":{},"rx":{},"tx":{},"messages":{},"errors":{},"duration_s":{:.6f}}})",
                head("summary", time), e.clients, e.refused, e.rx, e.tx, e.messages, e.errors,
                e.seconds);
          },
          [&](const ProbeResult& e) {
            return fmt::format(
                R"({},"proto":{},"local":{},"remote":{},"state":{},"rtt_ms":{},"seq":{},"error":{}{}}})",
                head("probe", time), json_string(e.proto), json_string(e.local),
                json_string(e.remote), json_string(e.state), ms_or_null(e.rtt_ms), e.seq,
                json_string(e.error), probe_event_fields(e) + tls_check_fields(e.tls));
          },
          [&](const ProbeStats& e) {
            // The endpoint and its statistics; what one probe saw is in its probe object.
            const RttStats& r = e.rtt;
            return fmt::format(R"({},"proto":{},"remote":{},"state":{},"sent":{},"received":{},"loss_percent":{:.1f}{}{}}})",
                               head("probe_stats", time), json_string(e.last.proto),
                               json_string(e.last.remote), json_string(e.last.state), r.sent,
                               r.received, r.loss_percent, stats_fields("", r),
                               e.tls ? stats_fields("tls_", *e.tls) : "");
          },
          [&](const ProbeSummary& e) {
            std::string out = head("probe_summary", time) +
                              fmt::format(R"(,"endpoints":{},"states":{{)", e.endpoints);
            for (std::size_t i = 0; i < e.states.size(); ++i)
              out += fmt::format(R"({}"{}":{})", i ? "," : "", state_key(e.states[i].first),
                                 e.states[i].second);
            out += fmt::format(R"(}},"duration_s":{:.6f},"resolved":{{)", e.seconds);
            for (std::size_t i = 0; i < e.resolved.size(); ++i)
              out += fmt::format("{}{}:{}", i ? "," : "", json_string(e.resolved[i].first),
                                 string_array(e.resolved[i].second));
            return out + "}}";
          },
          [&](const Data& e) {
            return head("data", time) +
                   fmt::format(R"(,"dir":{},"peer":{},"len":{},"data_b64":"{}"}})",
                               json_string(e.dir), json_string(e.peer), e.bytes.size(),
                               base64(e.bytes));
          },
      },
      event);
}

}  // namespace sockecho::report
