// Shared fixtures for the storage tests: a store in a temporary directory with a fixed clock and a
// log signing key that survives reopening, and a registry with three parties, two artifacts, an
// active contract and a worker.
#ifndef TRIAD_TESTS_STORAGE_STORAGE_TESTING_H_
#define TRIAD_TESTS_STORAGE_STORAGE_TESTING_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "base/clock.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "crypto/note.h"
#include "crypto/secret.h"
#include "gtest/gtest.h"
#include "storage/store.h"
#include "tests/testing/testing.h"

namespace triad::storage::testing {

inline constexpr absl::string_view kOrigin = "triad.test/coordinator-log";

inline crypto::NoteSigner SignerFromPem(const crypto::SecretBytes& pem) {
  auto key = crypto::Ed25519PrivateKey::FromPem(pem);
  EXPECT_TRUE(key.ok()) << key.status();
  auto signer = crypto::NoteSigner::Create(kOrigin, *std::move(key));
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *std::move(signer);
}

// A store file in a temporary directory; Open() may be called again after Close() to restart.
class StoreFixture {
 public:
  StoreFixture() : key_pem_(crypto::Ed25519PrivateKey::Generate().ToPem()) {}

  std::string path() const { return dir_.File("state.db"); }
  const triad::testing::TempDir& dir() const { return dir_; }
  base::FixedClock& clock() { return clock_; }
  crypto::NoteSigner Signer() const { return SignerFromPem(key_pem_); }
  const crypto::SecretBytes& key_pem() const { return key_pem_; }

  absl::StatusOr<std::unique_ptr<Store>> OpenStore() {
    StoreOptions options;
    options.clock = &clock_;
    return Store::Open(path(), Signer(), options);
  }
  Store& Open() {
    auto s = OpenStore();
    EXPECT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    return *store_;
  }
  void Close() { store_.reset(); }
  Store& store() { return *store_; }

 private:
  triad::testing::TempDir dir_;
  base::FixedClock clock_{absl::FromUnixSeconds(1750000000)};
  crypto::SecretBytes key_pem_;
  std::unique_ptr<Store> store_;
};

inline std::string Digest(absl::string_view what) { return crypto::Sha256Id(what); }

struct Registry {
  std::string model = Digest("model ciphertext");
  std::string dataset = Digest("dataset ciphertext");
  std::string adapter = Digest("adapter ciphertext");
  std::string contract = "contract-1";
  std::string worker = "worker-1";
};

// Registers alice (model owner), bob (data owner), carol (compute provider), a model of alice's, a
// dataset of bob's, an active contract expiring in 30 days and carol's worker.
inline Registry SetUpRegistry(Store& store, absl::Time now) {
  Registry r;
  auto txn = store.Begin();
  EXPECT_TRUE(txn.ok()) << txn.status();
  const char* names[] = {"alice", "bob", "carol"};
  const char* roles[] = {"model-owner", "data-owner", "compute-provider"};
  for (int i = 0; i < 3; ++i) {
    Party p{names[i], roles[i], std::string(64, static_cast<char>('a' + i)), "{\"card\":1}", "{\"envelope\":1}", {}};
    EXPECT_TRUE(txn->InsertParty(p).ok());
  }
  EXPECT_TRUE(txn->InsertArtifact({r.model, ArtifactKind::kModel, "llama-tiny", "alice", 1000, "{}", {}}).ok());
  EXPECT_TRUE(txn->InsertArtifact({r.dataset, ArtifactKind::kDataset, "claims", "bob", 2000, "{}", {}}).ok());
  Contract c;
  c.id = r.contract;
  c.digest = Digest("contract payload");
  c.envelope_json = "{\"contract\":1}";
  c.state = ContractState::kActive;
  c.expires_at = now + absl::Hours(24 * 30);
  EXPECT_TRUE(txn->InsertContract(c).ok());
  EXPECT_TRUE(txn->UpsertWorker({r.worker, "carol", "sim", {}, {}}).ok());
  EXPECT_TRUE(txn->Commit().ok());
  return r;
}

}  // namespace triad::storage::testing

#endif  // TRIAD_TESTS_STORAGE_STORAGE_TESTING_H_
