#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace backstop::obs {

// A Prometheus metrics registry rendering the text exposition format (version 0.0.4).
// Families are created once at start; samples are updated lock-free (atomics). Finding a
// sample takes the family's lock shared; only the first use of a new label combination
// takes it exclusively.

class Counter {
 public:
  void Inc(double by = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double by);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative count of observations <= bounds()[i].
  uint64_t CumulativeCount(size_t i) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per-bucket (non-cumulative)
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

// A metric family: one name, help, type and label names; one sample per label values.
template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<T>()> make)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        make_(std::move(make)) {}

  // The sample for these label values (in label_names order), created on first use.
  T& With(const std::vector<std::string>& values) {
    {
      std::shared_lock<std::shared_mutex> read(mu_);  // the common case: it exists
      auto it = samples_.find(values);
      if (it != samples_.end()) return *it->second;
    }
    std::lock_guard<std::shared_mutex> write(mu_);
    auto& slot = samples_[values];
    if (!slot) slot = make_();
    return *slot;
  }

  template <typename F>
  void ForEach(F&& f) const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    for (const auto& [labels, sample] : samples_) f(labels, *sample);
  }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<T>()> make_;
  mutable std::shared_mutex mu_;  // guards samples_ (the map, not the samples' values)
  std::map<std::vector<std::string>, std::unique_ptr<T>> samples_;
};

class Registry {
 public:
  Family<Counter>& AddCounter(std::string name, std::string help,
                              std::vector<std::string> labels = {});
  Family<Gauge>& AddGauge(std::string name, std::string help, std::vector<std::string> labels = {});
  Family<Histogram>& AddHistogram(std::string name, std::string help, std::vector<double> bounds,
                                  std::vector<std::string> labels = {});
  // Text exposition format, families in registration order.
  std::string Render() const;

 private:
  mutable std::mutex mu_;  // guards the three family lists and order_
  std::vector<std::unique_ptr<Family<Counter>>> counters_;
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_;
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
  std::vector<std::pair<MetricType, size_t>> order_;
};

// Sub-millisecond latency buckets in seconds (100 µs .. 10 s).
std::vector<double> LatencyBuckets();

}  // namespace backstop::obs
