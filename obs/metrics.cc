#include "obs/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace backstop::obs {
namespace {

void AtomicAdd(std::atomic<double>& a, double by) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + by, std::memory_order_relaxed)) {
  }
}

std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     const std::string& extra_name = "", const std::string& extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += (out.empty() ? "" : ",") + names[i] + "=\"" + EscapeLabel(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    out += (out.empty() ? "" : ",") + extra_name + "=\"" + extra_value + "\"";
  }
  return out.empty() ? "" : "{" + out + "}";
}

template <typename T>
void Header(std::string& out, const Family<T>& f, const char* type) {
  out += "# HELP " + f.name() + " " + f.help() + "\n";
  out += "# TYPE " + f.name() + " " + type + "\n";
}

}  // namespace

void Counter::Inc(double by) { AtomicAdd(value_, by); }
void Gauge::Add(double by) { AtomicAdd(value_, by); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                 bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
}

uint64_t Histogram::CumulativeCount(size_t i) const {
  uint64_t total = 0;
  for (size_t j = 0; j <= i && j <= bounds_.size(); ++j) {
    total += buckets_[j].load(std::memory_order_relaxed);
  }
  return total;
}

Family<Counter>& Registry::AddCounter(std::string name, std::string help,
                                      std::vector<std::string> labels) {
  std::lock_guard<std::mutex> lock(mu_);
  counters_.push_back(std::make_unique<Family<Counter>>(
      std::move(name), std::move(help), std::move(labels),
      [] { return std::make_unique<Counter>(); }));
  order_.emplace_back(MetricType::kCounter, counters_.size() - 1);
  return *counters_.back();
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help,
                                  std::vector<std::string> labels) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_.push_back(std::make_unique<Family<Gauge>>(std::move(name), std::move(help),
                                                    std::move(labels),
                                                    [] { return std::make_unique<Gauge>(); }));
  order_.emplace_back(MetricType::kGauge, gauges_.size() - 1);
  return *gauges_.back();
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help,
                                          std::vector<double> bounds,
                                          std::vector<std::string> labels) {
  std::lock_guard<std::mutex> lock(mu_);
  histograms_.push_back(std::make_unique<Family<Histogram>>(
      std::move(name), std::move(help), std::move(labels),
      [bounds] { return std::make_unique<Histogram>(bounds); }));
  order_.emplace_back(MetricType::kHistogram, histograms_.size() - 1);
  return *histograms_.back();
}

std::string Registry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [type, index] : order_) {
    switch (type) {
      case MetricType::kCounter: {
        const auto& f = *counters_[index];
        Header(out, f, "counter");
        f.ForEach([&](const std::vector<std::string>& labels, const Counter& c) {
          out += f.name() + LabelSet(f.label_names(), labels) + " " + FormatValue(c.Value()) + "\n";
        });
        break;
      }
      case MetricType::kGauge: {
        const auto& f = *gauges_[index];
        Header(out, f, "gauge");
        f.ForEach([&](const std::vector<std::string>& labels, const Gauge& g) {
          out += f.name() + LabelSet(f.label_names(), labels) + " " + FormatValue(g.Value()) + "\n";
        });
        break;
      }
      case MetricType::kHistogram: {
        const auto& f = *histograms_[index];
        Header(out, f, "histogram");
        f.ForEach([&](const std::vector<std::string>& labels, const Histogram& h) {
          for (size_t i = 0; i < h.bounds().size(); ++i) {
            out += f.name() + "_bucket" +
                   LabelSet(f.label_names(), labels, "le", FormatValue(h.bounds()[i])) + " " +
                   std::to_string(h.CumulativeCount(i)) + "\n";
          }
          out += f.name() + "_bucket" + LabelSet(f.label_names(), labels, "le", "+Inf") + " " +
                 std::to_string(h.Count()) + "\n";
          out += f.name() + "_sum" + LabelSet(f.label_names(), labels) + " " +
                 FormatValue(h.Sum()) + "\n";
          out += f.name() + "_count" + LabelSet(f.label_names(), labels) + " " +
                 std::to_string(h.Count()) + "\n";
        });
        break;
      }
    }
  }
  return out;
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
          10};
}

}  // namespace backstop::obs
