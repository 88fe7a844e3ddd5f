// A child process for tests that run the real binaries side by side (a coordinator, a worker): its
// stdout and stderr go to files the test reads while it runs.
#ifndef TRIAD_TESTS_TESTING_PROCESS_H_
#define TRIAD_TESTS_TESTING_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace triad::testing {

// A file's contents, or "" while it does not exist.
std::string ReadIfExists(const std::string& path);

class ChildProcess {
 public:
  // Starts argv[0] with these arguments (no shell), in `cwd` when it is not empty.
  ChildProcess(std::vector<std::string> argv, std::string out, std::string err,
               std::string cwd = "");
  // SIGKILL if it still runs.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The rest of the first stdout line that starts with `prefix`, or "" when the process exits or
  // prints no such line within `timeout`.
  std::string WaitForLine(const std::string& prefix, absl::Duration timeout = absl::Seconds(30));
  // For `triad coordinator serve`: the port of its "listening on HOST:PORT" line, or 0.
  int ListeningPort(absl::Duration timeout = absl::Seconds(30));
  // Waits for the exit status (-1: killed by a signal, -2: still running after `timeout`).
  int Wait(absl::Duration timeout = absl::InfiniteDuration());
  // Sends `sig` and reaps the process.
  int Signal(int sig);
  bool running();
  pid_t pid() const { return pid_; }  // -1 once it was waited for
  std::string Out() const { return ReadIfExists(out_); }
  std::string Err() const { return ReadIfExists(err_); }

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
  int status_ = 0;
};

}  // namespace triad::testing

#endif  // TRIAD_TESTS_TESTING_PROCESS_H_
