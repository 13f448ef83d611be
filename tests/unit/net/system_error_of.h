#pragma once

// For tests of calls that throw fmt::system_error on setup failures.

#include <functional>
#include <string>
#include <system_error>

namespace sockecho::test {

// Runs fn; the errno of the std::system_error it threw (its message in what), or 0.
inline int error_of(const std::function<void()>& fn, std::string& what) {
  try {
    fn();
  } catch (const std::system_error& e) {
    what = e.what();
    return e.code().value();
  }
  return 0;
}

}  // namespace sockecho::test
