#include "report/netstat_format.h"

#include <cctype>

#include <fmt/format.h>

#include "overloaded.h"
#include "report/hexdump.h"
#include <fmt/ranges.h>

namespace sockecho::report {
namespace {

// netstat's own widths; a longer address pushes the columns right, as netstat does.
std::string columns(const Socket& s, std::string_view state) {
  return fmt::format("{:<5} {:>6} {:>6} {:<19} {:<20} {}", s.proto, s.recv_q, s.send_q, s.local,
                     s.remote, state);
}

std::string seconds(double s) { return fmt::format("{:.3f}s", s); }

std::string tcp_extras(const std::optional<TcpInfo>& t) {
  if (!t) return "";
  return fmt::format(" rtt={:.3f}/{:.3f}ms retrans={} cwnd={}", t->rtt_ms, t->rttvar_ms,
                     t->retransmits, t->cwnd);
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

std::string tls_extras(const std::optional<TlsInfo>& t) {
  if (!t) return "";
  std::string out = fmt::format(" tls={} cipher={} alpn={} sni={}", or_dash(t->version),
                                or_dash(t->cipher), quoted_value(or_dash(t->alpn)),
                                quoted_value(or_dash(t->sni)));
  if (!t->peer.empty()) out += " peer=" + quoted_value(t->peer);
  if (!t->issuer.empty()) out += " issuer=" + quoted_value(t->issuer);
  if (!t->not_after.empty()) out += " not_after=" + t->not_after;
  if (!t->verify.empty()) out += " verify=" + quoted_value(t->verify);
  return out;
}

std::string probe_columns(const ProbeResult& p) {
  return fmt::format("{:<5} {:<23} {:<23} {:<12} ", p.proto, p.local, p.remote, p.state);
}

std::string rtt(const std::optional<double>& ms) {
  return ms ? fmt::format("{:.3f}ms", *ms) : std::string("-");
}

// The RTT column, then under --tls the TLS column and the certificate as key=value extras.
std::string rtt_and_tls(const ProbeResult& p) {
  if (!p.tls) return rtt(p.rtt_ms);
  const TlsCheck& t = *p.tls;
  std::string out = fmt::format("{:<10} {}", rtt(p.rtt_ms), rtt(t.tls_ms));
  auto extra = [&](std::string_view key, const std::string& value) {
    out += fmt::format(" {}={}", key, quoted_value(or_dash(value)));
  };
  extra("tls_version", t.version);
  extra("cipher", t.cipher);
  extra("alpn", t.alpn);
  if (!t.sha256.empty()) {
    extra("subject", t.subject);
    extra("issuer", t.issuer);
    extra("san", fmt::format("{}", fmt::join(t.san, ",")));
    extra("not_before", t.not_before);
    extra("not_after", t.not_after);
    if (t.days_left) out += fmt::format(" days_left={}", *t.days_left);
    extra("sha256", t.sha256);
  }
  extra("verify", t.verify);
  return out;
}

// Always in double quotes, every byte outside printable ASCII as \xNN, '"' and '\' after a
// backslash: a reply may be any bytes, cut anywhere (even inside a UTF-8 sequence).
std::string quoted_bytes(std::string_view bytes) {
  std::string out = "\"";
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e)
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", u);
    else if (c == '"' || c == '\\')
      out += {'\\', c};
    else
      out += c;
  }
  return out + "\"";
}

// What a probe row adds after its RTT: the probe's number, the time to come up, the reply.
std::string probe_extras(const ProbeResult& p) {
  std::string out;
  if (p.show_seq) out += fmt::format(" seq={}", p.seq);
  if (p.up_s) out += " up=" + seconds(*p.up_s);
  if (p.reply) out += " got=" + quoted_bytes(*p.reply) + (p.reply_truncated ? "..." : "");
  return out;
}

std::string tls_stats(const std::optional<RttStats>& t) {
  if (!t || t->received == 0) return "";
  return fmt::format(" tls min/avg/max/stddev={:.3f}/{:.3f}/{:.3f}/{:.3f}ms p50/p90/p99={:.3f}/{:.3f}/{:.3f}ms",
                     t->min, t->avg, t->max, t->stddev, t->p50, t->p90, t->p99);
}

}  // namespace

