#include "report/hexdump.h"

#include "report/json_format.h"
#include "report/timestamp.h"

#include <catch2/catch.hpp>

#include <string>

using namespace sockecho::report;

namespace {

std::string bytes_0_to(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>(i);
  return s;
}

}  // namespace

// The expected text is what `hexdump -C -v` (util-linux) printed for the same bytes, its
// closing offset line taken off.
TEST_CASE("report::hexdump is hexdump -C's layout for 0, 1, 8, 15, 16 and 17 bytes") {
  CHECK(hexdump("") == "");
  CHECK(hexdump("A") == "00000000  41                                                |A|\n");
  CHECK(hexdump(std::string(8, '\0')) ==
        "00000000  00 00 00 00 00 00 00 00                           |........|\n");
  CHECK(hexdump("0123456789abcde") ==
        "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65     |0123456789abcde|\n");
  CHECK(hexdump("0123456789abcdef") ==
        "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n");
  CHECK(hexdump("0123456789abcdefg") ==
        "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n"
        "00000010  67                                                |g|\n");
}

TEST_CASE("report::hexdump is hexdump -C's layout for 100 bytes and for binary") {
  CHECK(hexdump(bytes_0_to(100)) ==
        "00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|\n"
        "00000010  10 11 12 13 14 15 16 17  18 19 1a 1b 1c 1d 1e 1f  |................|\n"
        "00000020  20 21 22 23 24 25 26 27  28 29 2a 2b 2c 2d 2e 2f  | !\"#$%&'()*+,-./|\n"
        "00000030  30 31 32 33 34 35 36 37  38 39 3a 3b 3c 3d 3e 3f  |0123456789:;<=>?|\n"
        "00000040  40 41 42 43 44 45 46 47  48 49 4a 4b 4c 4d 4e 4f  |@ABCDEFGHIJKLMNO|\n"
        "00000050  50 51 52 53 54 55 56 57  58 59 5a 5b 5c 5d 5e 5f  |PQRSTUVWXYZ[\\]^_|\n"
        "00000060  60 61 62 63                                       |`abc|\n");
  std::string binary;
  for (int i = 0; i < 3; ++i) binary += std::string("\x00\x7f\x80\xff\x1f\x20\x7e\x0a\x0d\x09", 10);
  CHECK(hexdump(binary) ==
        "00000000  00 7f 80 ff 1f 20 7e 0a  0d 09 00 7f 80 ff 1f 20  |..... ~........ |\n"
        "00000010  7e 0a 0d 09 00 7f 80 ff  1f 20 7e 0a 0d 09        |~........ ~...|\n");
}

TEST_CASE("report::hexdump prints every line: repeats are not squeezed into '*'") {
  const std::string zeros =
      "00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n";
  std::string dump = hexdump(std::string(48, '\0'));
  CHECK(dump ==
        zeros +
            "00000010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
            "00000020  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n");
  CHECK(dump.find('*') == std::string::npos);
}

TEST_CASE("report::format_data_text puts the header line over the dump") {
  CHECK(format_data_text(Data{"<", "127.0.0.1:51514", "hello\n"}) ==
        "< 127.0.0.1:51514 6 bytes\n"
        "00000000  68 65 6c 6c 6f 0a                                 |hello.|");
  CHECK(format_data_text(Data{">", "[::1]:48763", ""}) == "> [::1]:48763 0 bytes");
}

TEST_CASE("report::format_json gives a data event's bytes in base64") {
  const Clock::time_point t{};  // the epoch: 1970-01-01T00:00:00.000000Z
  CHECK(format_json(Data{"<", "127.0.0.1:51514", "hello\n"}, t) ==
        R"({"event":"data","time":"1970-01-01T00:00:00.000000Z","dir":"<","peer":"127.0.0.1:51514","len":6,"data_b64":"aGVsbG8K"})");
  CHECK(format_json(Data{">", "*", ""}, t) ==
        R"({"event":"data","time":"1970-01-01T00:00:00.000000Z","dir":">","peer":"*","len":0,"data_b64":""})");
}
