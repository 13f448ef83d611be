// net::WordWatcher and net::apply_mode against the reference model in word_model.h.
//
// Input: [flags] [n] [n chunk-size bytes] [expansion] [payload] (see fuzz_util.h). The
// payload is fed to a WordWatcher in those chunks, as the server feeds it reads; every
// verdict must be the model's: `keep` is the chunk's bytes before the word's line, or 0
// when the word is the whole read (the part of the line in earlier chunks has been
// processed already), `hit` says which word.
// Words: flags & 3 picks ("exit", "halt") - the server's case - or ("exit", ""),
// ("", "halt"), ("e", "exit"); with flags & 0x20, ("it", "exit") or ("exit", "it"), where
// the line so far and a read alone can be different words (the exit word must win), or
// ("exit\r", "halt") or ("x\ny", "exit"), words no message can strip to. flags & 0x10
// expands the payload (a long line from a short input). apply_mode: upper changes exactly
// a-z, lower exactly A-Z, echo and discard nothing. strip_padding and is_word are checked
// against the model's strip.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "fuzz_util.h"
#include "net/transform.h"
#include "word_model.h"

using namespace sockecho;
using fuzz::check;
using fuzz::fail;
namespace model = fuzz::model;

namespace {

model::Hit hit_of(net::WordHit h) {
  switch (h) {
    case net::WordHit::none:
      return model::Hit::none;
    case net::WordHit::exit_word:
      return model::Hit::exit_word;
    case net::WordHit::shutdown_word:
      return model::Hit::shutdown_word;
  }
  return model::Hit::none;
}

void check_modes(std::string_view data, std::string_view input) {
  // The model's byte maps as tables, then one comparison per mode (cheap on long inputs).
  static const auto tables = [] {
    std::array<std::array<char, 256>, 3> t{};  // upper, lower, identity
    for (int b = 0; b < 256; ++b) {
      char c = static_cast<char>(b);
      t[0][static_cast<std::size_t>(b)] = model::upper(c);
      t[1][static_cast<std::size_t>(b)] = model::lower(c);
      t[2][static_cast<std::size_t>(b)] = c;
    }
    return t;
  }();
  for (net::Mode mode : {net::Mode::upper, net::Mode::lower, net::Mode::echo, net::Mode::discard}) {
    const auto& table = tables[mode == net::Mode::upper ? 0 : mode == net::Mode::lower ? 1 : 2];
    std::string buf(data);
    std::string want(data);
    for (char& c : want) c = table[static_cast<unsigned char>(c)];
    net::apply_mode(mode, std::span<char>(buf.data(), buf.size()));
    if (buf == want) continue;
    std::size_t i = 0;
    while (buf[i] == want[i]) ++i;
    fail("apply_mode(" + std::string(net::mode_name(mode)) + ") turned byte " + std::to_string(i) +
             " " + fuzz::quoted(data.substr(i, 1)) + " into " +
             fuzz::quoted(std::string_view(&buf[i], 1)) + ", expected " +
             fuzz::quoted(std::string_view(&want[i], 1)),
         input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // No limit on the number of chunks: WordWatcher and the model are both linear in the
  // stream however it is cut, so 1-byte chunks of a 9 KiB line are cheap.
  fuzz::Chunked c = fuzz::split_chunks(data, size);
  static const std::pair<const char*, const char*> k_words[] = {
      {"exit", "halt"}, {"exit", ""},   {"", "halt"},       {"e", "exit"},
      {"it", "exit"},   {"exit", "it"}, {"exit\r", "halt"}, {"x\ny", "exit"}};
  auto [exit_word, shutdown_word] = k_words[(c.flags & 3) | ((c.flags & 0x20) >> 3)];

  check_modes(c.payload, input);

  // strip_padding / is_word on the whole payload.
  std::string_view stripped = net::strip_padding(c.payload);
  check(stripped == model::strip(c.payload), "strip_padding differs from the model", input);
  check(stripped.data() >= c.payload.data() &&
            stripped.data() + stripped.size() <= c.payload.data() + c.payload.size(),
        "strip_padding returned a view outside its argument", input);
  check(net::is_word(c.payload, exit_word) ==
            (*exit_word != '\0' && model::strip(c.payload) == exit_word),
        "is_word differs from the model", input);

  net::WordWatcher watcher(exit_word, shutdown_word);
  check(watcher.active() == (*exit_word != '\0' || *shutdown_word != '\0'),
        "WordWatcher::active is wrong", input);
  model::Scan want = model::scan(c.payload, c.sizes, exit_word, shutdown_word);

  std::size_t at = 0;
  for (std::size_t i = 0; i < want.keep.size(); ++i) {
    std::string_view chunk = std::string_view(c.payload).substr(at, c.sizes[i]);
    net::WordWatcher::Verdict v = watcher.scan(chunk);
    model::Hit want_hit = i == want.hit_chunk ? want.hit : model::Hit::none;
    if (v.keep != want.keep[i] || hit_of(v.hit) != want_hit)
      fail("chunk " + std::to_string(i) + " (stream offset " + std::to_string(at) + ", " +
               std::to_string(chunk.size()) + " bytes, words " + fuzz::quoted(exit_word) + "/" +
               fuzz::quoted(shutdown_word) + "): WordWatcher said keep=" + std::to_string(v.keep) +
               " hit=" + model::hit_name(hit_of(v.hit)) + ", the model keep=" +
               std::to_string(want.keep[i]) + " hit=" + model::hit_name(want_hit) +
               "; chunk: " + fuzz::quoted(chunk, 120),
           input);
    check(v.keep <= chunk.size(), "keep past the end of the chunk", input);
    at += chunk.size();
  }
  return 0;
}
