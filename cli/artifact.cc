// triad model push|register, triad dataset push|register: encrypted artifacts to the coordinator.
//
// push packs (a model directory as a ustar tar; a dataset as its JSONL bytes) and age-encrypts the
// plaintext to the owner's own release recipient (its card's) and no one else, streaming: the
// plaintext passes through SecretBytes buffers only, and the ciphertext goes to an unlinked
// temporary file, hashed on the way (its SHA-256 is the artifact id the upload declares first).
// register uploads a file already encrypted with stock `age` to the owner's recipient alone
// (checked with the owner's identity). Both print the artifact id. The owner's keyholder releases
// the key (docs/custody.md).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/hardening.h"
#include "base/status.h"
#include "base/tar.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/keys.h"
#include "coordinator/request.h"
#include "crypto/age.h"
#include "crypto/byte_stream.h"
#include "crypto/hash.h"
#include "crypto/secret.h"
#include "nlohmann/json.hpp"
#include "triad/v1/registry.grpc.pb.h"

namespace triad::cli {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

using Fd = base::UniqueFd;

// An unlinked temporary file in $TMPDIR (or /tmp) for ciphertext.
absl::StatusOr<Fd> TempFile() {
  const char* env = std::getenv("TMPDIR");
  std::string dir = env != nullptr && *env != '\0' ? env : "/tmp";
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return Fd(fd);
  std::string path = dir + "/triad-upload-XXXXXX";
  fd = ::mkstemp(path.data());
  if (fd < 0) return base::ErrnoStatus(errno, absl::StrCat("creating a temporary file in ", dir));
  ::unlink(path.c_str());
  return Fd(fd);
}

// Writes ciphertext to a file, hashing and counting it.
class HashingFileSink : public crypto::ByteSink {
 public:
  explicit HashingFileSink(int fd)
      : out_(fd, "temporary ciphertext"), hasher_(crypto::HashAlg::kSha256) {}
  absl::Status Write(absl::string_view data) override {
    hasher_.Update(data);
    size_ += data.size();
    return out_.Write(data);
  }
  uint64_t size() const { return size_; }
  std::string Id() { return absl::StrCat("sha256:", base::HexEncode(hasher_.Finish())); }

 private:
  crypto::FdSink out_;
  crypto::Hasher hasher_;
  uint64_t size_ = 0;
};

// Reads a whole plaintext file into `write` in pieces, through a SecretBytes buffer.
template <typename Write>
absl::Status StreamPlaintext(const std::string& path, int fd, uint64_t expected_size, Write write) {
  crypto::SecretBytes buf = crypto::SecretBytes::Uninitialized(kBufferBytes);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::ErrnoStatus(errno, absl::StrCat("reading ", path));
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (total > expected_size) break;
    TRIAD_RETURN_IF_ERROR(write(
        absl::string_view(reinterpret_cast<const char*>(buf.data()), static_cast<size_t>(n))));
  }
  if (total != expected_size)
    return absl::AbortedError(absl::StrCat(path, " changed while it was read"));
  return absl::OkStatus();
}

absl::StatusOr<std::pair<Fd, uint64_t>> OpenRegular(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return base::ErrnoStatus(errno, absl::StrCat("opening ", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return base::ErrnoStatus(errno, absl::StrCat("stat ", path));
  if (!S_ISREG(st.st_mode))
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  return std::make_pair(std::move(fd), static_cast<uint64_t>(st.st_size));
}

// The files of a model directory that make the model: config.json, tokenizer.json, the safetensors
// shards and their index. Other files are left out.
absl::StatusOr<std::vector<std::string>> ModelFiles(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return base::ErrnoStatus(errno, absl::StrCat("opening ", dir));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "config.json" || n == "tokenizer.json" || n == "model.safetensors.index.json" ||
        (absl::EndsWith(n, ".safetensors") && n != ".safetensors")) {
      names.push_back(n);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  auto has = [&](const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  for (const char* required : {"config.json", "tokenizer.json"}) {
    if (!has(required)) return absl::InvalidArgumentError(absl::StrCat(dir, " has no ", required));
  }
  if (std::none_of(names.begin(), names.end(),
                   [](const std::string& n) { return absl::EndsWith(n, ".safetensors"); })) {
    return absl::InvalidArgumentError(absl::StrCat(dir, " has no *.safetensors file"));
  }
  return names;
}

struct ArtifactFlags {
  ClientFlags client;
  std::string as;
  std::string name;
  std::string in;    // push: MODEL_DIR or FILE.jsonl
  std::string file;  // register: FILE.age
  bool json = false;
};

// Streams `size` bytes of ciphertext from `fd` (offset 0) up, after the signed registration.
absl::Status Upload(const ArtifactFlags& f, const crypto::Ed25519PrivateKey& key,
                    const std::string& kind, int fd, const std::string& id, uint64_t size) {
  TRIAD_ASSIGN_OR_RETURN(Remote remote, ConnectRemote(f.client));
  auto stub = v1::Registry::NewStub(remote.channel);
  grpc::ClientContext ctx;
  v1::ArtifactInfo info;
  std::unique_ptr<grpc::ClientWriter<v1::ArtifactUpload>> writer =
      stub->UploadArtifact(&ctx, &info);
  v1::ArtifactUpload first;
  first.mutable_registration()->set_envelope_json(remote.Sign(
      "register-artifact", {{"kind", kind}, {"name", f.name}, {"id", id}, {"size", size}}, key));
  ProgressLine progress(absl::StrCat("uploading ", kind, " ", f.name), size);
  absl::Status local;
  if (writer->Write(first)) {
    std::string buf(kBufferBytes, '\0');
    v1::ArtifactUpload msg;
    for (uint64_t off = 0; off < size;) {
      ssize_t n = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), size - off),
                          static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        local = n < 0 ? base::ErrnoStatus(errno, "reading the ciphertext")
                      : absl::DataLossError("ciphertext shrank");
        ctx.TryCancel();
        break;
      }
      msg.mutable_chunk()->set_data(buf.data(), static_cast<size_t>(n));
      if (!writer->Write(msg)) break;  // the coordinator refused; Finish says why
      off += static_cast<uint64_t>(n);
      progress.Update(off);
    }
  }
  writer->WritesDone();
  grpc::Status st = writer->Finish();
  progress.Finish();
  TRIAD_RETURN_IF_ERROR(local);
  TRIAD_RETURN_IF_ERROR(CallStatus(st, f.client));
  if (f.json) {
    nlohmann::ordered_json j;
    j["id"] = info.id();
    j["kind"] = info.kind();
    j["name"] = info.name();
    j["owner"] = info.owner();
    j["size"] = info.size();
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << info.id() << "\n";
  }
  return absl::OkStatus();
}

