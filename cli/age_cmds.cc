// triad encrypt / triad decrypt: age files, compatible with the stock `age` tool both ways.
//
// Output files are written to a temporary file beside the destination and renamed into place only
// when the whole operation succeeded: on any failure (or SIGINT/SIGTERM/SIGHUP) the temporary file is
// removed, so a failed decryption leaves no plaintext behind and an existing file is left as it was.
// Outputs that are not regular files (/dev/null, a FIFO) are written directly.
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/status.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "contracts/card.h"
#include "crypto/age.h"
#include "crypto/age_keys.h"
#include "crypto/byte_stream.h"

namespace triad::cli {
namespace {

namespace age = crypto::age;

// The temporary output file, for the signal handler: a fixed buffer, since a handler may only call
// async-signal-safe functions (unlink, signal, raise).
char g_temp_path[PATH_MAX];
volatile sig_atomic_t g_temp_active = 0;

void RemoveTempAndDie(int sig) {
  if (g_temp_active) ::unlink(g_temp_path);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Where the output goes: standard output, a non-regular file opened as is, or a temporary file
// renamed to the destination by Commit.
class Output {
 public:
  ~Output() { Abandon(); }

  absl::Status Open(const std::string& path, mode_t final_mode) {
    if (path.empty() || path == "-") {
      fd_ = STDOUT_FILENO;
      name_ = "standard output";
      return absl::OkStatus();
    }
    name_ = path;
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      if (S_ISDIR(st.st_mode)) return absl::InvalidArgumentError(absl::StrCat(path, " is a directory"));
      fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd_ < 0) return base::ErrnoStatus(errno, absl::StrCat("opening ", path));
      owned_ = true;
      return absl::OkStatus();
    }
    std::string dir_copy = path;
    std::string dir = ::dirname(dir_copy.data());
    std::string base_copy = path;
    std::string base = ::basename(base_copy.data());
    std::string temp = absl::StrCat(dir, "/.", base, ".triad-XXXXXX");
    if (temp.size() >= sizeof g_temp_path) return absl::InvalidArgumentError("output path too long");
    std::memcpy(g_temp_path, temp.c_str(), temp.size() + 1);
    sigset_t block, old;
    sigemptyset(&block);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGBUS}) sigaddset(&block, sig);
    ::sigprocmask(SIG_BLOCK, &block, &old);
    fd_ = ::mkstemp(g_temp_path);  // mode 0600
    int err = errno;
    if (fd_ >= 0) {
      g_temp_active = 1;
      for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGBUS}) ::signal(sig, RemoveTempAndDie);
    }
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    if (fd_ < 0) return base::ErrnoStatus(err, absl::StrCat("creating a temporary file in ", dir));
    owned_ = true;
    temp_ = g_temp_path;
    final_ = path;
    final_mode_ = final_mode;
    return absl::OkStatus();
  }

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  bool is_terminal() const { return ::isatty(fd_) == 1; }

  // Moves the finished output into place.
  absl::Status Commit() {
    if (temp_.empty()) {
      if (owned_ && ::close(fd_) != 0) return base::ErrnoStatus(errno, absl::StrCat("closing ", name_));
      owned_ = false;
      return absl::OkStatus();
    }
    if (::fchmod(fd_, final_mode_) != 0) return base::ErrnoStatus(errno, absl::StrCat("chmod ", temp_));
    if (::close(fd_) != 0) return base::ErrnoStatus(errno, absl::StrCat("closing ", temp_));
    owned_ = false;
    if (::rename(temp_.c_str(), final_.c_str()) != 0) {
      return base::ErrnoStatus(errno, absl::StrCat("renaming ", temp_, " to ", final_));
    }
    Disarm();
    return absl::OkStatus();
  }

  // Removes the temporary file (a no-op after Commit).
  void Abandon() {
    if (owned_) ::close(fd_);
    owned_ = false;
    if (!temp_.empty()) {
      ::unlink(temp_.c_str());
      Disarm();
    }
  }

 private:
  void Disarm() {
    g_temp_active = 0;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGBUS}) ::signal(sig, SIG_DFL);
    temp_.clear();
  }

  int fd_ = -1;
  bool owned_ = false;
  std::string name_;
  std::string temp_;
  std::string final_;
  mode_t final_mode_ = 0600;
};

// The input: a file, or standard input.
class Input {
 public:
  ~Input() {
    if (fd_ > STDIN_FILENO) ::close(fd_);
  }
  absl::Status Open(const std::string& path) {
    if (path.empty() || path == "-") {
      source_ = std::make_unique<crypto::FdSource>(STDIN_FILENO, "standard input");
      name_ = "standard input";
      return absl::OkStatus();
    }
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return base::ErrnoStatus(errno, absl::StrCat("opening ", path));
    struct stat st;
    if (::fstat(fd_, &st) == 0 && S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(path, " is a directory"));
    }
    source_ = std::make_unique<crypto::FdSource>(fd_, path);
    name_ = path;
    return absl::OkStatus();
  }
  crypto::ByteSource& source() { return *source_; }
  const std::string& name() const { return name_; }

 private:
  int fd_ = -1;
  std::string name_;
  std::unique_ptr<crypto::FdSource> source_;
};

