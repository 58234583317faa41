#pragma once

#include <httplib.h>

#include <ctime>

// cpp-httplib's keep-alive wait (not in the Debian header: its split build keeps it inside
// the library). True once `sock` is readable (a request, or EOF or an error that the
// following read reports), false when idle for the whole timeout.
namespace httplib::detail {
bool keep_alive(socket_t sock, time_t keep_alive_timeout_sec);
}  // namespace httplib::detail

namespace backstop::webhook {

// cpp-httplib 0.11.4 (Debian 12) waits for a keep-alive connection's next request by
// polling the socket in 10 ms slices with a 1 ms sleep between them: every idle
// connection wakes its thread ~90 times a second, and a request that arrives during the
// sleep waits for it. keep_alive.cc supplies httplib::detail::keep_alive, which the
// library calls through its PLT, so the executable's definition replaces the library's:
// one poll() for the whole idle timeout. True when that replacement is the one the
// dynamic linker resolved (checked at start and by the tests).
bool KeepAliveWaitReplaced();

}  // namespace backstop::webhook
