#pragma once

#include <stdexcept>

namespace sockecho {

// A failure that its message says in full, with no errno behind it ("send to
// 127.0.0.1:48763: 1234 bytes not acknowledged"). app_main prints it and exits 1.
class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace sockecho