mode_t CreationMode() {
  mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

struct EncryptFlags {
  std::vector<std::string> recipients;
  std::vector<std::string> cards;
  bool armor = false;
  std::string output;
  std::string input;
};

absl::Status EncryptCommand(const EncryptFlags& f) {
  std::vector<age::X25519Recipient> to;
  for (const std::string& r : f.recipients) {
    absl::StatusOr<age::X25519Recipient> parsed = age::X25519Recipient::Parse(r);
    if (!parsed.ok()) return base::Annotate(parsed.status(), absl::StrCat("-r ", r));
    to.push_back(*parsed);
  }
  for (const std::string& path : f.cards) {
    TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard card, contracts::PartyCard::FromFile(path));
    to.push_back(card.age_recipient);
  }
  if (to.empty()) return absl::InvalidArgumentError("no recipients: give -r RECIPIENT or -R CARD.json");
  Input in;
  TRIAD_RETURN_IF_ERROR(in.Open(f.input));
  Output out;
  TRIAD_RETURN_IF_ERROR(out.Open(f.output, CreationMode()));
  if (!f.armor && out.is_terminal()) {
    return absl::InvalidArgumentError(
        "refusing to write binary ciphertext to a terminal; use -a/--armor or -o FILE");
  }
  crypto::FdSink sink(out.fd(), out.name());
  TRIAD_RETURN_IF_ERROR(base::Annotate(age::Encrypt(to, in.source(), sink, age::EncryptOptions{f.armor}),
                                       absl::StrCat("encrypting ", in.name())));
  return out.Commit();
}

struct DecryptFlags {
  std::vector<std::string> identities;
  std::string output;
  std::string input;
  int threads = 0;
};

absl::Status DecryptCommand(const DecryptFlags& f) {
  if (f.threads < 0) return absl::InvalidArgumentError("--threads must be 0 (all cores) or more");
  std::vector<age::X25519Identity> ids;
  for (const std::string& path : f.identities) {
    TRIAD_ASSIGN_OR_RETURN(std::vector<age::X25519Identity> more, age::ReadIdentityFile(path));
    for (age::X25519Identity& id : more) ids.push_back(std::move(id));
  }
  if (ids.empty()) return absl::InvalidArgumentError("no identities: give -i IDENTITY_FILE");
  Input in;
  TRIAD_RETURN_IF_ERROR(in.Open(f.input));
  Output out;
  TRIAD_RETURN_IF_ERROR(out.Open(f.output, 0600));  // plaintext: readable by its owner only
  crypto::FdSink sink(out.fd(), out.name());
  age::DecryptOptions options;
  options.threads = f.threads;
  TRIAD_RETURN_IF_ERROR(base::Annotate(age::Decrypt(ids, in.source(), sink, options),
                                       absl::StrCat("decrypting ", in.name())));
  return out.Commit();
}

}  // namespace

void AddAgeCommands(CLI::App& app, Context& ctx) {
  {
    auto f = std::make_shared<EncryptFlags>();
    CLI::App* cmd = app.add_subcommand(
        "encrypt", "Encrypt a file with age to recipients (stock `age -d` can decrypt it)");
    // One value per flag (CLI11 would otherwise let a repeatable flag swallow the input file).
    cmd->add_option("-r,--recipient", f->recipients, "An age1… X25519 recipient (repeatable)")
        ->allow_extra_args(false);
    cmd->add_option("-R,--recipient-card", f->cards,
                    "A party card (NAME.card.json); its age recipient is used (repeatable)")
        ->allow_extra_args(false);
    cmd->add_flag("-a,--armor", f->armor, "Write ASCII armor (PEM) instead of binary");
    AddAliasedOption(cmd, "-o,--out", "--output", f->output,
                     "Output file (default: standard output)", /*required=*/false);
    cmd->add_option("input", f->input, "Input file (default: standard input)");
    cmd->callback([f, &ctx] {
      absl::Status st = EncryptCommand(*f);
      ctx.exit_code = st.ok() ? kExitOk : Fail(st);
    });
  }
  {
    auto f = std::make_shared<DecryptFlags>();
    CLI::App* cmd = app.add_subcommand(
        "decrypt", "Decrypt an age file (binary or armored); on any failure no output file is left");
    cmd->add_option("-i,--identity", f->identities,
                    "An identity file (age-keygen's, or NAME.identity from triad keygen; repeatable)")
        ->required()
        ->allow_extra_args(false);
    AddAliasedOption(cmd, "-o,--out", "--output", f->output,
                     "Output file (default: standard output)", /*required=*/false);
    cmd->add_option("--threads", f->threads, "Decryption threads (0: one per core)")->capture_default_str();
    cmd->add_option("input", f->input, "Input file (default: standard input)");
    cmd->callback([f, &ctx] {
      absl::Status st = DecryptCommand(*f);
      ctx.exit_code = st.ok() ? kExitOk : Fail(st);
    });
  }
}

}  // namespace triad::cli
