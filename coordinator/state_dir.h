// The coordinator's state directory (`triad coordinator init --dir STATE`):
//
//   STATE/ (0700)
//     coordinator.signing.pem   Ed25519 PKCS#8: signs log checkpoints and job records (0600)
//     tls.key.pem (0600), tls.cert.pem    the self-signed TLS identity (coordinator/tls.h)
//     coordinator.card.json     the card parties pin (written last: its presence means complete)
//     state.db                  storage::Store; its log signer is NoteSigner(origin, signing key)
//     blobs/                    storage::OpenLocalBlobStore
//
// It holds no age identity: the coordinator opens no artifact (docs/custody.md). A directory made
// by an earlier version, with coordinator.identity (its key broker), is refused with what to do.
#ifndef TRIAD_COORDINATOR_STATE_DIR_H_
#define TRIAD_COORDINATOR_STATE_DIR_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "coordinator/card.h"
#include "crypto/age_keys.h"
#include "crypto/ed25519.h"
#include "crypto/secret.h"
#include "storage/blob_store.h"
#include "storage/store.h"

namespace triad::coordinator {

// Only to refuse a state directory of an earlier version that held a key broker.
inline constexpr char kLegacyKeyBrokerFile[] = "coordinator.identity";
inline constexpr char kSigningKeyFile[] = "coordinator.signing.pem";
inline constexpr char kTlsKeyFile[] = "tls.key.pem";
inline constexpr char kTlsCertFile[] = "tls.cert.pem";
inline constexpr char kCardFile[] = "coordinator.card.json";
inline constexpr char kDatabaseFile[] = "state.db";
inline constexpr char kBlobDir[] = "blobs";

struct InitOptions {
  std::string name = "triad-coordinator";  // a name (contracts::ValidateName)
  // The log's origin line (a C2SP note key name); default "<name>/log/<first 16 hex digits of the
  // signing key's fingerprint>", unique per coordinator.
  std::string origin;
  absl::Duration tls_validity = absl::Hours(24 * 3650);
};

// Creates a state directory at `dir` (which must not exist, or be an empty directory): keys, TLS
// identity, database with its first signed checkpoint, blob store, and the card, which it returns.
// kAlreadyExists when `dir` is not empty. Never overwrites a key.
absl::StatusOr<CoordinatorCard> InitStateDir(const std::string& dir, const InitOptions& options,
                                             absl::Time now);

// A loaded state directory: the card and the secrets behind it, checked to belong together.
struct StateDir {
  std::string dir;
  CoordinatorCard card;
  crypto::SecretBytes signing_key_pem;
  crypto::SecretBytes tls_key_pem;
  std::string tls_cert_pem;

  std::string Path(absl::string_view file) const { return dir + "/" + std::string(file); }
  // A fresh copy of the signing key (the store's note signer and the coordinator each own one).
  absl::StatusOr<crypto::Ed25519PrivateKey> SigningKey() const;
};

// Reads and cross-checks the keys, the TLS identity and the card (kFailedPrecondition naming the
// file that does not match the card).
absl::StatusOr<StateDir> LoadStateDir(const std::string& dir);

struct OpenState {
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<storage::BlobStore> blobs;
};

// Opens the database (signing checkpoints with the coordinator's key under the card's origin) and
// the blob store. `clock` must outlive the store.
absl::StatusOr<OpenState> OpenStateStores(const StateDir& state, const base::Clock& clock);

// Opens the database alone, as the operator's commands (coordinator parties …) do while the
// coordinator serves: SQLite takes writers from several processes, the blob store one owner.
absl::StatusOr<std::unique_ptr<storage::Store>> OpenStateDatabase(const StateDir& state,
                                                                  const base::Clock& clock);

}  // namespace triad::coordinator

#endif  // TRIAD_COORDINATOR_STATE_DIR_H_
