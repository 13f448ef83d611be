#pragma once

// Test-only: switches the seam's libfiu failpoints (src/net/sys.h) from inside the test
// process. Only in builds with SOCKECHO_FAULTS; guard fault tests with #ifdef SOCKECHO_FAULTS.

#ifdef SOCKECHO_FAULTS

#include <fiu-control.h>
#include <fiu.h>

#include <cstdint>

namespace sockecho::test {

struct Probability {
  float p;  // 0..1: the chance that each call fails
};

// Enables failpoint `name` (e.g. "net/accept4") for this scope: the wrapper fails with
// errno `error` (0: the wrapper's default) on every call, on the next call only
// (Failpoint::once), or with a probability.
class Failpoint {
 public:
  Failpoint(const char* name, int error) : Failpoint(name, error, 0u) {}
  Failpoint(const char* name, int error, Probability probability) : m_name(name) {
    fiu_init(0);
    fiu_enable_random(name, 1, info(error), 0, probability.p);
  }
  ~Failpoint() { fiu_disable(m_name); }
  Failpoint(const Failpoint&) = delete;
  Failpoint& operator=(const Failpoint&) = delete;

  static Failpoint once(const char* name, int error) { return Failpoint(name, error, FIU_ONETIME); }

 private:
  Failpoint(const char* name, int error, unsigned flags) : m_name(name) {
    fiu_init(0);
    fiu_enable(name, 1, info(error), flags);
  }
  static void* info(int error) {
    return reinterpret_cast<void*>(static_cast<std::uintptr_t>(error));
  }
  const char* m_name;
};

}  // namespace sockecho::test

#endif
