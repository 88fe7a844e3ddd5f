// triad model push|register|check, triad dataset push|register|check, triad artifact list:
// encrypted artifacts to the coordinator.
//
// push first checks the plaintext with the trainer's own checks (cli/inputs.h), then asks the
// coordinator who the key is there (ListArtifacts: the connection, the pinned certificate, a
// registered party of the right role) before it encrypts anything. It then packs (a model directory as a ustar tar; a dataset as its JSONL bytes) and age-encrypts the
// plaintext to the owner's own release recipient (its card's) and no one else, streaming: the
// plaintext passes through SecretBytes buffers only, and the ciphertext goes to an unlinked
// temporary file, hashed on the way (its SHA-256 is the artifact id the upload declares first).
// register uploads a file already encrypted with stock `age` to the owner's recipient alone
// (checked with the owner's identity). Both print the artifact id. The owner's keyholder releases
// the key (docs/custody.md). Pushing content the owner already holds under the same name uploads
// nothing and prints the id it has (age ciphertext differs on every encryption, so that is found
// by decrypting the owner's own copy of a same-name, same-size artifact and comparing).
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
#include "cli/flags.h"
#include "cli/inputs.h"
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

struct ArtifactFlags {
  ClientFlags client;
  std::string as;
  std::string name;
  std::string in;  // push: MODEL_DIR or FILE.jsonl; register: FILE.age
  bool json = false;
};

void PrintArtifact(const v1::ArtifactInfo& info, bool json) {
  if (json) {
    nlohmann::ordered_json j;
    j["id"] = info.id();
    j["kind"] = info.kind();
    j["name"] = info.name();
    j["owner"] = info.owner();
    j["size"] = info.size();
    if (!info.registered().empty()) j["registered"] = info.registered();
    std::cout << j.dump() << "\n";
  } else {
    std::cout << info.id() << "\n";
  }
}

// Who the key is at the coordinator, asked before anything is encrypted or uploaded: the call
// proves the address, the pinned certificate and the registration; the role must be the one that
// registers `kind`.
absl::StatusOr<v1::ArtifactList> WhoAmI(const Remote& remote, const ClientFlags& client,
                                        const crypto::Ed25519PrivateKey& key,
                                        const std::string& kind) {
  auto stub = v1::Registry::NewStub(remote.channel);
  v1::SignedRequest req;
  req.set_envelope_json(remote.Sign("list-artifacts", nlohmann::json::object(), key));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  v1::ArtifactList list;
  TRIAD_RETURN_IF_ERROR(CallStatus(stub->ListArtifacts(&ctx, req, &list), client));
  if (kind.empty()) return list;
  const std::string role = kind == "model" ? "model-owner" : "data-owner";
  if (list.role() != role) {
    return absl::PermissionDeniedError(absl::StrCat("party ", list.party(), " is a ", list.role(),
                                                    "; only a ", role, " registers a ", kind));
  }
  return list;
}

// Streams `size` bytes of ciphertext from `fd` (offset 0) up, after the signed registration.
absl::Status Upload(const ArtifactFlags& f, const Remote& remote,
                    const crypto::Ed25519PrivateKey& key, const std::string& kind, int fd,
                    const std::string& id, uint64_t size) {
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
  PrintArtifact(info, f.json);
  return absl::OkStatus();
}

// Hashes what it is given (plaintext: the digest only compares two encryptions of it).
class HashingSink : public crypto::ByteSink {
 public:
  absl::Status Write(absl::string_view data) override {
    hasher_.Update(data);
    return absl::OkStatus();
  }
  std::string Finish() { return hasher_.Finish(); }

 private:
  crypto::Hasher hasher_{crypto::HashAlg::kSha256};
};

