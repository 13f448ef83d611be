#pragma once

// What the service does to the bytes, and how it spots the exit and shutdown words.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sockecho::net {

enum class Mode { upper, echo, lower, discard };

std::optional<Mode> parse_mode(std::string_view name);
std::string_view mode_name(Mode mode);

// Rewrites data in place: upper/lower change only ASCII letters; echo and discard
// leave it as is (discard is the caller's business: it sends nothing).
void apply_mode(Mode mode, std::span<char> data);

// A message without its trailing "\r", "\n" and NUL bytes, and without leading NULs
// (NUL-padded fixed buffers, as the tutorial's C clients send, leave them behind).
std::string_view strip_padding(std::string_view message);

// True when message, padding stripped, is exactly word (an empty word never matches).
bool is_word(std::string_view message, std::string_view word);

enum class WordHit { none, exit_word, shutdown_word };

// Watches a byte stream, read by read, for the exit or the shutdown word. The server
// looks at a message at each '\n' and at the end of each read; there, two things are the
// word when, padding stripped (strip_padding), they equal it:
//  - the line so far: the bytes since the last '\n', which may have begun in earlier
//    reads (so a word typed one byte per read counts, and so does a line whose leading
//    NULs are the padding left over from the previous fixed-size buffer);
//  - a read with no '\n' in it, on its own (the tutorial clients send each message as one
//    send() with no newline, `hello` then `exit`, or as a NUL-padded 1024-byte buffer:
//    the read is the message even though the line so far is `helloexit`).
// A read that has a '\n' is looked at line by line only: `hello` then `exit\n` is the
// line `helloexit`, not the word. When one candidate is the exit word and the other the
// shutdown word, the exit word wins (the milder outcome).
//
// Nothing of the line is kept, only how far each word has matched it, so memory is
// constant and each byte costs O(1) however the reads fall (a line sent one byte per read
// is linear, not a rescan of the line so far at every read), and a line of any length
// can be the word.
class WordWatcher {
 public:
  WordWatcher(std::string exit_word, std::string shutdown_word);

  struct Verdict {
    std::size_t keep;  // leading bytes of the chunk to process normally
    WordHit hit;       // when not none, drop the bytes from keep on: the word's part of the
                       // chunk (its line, or the whole read) and whatever follows it
  };
  // After a hit the caller is expected to stop; if it goes on, a new line starts.
  Verdict scan(std::string_view chunk);

  bool active() const { return !m_exit.empty() || !m_shutdown.empty(); }

 private:
  void start_line();
  void feed(std::string_view piece);  // bytes of the current line, without its '\n'
  WordHit line_hit() const;
  WordHit match(std::string_view message) const;

  std::string m_exit;
  std::string m_shutdown;
  // Where each word's match starts on a new line: 0, or npos for a word that no line can
  // strip to (empty, or ending in "\r" or NUL), worked out once.
  std::size_t m_exit_start;
  std::size_t m_shutdown_start;
  // How many bytes of each word the current line has matched after its leading NULs
  // (equal to the word's size: matched, and only padding since); npos when it cannot be
  // that word any more.
  std::size_t m_exit_at = 0;
  std::size_t m_shutdown_at = 0;
  bool m_in_lead = true;  // the line so far is only NULs
};

}  // namespace sockecho::net
