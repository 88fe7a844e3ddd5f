#include "tests/testing/testing.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace triad::testing {

std::string SourceDir() { return TRIAD_SOURCE_DIR; }
std::string BinaryDir() { return TRIAD_BINARY_DIR; }
std::string TestdataDir() { return TRIAD_TESTDATA_DIR; }
std::string TriadBinary() { return BinaryDir() + "/cli/triad"; }
std::string TriadWorkerBinary() { return BinaryDir() + "/cli/triad-worker"; }

std::string ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read test file " << path;
    return "";
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteTestFile(const std::string& path, const std::string& data, int mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
  if (!out) ADD_FAILURE() << "cannot write test file " << path;
}

TempDir::TempDir() {
  const char* tmp = ::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/triad-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int RunCommand(const std::string& command, std::string* output) {
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  if (output != nullptr) *output = out;
  if (!WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

void WriteTinyModel(const std::string& dir, const std::string& canary) {
  const std::string src = TestdataDir() + "/trainer/";
  std::filesystem::create_directories(dir);
  WriteTestFile(dir + "/config.json", ReadTestFile(src + "qwen2_tiny/base/config.json"));
  WriteTestFile(dir + "/model.safetensors",
                ReadTestFile(src + "qwen2_tiny/base/model.safetensors"));
  std::string tokenizer = ReadTestFile(src + "tiny_gpt2_style.tokenizer.json");
  tokenizer.insert(tokenizer.find('{') + 1, "\"canary\": \"" + canary + "\", ");
  WriteTestFile(dir + "/tokenizer.json", tokenizer);
  WriteTestFile(dir + "/README.md", "not part of the model");
}

}  // namespace triad::testing