// The SHA-256 of the plaintext of the owner's own artifact `id` on the coordinator: downloaded
// (ciphertext, to an unlinked file) and decrypted with the owner's identity into a hash.
absl::StatusOr<std::string> StoredPlaintextDigest(const Remote& remote, const ClientFlags& client,
                                                  const PartyKeys& owner, const std::string& id) {
  TRIAD_ASSIGN_OR_RETURN(Fd fd, TempFile());
  {
    auto stub = v1::Registry::NewStub(remote.channel);
    v1::DownloadRequest req;
    req.mutable_request()->set_envelope_json(
        remote.Sign("download-artifact", {{"artifact_id", id}}, owner.signing_key));
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::Chunk>> reader = stub->DownloadArtifact(&ctx, req);
    crypto::FdSink sink(fd.get(), "the downloaded artifact");
    v1::Chunk chunk;
    absl::Status local;
    while (local.ok() && reader->Read(&chunk)) {
      local = sink.Write(chunk.data());
      if (!local.ok()) ctx.TryCancel();
    }
    grpc::Status done = reader->Finish();
    TRIAD_RETURN_IF_ERROR(local);
    TRIAD_RETURN_IF_ERROR(CallStatus(done, client));
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0)
    return base::ErrnoStatus(errno, "seeking the downloaded artifact");
  crypto::FdSource source(fd.get(), "the downloaded artifact");
  HashingSink hash;
  TRIAD_RETURN_IF_ERROR(base::Annotate(crypto::age::Decrypt(owner.identities, source, hash),
                                       absl::StrCat("decrypting your artifact ", id)));
  return hash.Finish();
}

absl::Status Push(const ArtifactFlags& f, const std::string& kind) {
  // This process holds plaintext: no core dumps.
  TRIAD_RETURN_IF_ERROR(base::DisableCoreDumps());
  TRIAD_ASSIGN_OR_RETURN(PartyKeys owner, LoadPartyKeys(f.as));
  const crypto::Ed25519PrivateKey& key = owner.signing_key;
  const bool tty = ::isatty(STDERR_FILENO) == 1;

  // The plaintext first, with the checks the worker would run on it: a file it would refuse is
  // refused here, before it is encrypted, uploaded or named in a contract.
  std::vector<std::string> names;
  if (kind == "model") {
    TRIAD_ASSIGN_OR_RETURN(ModelCheck checked, CheckModelDir(f.in));
    if (tty) std::cerr << "checked " << checked.Summary() << "\n";
    names = checked.files;
  } else {
    TRIAD_ASSIGN_OR_RETURN(DatasetCheck checked, CheckDatasetFile(f.in));
    if (tty) std::cerr << "checked " << checked.Summary() << "\n";
  }
  // Then the coordinator: reachable at that address, with the pinned certificate, and the key a
  // registered party of the right role; and what it already holds under this name.
  TRIAD_ASSIGN_OR_RETURN(Remote remote, ConnectRemote(f.client));
  TRIAD_ASSIGN_OR_RETURN(v1::ArtifactList held, WhoAmI(remote, f.client, key, kind));
  std::vector<v1::ArtifactInfo> same_name;
  for (const v1::ArtifactInfo& a : held.artifacts()) {
    if (a.kind() == kind && a.name() == f.name) same_name.push_back(a);
  }

  TRIAD_ASSIGN_OR_RETURN(Fd out, TempFile());
  HashingFileSink sink(out.get());
  // To the owner's own release recipient and no one else (docs/custody.md): only its keyholder
  // ever re-wraps this file key, and only to an attested worker.
  TRIAD_ASSIGN_OR_RETURN(
      std::unique_ptr<crypto::age::Encryptor> enc,
      crypto::age::Encryptor::Create(absl::MakeConstSpan(&owner.card.age_recipient, 1), sink));
  crypto::Hasher plaintext_digest(crypto::HashAlg::kSha256);
  auto encrypt = [&enc, &plaintext_digest](absl::string_view plaintext) {
    plaintext_digest.Update(plaintext);
    return enc->Write(plaintext);
  };
  uint64_t read = 0;
  if (kind == "model") {
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
    ProgressLine progress(absl::StrCat("encrypting ", f.name), file.second);
    TRIAD_RETURN_IF_ERROR(
        StreamPlaintext(f.in, file.first.get(), file.second, [&](absl::string_view d) {
          progress.Update(read += d.size());
          return encrypt(d);
        }));
    progress.Finish();
  }
  TRIAD_RETURN_IF_ERROR(enc->Close());
  const uint64_t size = sink.size();
  const std::string id = sink.Id();
  const std::string digest = plaintext_digest.Finish();

  // The same content under the same name is the artifact the owner already has. Equal plaintext
  // sizes give equal ciphertext sizes (one X25519 stanza, 64 KiB chunks), so only those are opened.
  for (const v1::ArtifactInfo& a : same_name) {
    if (a.size() != size) continue;
    TRIAD_ASSIGN_OR_RETURN(std::string stored, StoredPlaintextDigest(remote, f.client, owner, a.id()));
    if (stored != digest) continue;
    std::cerr << "triad: " << kind << " " << f.name << " with this content is already registered as "
              << a.id() << " (" << a.registered() << "); nothing was uploaded" << std::endl;
    PrintArtifact(a, f.json);
    return absl::OkStatus();
  }
  if (!same_name.empty()) {
    std::cerr << "triad: you already have " << same_name.size() << " " << kind << "(s) named "
              << f.name << " with other content; this one is registered beside "
              << (same_name.size() == 1 ? "it" : "them") << " under its own id" << std::endl;
  }
  return Upload(f, remote, key, kind, out.get(), id, size);
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
  TRIAD_ASSIGN_OR_RETURN(PartyKeys owner, LoadPartyKeys(f.as));
  const crypto::Ed25519PrivateKey& key = owner.signing_key;
  TRIAD_ASSIGN_OR_RETURN(auto file, OpenRegular(f.in));
  // Hash it (and look at its start: the coordinator needs the binary form).
  crypto::Hasher hasher(crypto::HashAlg::kSha256);
  std::string buf(kBufferBytes, '\0');
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::pread(file.first.get(), buf.data(), buf.size(), static_cast<off_t>(total));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::ErrnoStatus(errno, absl::StrCat("reading ", f.in));
    if (n == 0) break;
    if (total == 0 &&
        absl::StartsWith(absl::string_view(buf.data(), static_cast<size_t>(n)), "-----BEGIN AGE")) {
      return absl::InvalidArgumentError(absl::StrCat(
          f.in, " is ASCII-armored; register the binary age file (encrypt without -a)"));
    }
    hasher.Update(absl::string_view(buf.data(), static_cast<size_t>(n)));
    total += static_cast<uint64_t>(n);
  }
  if (total != file.second)
    return absl::AbortedError(absl::StrCat(f.in, " changed while it was read"));
  TRIAD_RETURN_IF_ERROR(CheckOwnerOnly(f.in, file.first.get(), owner));
  TRIAD_ASSIGN_OR_RETURN(Remote remote, ConnectRemote(f.client));
  TRIAD_RETURN_IF_ERROR(WhoAmI(remote, f.client, key, kind).status());
  return Upload(f, remote, key, kind, file.first.get(),
                absl::StrCat("sha256:", base::HexEncode(hasher.Finish())), total);
}

