#include "net/transform.h"

#include <catch2/catch.hpp>

#include <string>

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
