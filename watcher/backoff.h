#pragma once

#include <chrono>
#include <functional>

namespace backstop::watcher {

// Capped exponential backoff with jitter for reconnects and relists. It only computes
// delays; the caller waits (interruptibly). Not thread-safe: one per loop.
struct BackoffOptions {
  std::chrono::milliseconds initial{800};  // first delay before jitter (client-go: 800 ms)
  std::chrono::milliseconds max{30000};    // cap on any delay (client-go: 30 s)
  double factor = 2.0;                     // growth per consecutive failure
  double jitter = 0.5;  // a delay d is drawn from [d * (1 - jitter), d]; 0 disables jitter
};

class Backoff {
 public:
  // `random` returns a uniform value in [0, 1); defaults to a per-object PRNG.
  explicit Backoff(BackoffOptions options, std::function<double()> random = {});

  // The delay before the next attempt; each call counts one more consecutive failure.
  std::chrono::milliseconds Next();
  // After a success: the next delay starts from `initial` again.
  void Reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  BackoffOptions options_;
  std::function<double()> random_;
  int attempts_ = 0;
};

}  // namespace backstop::watcher
