// A coordinator under test: its own state (temporary directory, fixed clock, store, blob store,
// signing key, a sim key it trusts), an in-process gRPC server with the real services,
// stubs, three parties with keys and a fourth outsider, and helpers that play the parties and a sim
// worker over the RPCs. Restart() closes everything but the directory and the keys, and opens it
// again (what a coordinator restart after SIGKILL sees: only the committed state).
#ifndef TRIAD_TESTS_COORDINATOR_COORDINATOR_TESTING_H_
#define TRIAD_TESTS_COORDINATOR_COORDINATOR_TESTING_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "attestation/binding.h"
#include "attestation/sim.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "contracts/contract.h"
#include "coordinator/card.h"
#include "coordinator/coordinator.h"
#include "coordinator/operator.h"
#include "coordinator/request.h"
#include "coordinator/service.h"
#include "crypto/age.h"
#include "crypto/hash.h"
#include "crypto/note.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "storage/blob_store.h"
#include "storage/store.h"
#include "tests/testing/testing.h"
#include "triad/v1/audit.grpc.pb.h"
#include "triad/v1/contracts.grpc.pb.h"
#include "triad/v1/jobs.grpc.pb.h"
#include "triad/v1/keyholders.grpc.pb.h"
#include "triad/v1/registry.grpc.pb.h"
#include "triad/v1/workers.grpc.pb.h"
#include "verify/job_record.h"

namespace triad::coordinator::testing {

namespace pb = ::triad::v1;

inline absl::Time T(const char* rfc3339) {
  absl::Time t;
  EXPECT_TRUE(base::ParseRfc3339(rfc3339, &t)) << rfc3339;
  return t;
}

inline std::string Digest48(const std::string& label) { return crypto::Sha384(label); }

// The measurement the sample policy admits.
inline std::string GoodMeasurement() { return Digest48("sim-worker-v1"); }

struct Party {
  crypto::Ed25519PrivateKey key;
  crypto::age::X25519Identity identity;
  contracts::PartyCard card;
};

inline Party MakeParty(const std::string& name, contracts::Role role) {
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  crypto::age::X25519Identity id = crypto::age::X25519Identity::Generate();
  contracts::PartyCard card{name, role, id.recipient(), key.public_key()};
  return Party{std::move(key), std::move(id), std::move(card)};
}

// A clock the test sets and advances while the coordinator's threads read it (a WatchJob stream
// checks its request's freshness on its own thread): base::FixedClock, made safe to share.
class TestClock final : public base::Clock {
 public:
  explicit TestClock(absl::Time now) : now_(now) {}
  absl::Time Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void Set(absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ = now;
  }
  void Advance(absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  absl::Time now_;
};

// A worker's per-attempt keys.
struct Eph {
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  crypto::age::X25519Identity id = crypto::age::X25519Identity::Generate();
};

class Harness {
 public:
  explicit Harness(CoordinatorOptions options = Defaults())
      : clock(T("2025-07-10T00:00:00Z")),
        options_(options),
        sim_key(crypto::Ed25519PrivateKey::Generate()),
        signing_pem_(crypto::Ed25519PrivateKey::Generate().ToPem()) {
    Start();
  }
  ~Harness() { Stop(); }

  static CoordinatorOptions Defaults() {
    CoordinatorOptions o;
    o.poll_wait = absl::ZeroDuration();
    return o;
  }

  void Start() {
    auto signer = crypto::NoteSigner::Create("test.triad/log",
                                             *crypto::Ed25519PrivateKey::FromPem(signing_pem_));
    ASSERT_TRUE(signer.ok());
    storage::StoreOptions so;
    so.clock = &clock;
    auto store = storage::Store::Open(dir.File("state.db"), *std::move(signer), so);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto blobs = storage::OpenLocalBlobStore(dir.File("blobs"));
    ASSERT_TRUE(blobs.ok()) << blobs.status();
    blobs_ = *std::move(blobs);
    attestation::TrustAnchors anchors;
    anchors.sim_keys.push_back(sim_key.public_key());
    coordinator_ =
        std::make_unique<Coordinator>(clock, *store_, *blobs_, anchors,
                                      *crypto::Ed25519PrivateKey::FromPem(signing_pem_), options_);
    services_ = NewServices(*coordinator_);
    grpc::ServerBuilder b;
    b.SetMaxReceiveMessageSize(16 << 20);
    for (auto& s : services_) b.RegisterService(s.get());
    server_ = b.BuildAndStart();
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(16 << 20);
    channel_ = server_->InProcessChannel(args);
    registry = pb::Registry::NewStub(channel_);
    contracts = pb::Contracts::NewStub(channel_);
    jobs = pb::Jobs::NewStub(channel_);
    workers = pb::Workers::NewStub(channel_);
    audit = pb::Audit::NewStub(channel_);
    keyholders = pb::Keyholders::NewStub(channel_);
  }

  void Stop() {
    registry.reset();
    contracts.reset();
    jobs.reset();
    workers.reset();
    audit.reset();
    keyholders.reset();
    channel_.reset();
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
    services_.clear();
    coordinator_.reset();
    blobs_.reset();
    store_.reset();
  }

  void Restart() {
    Stop();
    Start();
  }

  crypto::Ed25519PublicKey signing_public_key() const {
    return crypto::Ed25519PrivateKey::FromPem(signing_pem_)->public_key();
  }
  Coordinator& coordinator() { return *coordinator_; }
  const crypto::SecretBytes& signing_pem() const { return signing_pem_; }
  // The coordinator's card as parties pin it (the keyholders use its key and log origin; the TLS
  // fields stand for a server these tests reach in-process).
  CoordinatorCard card() const {
    return CoordinatorCard{"test-coordinator", signing_public_key(), "", "", "test.triad/log"};
  }
  // The audience of requests to this coordinator.
  std::string fingerprint() const { return signing_public_key().KeyId(); }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  storage::Store& store() { return *store_; }
  storage::BlobStore& blobs() { return *blobs_; }

  std::string Sign(absl::string_view action, nlohmann::json body,
                   const crypto::Ed25519PrivateKey& key) const {
    return SignRequest(action, std::move(body), key, clock.Now(), fingerprint()).ToJson();
  }
  pb::SignedRequest Signed(absl::string_view action, nlohmann::json body,
                           const crypto::Ed25519PrivateKey& key) const {
    pb::SignedRequest r;
    r.set_envelope_json(Sign(action, std::move(body), key));
    return r;
  }

  TestClock clock;
  triad::testing::TempDir dir;
  std::unique_ptr<pb::Registry::Stub> registry;
  std::unique_ptr<pb::Contracts::Stub> contracts;
  std::unique_ptr<pb::Jobs::Stub> jobs;
  std::unique_ptr<pb::Workers::Stub> workers;
  std::unique_ptr<pb::Audit::Stub> audit;
  std::unique_ptr<pb::Keyholders::Stub> keyholders;

 private:
  CoordinatorOptions options_;

 public:
  crypto::Ed25519PrivateKey sim_key;

 private:
  crypto::SecretBytes signing_pem_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<Coordinator> coordinator_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Reads a server stream of chunks.
inline grpc::Status ReadChunks(grpc::ClientReader<pb::Chunk>& reader, std::string* out) {
  pb::Chunk c;
  while (reader.Read(&c)) out->append(c.data());
  return reader.Finish();
}

}  // namespace triad::coordinator::testing

#endif  // TRIAD_TESTS_COORDINATOR_COORDINATOR_TESTING_H_
