// What the syscall seam's failpoints cost when none fires (docs/FAULTS.md): send_some +
// recv_some of 64 bytes on a Unix socketpair, and the bare failpoint check (fault_alloc,
// no syscall); best of 7 rounds. Build with and without -DSOCKECHO_FAULTS=ON and compare.
//   sockecho-seam-cost          libfiu not initialised (the binary run on its own)
//   sockecho-seam-cost init     fiu_init done, nothing enabled (as under fiu-run)
//   sockecho-seam-cost other    another failpoint enabled

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string_view>

#include "net/fd.h"
#include "net/sys.h"

#ifdef SOCKECHO_FAULTS
#include <fiu-control.h>
#include <fiu.h>
#endif

using namespace sockecho::net;

namespace {

template <typename F>
double best_ns(int n, F f) {
  double best = 1e18;
  for (int round = 0; round < 7; ++round) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) f();
    auto took = std::chrono::steady_clock::now() - t0;
    best = std::min(best, std::chrono::duration<double, std::nano>(took).count() / n);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view mode = argc > 1 ? argv[1] : "plain";
#ifdef SOCKECHO_FAULTS
  if (mode == "init" || mode == "other") fiu_init(0);
  if (mode == "other") fiu_enable("net/accept4", 1, nullptr, 0);
#endif
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return 1;
  Fd a(sv[0]), b(sv[1]);
  char buf[64] = {};
  double io = best_ns(200000, [&] {
    send_some(a.get(), std::span<const char>(buf, sizeof buf));
    recv_some(b.get(), std::span<char>(buf, sizeof buf));
  });
  volatile bool sink = false;
  double check = best_ns(5000000, [&] { sink = sink != fault_alloc(); });
  std::printf("faults=%s mode=%.*s: send_some+recv_some %.0f ns a pair; failpoint check %.1f ns\n",
              k_faults_compiled ? "on" : "off", static_cast<int>(mode.size()), mode.data(), io,
              check);
  return sink ? 1 : 0;
}
