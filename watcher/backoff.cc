#include "watcher/backoff.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

namespace backstop::watcher {

Backoff::Backoff(BackoffOptions options, std::function<double()> random)
    : options_(options), random_(std::move(random)) {
  if (!random_) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    random_ = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
  }
  options_.factor = std::max(1.0, options_.factor);
  options_.jitter = std::clamp(options_.jitter, 0.0, 1.0);
  if (options_.initial.count() < 0) options_.initial = std::chrono::milliseconds(0);
  if (options_.max < options_.initial) options_.max = options_.initial;
}

std::chrono::milliseconds Backoff::Next() {
  const double cap = static_cast<double>(options_.max.count());
  // Exponent capped so the power cannot overflow; the cap applies anyway.
  const double exponent = std::min(attempts_, 62);
  double d = static_cast<double>(options_.initial.count()) * std::pow(options_.factor, exponent);
  d = std::min(d, cap);
  const double r = std::clamp(random_(), 0.0, 1.0);
  d -= d * options_.jitter * r;
  ++attempts_;
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(std::max(0.0, d))));
}

}  // namespace backstop::watcher
