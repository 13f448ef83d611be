#include "net/transform.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <string_view>

using sockecho::net::apply_mode;
using sockecho::net::is_word;
using sockecho::net::Mode;
using sockecho::net::WordHit;
using sockecho::net::WordWatcher;

namespace {

std::string transformed(Mode mode, std::string s) {
  apply_mode(mode, s);
  return s;
}

// A message as the tutorial's C clients send it: one 1024-byte buffer, NUL-padded.
std::string padded(std::string_view message) {
  std::string buf(message);
  buf.resize(1024, '\0');
  return buf;
}

// Feeds data one byte per read; the index of the byte whose read hit, or npos. Every
// read before the hit must be kept whole, the hit's read dropped.
std::size_t hit_at_byte(WordWatcher& w, std::string_view data, WordHit* hit = nullptr) {
  bool keeps_right = true;
  std::size_t at = std::string_view::npos;
  for (std::size_t i = 0; i < data.size() && at == std::string_view::npos; ++i) {
    WordWatcher::Verdict v = w.scan(data.substr(i, 1));
    if (v.hit != WordHit::none) {
      if (hit) *hit = v.hit;
      at = i;
    }
    keeps_right = keeps_right && v.keep == (v.hit == WordHit::none ? 1 : 0);
  }
  CHECK(keeps_right);
  return at;
}

}  // namespace

TEST_CASE("net::apply upper-cases only ASCII letters") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  std::string out = transformed(Mode::upper, all);
  for (int i = 0; i < 256; ++i) {
    char expect = (i >= 'a' && i <= 'z') ? static_cast<char>(i - 32) : static_cast<char>(i);
    REQUIRE(out[static_cast<std::size_t>(i)] == expect);
  }
  CHECK(transformed(Mode::upper, "h\xC3\xA9llo\0x") == std::string("H\xC3\xA9LLO\0X"));
}

TEST_CASE("net::apply lower-cases, echoes and discards") {
  CHECK(transformed(Mode::lower, "HeLLo 42 Z[") == "hello 42 z[");
  CHECK(transformed(Mode::echo, "HeLLo") == "HeLLo");
  CHECK(transformed(Mode::discard, "HeLLo") == "HeLLo");
}

TEST_CASE("net::is_word strips CR, LF and NUL padding") {
  CHECK(is_word("exit", "exit"));
  CHECK(is_word("exit\n", "exit"));
  CHECK(is_word("exit\r\n", "exit"));
  std::string padded = "exit";
  padded.resize(1024, '\0');
  CHECK(is_word(padded, "exit"));
  CHECK(is_word(std::string("\0\0exit\n", 7), "exit"));
  CHECK_FALSE(is_word("exits", "exit"));
  CHECK_FALSE(is_word(" exit", "exit"));
  CHECK_FALSE(is_word("EXIT", "exit"));
  CHECK_FALSE(is_word("", ""));
  CHECK_FALSE(is_word("exit", ""));
}

TEST_CASE("net::WordWatcher finds the exit word on its own line") {
  WordWatcher w("exit", "");
  auto v = w.scan("hello\nexit\nmore\n");
  CHECK(v.keep == 6);
  CHECK(v.hit == WordHit::exit_word);
}

TEST_CASE("net::WordWatcher finds a word split across reads") {
  WordWatcher w("exit", "");
  auto a = w.scan("hello\nex");
  CHECK(a.keep == 8);
  CHECK(a.hit == WordHit::none);
  auto b = w.scan("it\n");
  CHECK(b.keep == 0);
  CHECK(b.hit == WordHit::exit_word);
}

TEST_CASE("net::WordWatcher takes a read with no newline as a message") {
  WordWatcher w("exit", "stop");
  CHECK(w.scan("exit").hit == WordHit::exit_word);
  WordWatcher s("exit", "stop");
  CHECK(s.scan("stop\r\n").hit == WordHit::shutdown_word);
}

TEST_CASE("net::WordWatcher sees through the tutorial client's NUL-padded buffers") {
  WordWatcher w("exit", "");
  std::string hello = "hello\n";
  hello.resize(1024, '\0');
  CHECK(w.scan(hello).hit == WordHit::none);
  std::string bye = "exit\n";
  bye.resize(1024, '\0');
  auto v = w.scan(bye);
  CHECK(v.hit == WordHit::exit_word);
  CHECK(v.keep == 0);
}

