#include "report/base64.h"

#include <catch2/catch.hpp>

#include <string>

using sockecho::report::base64;

TEST_CASE("report::base64 encodes the RFC 4648 test vectors") {
  CHECK(base64("") == "");
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(base64("foob") == "Zm9vYg==");
  CHECK(base64("fooba") == "Zm9vYmE=");
  CHECK(base64("foobar") == "Zm9vYmFy");
}

TEST_CASE("report::base64 takes any byte, uses + and /, and breaks no lines") {
  CHECK(base64(std::string("\0", 1)) == "AA==");
  CHECK(base64("\xff") == "/w==");
  CHECK(base64("\xfb\xff\xbf") == "+/+/");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  std::string b = base64(all);
  CHECK(b.size() == 344);
  CHECK(b.find('\n') == std::string::npos);
  CHECK(b.substr(0, 8) == "AAECAwQF");
  CHECK(b.substr(b.size() - 8) == "/P3+/w==");
}
