#include "net/transform.h"

#include <cstring>
#include <utility>

namespace sockecho::net {
namespace {

// WordWatcher: how far a word has matched a line that can no longer be that word.
constexpr std::size_t k_dead = std::string::npos;

// Whether some line could strip to word: strip_padding never leaves an empty message, a
// leading NUL or a trailing "\r", "\n" or NUL (and a line holds no '\n' before its end).
bool can_match(std::string_view word) {
  return !word.empty() && word.front() != '\0' && word.find('\n') == std::string_view::npos &&
         word.back() != '\r' && word.back() != '\0';
}

// The next byte of a line (after its leading NULs, never its '\n') against a word of
// which `at` bytes have matched: once all have, only padding may follow.
std::size_t advance(std::string_view word, std::size_t at, char c) {
  if (at < word.size()) return c == word[at] ? at + 1 : k_dead;
  if (at == word.size() && (c == '\r' || c == '\0')) return at;
  return k_dead;
}

WordHit stronger(WordHit a, WordHit b) {
  if (a == WordHit::exit_word || b == WordHit::exit_word) return WordHit::exit_word;
  if (a == WordHit::shutdown_word || b == WordHit::shutdown_word) return WordHit::shutdown_word;
  return WordHit::none;
}

}  // namespace

std::optional<Mode> parse_mode(std::string_view name) {
  if (name == "upper") return Mode::upper;
  if (name == "echo") return Mode::echo;
  if (name == "lower") return Mode::lower;
  if (name == "discard") return Mode::discard;
  return std::nullopt;
}

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::upper:
      return "upper";
    case Mode::echo:
      return "echo";
    case Mode::lower:
      return "lower";
    case Mode::discard:
      return "discard";
  }
  return "?";
}

void apply_mode(Mode mode, std::span<char> data) {
  // Branch-free per byte so the compiler vectorises it; this is the hot path.
  if (mode == Mode::upper) {
    for (char& c : data) {
      auto u = static_cast<unsigned char>(c);
      c = static_cast<char>(u - ((static_cast<unsigned char>(u - 'a') < 26) ? 32 : 0));
    }
  } else if (mode == Mode::lower) {
    for (char& c : data) {
      auto u = static_cast<unsigned char>(c);
      c = static_cast<char>(u + ((static_cast<unsigned char>(u - 'A') < 26) ? 32 : 0));
    }
  }
}

std::string_view strip_padding(std::string_view m) {
  while (!m.empty() && (m.back() == '\r' || m.back() == '\n' || m.back() == '\0'))
    m.remove_suffix(1);
  while (!m.empty() && m.front() == '\0') m.remove_prefix(1);
  return m;
}

bool is_word(std::string_view message, std::string_view word) {
  return !word.empty() && strip_padding(message) == word;
}

WordWatcher::WordWatcher(std::string exit_word, std::string shutdown_word)
    : m_exit(std::move(exit_word)),
      m_shutdown(std::move(shutdown_word)),
      m_exit_start(can_match(m_exit) ? 0 : k_dead),
      m_shutdown_start(can_match(m_shutdown) ? 0 : k_dead) {
  start_line();
}

void WordWatcher::start_line() {
  m_exit_at = m_exit_start;
  m_shutdown_at = m_shutdown_start;
  m_in_lead = true;
}

void WordWatcher::feed(std::string_view piece) {
  for (char c : piece) {
    // Once neither word can match, the rest of the line is not worth a look: the common
    // case, which keeps ordinary traffic at a memchr per line.
    if (m_exit_at == k_dead && m_shutdown_at == k_dead) return;
    if (m_in_lead) {
      if (c == '\0') continue;
      m_in_lead = false;
    }
    m_exit_at = advance(m_exit, m_exit_at, c);
    m_shutdown_at = advance(m_shutdown, m_shutdown_at, c);
  }
}

WordHit WordWatcher::line_hit() const {
  if (m_exit_at == m_exit.size()) return WordHit::exit_word;
  if (m_shutdown_at == m_shutdown.size()) return WordHit::shutdown_word;
  return WordHit::none;
}

WordHit WordWatcher::match(std::string_view message) const {
  if (is_word(message, m_exit)) return WordHit::exit_word;
  if (is_word(message, m_shutdown)) return WordHit::shutdown_word;
  return WordHit::none;
}

WordWatcher::Verdict WordWatcher::scan(std::string_view chunk) {
  if (!active()) return {chunk.size(), WordHit::none};
  std::size_t pos = 0;
  while (pos < chunk.size()) {
    const void* nl = std::memchr(chunk.data() + pos, '\n', chunk.size() - pos);
    std::size_t end =
        nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - chunk.data()) : chunk.size();
    feed(chunk.substr(pos, end - pos));
    // The line at its '\n', or the line so far at the end of the read.
    WordHit hit = line_hit();
    if (nl == nullptr && pos == 0) hit = stronger(hit, match(chunk));  // a read with no '\n'
    if (hit != WordHit::none) {
      start_line();
      return {pos, hit};
    }
    if (nl == nullptr) break;
    start_line();
    pos = end + 1;
  }
  return {chunk.size(), WordHit::none};
}

}  // namespace sockecho::net
