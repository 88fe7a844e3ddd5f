// The command line itself, through the real binary and without a coordinator: the help of every
// group against golden files (testdata/cli/help/, rewritten by tests/cli/update_help_goldens.sh
// after an intended change), unknown commands with the nearest one, `triad help`, `--version`,
// bad flag values as usage errors (exit 2) that name the flag and write nothing, and the shell
// completion generated from the command tree (run in a real bash).
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/encoding.h"
#include "crypto/hash.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad {
namespace {

using testing::RunCommand;

std::string Triad() { return testing::TriadBinary(); }

class UsageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // No saved context or TRIAD_* default of the user's.
    ::setenv("XDG_CONFIG_HOME", dir_.File("config").c_str(), 1);
    for (const char* v : {"TRIAD_COORDINATOR", "TRIAD_COORDINATOR_CARD", "TRIAD_AS", "TRIAD_CONTEXT"}) {
      ::unsetenv(v);
    }
  }

  // stdout and stderr of `triad ARGS`, and its exit code.
  std::string Run(const std::string& args, int* rc) {
    std::string out;
    *rc = RunCommand(Triad() + " " + args, &out);
    return out;
  }

  // Nothing written in the test's directory but the config directory's absence.
  bool NothingWritten() {
    return std::filesystem::is_empty(dir_.path());
  }

  testing::TempDir dir_;
};

std::string Golden(const std::string& name) {
  return testing::ReadTestFile(testing::TestdataDir() + "/cli/help/" + name + ".txt");
}

// The groups and top-level commands of `triad --help`.
std::vector<std::string> Groups(const std::string& help) {
  std::vector<std::string> out;
  bool in = false;
  for (absl::string_view line : absl::StrSplit(help, '\n')) {
    if (line == "Subcommands:") {
      in = true;
      continue;
    }
    if (!in || line.size() < 3 || line[2] == ' ') continue;
    line.remove_prefix(2);
    out.emplace_back(line.substr(0, line.find(' ')));
  }
  return out;
}

TEST_F(UsageTest, HelpOfEveryGroupMatchesItsGoldenFile) {
  int rc = 0;
  const std::string top = Run("--help", &rc);
  EXPECT_EQ(rc, 0);
  const std::vector<std::string> groups = Groups(top);
  ASSERT_GE(groups.size(), 15u) << top;
#ifdef TRIAD_HAVE_TRAINER
  // The golden files are of a build with the trainer: train, worker and model init are there.
  EXPECT_EQ(top, Golden("triad")) << "tests/cli/update_help_goldens.sh rewrites testdata/cli/help";
  EXPECT_EQ(Run("--help-all", &rc), Golden("all"));
#endif
  for (const std::string& g : groups) {
#ifndef TRIAD_HAVE_TRAINER
    if (g == "model") continue;  // without `model init`
#endif
    EXPECT_EQ(Run(g + " --help", &rc), Golden(g)) << g;
    EXPECT_EQ(rc, 0) << g;
  }
#ifdef TRIAD_HAVE_TRAINER
  // triad-worker's commands: `train` above; `worker run`, whose --device and --gpus are train's.
  EXPECT_EQ(Run("worker run --help", &rc), Golden("worker-run"));
  EXPECT_EQ(rc, 0);
#endif
  // `triad help`, `triad help GROUP` and `triad GROUP help` are the same.
  EXPECT_EQ(Run("help", &rc), top);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(Run("help job", &rc), Golden("job"));
  EXPECT_EQ(Run("job help", &rc), Golden("job"));
}

TEST_F(UsageTest, UnknownCommandsNameTheNearestAndExitTwo) {
  int rc = 0;
  EXPECT_EQ(Run("jobs status j-1", &rc),
            "triad: unknown command \"jobs\" (did you mean \"job\"?); see 'triad --help'\n");
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(Run("job submitt c-1", &rc),
            "triad: unknown command \"submitt\" (did you mean \"submit\"?); see 'triad job --help'\n");
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(Run("frobnicate", &rc), "triad: unknown command \"frobnicate\"; see 'triad --help'\n");
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(Run("job", &rc), "triad: a command is required; see 'triad job --help'\n");
  EXPECT_EQ(rc, 2);
  EXPECT_TRUE(NothingWritten());
}