absl::Status Push(const ArtifactFlags& f, const std::string& kind) {
  // This process holds plaintext: no core dumps.
  TRIAD_RETURN_IF_ERROR(base::DisableCoreDumps());
  TRIAD_RETURN_IF_ERROR(contracts::ValidateName(f.name));
  TRIAD_ASSIGN_OR_RETURN(PartyKeys owner, LoadPartyKeys(f.as));
  const crypto::Ed25519PrivateKey& key = owner.signing_key;
  TRIAD_ASSIGN_OR_RETURN(Fd out, TempFile());
  HashingFileSink sink(out.get());
  // To the owner's own release recipient and no one else (docs/custody.md): only its keyholder
  // ever re-wraps this file key, and only to an attested worker.
  TRIAD_ASSIGN_OR_RETURN(
      std::unique_ptr<crypto::age::Encryptor> enc,
      crypto::age::Encryptor::Create(absl::MakeConstSpan(&owner.card.age_recipient, 1), sink));
  auto encrypt = [&enc](absl::string_view plaintext) { return enc->Write(plaintext); };
  uint64_t read = 0;
  if (kind == "model") {
    TRIAD_ASSIGN_OR_RETURN(std::vector<std::string> names, ModelFiles(f.in));
    std::vector<std::pair<Fd, uint64_t>> files;
    uint64_t total = 0;
    for (const std::string& n : names) {
      TRIAD_ASSIGN_OR_RETURN(auto file, OpenRegular(absl::StrCat(f.in, "/", n)));
      total += file.second;
      files.push_back(std::move(file));
    }
    ProgressLine progress(absl::StrCat("encrypting ", f.name), total);
    TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<base::TarWriter> tar, base::TarWriter::Create(encrypt));
    for (size_t i = 0; i < names.size(); ++i) {
      TRIAD_RETURN_IF_ERROR(tar->BeginFile(names[i], files[i].second));
      TRIAD_RETURN_IF_ERROR(StreamPlaintext(absl::StrCat(f.in, "/", names[i]), files[i].first.get(),
                                            files[i].second, [&](absl::string_view d) {
                                              progress.Update(read += d.size());
                                              return tar->Write(d);
                                            }));
    }
    TRIAD_RETURN_IF_ERROR(tar->Finish());
    progress.Finish();
  } else {
    TRIAD_ASSIGN_OR_RETURN(auto file, OpenRegular(f.in));
    if (file.second == 0) return absl::InvalidArgumentError(absl::StrCat(f.in, " is empty"));
    ProgressLine progress(absl::StrCat("encrypting ", f.name), file.second);
    TRIAD_RETURN_IF_ERROR(
        StreamPlaintext(f.in, file.first.get(), file.second, [&](absl::string_view d) {
          progress.Update(read += d.size());
          return encrypt(d);
        }));
    progress.Finish();
  }
  TRIAD_RETURN_IF_ERROR(enc->Close());
  uint64_t size = sink.size();
  std::string id = sink.Id();
  return Upload(f, key, kind, out.get(), id, size);
}

