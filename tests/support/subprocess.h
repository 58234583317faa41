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

// `command` run by /bin/sh -c, stdout and stderr captured separately.
ProcessResult RunShell(const std::string& command);
// `s` quoted for /bin/sh (single quotes).
std::string ShellQuote(const std::string& s);
// An executable named `name` is in a directory of $PATH.
bool OnPath(const std::string& name);
// A whole file's bytes ("" when unreadable).
std::string ReadFileToString(const std::string& path);

// The built backstop binary with arguments.
ProcessResult RunBackstop(const std::vector<std::string>& args, const std::string& input = "");

// A loopback TCP port that was free a moment ago (bound to port 0, then released), for
// a child process that must be told its port on the command line.
int FreeLoopbackPort();

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