TEST_CASE("net::WordWatcher ignores words inside longer lines") {
  WordWatcher w("exit", "");
  CHECK(w.scan("exit now\n").hit == WordHit::none);
  CHECK(w.scan("please exit\n").hit == WordHit::none);
  std::string big(10000, 'x');
  CHECK(w.scan(big).hit == WordHit::none);
  CHECK(w.scan("exit\n").hit == WordHit::none);  // still the same long line
  CHECK(w.scan("exit\n").hit == WordHit::exit_word);
}

TEST_CASE("net::WordWatcher with no words passes everything") {
  WordWatcher w("", "");
  auto v = w.scan("exit\n");
  CHECK(v.keep == 5);
  CHECK(v.hit == WordHit::none);
}

TEST_CASE("net::WordWatcher takes each send of the Python tutorial client as a message") {
  WordWatcher w("exit", "");
  auto a = w.scan("hello");
  CHECK(a.keep == 5);
  CHECK(a.hit == WordHit::none);
  auto b = w.scan("exit");  // the line so far is "helloexit", but the read alone is the word
  CHECK(b.keep == 0);
  CHECK(b.hit == WordHit::exit_word);
}

TEST_CASE("net::WordWatcher sees the C tutorial client's NUL-padded buffers without a newline") {
  WordWatcher w("exit", "");
  CHECK(w.scan(padded("hello")).hit == WordHit::none);
  auto v = w.scan(padded("exit"));
  CHECK(v.keep == 0);
  CHECK(v.hit == WordHit::exit_word);
}

TEST_CASE("net::WordWatcher finds the word on a line in a read of its own") {
  WordWatcher w("exit", "");
  CHECK(w.scan("hello\n").hit == WordHit::none);
  auto v = w.scan("exit\n");
  CHECK(v.keep == 0);
  CHECK(v.hit == WordHit::exit_word);
  WordWatcher crlf("exit", "");
  CHECK(crlf.scan("hello\r\n").hit == WordHit::none);
  CHECK(crlf.scan("exit\r\n").hit == WordHit::exit_word);
}

TEST_CASE("net::WordWatcher looks at each line and the trailing piece of a read") {
  WordWatcher w("exit", "");
  auto v = w.scan("hello\nworld\nexit");
  CHECK(v.keep == 12);
  CHECK(v.hit == WordHit::exit_word);
  WordWatcher cr("exit", "");
  CHECK(cr.scan("a\nb\nexit\r").keep == 4);
  WordWatcher piece("exit", "");
  CHECK(piece.scan("hello\nexit now").hit == WordHit::none);
  CHECK(piece.scan("\n").hit == WordHit::none);
  WordWatcher split("exit", "");
  CHECK(split.scan("hello\nworld\ne").hit == WordHit::none);
  auto s = split.scan("xit\nmore\n");  // the line began in the read before
  CHECK(s.keep == 0);
  CHECK(s.hit == WordHit::exit_word);
}

TEST_CASE("net::WordWatcher looks at a read with no newline that ends an earlier partial line") {
  SECTION("the line so far is the word") {
    WordWatcher w("exit", "");
    CHECK(w.scan("ex").hit == WordHit::none);
    auto v = w.scan("it");
    CHECK(v.keep == 0);
    CHECK(v.hit == WordHit::exit_word);
  }
  SECTION("the read alone is the word") {
    WordWatcher w("exit", "");
    CHECK(w.scan("say ").hit == WordHit::none);
    CHECK(w.scan("exit").hit == WordHit::exit_word);
  }
  SECTION("neither is") {
    WordWatcher w("exit", "");
    CHECK(w.scan("xex").hit == WordHit::none);
    CHECK(w.scan("it").hit == WordHit::none);  // "xexit" and "it"
    CHECK(w.scan("\n").hit == WordHit::none);
  }
  SECTION("a read with a newline is only looked at line by line") {
    WordWatcher w("exit", "");
    CHECK(w.scan("hello").hit == WordHit::none);
    CHECK(w.scan("exit\n").hit == WordHit::none);  // the line "helloexit"
    CHECK(w.scan("exit\n").hit == WordHit::exit_word);
  }
}