struct CheckFlags {
  std::string in;
  std::string model;  // dataset check --model DIR
  bool json = false;
};

absl::Status Check(const CheckFlags& f, const std::string& kind) {
  // This process maps plaintext: no core dumps.
  TRIAD_RETURN_IF_ERROR(base::DisableCoreDumps());
  if (kind == "model") {
    TRIAD_ASSIGN_OR_RETURN(ModelCheck c, CheckModelDir(f.in));
    std::cout << (f.json ? c.ToJson().dump() : c.Summary()) << "\n";
    return absl::OkStatus();
  }
  TRIAD_ASSIGN_OR_RETURN(DatasetCheck c,
                         f.model.empty() ? CheckDatasetFile(f.in) : CheckDatasetForModel(f.in, f.model));
  std::cout << (f.json ? c.ToJson().dump() : c.Summary()) << "\n";
  return absl::OkStatus();
}

void AddGroup(CLI::App& app, Context& ctx, const std::string& kind) {
  bool model = kind == "model";
  CLI::App* group =
      GroupCommand(app, kind, model ? "Encrypted base models and model bundles" : "Encrypted datasets");
  group->require_subcommand(1);

  auto p = std::make_shared<ArtifactFlags>();
  CLI::App* push = group->add_subcommand(
      "push", model ? "Check MODEL_DIR (config.json, *.safetensors, index, tokenizer.json) as the "
                      "trainer would, then encrypt it to your own key and upload it"
                    : "Check a JSONL dataset as the trainer would, then encrypt it to your own key "
                      "and upload it");
  AddAliasedOption(push, model ? "MODEL_DIR" : "FILE", "--in", p->in,
                   model ? "The model directory" : "The JSONL file", /*required=*/true);
  AddClientFlags(push, p->client);
  AddAsFlag(push, p->as, model ? "The model owner's keys: DIR/NAME" : "The data owner's keys: DIR/NAME");
  push->add_option("--name", p->name, "The artifact's name")->required()->check(NameValue());
  push->add_flag("--json", p->json, "Print the registered artifact as JSON");
  push->callback([p, &ctx, kind] { ctx.exit_code = Finish(Push(*p, kind)); });

  auto r = std::make_shared<ArtifactFlags>();
  CLI::App* reg = group->add_subcommand(
      "register",
      "Upload a file already encrypted with stock age to your own card's recipient (age -r) alone");
  AddAliasedOption(reg, "FILE", "--file", r->in,
                   model ? "FILE.age: a tar of the model files, age-encrypted"
                         : "FILE.age: the JSONL, age-encrypted",
                   /*required=*/true);
  AddClientFlags(reg, r->client);
  AddAsFlag(reg, r->as, "The owner's keys: DIR/NAME");
  reg->add_option("--name", r->name, "The artifact's name")->required()->check(NameValue());
  reg->add_flag("--json", r->json, "Print the registered artifact as JSON");
  reg->callback([r, &ctx, kind] { ctx.exit_code = Finish(Register(*r, kind)); });

  auto c = std::make_shared<CheckFlags>();
  CLI::App* check = group->add_subcommand(
      "check", model ? "Check MODEL_DIR offline as the trainer would (before encrypting it with "
                       "stock age, say)"
                     : "Check a JSONL file offline as the trainer would (before encrypting it "
                       "with stock age, say)");
  check->add_option(model ? "MODEL_DIR" : "FILE", c->in, model ? "The model directory" : "The JSONL file")
      ->required();
  if (!model) {
    check->add_option("--model", c->model,
                      "Also tokenize it with this model directory's tokenizer and chat format");
  }
  check->add_flag("--json", c->json, "The result as one JSON object");
  check->callback([c, &ctx, kind] { ctx.exit_code = Finish(Check(*c, kind)); });
}

