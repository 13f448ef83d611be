#pragma once

// Helpers shared by the fuzz targets: failing loudly, printing inputs, and cutting an
// input into chunks.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace fuzz {

// The input as a C string literal, bytes outside printable ASCII escaped, cut at max bytes.
inline std::string quoted(std::string_view s, std::size_t max = 300) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  out += '"';
  if (s.size() > max) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

// Reports a broken invariant and aborts, which libFuzzer records as a crash (with the
// reproducer written to crash-<sha1>).
[[noreturn]] inline void fail(const std::string& what, std::string_view input) {
  std::fprintf(stderr, "\n==== FUZZ INVARIANT BROKEN: %s\n==== input: %s\n", what.c_str(),
               quoted(input).c_str());
  std::fflush(stderr);
  std::abort();
}

// Reports something questionable that is not worth stopping the run for: printed once
// per kind, as "==== FUZZ NOTE", which fuzz/run collects.
inline void note(const std::string& kind, const std::string& what, std::string_view input) {
  static std::vector<std::string> seen;
  if (std::find(seen.begin(), seen.end(), kind) != seen.end()) return;
  seen.push_back(kind);
  std::fprintf(stderr, "\n==== FUZZ NOTE [%s]: %s\n==== input: %s\n", kind.c_str(), what.c_str(),
               quoted(input).c_str());
  std::fflush(stderr);
}

inline void check(bool ok, const std::string& what, std::string_view input) {
  if (!ok) fail(what, input);
}

// The dynamic type and message of the exception being handled (call inside catch (...)).
inline std::string current_exception_text() {
  try {
    throw;
  } catch (const std::exception& e) {
    return std::string(typeid(e).name()) + ": " + e.what();
  } catch (...) {
    return "a non-std exception";
  }
}

inline bool is_ascii_line(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || u == '\n' || u == '\r' || u == 0) return false;
  }
  return true;
}

inline bool is_printable_ascii(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return false;
  }
  return true;
}

// One chunk-size byte -> a chunk size: 0..127 -> 1..128, 128..255 -> 64..8192, so both
// byte-by-byte chunkings and chunks of several KiB are reachable.
inline std::size_t chunk_size_of(std::uint8_t b) {
  return b < 128 ? std::size_t{b} + 1 : std::size_t{b - 127u} * 64;
}

// An input laid out as: [flags] [n] [n chunk-size bytes] [expansion] [payload...].
// Chunk sizes cycle through the size bytes; the last chunk is whatever is left. When
// flags & k_expand, four bytes [count-hi] [count-lo] [fill] [at] come before the payload
// and (count % 8193) copies of fill are inserted at offset (at % (payload size + 1)): so a
// short input can make a line of several KiB, or the tutorial's 1024-byte NUL-padded
// buffer, and the fuzzer can keep max_len small (and fast).
inline constexpr std::uint8_t k_expand = 0x10;

struct Chunked {
  std::uint8_t flags = 0;
  std::string payload;
  std::vector<std::size_t> sizes;  // sums to payload.size(); no zeros
};

// At most max_chunks chunks: the last one takes whatever is left.
inline Chunked split_chunks(const std::uint8_t* data, std::size_t size,
                            std::size_t max_chunks = std::size_t(-1)) {
  Chunked c;
  std::size_t at = 0;
  if (at < size) c.flags = data[at++];
  std::size_t n = 1;
  if (at < size) n = 1 + data[at++] % 8;
  std::vector<std::uint8_t> size_bytes;
  for (std::size_t i = 0; i < n && at < size; ++i) size_bytes.push_back(data[at++]);
  if (size_bytes.empty()) size_bytes.push_back(255);
  std::size_t count = 0;
  char fill = 0;
  std::size_t insert_at = 0;
  if ((c.flags & k_expand) && size - at >= 4) {
    count = ((std::size_t{data[at]} << 8) | data[at + 1]) % 8193;
    fill = static_cast<char>(data[at + 2]);
    insert_at = data[at + 3];
    at += 4;
  }
  c.payload.assign(reinterpret_cast<const char*>(data) + at, size - at);
  if (count > 0) c.payload.insert(insert_at % (c.payload.size() + 1), count, fill);
  std::size_t left = c.payload.size();
  for (std::size_t i = 0; left > 0; ++i) {
    std::size_t s = c.sizes.size() + 1 == max_chunks
                        ? left
                        : std::min(left, chunk_size_of(size_bytes[i % size_bytes.size()]));
    c.sizes.push_back(s);
    left -= s;
  }
  return c;
}

}  // namespace fuzz