// A file made with stock age may be addressed to anyone: it must be to the owner's release
// recipient alone, which the owner's own identity proves (exactly one X25519 stanza, and it opens,
// MAC included).
absl::Status CheckOwnerOnly(const std::string& path, int fd, const PartyKeys& owner) {
  std::string head(crypto::age::kMaxHeaderSize, '\0');
  ssize_t n = ::pread(fd, head.data(), head.size(), 0);
  if (n < 0) return base::ErrnoStatus(errno, absl::StrCat("reading ", path));
  head.resize(static_cast<size_t>(n));
  TRIAD_ASSIGN_OR_RETURN(crypto::age::Header header,
                         base::Annotate(crypto::age::Header::Parse(head), path));
  if (header.stanzas().size() != 1 || header.stanzas()[0].args.empty() ||
      header.stanzas()[0].args[0] != "X25519") {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " is encrypted to ", header.stanzas().size(),
        " recipient(s); an artifact is encrypted to its owner's release recipient alone (age -r ",
        owner.card.age_recipient.ToString(), ")"));
  }
  absl::StatusOr<crypto::SecretBytes> file_key =
      crypto::age::UnwrapFileKey(header, owner.identities);
  if (!file_key.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not encrypted to ", owner.card.name, "'s release recipient ",
                     owner.card.age_recipient.ToString(), " (", file_key.status().message(), ")"));
  }
  return absl::OkStatus();  // the file key is wiped as it goes
}

absl::Status Register(const ArtifactFlags& f, const std::string& kind) {
  TRIAD_RETURN_IF_ERROR(contracts::ValidateName(f.name));
  TRIAD_ASSIGN_OR_RETURN(PartyKeys owner, LoadPartyKeys(f.as));
  const crypto::Ed25519PrivateKey& key = owner.signing_key;
  TRIAD_ASSIGN_OR_RETURN(auto file, OpenRegular(f.file));
  // Hash it (and look at its start: the coordinator needs the binary form).
  crypto::Hasher hasher(crypto::HashAlg::kSha256);
  std::string buf(kBufferBytes, '\0');
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::pread(file.first.get(), buf.data(), buf.size(), static_cast<off_t>(total));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::ErrnoStatus(errno, absl::StrCat("reading ", f.file));
    if (n == 0) break;
    if (total == 0 &&
        absl::StartsWith(absl::string_view(buf.data(), static_cast<size_t>(n)), "-----BEGIN AGE")) {
      return absl::InvalidArgumentError(absl::StrCat(
          f.file, " is ASCII-armored; register the binary age file (encrypt without -a)"));
    }
    hasher.Update(absl::string_view(buf.data(), static_cast<size_t>(n)));
    total += static_cast<uint64_t>(n);
  }
  if (total != file.second)
    return absl::AbortedError(absl::StrCat(f.file, " changed while it was read"));
  TRIAD_RETURN_IF_ERROR(CheckOwnerOnly(f.file, file.first.get(), owner));
  return Upload(f, key, kind, file.first.get(),
                absl::StrCat("sha256:", base::HexEncode(hasher.Finish())), total);
}

void AddGroup(CLI::App& app, Context& ctx, const std::string& kind) {
  bool model = kind == "model";
  CLI::App* group =
      GroupCommand(app, kind, model ? "Encrypted base models and model bundles" : "Encrypted datasets");
  group->require_subcommand(1);

  auto p = std::make_shared<ArtifactFlags>();
  CLI::App* push =
      group->add_subcommand("push", model ? "Pack MODEL_DIR (config.json, *.safetensors, index, "
                                            "tokenizer.json), encrypt and upload it"
                                          : "Encrypt a JSONL dataset and upload it");
  AddClientFlags(push, p->client);
  push->add_option("--as", p->as,
                   model ? "The model owner's keys: DIR/NAME" : "The data owner's keys: DIR/NAME")
      ->required();
  push->add_option("--name", p->name, "The artifact's name")->required();
  push->add_option("--in", p->in, model ? "The model directory" : "The JSONL file")->required();
  push->add_flag("--json", p->json, "Print the registered artifact as JSON");
  push->callback([p, &ctx, kind] {
    absl::Status st = Push(*p, kind);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });

  auto r = std::make_shared<ArtifactFlags>();
  CLI::App* reg = group->add_subcommand(
      "register",
      "Upload a file already encrypted with stock age to your own card's recipient (age -r) alone");
  AddClientFlags(reg, r->client);
  reg->add_option("--as", r->as, "The owner's keys: DIR/NAME")->required();
  reg->add_option("--name", r->name, "The artifact's name")->required();
  reg->add_option("--file", r->file,
                  model ? "FILE.age: a tar of the model files, age-encrypted"
                        : "FILE.age: the JSONL, age-encrypted")
      ->required();
  reg->add_flag("--json", r->json, "Print the registered artifact as JSON");
  reg->callback([r, &ctx, kind] {
    absl::Status st = Register(*r, kind);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });
}

}  // namespace

void AddArtifactCommands(CLI::App& app, Context& ctx) {
  AddGroup(app, ctx, "model");
  AddGroup(app, ctx, "dataset");
}

}  // namespace triad::cli
