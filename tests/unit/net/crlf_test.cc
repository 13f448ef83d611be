#include "net/crlf.h"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

using sockecho::net::CrlfEncoder;

namespace {

// Encodes the reads one after the other, as the relay does.
std::string encode(std::vector<std::string_view> reads) {
  CrlfEncoder e;
  std::string out;
  for (std::string_view r : reads) {
    std::string buf(2 * r.size(), '\0');
    buf.resize(e.encode(r, buf.data()));
    out += buf;
  }
  return out;
}

}  // namespace

TEST_CASE("net::CrlfEncoder turns each LF into CRLF") {
  CHECK(encode({"a\nb\n"}) == "a\r\nb\r\n");
  CHECK(encode({"\n\n"}) == "\r\n\r\n");
  CHECK(encode({"no newline"}) == "no newline");
  CHECK(encode({""}) == "");
}

TEST_CASE("net::CrlfEncoder leaves a CRLF already there as one CRLF") {
  CHECK(encode({"a\r\nb\n"}) == "a\r\nb\r\n");
  CHECK(encode({"\r\n\r\n"}) == "\r\n\r\n");
}

TEST_CASE("net::CrlfEncoder keeps a CRLF split across two reads as one") {
  CHECK(encode({"a\r", "\nb\n"}) == "a\r\nb\r\n");
  CHECK(encode({"\r", "", "\n"}) == "\r\n");  // an empty read keeps the state
}

TEST_CASE("net::CrlfEncoder leaves a lone CR and binary bytes alone") {
  CHECK(encode({"a\rb"}) == "a\rb");
  CHECK(encode({"\r", "x\n"}) == "\rx\r\n");
  CHECK(encode({std::string_view("\0\xff\n", 3)}) == std::string("\0\xff\r\n", 4));
  CHECK(encode({"\r\r\n"}) == "\r\r\n");
}
