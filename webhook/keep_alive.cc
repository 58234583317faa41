#include "webhook/keep_alive.h"

#include <dlfcn.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <climits>

#if BACKSTOP_REPLACE_KEEP_ALIVE  // set by CMake for cpp-httplib 0.11 built as a library
namespace httplib::detail {

// Same contract as the library's (keep_alive.h), one poll() for the whole timeout.
bool keep_alive(socket_t sock, time_t keep_alive_timeout_sec) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(keep_alive_timeout_sec);
  pollfd pfd{sock, POLLIN, 0};
  for (;;) {
    // Rounded up, and the deadline rechecked after a timeout: never false before it.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    const int n = ::poll(&pfd, 1, static_cast<int>(left < INT_MAX ? left : INT_MAX));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

}  // namespace httplib::detail
#endif

namespace backstop::webhook {

bool KeepAliveWaitReplaced() {
#if !BACKSTOP_REPLACE_KEEP_ALIVE
  return false;
#else
  // The library's own calls go through its PLT to the first definition in lookup order.
  void* resolved = ::dlsym(RTLD_DEFAULT, "_ZN7httplib6detail10keep_aliveEil");
  return resolved == reinterpret_cast<void*>(&httplib::detail::keep_alive);
#endif
}

}  // namespace backstop::webhook