struct ListFlags {
  ClientFlags client;
  std::string as;
  bool json = false;
};

absl::Status List(const ListFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, LoadSigningKey(f.as));
  TRIAD_ASSIGN_OR_RETURN(Remote remote, ConnectRemote(f.client));
  TRIAD_ASSIGN_OR_RETURN(v1::ArtifactList list, WhoAmI(remote, f.client, key, ""));
  for (const v1::ArtifactInfo& a : list.artifacts()) {
    if (f.json) {
      PrintArtifact(a, true);
    } else {
      std::cout << a.id() << "  " << a.kind() << "  " << a.name() << "  " << a.size() << " bytes  "
                << a.registered() << "\n";
    }
  }
  if (!f.json && list.artifacts().empty()) {
    std::cerr << "triad: " << list.party() << " (" << list.role()
              << ") has no artifact at this coordinator\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddArtifactCommands(CLI::App& app, Context& ctx) {
  AddGroup(app, ctx, "model");
  AddGroup(app, ctx, "dataset");
  CLI::App* group = app.add_subcommand("artifact", "The artifacts you registered at a coordinator");
  group->require_subcommand(1);
  auto l = std::make_shared<ListFlags>();
  CLI::App* list = group->add_subcommand("list", "List your own artifacts there (id, kind, name, size, when)");
  AddClientFlags(list, l->client);
  AddAsFlag(list, l->as, "Your keys: DIR/NAME");
  list->add_flag("--json", l->json, "One JSON object per artifact");
  list->callback([l, &ctx] { ctx.exit_code = Finish(List(*l)); });
}

}  // namespace triad::cli
