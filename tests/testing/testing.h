// Helpers shared by the test binaries: where the repository, the build and the test data are; temporary
// directories; reading test files.
#ifndef TRIAD_TESTS_TESTING_TESTING_H_
#define TRIAD_TESTS_TESTING_TESTING_H_

#include <ostream>
#include <string>

#include "absl/base/config.h"
#include "absl/strings/string_view.h"

// gtest prints absl::string_view (not std::string_view in Debian's Abseil) as a list of characters;
// print it as a string instead, so failed message comparisons are readable.
namespace absl {
ABSL_NAMESPACE_BEGIN
inline void PrintTo(absl::string_view s, std::ostream* os) { *os << '"' << s << '"'; }
ABSL_NAMESPACE_END
}  // namespace absl

namespace triad::testing {

// The repository root, the build directory, and the test data (testdata/ in the repository; its
// README.md gives the provenance of every file).
std::string SourceDir();
std::string BinaryDir();
std::string TestdataDir();
// The built `triad` binary, and `triad-worker` beside it (train, model init, worker run: the worker
// executable whose SHA-384 is the sim measurement).
std::string TriadBinary();
std::string TriadWorkerBinary();

// Reads a file; fails the test (ADD_FAILURE) and returns "" when it cannot.
std::string ReadTestFile(const std::string& path);
void WriteTestFile(const std::string& path, const std::string& data, int mode = 0644);

// A model `triad model push` accepts (it runs the trainer's checks) in `dir`: the tiny Qwen2 of
// testdata/trainer with the tiny GPT-2-style tokenizer (500 ids in a vocabulary of 512), `canary`
// in tokenizer.json (the tokenizer ignores top-level keys it does not use), and a README.md that is
// not part of the model.
void WriteTinyModel(const std::string& dir, const std::string& canary);

// A fresh directory under $TMPDIR, removed with its contents when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs a shell command line; returns its exit status (0..255), or -1 when it did not exit normally.
// stdout and stderr go to `output` (together) when it is given.
int RunCommand(const std::string& command, std::string* output = nullptr);

}  // namespace triad::testing

#endif  // TRIAD_TESTS_TESTING_TESTING_H_
