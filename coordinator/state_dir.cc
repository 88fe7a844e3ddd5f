#include "coordinator/state_dir.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/status.h"
#include "contracts/card.h"
#include "coordinator/tls.h"
#include "crypto/note.h"

namespace triad::coordinator {
namespace {

constexpr size_t kMaxKeyFileBytes = 64 * 1024;

// OK when `dir` does not exist (it is created, 0700) or is an empty directory (made 0700).
absl::Status MakeEmptyDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return absl::OkStatus();
  if (errno != EEXIST) return base::ErrnoStatus(errno, absl::StrCat("creating ", dir));
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return base::ErrnoStatus(errno, absl::StrCat("opening ", dir));
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") empty = false;
  }
  ::closedir(d);
  if (!empty) {
    return absl::AlreadyExistsError(absl::StrCat(
        dir, " is not empty; a coordinator state directory is created once, in a new directory"));
  }
  if (::chmod(dir.c_str(), 0700) != 0) return base::ErrnoStatus(errno, absl::StrCat("chmod ", dir));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CoordinatorCard> InitStateDir(const std::string& dir, const InitOptions& options,
                                             absl::Time now) {
  TRIAD_RETURN_IF_ERROR(base::Annotate(contracts::ValidateName(options.name), "coordinator name"));
  crypto::Ed25519PrivateKey signing = crypto::Ed25519PrivateKey::Generate();
  std::string origin =
      options.origin.empty()
          ? absl::StrCat(options.name, "/log/", signing.public_key().KeyId().substr(0, 16))
          : options.origin;
  TRIAD_RETURN_IF_ERROR(base::Annotate(crypto::ValidateNoteKeyName(origin), "log origin"));
  TRIAD_ASSIGN_OR_RETURN(TlsIdentity tls, GenerateTlsIdentity(now, options.tls_validity));
  TRIAD_ASSIGN_OR_RETURN(std::string tls_fingerprint, CertificateFingerprint(tls.cert_pem));

  TRIAD_RETURN_IF_ERROR(MakeEmptyDir(dir));
  auto path = [&dir](const char* f) { return dir + "/" + f; };
  TRIAD_RETURN_IF_ERROR(crypto::WriteSecretFile(path(kSigningKeyFile), signing.ToPem()));
  TRIAD_RETURN_IF_ERROR(crypto::WriteSecretFile(path(kTlsKeyFile), tls.key_pem));
  TRIAD_RETURN_IF_ERROR(base::WriteNewFile(path(kTlsCertFile), tls.cert_pem, 0644));

  CoordinatorCard card{options.name, signing.public_key(), tls.cert_pem, tls_fingerprint, origin};
  {
    // The database with the first signed checkpoint, and the blob store; both closed again.
    base::FixedClock clock(now);
    storage::StoreOptions so;
    so.clock = &clock;
    TRIAD_ASSIGN_OR_RETURN(crypto::NoteSigner signer,
                           crypto::NoteSigner::Create(origin, std::move(signing)));
    TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<storage::Store> store,
                           storage::Store::Open(path(kDatabaseFile), std::move(signer), so));
    TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobStore> blobs,
                           storage::OpenLocalBlobStore(path(kBlobDir)));
  }
  TRIAD_RETURN_IF_ERROR(base::WriteNewFile(path(kCardFile), card.ToJson(), 0644));
  return card;
}

absl::StatusOr<crypto::Ed25519PrivateKey> StateDir::SigningKey() const {
  return crypto::Ed25519PrivateKey::FromPem(signing_key_pem);
}

absl::StatusOr<StateDir> LoadStateDir(const std::string& dir) {
  auto path = [&dir](const char* f) { return dir + "/" + f; };
  struct stat st;
  if (::stat(path(kLegacyKeyBrokerFile).c_str(), &st) == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        path(kLegacyKeyBrokerFile),
        ": this state directory is from an earlier Triad whose coordinator held a key-broker "
        "identity that opens every artifact encrypted to it; this version holds no key "
        "(docs/custody.md) and does not serve it. Create a new one (triad coordinator init), have "
        "the owners push their artifacts again (encrypted to their own keys) and sign new "
        "contracts, then shred ",
        path(kLegacyKeyBrokerFile)));
  }
  absl::StatusOr<CoordinatorCard> card = CoordinatorCard::FromFile(path(kCardFile));
  if (absl::IsNotFound(card.status())) {
    return absl::NotFoundError(
        absl::StrCat(dir, " is not a coordinator state directory (no ", kCardFile,
                     "); make one with `triad coordinator init --dir ", dir, "`"));
  }
  TRIAD_RETURN_IF_ERROR(card.status());
  auto mismatch = [&](const char* file) {
    return absl::FailedPreconditionError(
        absl::StrCat(path(file), " does not match ", path(kCardFile)));
  };
  TRIAD_ASSIGN_OR_RETURN(crypto::SecretBytes signing_pem,
                         crypto::ReadSecretFile(path(kSigningKeyFile), kMaxKeyFileBytes));
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey signing,
                         crypto::Ed25519PrivateKey::FromPem(signing_pem));
  if (signing.public_key() != card->signing_key) return mismatch(kSigningKeyFile);
  TRIAD_ASSIGN_OR_RETURN(crypto::SecretBytes tls_key,
                         crypto::ReadSecretFile(path(kTlsKeyFile), kMaxKeyFileBytes));
  TRIAD_ASSIGN_OR_RETURN(std::string cert, base::ReadFile(path(kTlsCertFile), kMaxKeyFileBytes));
  TRIAD_ASSIGN_OR_RETURN(std::string fp, CertificateFingerprint(cert));
  if (fp != card->tls_fingerprint || cert != card->tls_certificate_pem)
    return mismatch(kTlsCertFile);
  return StateDir{dir, *std::move(card), std::move(signing_pem), std::move(tls_key),
                  std::move(cert)};
}

absl::StatusOr<std::unique_ptr<storage::Store>> OpenStateDatabase(const StateDir& state,
                                                                  const base::Clock& clock) {
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, state.SigningKey());
  TRIAD_ASSIGN_OR_RETURN(crypto::NoteSigner signer,
                         crypto::NoteSigner::Create(state.card.log_origin, std::move(key)));
  storage::StoreOptions so;
  so.clock = &clock;
  return storage::Store::Open(state.Path(kDatabaseFile), std::move(signer), so);
}

absl::StatusOr<OpenState> OpenStateStores(const StateDir& state, const base::Clock& clock) {
  OpenState out;
  TRIAD_ASSIGN_OR_RETURN(out.store, OpenStateDatabase(state, clock));
  TRIAD_ASSIGN_OR_RETURN(out.blobs, storage::OpenLocalBlobStore(state.Path(kBlobDir)));
  return out;
}

}  // namespace triad::coordinator
