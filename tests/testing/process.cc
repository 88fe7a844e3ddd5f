#include "tests/testing/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/time/clock.h"

namespace triad::testing {

std::string ReadIfExists(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string out, std::string err,
                           std::string cwd)
    : out_(std::move(out)), err_(std::move(err)) {
  // Opened (and emptied) before the fork: a file left by an earlier process under the same name
  // must not be read as this one's output between the fork and the child's first write.
  int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_ = ::fork();
  if (pid_ == 0) {
    if (o < 0 || e < 0) ::_exit(126);
    ::dup2(o, 1);
    ::dup2(e, 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  if (o >= 0) ::close(o);
  if (e >= 0) ::close(e);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) Signal(SIGKILL);
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    pid_ = -1;
    return false;
  }
  return true;
}

std::string ChildProcess::WaitForLine(const std::string& prefix, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::istringstream lines(Out());
    std::string line;
    // Complete lines only: the last one may still be being written.
    while (std::getline(lines, line)) {
      if (!lines.eof() && line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
    }
    if (!running() || absl::Now() > deadline) return "";
    absl::SleepFor(absl::Milliseconds(50));
  }
}

int ChildProcess::ListeningPort(absl::Duration timeout) {
  std::string rest = WaitForLine("listening on ", timeout);  // "127.0.0.1:4711 (TLS)"
  size_t colon = rest.find(':');
  if (colon == std::string::npos) return 0;
  return std::atoi(rest.c_str() + colon + 1);
}

int ChildProcess::Wait(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (running()) {
    if (absl::Now() > deadline) return -2;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return status_;
}

int ChildProcess::Signal(int sig) {
  if (pid_ <= 0) return status_;
  ::kill(pid_, sig);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return status_;
}

}  // namespace triad::testing
