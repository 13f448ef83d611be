#include "report/json_format.h"

#include <fmt/format.h>

#include "overloaded.h"

namespace sockecho::report {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  if (n == 2 && c < 0xc2) return 0;  // overlong
  return n;
}

std::string socket_fields(std::string_view event, const Socket& s, std::string_view state) {
  return fmt::format(R"({{"event":"{}","proto":{},"local":{},"remote":{},"state":"{}","recv_q":{},"send_q":{})",
                     event, json_string(s.proto), json_string(s.local), json_string(s.remote),
                     state, s.recv_q, s.send_q);
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
  return fmt::format(R"(,"tls_version":{},"cipher":{},"alpn":{},"sni":{},"peer":{})",
                     json_string(t->version), json_string(t->cipher), json_or_null(t->alpn),
                     json_or_null(t->sni), json_or_null(t->peer));
}

std::string ms_or_null(const std::optional<double>& ms) {
  return ms ? fmt::format("{:.3f}", *ms) : "null";
}

// probe --tls: every key at the top level, null where there is nothing to say.
std::string tls_check_fields(const std::optional<TlsCheck>& t) {
  if (!t) return "";
  std::string san = "[";
  for (std::size_t i = 0; i < t->san.size(); ++i) san += (i ? "," : "") + json_string(t->san[i]);
  san += "]";
  return fmt::format(
      R"(,"tls_ms":{},"tls_version":{},"cipher":{},"alpn":{},"subject":{},"issuer":{},"san":{},"not_before":{},"not_after":{},"days_left":{},"sha256":{},"verify":{})",
      ms_or_null(t->tls_ms), json_or_null(t->version), json_or_null(t->cipher),
      json_or_null(t->alpn), json_or_null(t->subject), json_or_null(t->issuer),
      t->sha256.empty() ? "null" : san, json_or_null(t->not_before), json_or_null(t->not_after),
      t->days_left ? std::to_string(*t->days_left) : "null", json_or_null(t->sha256),
      json_or_null(t->verify));
}

std::string probe_fields(const ProbeResult& p) {
  return fmt::format(R"("proto":{},"local":{},"remote":{},"state":{},"rtt_ms":{},"seq":{},"error":{}{})",
                     json_string(p.proto), json_string(p.local), json_string(p.remote),
                     json_string(p.state), ms_or_null(p.rtt_ms), p.seq, json_string(p.error),
                     tls_check_fields(p.tls));
}

// Every probe event: up_s (--wait: seconds until the endpoint was good) and reply (BADECHO:
// what came back), null when there is none.
std::string probe_event_fields(const ProbeResult& p) {
  return fmt::format(R"(,"up_s":{},"reply":{})", p.up_s ? fmt::format("{:.6f}", *p.up_s) : "null",
                     p.reply ? json_string(*p.reply) : "null");
}

std::string tls_stats_fields(const std::optional<RttStats>& t) {
  if (!t) return "";
  if (t->received == 0)
    return R"(,"tls_min_ms":null,"tls_avg_ms":null,"tls_max_ms":null,"tls_stddev_ms":null,"tls_p50_ms":null,"tls_p90_ms":null,"tls_p99_ms":null)";
  return fmt::format(
      R"(,"tls_min_ms":{:.3f},"tls_avg_ms":{:.3f},"tls_max_ms":{:.3f},"tls_stddev_ms":{:.3f},"tls_p50_ms":{:.3f},"tls_p90_ms":{:.3f},"tls_p99_ms":{:.3f})",
      t->min, t->avg, t->max, t->stddev, t->p50, t->p90, t->p99);
}

}  // namespace

std::string json_string(std::string_view s) {
  std::string out = "\"";
  out.reserve(s.size() + 2);
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = utf8_length(s, i);
    if (n == 0) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
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

std::string format_json(const Event& event) {
  return std::visit(
      Overloaded{
          [](const Listen& e) {
            return socket_fields("listen", e.socket, "LISTEN") +
                   (e.sha256.empty() ? "" : R"(,"sha256":)" + json_string(e.sha256)) + "}";
          },
          [](const Established& e) {
            return socket_fields("established", e.socket, "ESTABLISHED") + tls_fields(e.tls) +
                   tcp_fields(e.tcp) + "}";
          },
          [](const Closed& e) {
            return fmt::format(R"({},"rx":{},"tx":{},"duration_s":{:.6f},"reason":{},"err":{}{}{}}})",
                               socket_fields("closed", e.socket, "CLOSED"), e.rx, e.tx,
                               e.seconds, json_string(e.reason), json_string(e.err),
                               e.tls_error.empty() ? "" : R"(,"tls_error":)" + json_string(e.tls_error),
                               tcp_fields(e.tcp));
          },
          [](const Refused& e) {
            return fmt::format(R"({},"reason":{},"err":{}}})",
                               socket_fields("refused", e.socket, "REFUSED"), json_string(e.reason),
                               json_string(e.err));
          },
          [](const Message& e) {
            return fmt::format(R"({{"event":"message","remote":{},"data":{},"reply":{}}})",
                               json_string(e.peer), json_string(e.data), json_string(e.reply));
          },
          [](const Summary& e) {
            return fmt::format(
                R"({{"event":"summary","clients":{},"refused":{},"rx":{},"tx":{},"messages":{},"errors":{},"duration_s":{:.6f}}})",
                e.clients, e.refused, e.rx, e.tx, e.messages, e.errors, e.seconds);
          },
          [](const ProbeResult& e) {
            return R"({"event":"probe",)" + probe_fields(e) + probe_event_fields(e) + "}";
          },
          [](const ProbeStats& e) {
            const RttStats& r = e.rtt;
            if (r.received == 0)
              return fmt::format(
                  R"({{"event":"probe_stats",{},"sent":{},"received":0,"loss_percent":{:.1f},"min_ms":null,"avg_ms":null,"max_ms":null,"stddev_ms":null,"p50_ms":null,"p90_ms":null,"p99_ms":null{}}})",
                  probe_fields(e.last), r.sent, r.loss_percent, tls_stats_fields(e.tls));
            return fmt::format(
                R"({{"event":"probe_stats",{},"sent":{},"received":{},"loss_percent":{:.1f},"min_ms":{:.3f},"avg_ms":{:.3f},"max_ms":{:.3f},"stddev_ms":{:.3f},"p50_ms":{:.3f},"p90_ms":{:.3f},"p99_ms":{:.3f}{}}})",
                probe_fields(e.last), r.sent, r.received, r.loss_percent, r.min, r.avg, r.max,
                r.stddev, r.p50, r.p90, r.p99, tls_stats_fields(e.tls));
          },
          [](const ProbeSummary& e) {
            std::string out = fmt::format(R"({{"event":"probe_summary","endpoints":{})", e.endpoints);
            for (const auto& [state, n] : e.states) {
              out += fmt::format(R"(,"{}":{})", state_key(state), n);
            }
            out += fmt::format(R"(,"duration_s":{:.6f},"resolved":{{)", e.seconds);
            bool first = true;
            for (const auto& [name, addresses] : e.resolved) {
              out += fmt::format("{}{}:[", first ? "" : ",", json_string(name));
              for (std::size_t i = 0; i < addresses.size(); ++i)
                out += (i ? "," : "") + json_string(addresses[i]);
              out += "]";
              first = false;
            }
            return out + "}}";
          },
      },
      event);
}

}  // namespace sockecho::report