std::string state_key(std::string_view state) {
  std::string key(state);
  for (char& c : key)
    c = c == '|' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

std::string probe_table_header(bool tls) {
  std::string line = fmt::format("{:<5} {:<23} {:<23} {:<12} ", "Proto", "Local Address",
                                 "Foreign Address", "State");
  return line + (tls ? fmt::format("{:<10} {}", "RTT", "TLS") : "RTT");
}

std::string quoted_value(std::string_view value) {
  if (!value.empty() && value.find_first_of(" \"\\=") == std::string_view::npos)
    return printable(value);
  std::string out = "\"";
  for (char c : printable(value)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string printable(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", u);
    else
      out += c;
  }
  return out;
}

std::string format_netstat(const Event& event) {
  return std::visit(
      Overloaded{
          [](const Listen& e) {
            std::string line = columns(e.socket, "LISTEN");
            return e.sha256.empty() ? line : line + "  sha256=" + e.sha256;
          },
          [](const Established& e) {
            std::string line = columns(e.socket, "ESTABLISHED");
            std::string extras = tls_extras(e.tls) + tcp_extras(e.tcp);
            return extras.empty() ? line : line + " " + extras;
          },
          [](const Closed& e) {
            return fmt::format("{}  rx={} tx={} time={}{}{}{}{}", columns(e.socket, "CLOSED"), e.rx,
                               e.tx, seconds(e.seconds),
                               e.reason.empty() ? "" : " reason=" + e.reason,
                               e.err.empty() ? "" : " err=" + e.err,
                               e.tls_error.empty() ? "" : " tls_error=" + quoted_value(e.tls_error),
                               tcp_extras(e.tcp));
          },
          [](const Refused& e) {
            return fmt::format("{}  reason={}{}", columns(e.socket, "REFUSED"), e.reason,
                               e.err.empty() ? "" : " err=" + e.err);
          },
          [](const Message& e) {
            // The tutorial wraps the peer in brackets: [127.0.0.1:51514]. An IPv6 peer has
            // its own around the address, [::1]:61236, and gets no second pair.
            const std::string peer = e.remote.starts_with('[') ? e.remote : "[" + e.remote + "]";
            return fmt::format("get message from {}: {} -> {}", peer, printable(e.data),
                               printable(e.reply));
          },
          [](const Summary& e) {
            return fmt::format(
                "summary clients={} refused={} rx={} tx={} messages={} errors={} time={}",
                e.clients, e.refused, e.rx, e.tx, e.messages, e.errors, seconds(e.seconds));
          },
          [](const ProbeResult& e) {
            std::string line = probe_columns(e) + rtt_and_tls(e) + probe_extras(e);
            return e.error.empty() ? line : line + " (" + e.error + ")";
          },
          [](const ProbeStats& e) {
            const RttStats& r = e.rtt;
            if (r.received == 0)  // as ping: no round-trip line when nothing came back
              return fmt::format("{}sent={} recv=0 loss={:.1f}%", probe_columns(e.last), r.sent,
                                 r.loss_percent);
            return fmt::format(
                "{}sent={} recv={} loss={:.1f}% min/avg/max/stddev={:.3f}/{:.3f}/{:.3f}/{:.3f}ms "
                "p50/p90/p99={:.3f}/{:.3f}/{:.3f}ms{}",
                probe_columns(e.last), r.sent, r.received, r.loss_percent, r.min, r.avg, r.max,
                r.stddev, r.p50, r.p90, r.p99, tls_stats(e.tls));
          },
          [](const ProbeSummary& e) {
            std::string out;
            for (const auto& [name, addresses] : e.resolved)
              out += fmt::format("{} resolved to {}\n", name, fmt::join(addresses, " "));
            out += fmt::format("summary endpoints={}", e.endpoints);
            for (std::size_t i = 0; i < e.states.size(); ++i) {
              const auto& [state, n] = e.states[i];
              // The first four (open, closed, filtered, unreachable) always; others when seen.
              if (i >= 4 && n == 0) continue;
              out += fmt::format(" {}={}", state_key(state), n);
            }
            return out + " time=" + seconds(e.seconds);
          },
          [](const Data& e) { return format_data_text(e); },
      },
      event);
}

}  // namespace sockecho::report
