#include "net/transform.h"

#include <algorithm>
#include <cstring>

namespace sockecho::net {
namespace {

// Room for the word plus the NUL padding of a fixed buffer, the tutorial's 1024 bytes
// and then some.
constexpr std::size_t k_padding_allowance = 4096;

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
      m_cap(std::max(m_exit.size(), m_shutdown.size()) + k_padding_allowance) {}

WordHit WordWatcher::match(std::string_view line) const {
  std::string_view s = strip_padding(line);
  if (!m_exit.empty() && s == m_exit) return WordHit::exit_word;
  if (!m_shutdown.empty() && s == m_shutdown) return WordHit::shutdown_word;
  return WordHit::none;
}

WordWatcher::Verdict WordWatcher::scan(std::string_view chunk) {
  if (!active()) return {chunk.size(), WordHit::none};
  std::size_t pos = 0;
  while (pos < chunk.size()) {
    const void* nl = std::memchr(chunk.data() + pos, '\n', chunk.size() - pos);
    std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - chunk.data()) + 1
                         : chunk.size();
    std::string_view segment = chunk.substr(pos, end - pos);
    if (!m_too_long) {
      if (m_line.size() + segment.size() > m_cap) {
        m_too_long = true;
        m_line.clear();
      } else {
        WordHit hit = WordHit::none;
        if (m_line.empty()) {
          hit = match(segment);
        } else {
          m_line.append(segment);
          hit = match(m_line);
        }
        if (hit != WordHit::none) {
          m_line.clear();
          return {pos, hit};
        }
        if (nl == nullptr && m_line.empty()) m_line.assign(segment);
      }
    }
    if (nl != nullptr) {  // a new line starts: it may be a word again
      m_line.clear();
      m_too_long = false;
    }
    pos = end;
  }
  return {chunk.size(), WordHit::none};
}

}  // namespace sockecho::net
