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

// Watches a byte stream for a line (or a read with no newline) that is the exit or the
// shutdown word. Keeps at most a bounded prefix of the current line, so memory stays
// constant whatever the client sends.
class WordWatcher {
 public:
  WordWatcher(std::string exit_word, std::string shutdown_word);

  struct Verdict {
    std::size_t keep;  // leading bytes of the chunk to process normally
    WordHit hit;       // when not none, the bytes from keep on are the word's line: drop them
  };
  Verdict scan(std::string_view chunk);

  bool active() const { return !m_exit.empty() || !m_shutdown.empty(); }

 private:
  WordHit match(std::string_view line) const;

  std::string m_exit;
  std::string m_shutdown;
  std::string m_line;       // the current line so far, while it is short enough to matter
  bool m_too_long = false;  // the current line can no longer be a word
  std::size_t m_cap;
};

}  // namespace sockecho::net