TEST_CASE("net::WordWatcher skips the NUL padding after a newline in one read") {
  SECTION("the next buffer has a newline: its line's leading NULs are padding") {
    WordWatcher w("exit", "");
    CHECK(w.scan(padded("hello\n")).hit == WordHit::none);
    CHECK(w.scan(std::string("\0\0exit\n", 7)).hit == WordHit::exit_word);
  }
  SECTION("the next read has no newline") {
    WordWatcher w("exit", "");
    CHECK(w.scan(padded("hello\n")).hit == WordHit::none);
    CHECK(w.scan("exit").hit == WordHit::exit_word);
  }
  SECTION("the word with its padding, all in one read after a line") {
    WordWatcher w("exit", "");
    std::string buf = padded("hello\n");
    buf += padded("exit\n");
    auto v = w.scan(buf);
    CHECK(v.keep == 6);  // the first buffer's padding is the word's line's leading NULs
    CHECK(v.hit == WordHit::exit_word);
  }
  SECTION("padding alone is no message") {
    WordWatcher w("exit", "");
    CHECK(w.scan(padded("hello\n")).hit == WordHit::none);
    CHECK(w.scan(std::string(1024, '\0')).hit == WordHit::none);
    CHECK(w.scan(padded("\n")).hit == WordHit::none);
  }
}

TEST_CASE("net::WordWatcher does not see the word inside a longer line, whole or byte by byte") {
  for (std::string_view line : {"xexit\n", "exit now\n", "exitexit\n", "ex it\n", "exi\n"}) {
    WordWatcher whole("exit", "");
    CHECK(whole.scan(line).hit == WordHit::none);
  }
  // One byte per read, a line that does not begin with the word is never it. One that
  // does is the word as soon as its 't' arrives: the server cannot wait to see whether
  // more follows, as the tutorial's clients send no newline.
  for (std::string_view line : {"xexit\n", "ex it\n", "exi\n", "\rexit\n"}) {
    WordWatcher bytes("exit", "");
    CHECK(hit_at_byte(bytes, line) == std::string_view::npos);
  }
  WordWatcher early("exit", "");
  CHECK(hit_at_byte(early, "exit now\n") == 3);
}

TEST_CASE("net::WordWatcher finds a word sent one byte per read") {
  WordWatcher w("exit", "");
  CHECK(hit_at_byte(w, "hello\n") == std::string_view::npos);
  CHECK(hit_at_byte(w, "exit\n") == 3);  // at the 't': the line so far is the word
  WordWatcher s("exit", "stop");
  WordHit hit = WordHit::none;
  CHECK(hit_at_byte(s, std::string("\0\0stop\r\n", 8), &hit) == 5);
  CHECK(hit == WordHit::shutdown_word);
}

TEST_CASE("net::WordWatcher takes a line of any length that strips to the word") {
  WordWatcher w("exit", "");
  std::string line(100000, '\0');  // far more padding than any fixed buffer
  line += "exit";
  line.append(100000, '\0');
  line += "\r\n";
  auto v = w.scan(line);
  CHECK(v.keep == 0);
  CHECK(v.hit == WordHit::exit_word);
  WordWatcher x("exit", "");
  CHECK(x.scan(std::string(10000, 'x')).hit == WordHit::none);
  CHECK(x.scan("exit").hit == WordHit::exit_word);  // a read with no newline, on its own
}

TEST_CASE("net::WordWatcher costs linear time for a 1 MiB line sent one byte per read") {
  // Before, each read re-stripped the line so far: a 4 KiB NUL line cost ~8M byte steps.
  WordWatcher w("exit", "");
  std::string line(1 << 20, '\0');
  line += "exit";
  auto start = std::chrono::steady_clock::now();
  std::size_t at = hit_at_byte(w, line);
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(at == line.size() - 1);
  CHECK(elapsed < std::chrono::seconds(1));
}

TEST_CASE("net::WordWatcher lets the exit word win over the shutdown word") {
  WordWatcher a("exit", "it");
  CHECK(a.scan("ex").hit == WordHit::none);
  CHECK(a.scan("it").hit == WordHit::exit_word);  // line "exit", read "it"
  WordWatcher b("it", "exit");
  CHECK(b.scan("ex").hit == WordHit::none);
  CHECK(b.scan("it").hit == WordHit::exit_word);  // line "exit" is the shutdown word
  WordWatcher c("it", "exit");
  CHECK(c.scan("exit\n").hit == WordHit::shutdown_word);
}

TEST_CASE("net::WordWatcher never matches a word no message can strip to") {
  WordWatcher w("exit\r", "");
  CHECK(w.scan("exit\r").hit == WordHit::none);
  CHECK(w.scan("exit\r\n").hit == WordHit::none);
  CHECK_FALSE(is_word("exit\r", "exit\r"));
}
