#pragma once

// A reference model of net::WordWatcher and net::apply_mode, written from the
// documented behaviour (SPEC.md, sockecho(1)) and not from transform.cc: the stream is a
// sequence of lines (each ending after its '\n', the last one possibly unterminated). The
// server looks at the stream at each '\n' and at the end of every read; there, the word is
// found when, padding stripped, it equals
//   - the line so far (from the line's start, maybe in an earlier read), or
//   - at the end of a read with no '\n' in it, that read alone (a read is a message too, as
//     the tutorial's `hello` then `exit` sends and its NUL-padded buffers are).
// The exit word wins when one of the two is the exit word and the other the shutdown word.
// Lines and reads of any length count (the watcher keeps none of the bytes).

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fuzz::model {

enum class Hit { none, exit_word, shutdown_word };

inline const char* hit_name(Hit h) {
  switch (h) {
    case Hit::none:
      return "none";
    case Hit::exit_word:
      return "exit_word";
    case Hit::shutdown_word:
      return "shutdown_word";
  }
  return "?";
}

// Trailing "\r", "\n", NUL and leading NUL removed.
inline std::string_view strip(std::string_view m) {
  std::size_t end = m.size();
  while (end > 0 && (m[end - 1] == '\r' || m[end - 1] == '\n' || m[end - 1] == '\0')) --end;
  std::size_t begin = 0;
  while (begin < end && m[begin] == '\0') ++begin;
  return m.substr(begin, end - begin);
}

struct Scan {
  std::vector<std::size_t> keep;   // per chunk, up to and including the one with the hit
  Hit hit = Hit::none;
  std::size_t hit_chunk = 0;       // valid when hit != none
  std::size_t hit_line_start = 0;  // stream offset of the word's line
  std::size_t kept_total = 0;      // stream bytes processed normally (sent back)
};

// The chunks are reads: sizes sums to stream.size(). Stops at the first hit, as the
// server does.
inline Scan scan(std::string_view stream, const std::vector<std::size_t>& sizes,
                 std::string_view exit_word, std::string_view shutdown_word) {
  Scan out;
  const bool active = !exit_word.empty() || !shutdown_word.empty();
  const std::size_t none = std::string_view::npos;
  auto which = [&](std::string_view stripped) {
    if (!exit_word.empty() && stripped == exit_word) return Hit::exit_word;
    if (!shutdown_word.empty() && stripped == shutdown_word) return Hit::shutdown_word;
    return Hit::none;
  };
  // The current line, kept as what strip() of it so far would be, updated byte by byte
  // (so a long line costs O(length), not O(length^2)): its leading NULs and where its
  // last byte other than '\r', '\n', NUL ends.
  std::size_t line_start = 0;
  std::size_t lead = 0;
  bool lead_done = false;
  std::size_t content_end = none;
  std::size_t chunk_start = 0;
  for (std::size_t c = 0; c < sizes.size(); ++c) {
    const std::size_t chunk_end = chunk_start + sizes[c];
    if (active) {
      const std::string_view chunk = stream.substr(chunk_start, sizes[c]);
      const bool read_has_nl = chunk.find('\n') != none;
      // Every place the line so far is looked at: each '\n', and the end of the chunk.
      for (std::size_t p = chunk_start; p < chunk_end;) {
        std::size_t nl = stream.substr(p, chunk_end - p).find('\n');
        bool has_nl = nl != none;
        std::size_t cut = has_nl ? p + nl + 1 : chunk_end;
        for (std::size_t q = p; q < cut; ++q) {
          char ch = stream[q];
          if (!lead_done) {
            if (ch == '\0') ++lead;
            else lead_done = true;
          }
          if (ch != '\r' && ch != '\n' && ch != '\0') content_end = q + 1;
        }
        std::string_view s;  // strip(stream[line_start, cut))
        if (content_end != none)
          s = stream.substr(line_start + lead, content_end - line_start - lead);
        Hit h = which(s);
        if (!read_has_nl) {  // the read alone is a message too; the exit word wins
          Hit alone = which(strip(chunk));
          if (h != Hit::exit_word && alone != Hit::none) h = alone;
        }
        if (h != Hit::none) {
          // The line's bytes in earlier chunks have been processed already.
          std::size_t from = std::max(line_start, chunk_start);
          out.keep.push_back(from - chunk_start);
          out.hit = h;
          out.hit_chunk = c;
          out.hit_line_start = line_start;
          out.kept_total = from;
          return out;
        }
        if (has_nl) {
          line_start = cut;
          lead = 0;
          lead_done = false;
          content_end = none;
        }
        p = cut;
      }
    }
    out.keep.push_back(sizes[c]);
    out.kept_total = chunk_end;
    chunk_start = chunk_end;
  }
  return out;
}

// When the reads are not known (the client pipelined its sends and the kernel may merge
// or split them), what can still be said about where the exit word cuts the stream.
struct Bounds {
  // The first offset where the server could cut: the first place where NULs and then the
  // word begin (a read that starts there and ends after the word, before any '\n', is
  // the word on its own); npos when no read or line can be the word however the reads fall.
  std::size_t first_possible = std::string_view::npos;
  // Offset just past the first line that is the word whatever the reads (whole line is
  // the word and ends at a '\n' or at the end of the stream); npos when there is none.
  std::size_t first_certain_end = std::string_view::npos;
};

// For a word that does not start with NUL nor end with '\r', '\n' or NUL, nor holds '\n'.
inline Bounds bounds(std::string_view stream, std::string_view word) {
  Bounds b;
  if (word.empty()) return b;
  std::size_t w = stream.find(word);
  if (w != std::string_view::npos) {
    b.first_possible = w;
    while (b.first_possible > 0 && stream[b.first_possible - 1] == '\0') --b.first_possible;
  }
  for (std::size_t ls = 0; ls < stream.size();) {
    std::size_t nl = stream.find('\n', ls);
    std::size_t le = nl == std::string_view::npos ? stream.size() : nl + 1;
    if (strip(stream.substr(ls, le - ls)) == word) {
      b.first_certain_end = le;
      return b;
    }
    ls = le;
  }
  return b;
}

inline char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
inline char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}

}  // namespace fuzz::model
