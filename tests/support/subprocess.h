#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace backstop::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs a program to completion with `input` on stdin, capturing stdout and stderr. It is
// killed after `timeout` (and reported as timed out) so a hung child never hangs a test.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& input = "",
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// The built backstop binary with arguments.
ProcessResult RunBackstop(const std::vector<std::string>& args, const std::string& input = "");

// A long-running child (e.g. `backstop serve`) with stderr captured to a file.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& stderr_path);
  ~ChildProcess();  // SIGKILLs a child still running
  pid_t pid() const { return pid_; }
  void Signal(int sig) const;
  // Waits for exit up to `timeout`; the exit code, or -1 (signal / timeout).
  int Wait(std::chrono::milliseconds timeout, bool* timed_out = nullptr);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

}  // namespace backstop::testing
