#pragma once

namespace sockecho::net {

// Which way a chunk of bytes went, seen from this end (-x/--hexdump).
enum class Direction { received, sent };

}  // namespace sockecho::net