TEST_F(UsageTest, VersionNamesTheWorkerMeasurement) {
  int rc = 0;
  std::string out = Run("--version", &rc);
  EXPECT_EQ(rc, 0);
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  ASSERT_EQ(lines.size(), 3u) << out;
  EXPECT_TRUE(absl::StartsWith(lines[0], "triad ")) << out;
  if (std::filesystem::exists(testing::TriadWorkerBinary())) {
    EXPECT_EQ(lines[1],
              "triad-worker sha384:" +
                  base::HexEncode(crypto::Sha384(testing::ReadTestFile(testing::TriadWorkerBinary()))) +
                  " (its sim measurement)");
  } else {
    EXPECT_EQ(lines[1], "triad-worker: not built beside triad (no trainer, no worker)");
  }
}

// Every bad value is a usage error that names its flag, before anything is read or written.
TEST_F(UsageTest, BadFlagValuesAreUsageErrorsNamingTheFlag) {
  const std::string d = dir_.path();
  struct Case {
    std::string args, line;
  };
  const std::vector<Case> cases = {
      {"--log-level verbose job list",
       "triad: --log-level: \"verbose\" is not one of trace, debug, info, warn, error, off; see "
       "'triad --help'"},
      {"audit watch --coordinator 127.0.0.1:1 --coordinator-card c --state s --every 5",
       "triad: --every: \"5\" is not a positive duration (30s, 2m, 1h); see 'triad audit watch "
       "--help'"},
      {"model push " + d + " --coordinator 127.0.0.1:1 --as k --name 'bad name'",
       "triad: --name: \"bad name\": name may hold only letters, digits, '.', '_' and '-'; see "
       "'triad model push --help'"},
      {"keygen --name a --role data_owner --dir " + d + "/keys",
       "triad: --role: \"data_owner\" is not a role (model-owner, data-owner, compute-provider or "
       "auditor); did you mean \"data-owner\"?; see 'triad keygen --help'"},
      {"job status j-1 --coordinator localhost --as k",
       "triad: --coordinator: \"localhost\" has no port: give HOST:PORT "
       "(coordinator.example:7443); see 'triad job status --help'"},
      {"job status j-1 --coordinator 127.0.0.1:0 --as k",
       "triad: --coordinator: \"127.0.0.1:0\": the port must be a number from 1 to 65535 "
       "(coordinator.example:7443); see 'triad job status --help'"},
      {"coordinator serve --dir " + d + "/state --listen 127.0.0.1",
       "triad: --listen: \"127.0.0.1\" has no port: give HOST:PORT (127.0.0.1:7443 or "
       "0.0.0.0:7443; port 0 picks one); see 'triad coordinator serve --help'"},
      {"coordinator serve --dir " + d + "/state --listen 127.0.0.1:0 --lease forever",
       "triad: --lease: \"forever\" is not a positive duration (30s, 2m, 1h); see 'triad "
       "coordinator serve --help'"},
      {"contract verify " + d + "/c.json --now yesterday",
       "triad: --now: \"yesterday\" is not an RFC 3339 time (2025-07-01T12:00:00Z); see 'triad "
       "contract verify --help'"},
      {"job list --as k",
       "triad: --coordinator is required: the coordinator's HOST:PORT (or TRIAD_COORDINATOR, or a "
       "context: triad context add); see 'triad job list --help'"},
      {"job list --coordinator 127.0.0.1:7443",
       "triad: --as (your keys, DIR/NAME as `triad keygen --dir DIR --name NAME` wrote them; or "
       "TRIAD_AS, or a context: triad context add) is required; see 'triad job list --help'"},
  };
  for (const Case& c : cases) {
    int rc = 0;
    EXPECT_EQ(Run(c.args, &rc), c.line + "\n") << c.args;
    EXPECT_EQ(rc, 2) << c.args;
  }
  EXPECT_TRUE(NothingWritten());
  // One name per idea; an older spelling still works, hidden, but not both at once.
  int code = 0;
  testing::WriteTestFile(d + "/plain", "x");
  EXPECT_EQ(Run("encrypt -r age1xyz --out " + d + "/a --output " + d + "/b " + d + "/plain", &code),
            "triad: --out: given twice (--output is its older spelling); see 'triad encrypt "
            "--help'\n");
  EXPECT_EQ(code, 2);
  EXPECT_EQ(Run("job submit --coordinator 127.0.0.1:1 --as k", &code),
            "triad: CONTRACT is required; see 'triad job submit --help'\n");
  EXPECT_EQ(code, 2);
  EXPECT_FALSE(absl::StrContains(Run("encrypt --help", &code), "--output"));
  EXPECT_TRUE(absl::StrContains(Run("encrypt --help", &code), "-o,--out TEXT"));
  // --as names DIR/NAME; a missing key file is said in those terms (exit 1: not a usage error, the
  // keys may be elsewhere), and a key file's own name stands for DIR/NAME.
  EXPECT_EQ(Run("job list --coordinator 127.0.0.1:1 --coordinator-card c --as " + d + "/keys/nobody",
                &code),
            "triad: --as " + d + "/keys/nobody: there is no " + d +
                "/keys/nobody.signing.pem (--as names the keys DIR/NAME that `triad keygen --dir "
                "DIR --name NAME` wrote)\n");
  EXPECT_EQ(code, 1);
  EXPECT_EQ(Run("job list --coordinator 127.0.0.1:1 --coordinator-card c --as " + d +
                    "/keys/nobody.identity",
                &code),
            "triad: --as " + d + "/keys/nobody: there is no " + d +
                "/keys/nobody.signing.pem (--as names the keys DIR/NAME that `triad keygen --dir "
                "DIR --name NAME` wrote)\n");
  // A contract given as the coordinator card is named as such (offline: audit verify reads the card
  // first).
  testing::WriteTestFile(d + "/contract.json",
                         "{\"payloadType\": \"application/vnd.triad.contract+json\", \"payload\": "
                         "\"e30=\", \"signatures\": []}\n");
  EXPECT_EQ(Run("audit verify " + d + "/bundle.json --coordinator-card " + d + "/contract.json",
                &code),
            "triad: --coordinator-card " + d +
                "/contract.json is a contract, not a coordinator card; the coordinator's operator "
                "gives out its card (triad coordinator card)\n");
  EXPECT_EQ(code, 1);
  // From the environment, the same rules: TRIAD_COORDINATOR without a port is named as such.
  int rc = 0;
  std::string out;
  rc = RunCommand("TRIAD_COORDINATOR=localhost " + Triad() + " job list --as k", &out);
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(out, "triad: --coordinator from TRIAD_COORDINATOR: \"localhost\" has no port: give "
                 "HOST:PORT (coordinator.example:7443); see 'triad job list --help'\n");
}

