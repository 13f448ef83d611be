#include "cli/parse.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string>
#include <vector>

using namespace sockecho;
using namespace sockecho::cli;

namespace {

Command parse_args(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"sockecho"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse(static_cast<int>(argv.size()), argv.data());
}

ServeOptions serve(std::initializer_list<const char*> args) {
  return std::get<ServeOptions>(parse_args(args));
}

SendOptions send(std::initializer_list<const char*> args) {
  return std::get<SendOptions>(parse_args(args));
}

std::string usage_error(std::initializer_list<const char*> args) {
  try {
    parse_args(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("cli::parse gives serve its defaults") {
  ServeOptions o = serve({"serve"});
  CHECK(o.port == 48763);
  CHECK(o.bind.empty());
  CHECK(o.transport.type == net::SockType::stream);
  CHECK(o.transport.family == net::Family::any);
  CHECK(o.mode == net::Mode::upper);
  CHECK(o.exit_word == "exit");
  CHECK(o.shutdown_word.empty());
  CHECK(o.backlog == 128);
  CHECK_FALSE(o.reuseport);
}

TEST_CASE("cli::parse reads serve's flags and positional address") {
  ServeOptions o = serve({"serve", "--udp", "-6", "-p", "0", "--mode", "lower", "--exit-word",
                          "bye", "--shutdown-word", "halt", "--max-clients", "3",
                          "--idle-timeout", "250ms", "--once", "--backlog", "16", "-v", "--json"});
  CHECK(o.transport.type == net::SockType::datagram);
  CHECK(o.transport.family == net::Family::v6);
  CHECK(o.port == 0);
  CHECK(o.mode == net::Mode::lower);
  CHECK(o.exit_word == "bye");
  CHECK(o.shutdown_word == "halt");
  CHECK(o.max_clients == 3);
  CHECK(o.idle_timeout == std::chrono::milliseconds(250));
  CHECK(o.once);
  CHECK(o.backlog == 16);
  CHECK(o.verbosity == Verbosity::verbose);
  CHECK(o.json);

  CHECK(serve({"serve", "9000"}).port == 9000);
  ServeOptions a = serve({"serve", "127.0.0.1:9001"});
  CHECK(a.bind == "127.0.0.1");
  CHECK(a.port == 9001);
  ServeOptions b = serve({"serve", "[::1]:9002"});
  CHECK(b.bind == "::1");
  CHECK(b.port == 9002);
  CHECK(serve({"serve", "-b", "::1", "-p", "7"}).bind == "::1");
}

TEST_CASE("cli::parse reads send's target, words and timeouts") {
  SendOptions o = send({"send", "localhost:9000"});
  CHECK(o.host == "localhost");
  CHECK(o.port == 9000);
  CHECK_FALSE(o.words.has_value());
  CHECK_FALSE(o.timeout.has_value());

  SendOptions w = send({"send", "-w", "1.5s", "--connect-timeout", "2s", "[::1]:7", "hello",
                        "world"});
  CHECK(w.host == "::1");
  CHECK(w.port == 7);
  CHECK(w.words == "hello world\n");
  CHECK(w.timeout == std::chrono::milliseconds(1500));
  CHECK(w.connect_timeout == std::chrono::milliseconds(2000));

  CHECK(send({"send", "-p", "1234", "localhost"}).port == 1234);
  CHECK(send({"send", "h:1", "a,b", "c"}).words == "a,b c\n");
  CHECK(send({"send", "localhost"}).port == 48763);
  CHECK(send({"send", "--udp", "--retries", "3", "h:1"}).retries == 3);
  CHECK(send({"send", "--crlf", "h:1"}).crlf);
  CHECK_FALSE(send({"send", "h:1"}).crlf);
  CHECK(usage_error({"send", "--udp", "--crlf", "h:1"}) ==
        "--crlf: goes with a stream only (a datagram is a line without its end)");
}

TEST_CASE("cli::parse answers --help, --version and help SUBCOMMAND") {
  CHECK(std::get<HelpRequest>(parse_args({"--help"})).text.find("serve") != std::string::npos);
  CHECK(std::get<HelpRequest>(parse_args({"--version"})).text.rfind("sockecho ", 0) == 0);
  CHECK(std::get<HelpRequest>(parse_args({"help", "send"})).text.find("--connect-timeout") !=
        std::string::npos);
  CHECK(std::get<HelpRequest>(parse_args({"serve", "--help"})).text.find("--max-clients") !=
        std::string::npos);
}

TEST_CASE("cli::parse turns bad command lines into one-line usage errors") {
  CHECK(usage_error({}) == "missing subcommand: try 'sockecho --help'");
  CHECK(usage_error({"serv"}) == "'serv': unknown subcommand; did you mean 'serve'?");
  CHECK(usage_error({"xyzzy"}) == "'xyzzy': unknown subcommand; try 'sockecho --help'");
  CHECK(usage_error({""}) == "'': unknown subcommand; try 'sockecho --help'");
  CHECK(usage_error({"serve", "127.0.0.1:0", ""}) == "'': unexpected argument (serve takes [[ADDR:]PORT])");
  CHECK(usage_error({"serve", "-p", "70000"}) == "--port '70000': port out of range (0-65535)");
  CHECK(usage_error({"serve", "-p", "abc"}) == "--port 'abc': not a port number or a tcp service name");
  CHECK(usage_error({"serve", "--bogus"}) == "--bogus: unknown option; see 'sockecho serve --help'");
  CHECK(usage_error({"serve", "--mode", "shout"}) ==
        "--mode 'shout': unknown mode (upper, echo, lower, discard)");
  CHECK(usage_error({"serve", "--tcp", "--udp"}) == "--tcp/--udp: pick one");
  CHECK(usage_error({"serve", "-4", "-6"}) == "-4/-6: pick one");
  CHECK(usage_error({"serve", "-v", "-q"}) == "-v/-q: pick one");
  CHECK(usage_error({"serve", "1", "2"}) == "'2': unexpected argument (serve takes [[ADDR:]PORT])");
  CHECK(usage_error({"serve", "--backlog", "0"}) == "--backlog '0': out of range (1-1048576)");
  CHECK(usage_error({"serve", "--max-clients", "-3"}).find("--max-clients") != std::string::npos);
  CHECK(usage_error({"serve", "--idle-timeout", "0"}) == "--idle-timeout '0': must be more than 0");
  CHECK(usage_error({"serve", "--port"}) == "--port: needs a value");
  CHECK(usage_error({"serve", "--once=yes"}) == "'yes': a value given to a flag that takes none");
  CHECK(usage_error({"send"}) == "TARGET: missing (e.g. localhost:48763)");
  CHECK(usage_error({"send", "48763"}) == "TARGET '48763': a port alone; write localhost:48763");
  CHECK(usage_error({"send", "[::1"}) == "TARGET '[::1': missing ']' after IPv6 address");
  CHECK(usage_error({"send", "host:0"}) == "TARGET 'host:0': port 0 cannot be connected to");
  CHECK(usage_error({"send", "-w", "5x", "h:1"}) == "--timeout '5x': unknown unit (use ms, s, m, h or d)");
  CHECK(usage_error({"send", "--retries", "x", "h:1"}) == "--retries 'x': not a whole number");
  CHECK(usage_error({"--verbose"}).find("options go after the subcommand") != std::string::npos);
}

TEST_CASE("cli::parse never puts a non-ASCII quote in a message") {
  for (auto args : {std::initializer_list<const char*>{"serve", "--bogus"},
                    std::initializer_list<const char*>{"send", "--timeout"},
                    std::initializer_list<const char*>{"serve", "--once=1"},
                    std::initializer_list<const char*>{"serve", "-Z"}}) {
    std::string msg = usage_error(args);
    INFO(msg);
    CHECK(std::all_of(msg.begin(), msg.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
  }
}

TEST_CASE("cli::UsageError keeps to one printable ASCII line whatever was typed") {
  CHECK(usage_error({"send", "a\n:x"}) == "TARGET 'a\\x0a:x': not a port number or a tcp service name");
  CHECK(usage_error({"serv\xc3\xa9"}) == "'serv\\xc3\\xa9': unknown subcommand; did you mean 'serve'?");
}

TEST_CASE("cli::suggest_subcommand suggests only near misses") {
  CHECK(suggest_subcommand("serv") == "serve");
  CHECK(suggest_subcommand("sned") == "send");
  CHECK(suggest_subcommand("snd") == "send");
  CHECK(suggest_subcommand("completely-else") == "");
}

TEST_CASE("cli::parse reads --threads and its limits") {
  CHECK(serve({"serve"}).threads == 1);
  CHECK(serve({"serve", "--threads", "4"}).threads == 4);
  CHECK(usage_error({"serve", "--threads", "0"}) == "--threads '0': out of range (1-256)");
  CHECK(usage_error({"serve", "--threads", "2", "--once"}) == "--threads: does not go with --once");
}

TEST_CASE("cli::parse reads repeated --allow and --deny") {
  ServeOptions o = serve({"serve", "--allow", "127.0.0.0/8", "--allow", "::1", "--deny", "127.0.0.2"});
  CHECK_FALSE(o.access.empty());
  CHECK(usage_error({"serve", "--deny", "1.2.3.4/33"}) == "--deny '1.2.3.4/33': prefix length over 32");
  CHECK(usage_error({"serve", "--allow", "localhost"}).rfind("--allow 'localhost': ", 0) == 0);
  CHECK(usage_error({"serve", "--unix", "/tmp/s", "--allow", "::1"}) ==
        "--allow/--deny: do not go with --unix (use --unix-mode)");
}

TEST_CASE("cli::parse reads -b and the positional in one grammar, brackets or not") {
  CHECK(serve({"serve", "-b", "[::1]", "-p", "7"}).bind == "::1");
  CHECK(serve({"serve", "-b", "[fe80::1%lo]"}).bind == "fe80::1%lo");
  CHECK(serve({"serve", "-b", "127.0.0.1"}).bind == "127.0.0.1");
  CHECK(serve({"serve", "[::1]"}).bind == "::1");
  CHECK(serve({"serve", "[::1]"}).port == 48763);
  CHECK(serve({"serve", "::1"}).bind == "::1");
  CHECK(serve({"serve", "::1:0"}).bind == "::1:0");  // an IPv6 address, not ::1 port 0
  ServeOptions both = serve({"serve", "-b", "::1", "[::1]:9"});  // the same address twice
  CHECK(both.bind == "::1");
  CHECK(both.port == 9);
  CHECK(usage_error({"serve", "-b", "127.0.0.1", "[::1]:9"}) == "'[::1]:9': conflicts with --bind 127.0.0.1");
  CHECK(usage_error({"serve", "-b", "127.0.0.1:80"}) ==
        "--bind '127.0.0.1:80': an address alone, without a port, goes here (the port goes in -p)");
  CHECK(usage_error({"serve", "-b", "[::1"}) == "--bind '[::1': missing ']' after IPv6 address");
  CHECK(usage_error({"serve", "-b", "[localhost]"}) == "--bind '[localhost]': only an IPv6 address goes in brackets");
  CHECK(usage_error({"serve", "[::1:0"}) == "address '[::1:0': missing ']' after IPv6 address");
}

TEST_CASE("cli::parse resolves service names for the transport") {
  CHECK(serve({"serve", "-p", "http"}).port == 80);
  CHECK(serve({"serve", "127.0.0.1:ssh"}).port == 22);
  CHECK(serve({"serve", "--udp", "[::1]:tftp"}).port == 69);
  CHECK(send({"send", "localhost:http"}).port == 80);
  CHECK(send({"send", "-p", "www", "localhost"}).port == 80);
  CHECK(send({"send", "--udp", "localhost:domain"}).port == 53);
  CHECK(usage_error({"send", "localhost:tftp"}) == "TARGET 'localhost:tftp': not a port number or a tcp service name");
  CHECK(usage_error({"send", "--udp", "-p", "ssh-nope", "h"}) ==
        "--port 'ssh-nope': not a port number or a udp service name");
  ProbeOptions p = std::get<ProbeOptions>(parse_args({"probe", "localhost:ssh,http,8000-8001"}));
  REQUIRE(p.targets.size() == 1);
  CHECK(p.targets[0].ports == std::vector<std::uint16_t>{22, 80, 8000, 8001});
  CHECK(p.targets[0].text == "localhost:ssh,http,8000-8001");
}

TEST_CASE("cli::parse words port 0 one way, and lets serve have it") {
  CHECK(serve({"serve", "-p", "0"}).port == 0);
  CHECK(serve({"serve", "0"}).port == 0);
  CHECK(serve({"serve", "[::1]:0"}).port == 0);
  const char* why = ": port 0 cannot be connected to";
  CHECK(usage_error({"send", "127.0.0.1:0"}) == std::string("TARGET '127.0.0.1:0'") + why);
  CHECK(usage_error({"send", "-p", "0", "127.0.0.1"}) == std::string("--port '0'") + why);
  CHECK(usage_error({"send", "--udp", "[::1]:0"}) == std::string("TARGET '[::1]:0'") + why);
  CHECK(usage_error({"probe", "127.0.0.1:0"}) == std::string("TARGET '127.0.0.1:0'") + why);
  CHECK(usage_error({"probe", "127.0.0.1:22,0-3"}) == std::string("TARGET '127.0.0.1:22,0-3'") + why);
  CHECK(usage_error({"probe", "-p", "0", "127.0.0.1"}) == std::string("--port '0'") + why);
}

TEST_CASE("cli::parse holds numeric addresses to -4 and -6") {
  CHECK(usage_error({"serve", "-6", "[::ffff:127.0.0.1]:0"}) ==
        "address '[::ffff:127.0.0.1]:0': a v4-mapped address is IPv4, and -6 is IPv6 only; "
        "drop -6, or write 127.0.0.1");
  CHECK(usage_error({"serve", "-4", "-b", "[::1]"}) == "--bind '[::1]': an IPv6 address, and -4 is IPv4 only");
  CHECK(usage_error({"send", "-6", "127.0.0.1:9"}) == "TARGET '127.0.0.1:9': an IPv4 address, and -6 is IPv6 only");
  CHECK(usage_error({"probe", "-4", "[::1]:9"}) == "TARGET '[::1]:9': an IPv6 address, and -4 is IPv4 only");
  CHECK(serve({"serve", "[::ffff:127.0.0.1]:0"}).bind == "::ffff:127.0.0.1");  // no -6: IPv4 on a v6 socket
  CHECK(serve({"serve", "-6", "-b", "localhost"}).bind == "localhost");        // a name resolves for -6
}

TEST_CASE("cli::parse checks --unix paths") {
  CHECK(serve({"serve", "--unix", "/tmp/x.sock"}).bind == "/tmp/x.sock");
  CHECK(send({"send", "--unix", "@abstract"}).host == "@abstract");
  std::string long_path = "/" + std::string(107, 'a');
  CHECK(usage_error({"serve", "--unix", long_path.c_str()}) ==
        "path '" + long_path + "': too long for a Unix socket (at most 107 bytes)");
  CHECK(usage_error({"send", "--unix", ""}) == "TARGET '': empty path");
  CHECK(usage_error({"probe", "--unix", "@"}) == "TARGET '@': empty abstract socket name after '@'");
}

TEST_CASE("cli::parse suggests the long option a typo meant") {
  CHECK(usage_error({"send", "--tiemout", "1s", "h:1"}) == "--tiemout: unknown option; did you mean '--timeout'?");
  CHECK(usage_error({"send", "--tiemout=1s", "h:1"}) == "--tiemout: unknown option; did you mean '--timeout'?");
  CHECK(usage_error({"serve", "--max-client", "3"}) == "--max-client: unknown option; did you mean '--max-clients'?");
  CHECK(usage_error({"probe", "--intervall", "1s", "h:1"}) ==
        "--intervall: unknown option; did you mean '--interval'?");
  CHECK(usage_error({"send", "--once", "h:1"}) == "--once: unknown option; see 'sockecho send --help'");
  CHECK(usage_error({"send", "-Z", "h:1"}) == "-Z: unknown option; see 'sockecho send --help'");
}

TEST_CASE("cli::suggest_option suggests only near misses among the subcommand's long options") {
  CHECK(suggest_option("send", "--tiemout") == "--timeout");
  CHECK(suggest_option("send", "--conect-timeout") == "--connect-timeout");
  CHECK(suggest_option("serve", "--exitword") == "--exit-word");
  CHECK(suggest_option("serve", "--reuse") == "--reuseport");
  CHECK(suggest_option("probe", "--jsno") == "--json");
  CHECK(suggest_option("send", "--frobnicate") == "");
  CHECK(suggest_option("send", "-t") == "");   // one letter is no clue
  CHECK(suggest_option("send", "--args") == "");  // the positional holder is not an option
  CHECK(suggest_option("nosuch", "--timeout") == "");
}

namespace {

ProbeOptions probe(std::initializer_list<const char*> args) {
  return std::get<ProbeOptions>(parse_args(args));
}

const char* const k_pin = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
                          "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

net::Fingerprint abcd() {
  net::Fingerprint fp{};
  const std::uint8_t bytes[] = {0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89};
  for (std::size_t i = 0; i < fp.size(); ++i) fp[i] = bytes[i % 8];
  return fp;
}

}  // namespace

TEST_CASE("cli::parse leaves TLS off with its defaults") {
  for (const net::TlsConfig& tls :
       {serve({"serve"}).tls, send({"send", "h:1"}).tls, probe({"probe", "h:1"}).tls}) {
    CHECK_FALSE(tls.enabled);
    CHECK(tls.cert_file.empty());
    CHECK(tls.key_file.empty());
    CHECK(tls.ca_file.empty());
    CHECK(tls.alpn.empty());
    CHECK(tls.min_version == net::TlsVersion::v1_2);
    CHECK(tls.servername.empty());
    CHECK_FALSE(tls.insecure);
    CHECK_FALSE(tls.pin.has_value());
    CHECK(tls.handshake_timeout == std::chrono::seconds(10));
  }
  CHECK_FALSE(probe({"probe", "h:1"}).warn_expiry.has_value());
}

TEST_CASE("cli::parse reads serve's TLS flags") {
  ServeOptions o = serve({"serve", "--tls", "--cert", "c.pem", "--key", "k.pem", "--cafile",
                          "ca.pem", "--alpn", "h2,http/1.1", "--tls-min", "1.3",
                          "--handshake-timeout", "2.5s", "-p", "8443"});
  CHECK(o.tls.enabled);
  CHECK(o.tls.cert_file == "c.pem");
  CHECK(o.tls.key_file == "k.pem");
  CHECK(o.tls.ca_file == "ca.pem");
  CHECK(o.tls.alpn == std::vector<std::string>{"h2", "http/1.1"});
  CHECK(o.tls.min_version == net::TlsVersion::v1_3);
  CHECK(o.tls.handshake_timeout == std::chrono::milliseconds(2500));
  CHECK(o.port == 8443);

  CHECK(serve({"serve", "--tls"}).tls.enabled);                       // a generated certificate
  CHECK(serve({"serve", "--tls", "--unix", "/tmp/s"}).tls.enabled);  // Unix stream is a stream
  CHECK(serve({"serve", "--tls", "--cert", "both.pem", "--key", "both.pem"}).tls.key_file ==
        "both.pem");
  CHECK(serve({"serve", "--tls", "--tls-min=TLSv1.2"}).tls.min_version == net::TlsVersion::v1_2);
  CHECK(serve({"serve", "--tls", "--handshake-timeout", "1m"}).tls.handshake_timeout ==
        std::chrono::minutes(1));
}

TEST_CASE("cli::parse reads send's TLS flags") {
  SendOptions o = send({"send", "--tls", "--cafile", "ca.pem", "--servername", "example.org",
                        "--cert", "me.pem", "--key", "me.key", "--alpn", "h2", "--tls-min",
                        "TLSv1.3", "localhost:8443"});
  CHECK(o.tls.enabled);
  CHECK(o.tls.ca_file == "ca.pem");
  CHECK(o.tls.servername == "example.org");
  CHECK(o.tls.cert_file == "me.pem");
  CHECK(o.tls.key_file == "me.key");
  CHECK(o.tls.alpn == std::vector<std::string>{"h2"});
  CHECK(o.tls.min_version == net::TlsVersion::v1_3);
  CHECK_FALSE(o.tls.insecure);
  CHECK_FALSE(o.tls.pin);

  CHECK(send({"send", "--tls", "-k", "h:1"}).tls.insecure);
  CHECK(send({"send", "--tls", "--insecure", "h:1"}).tls.insecure);
  CHECK(send({"send", "--tls", "--pin", k_pin, "h:1"}).tls.pin == abcd());
  CHECK(send({"send", "--tls", "--unix", "/tmp/s"}).tls.enabled);
}

TEST_CASE("cli::parse reads --pin as serve prints it, and as people paste it") {
  const std::string bare = [] {
    std::string s = k_pin;
    s.erase(std::remove(s.begin(), s.end(), ':'), s.end());
    return s;
  }();
  std::string lower = bare;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const std::string& text : {std::string(k_pin), bare, lower, "sha256=" + std::string(k_pin),
                                  "sha256:" + bare, "SHA256=" + lower}) {
    INFO(text);
    CHECK(send({"send", "--tls", "--pin", text.c_str(), "h:1"}).tls.pin == abcd());
    CHECK(probe({"probe", "--tls", "--pin", text.c_str(), "h:1"}).tls.pin == abcd());
  }
  const char* why = ": not a SHA-256 fingerprint (64 hex digits, colons optional)";
  CHECK(usage_error({"send", "--tls", "--pin", "xyz", "h:1"}) == std::string("--pin 'xyz'") + why);
  CHECK(usage_error({"send", "--tls", "--pin", "", "h:1"}) == std::string("--pin ''") + why);
  std::string short_pin = bare.substr(2);
  CHECK(usage_error({"probe", "--tls", "--pin", short_pin.c_str(), "h:1"}) ==
        "--pin '" + short_pin + "'" + why);
  std::string sha1_prefixed = "sha1=" + bare;
  CHECK(usage_error({"send", "--tls", "--pin", sha1_prefixed.c_str(), "h:1"}) ==
        "--pin '" + sha1_prefixed + "'" + why);
}

TEST_CASE("cli::parse reads probe's TLS flags and --warn-expiry") {
  ProbeOptions o = probe({"probe", "--tls", "--warn-expiry", "21d", "-k", "--servername",
                          "example.org", "example.org:443"});
  CHECK(o.tls.enabled);
  CHECK(o.tls.insecure);
  CHECK(o.tls.servername == "example.org");
  CHECK(o.warn_expiry == std::chrono::hours(21 * 24));
  CHECK(probe({"probe", "--tls", "--warn-expiry", "1.5d", "h:1"}).warn_expiry ==
        std::chrono::hours(36));
  CHECK(probe({"probe", "--tls", "--warn-expiry", "0", "h:1"}).warn_expiry ==
        std::chrono::milliseconds(0));  // EXPIRING only when already expired
  CHECK(usage_error({"probe", "--tls", "--warn-expiry", "3w", "h:1"}) ==
        "--warn-expiry '3w': unknown unit (use ms, s, m, h or d)");
  CHECK(usage_error({"probe", "--tls", "--warn-expiry", "400d", "h:1"}) ==
        "--warn-expiry '400d': duration too long");
}

TEST_CASE("cli::parse checks the values of the TLS flags") {
  CHECK(usage_error({"serve", "--tls", "--alpn", ""}) == "--alpn '': empty list (e.g. h2,http/1.1)");
  CHECK(usage_error({"serve", "--tls", "--alpn", "h2,"}) ==
        "--alpn 'h2,': an empty protocol name in the list");
  CHECK(usage_error({"send", "--tls", "--alpn", "h2,h2", "h:1"}) == "--alpn 'h2,h2': 'h2' named twice");
  std::string long_alpn = std::string(256, 'x');
  CHECK(usage_error({"send", "--tls", "--alpn", long_alpn.c_str(), "h:1"}) ==
        "--alpn '" + long_alpn + "': a protocol name longer than 255 bytes");
  CHECK(usage_error({"serve", "--tls", "--tls-min", "1.1"}) ==
        "--tls-min '1.1': TLS 1.0 and 1.1 are not offered (1.2 or 1.3)");
  CHECK(usage_error({"probe", "--tls", "--tls-min", "1.4", "h:1"}) ==
        "--tls-min '1.4': not a TLS version (1.2 or 1.3)");
  CHECK(usage_error({"serve", "--tls", "--handshake-timeout", "0"}) ==
        "--handshake-timeout '0': must be more than 0");
  CHECK(usage_error({"serve", "--tls", "--handshake-timeout", "soon"}).rfind(
            "--handshake-timeout 'soon': ", 0) == 0);
  CHECK(usage_error({"send", "--tls", "--servername", "", "h:1"}) == "--servername '': empty host name");
  CHECK(usage_error({"send", "--tls", "--servername", "127.0.0.1", "h:1"}) ==
        "--servername '127.0.0.1': an IP address, not a host name (to check an address, put it "
        "in TARGET)");
  CHECK(usage_error({"probe", "--tls", "--servername", "a..b", "h:1"}) ==
        "--servername 'a..b': not a host name (an empty label)");
  CHECK(usage_error({"serve", "--tls", "--cert", "", "--key", "k"}) == "--cert '': empty file name");
  CHECK(usage_error({"send", "--tls", "--cafile", "", "h:1"}) == "--cafile '': empty file name");
  CHECK(usage_error({"send", "--tls", "--pin"}) == "--pin: needs a value");
}

TEST_CASE("cli::parse holds every TLS flag to --tls") {
  const char* why = ": goes with --tls only";
  auto check = [&](std::initializer_list<const char*> args, const std::string& flag) {
    INFO(flag);
    CHECK(usage_error(args) == flag + why);
  };
  check({"serve", "--cert", "c", "--key", "k"}, "--cert");
  check({"serve", "--key", "k"}, "--key");
  check({"serve", "--cafile", "ca"}, "--cafile");
  check({"serve", "--alpn", "h2"}, "--alpn");
  check({"serve", "--tls-min", "1.2"}, "--tls-min");  // the default value, still a mistake
  check({"serve", "--handshake-timeout", "10s"}, "--handshake-timeout");
  check({"send", "--cafile", "ca", "h:1"}, "--cafile");
  check({"send", "--servername", "example.org", "h:1"}, "--servername");
  check({"send", "-k", "h:1"}, "--insecure");
  check({"send", "--insecure", "h:1"}, "--insecure");
  check({"send", "--pin", k_pin, "h:1"}, "--pin");
  check({"send", "--cert", "c", "--key", "k", "h:1"}, "--cert");
  check({"send", "--key", "k", "h:1"}, "--key");
  check({"send", "--alpn", "h2", "h:1"}, "--alpn");
  check({"send", "--tls-min", "1.3", "h:1"}, "--tls-min");
  check({"probe", "--cafile", "ca", "h:1"}, "--cafile");
  check({"probe", "--servername", "x.org", "h:1"}, "--servername");
  check({"probe", "-k", "h:1"}, "--insecure");
  check({"probe", "--pin", k_pin, "h:1"}, "--pin");
  check({"probe", "--cert", "c", "h:1"}, "--cert");
  check({"probe", "--key", "k", "h:1"}, "--key");
  check({"probe", "--alpn", "h2", "h:1"}, "--alpn");
  check({"probe", "--tls-min", "1.3", "h:1"}, "--tls-min");
  check({"probe", "--warn-expiry", "21d", "h:1"}, "--warn-expiry");
  // Checked before the value: the missing --tls is the mistake to name.
  check({"send", "--pin", "xyz", "h:1"}, "--pin");
}

TEST_CASE("cli::parse applies the TLS rules between flags") {
  CHECK(usage_error({"serve", "--tls", "--udp"}) == "--tls: does not go with --udp (TLS runs over a stream)");
  CHECK(usage_error({"serve", "--tls", "--unix", "--udp", "/tmp/s"}) ==
        "--tls: does not go with --udp (TLS runs over a stream)");
  CHECK(usage_error({"send", "--tls", "--udp", "h:1"}) == "--tls: does not go with --udp (TLS runs over a stream)");
  CHECK(usage_error({"probe", "--tls", "--udp", "h:1"}) == "--tls: does not go with --udp (TLS runs over a stream)");
  CHECK(usage_error({"send", "--tls", "--retries", "2", "h:1"}) ==
        "--retries: goes with --udp only (a stream resends by itself)");
  CHECK(usage_error({"serve", "--tls", "--cert", "c.pem"}) ==
        "--cert: needs --key too (a key in the certificate file: name it twice)");
  CHECK(usage_error({"serve", "--tls", "--key", "k.pem"}) == "--key: needs --cert too");
  CHECK(usage_error({"send", "--tls", "--cert", "c.pem", "h:1"}) ==
        "--cert: needs --key too (a key in the certificate file: name it twice)");
  CHECK(usage_error({"probe", "--tls", "--key", "k.pem", "h:1"}) == "--key: needs --cert too");
  CHECK(usage_error({"send", "--tls", "-k", "--pin", k_pin, "h:1"}) ==
        "--pin/-k: pick one (--pin accepts one certificate, -k any)");
  CHECK(usage_error({"probe", "--tls", "--pin", k_pin, "--insecure", "h:1"}) ==
        "--pin/-k: pick one (--pin accepts one certificate, -k any)");
  CHECK(usage_error({"send", "--tls", "-k", "--cafile", "ca.pem", "h:1"}) ==
        "--cafile: does not go with -k (nothing is verified)");
  CHECK(usage_error({"probe", "--tls", "--pin", k_pin, "--cafile", "ca.pem", "h:1"}) ==
        "--cafile: does not go with --pin (the fingerprint is the whole check)");
  // The subcommand's own table decides what exists: these are not serve's.
  CHECK(usage_error({"serve", "--tls", "-k"}) == "-k: unknown option; see 'sockecho serve --help'");
  CHECK(usage_error({"serve", "--tls", "--pin", k_pin}).rfind("--pin: unknown option", 0) == 0);
  CHECK(usage_error({"send", "--tls", "--warn-expiry", "1d", "h:1"}).rfind(
            "--warn-expiry: unknown option", 0) == 0);
  CHECK(usage_error({"send", "--tls", "--handshake-timeout", "1s", "h:1"}).rfind(
            "--handshake-timeout: unknown option", 0) == 0);
}

TEST_CASE("cli::parse lists the TLS flags in each subcommand's help") {
  auto help = [](const char* sub) { return std::get<HelpRequest>(parse_args({"help", sub})).text; };
  for (const char* flag : {"--tls ", "--cert FILE", "--key FILE", "--cafile FILE", "--alpn LIST",
                           "--tls-min VERSION", "--handshake-timeout DUR", "TLS options"}) {
    INFO(flag);
    CHECK(help("serve").find(flag) != std::string::npos);
  }
  for (const char* sub : {"send", "probe"})
    for (const char* flag : {"--tls ", "--cafile FILE", "--servername NAME", "-k, --insecure",
                             "--pin SHA256", "--cert FILE", "--key FILE", "--alpn LIST",
                             "--tls-min VERSION"}) {
      INFO(sub << " " << flag);
      CHECK(help(sub).find(flag) != std::string::npos);
    }
  CHECK(help("probe").find("--warn-expiry DUR") != std::string::npos);
  CHECK(help("send").find("--warn-expiry") == std::string::npos);
  CHECK(help("serve").find("--servername") == std::string::npos);
}

TEST_CASE("cli::parse reads probe --wait, with a shorter default --interval") {
  using namespace std::chrono_literals;
  ProbeOptions o = probe({"probe", "--wait", "30s", "db:5432"});
  CHECK(o.wait == 30s);
  CHECK(o.interval == 250ms);
  CHECK(o.count == 1);
  CHECK(probe({"probe", "--interval", "2s", "--wait", "1m", "h:1"}).interval == 2s);  // given: it wins
  CHECK(probe({"probe", "h:1"}).interval == 1s);
  CHECK_FALSE(probe({"probe", "h:1"}).wait.has_value());
  CHECK(usage_error({"probe", "--wait", "5s", "--count", "3", "h:1"}) ==
        "--wait: does not go with --count (it probes until each endpoint is up)");
  CHECK(usage_error({"probe", "-c", "1", "--wait", "5s", "h:1"}) ==
        "--wait: does not go with --count (it probes until each endpoint is up)");
  CHECK(usage_error({"probe", "--wait", "0", "h:1"}) == "--wait '0': must be more than 0");
  CHECK(usage_error({"probe", "--wait", "soon", "h:1"}).rfind("--wait 'soon': ", 0) == 0);
  CHECK(usage_error({"probe", "--wait", "5s", "-i", "0", "h:1"}) ==
        "--interval: must be more than 0 with --wait");
}

TEST_CASE("cli::parse: --expect implies --echo, and says so in --help") {
  ProbeOptions o = probe({"probe", "--expect", "PONG", "h:1"});
  CHECK(o.echo);
  CHECK(o.expect == "PONG");
  CHECK_FALSE(probe({"probe", "h:1"}).echo);
  std::string help = std::get<HelpRequest>(parse_args({"help", "probe"})).text;
  CHECK(help.find("(implies --echo)") != std::string::npos);
}

TEST_CASE("cli::parse reads -s/--source for send and probe") {
  SendOptions s = send({"send", "-s", "127.0.0.2", "127.0.0.1:80"});
  REQUIRE(s.source.has_value());
  CHECK(s.source->host == "127.0.0.2");
  CHECK(s.source->port == 0);
  s = send({"send", "--source", "[::1]:5000", "[::1]:80"});
  CHECK((s.source->host == "::1" && s.source->port == 5000));
  s = send({"send", "--udp", "--source=::1", "localhost:53"});  // a bare IPv6 address takes no port
  CHECK((s.source->host == "::1" && s.source->port == 0));
  CHECK_FALSE(send({"send", "h:1"}).source.has_value());
  ProbeOptions p = probe({"probe", "-s", "127.0.0.3:5000", "127.0.0.1:80"});
  CHECK((p.source->host == "127.0.0.3" && p.source->port == 5000));
  p = probe({"probe", "-s", "localhost", "127.0.0.1:80-90", "h:22"});  // any port: many endpoints
  CHECK(p.source->host == "localhost");
}

TEST_CASE("cli::parse refuses a --source that cannot work") {
  CHECK(usage_error({"send", "-s", "::1", "127.0.0.1:80"}) ==
        "--source '::1': an IPv6 address, and TARGET '127.0.0.1:80' is IPv4");
  CHECK(usage_error({"probe", "-s", "127.0.0.2", "h:1", "[::1]:80"}) ==
        "--source '127.0.0.2': an IPv4 address, and TARGET '[::1]:80' is IPv6");
  CHECK(usage_error({"send", "-s", "::ffff:127.0.0.2", "127.0.0.1:80"}) ==
        "--source '::ffff:127.0.0.2': an IPv6 address, and TARGET '127.0.0.1:80' is IPv4");
  CHECK(usage_error({"send", "-6", "-s", "127.0.0.2", "h:80"}) ==
        "--source '127.0.0.2': an IPv4 address, and -6 is IPv6 only");
  CHECK(usage_error({"send", "--unix", "-s", "127.0.0.2", "/tmp/s"}) ==
        "--source '127.0.0.2': does not go with --unix (a path has no local address)");
  CHECK(usage_error({"probe", "--unix", "-s", "x", "/tmp/s"}) ==
        "--source 'x': does not go with --unix (a path has no local address)");
  CHECK(usage_error({"send", "-s", "127.0.0.2:99999", "h:80"}).rfind("--source '127.0.0.2:99999': ", 0) == 0);
  CHECK(usage_error({"send", "-s", "", "h:80"}).rfind("--source '': ", 0) == 0);
  const std::string fixed =
      "--source: a fixed local port serves one endpoint at a time; probe one port, or leave the "
      "port out";
  CHECK(usage_error({"probe", "-s", "127.0.0.3:5000", "127.0.0.1:80,81"}) == fixed);
  CHECK(usage_error({"probe", "-s", "127.0.0.3:5000", "127.0.0.1:80", "127.0.0.1:81"}) == fixed);
}