// Roles are spelled model-owner, data-owner, compute-provider, auditor everywhere: as values
// (keygen --role) and as flags (contract draft); `--provider` is kept as a hidden older spelling,
// and a near miss of a flag is named with the nearest one. Nothing is written.
TEST_F(UsageTest, RolesHaveOneSpellingEverywhere) {
  const std::string d = dir_.path();
  const std::string draft = "contract draft --model-owner " + d + "/mo.card.json --data-owner " +
                            d +
                            "/do.card.json --model sha256:aa --dataset sha256:bb --valid-for 1d "
                            "--out " +
                            d + "/contract.json";
  struct Case {
    std::string args, line;
  };
  const std::vector<Case> cases = {
      {"keygen --name a --role compute_provider --dir " + d + "/keys",
       "triad: --role: \"compute_provider\" is not a role (model-owner, data-owner, "
       "compute-provider or auditor); did you mean \"compute-provider\"?; see 'triad keygen "
       "--help'"},
      {"keygen --name a --role model-owners --dir " + d + "/keys",
       "triad: --role: \"model-owners\" is not a role (model-owner, data-owner, compute-provider "
       "or auditor); did you mean \"model-owner\"?; see 'triad keygen --help'"},
      {draft + " --compute_provider " + d + "/cp.card.json",
       "triad: unknown flag --compute_provider (did you mean --compute-provider?); see 'triad "
       "contract draft --help'"},
      {draft + " --compute-provider " + d + "/cp.card.json --auditors " + d + "/a.card.json",
       "triad: unknown flag --auditors (did you mean --auditor?); see 'triad contract draft "
       "--help'"},
      {draft + " --compute-provider " + d + "/cp.card.json --provider " + d + "/cp.card.json",
       "triad: --compute-provider: given twice (--provider is its older spelling); see 'triad "
       "contract draft --help'"},
  };
  for (const Case& c : cases) {
    int rc = 0;
    EXPECT_EQ(Run(c.args, &rc), c.line + "\n") << c.args;
    EXPECT_EQ(rc, 2) << c.args;
  }
  EXPECT_TRUE(NothingWritten());
  int rc = 0;
  const std::string help = Run("contract draft --help", &rc);
  EXPECT_TRUE(absl::StrContains(help, "--compute-provider")) << help;
  EXPECT_FALSE(absl::StrContains(help, "--provider")) << help;
}

#ifdef TRIAD_HAVE_TRAINER
// --device and --gpus mean the same in `train` and `worker run`
// (docs/commands.md#devices-and-gpus):
// --gpus is a list of indices as nvidia-smi numbers them, --device cuda:N is --device cuda --gpus
// N, and flags that disagree are a usage error naming both, before anything is read or written.
TEST_F(UsageTest, DeviceAndGpusMeanTheSameInTrainAndWorkerRun) {
  const std::string d = dir_.path();
  const std::string train =
      "train --model " + d + "/model --data " + d + "/data.jsonl --out " + d + "/adapter";
  const std::string worker = "worker run --coordinator 127.0.0.1:1 --coordinator-card " + d +
                             "/c.json --as " + d + "/keys/cp --tee sim --sim-key " + d + "/sim.pem";
  struct Case {
    std::string command, help, flags, line;
  };
  std::vector<Case> cases;
  for (const auto& [command, help] : std::vector<std::pair<std::string, std::string>>{
           {train, "triad train"}, {worker, "triad worker run"}}) {
    cases.push_back({command, help, "--device cuda:1 --gpus 0",
                     "--device cuda:1 and --gpus 0 name different GPUs: give one of them "
                     "(--device cuda:N is --device cuda --gpus N)"});
    cases.push_back({command, help, "--device cpu --gpus 0,1",
                     "--device cpu and --gpus 0,1 disagree: GPUs need --device cuda"});
    cases.push_back({command, help, "--device cuda:x",
                     "--device: \"cuda:x\" is not a device (cpu, cuda or cuda:N); did you mean "
                     "\"cuda\"?"});
    cases.push_back({command, help, "--gpus 0,x",
                     "--gpus: \"0,x\" is not a list of GPU indices (0,1: as nvidia-smi numbers "
                     "them)"});
    cases.push_back({command, help, "--gpus 1,0,1", "--gpus: \"1,0,1\": GPU 1 is given twice"});
  }
  // In train, --gpus was a count: a lone index above 0 is refused rather than read the other way.
  cases.push_back({train, "triad train", "--gpus 2",
                   "--gpus: 2 is one GPU index, not a count: --gpus 0,1 trains on 2 GPUs, "
                   "--device cuda:2 on GPU 2 alone"});
  cases.push_back({train, "triad train", "--gpus 4",
                   "--gpus: 4 is one GPU index, not a count: --gpus 0,1,2,3 trains on 4 GPUs, "
                   "--device cuda:4 on GPU 4 alone"});
  for (const Case& c : cases) {
    int rc = 0;
    EXPECT_EQ(Run(c.command + " " + c.flags, &rc),
              "triad: " + c.line + "; see '" + c.help + " --help'\n")
        << c.help << " " << c.flags;
    EXPECT_EQ(rc, 2) << c.help << " " << c.flags;
  }
  // An index is the same GPU in both: train hands CUDA those indices, so it refuses a
  // CUDA_VISIBLE_DEVICES that would renumber them.
  std::string out;
  EXPECT_EQ(
      RunCommand("CUDA_VISIBLE_DEVICES=3 " + Triad() + " " + train + " --device cuda:0", &out), 2);
  EXPECT_EQ(out,
            "triad: --device cuda:0 names GPUs as nvidia-smi numbers them, and "
            "CUDA_VISIBLE_DEVICES=3 chooses too: unset it, or leave the choice to it with "
            "--device cuda; see 'triad train --help'\n");
  EXPECT_TRUE(NothingWritten());
}
#endif

// The completion script runs in bash and completes commands and flags from the tree.
TEST_F(UsageTest, BashCompletionCompletesCommandsAndFlags) {
  int rc = 0;
  const std::string script = Run("completion bash", &rc);
  ASSERT_EQ(rc, 0);
  testing::WriteTestFile(dir_.File("triad.bash"), script);
  auto complete = [&](const std::string& words) {
    std::string out;
    const std::string cmd = absl::StrCat(
        "bash -c 'source ", dir_.File("triad.bash"), "; COMP_WORDS=(", words,
        "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _triad; echo \"${COMPREPLY[*]}\"'");
    EXPECT_EQ(RunCommand(cmd, &out), 0) << out;
    return out;
  };
  EXPECT_EQ(complete("triad jo"), "job\n");
  EXPECT_EQ(complete("triad job su"), "submit\n");
  EXPECT_EQ(complete("triad job submit --wa"), "--watch\n");
  EXPECT_EQ(complete("triad context u"), "use\n");
  // zsh: the same function through bashcompinit.
  const std::string zsh = Run("completion zsh", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(absl::StartsWith(zsh, "autoload -U +X bashcompinit && bashcompinit\n")) << zsh;
  EXPECT_TRUE(absl::EndsWith(zsh, script));
}

}  // namespace
}  // namespace triad
