// `triad keyholder serve` as a real process, killed with SIGKILL mid-release and restarted on its
// journal (issue 12, "A keyholder killed with SIGKILL mid-release and restarted"). The coordinator
// runs in this test (the real services over loopback, the owners' keyholders connecting out to it)
// with a gate on Keyholders.Answer, so that the kill lands exactly where it matters: after the
// keyholder decided and journaled, while its answer is on the wire and the release requests are
// still pending at the coordinator; and again right after it answered. The worker is played over
// gRPC with sim evidence. The job must complete with exactly one release per (artifact, attempt),
// in each journal and in the coordinator's audit bundle, and the headers the worker received must
// be the journaled ones (a second decision would have re-wrapped the key anew).
#include <signal.h>

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/json.h"
#include "coordinator/tls.h"
#include "crypto/age.h"
#include "crypto/dsse.h"
#include "crypto/hash.h"
#include "gtest/gtest.h"
#include "keyholder/journal.h"
#include "tests/coordinator/coordinator_fixture.h"
#include "tests/testing/process.h"
#include "tests/testing/testing.h"

namespace triad::keyholder {
namespace {

namespace pb = ::triad::v1;
using coordinator::testing::Eph;
using ::triad::testing::ChildProcess;

// The coordinator's Keyholders service behind a gate on Answer: held (the keyholder has decided and
// journaled; its answer waits here), dropped (it never reaches the coordinator), or let through.
// Everything is counted by the owner who signed it (its key id): a keyholder whose held answer
// timed out answers again, and the test must wait for each owner, not for a number of answers.
class GatedKeyholders final : public pb::Keyholders::Service {
 public:
  enum class Mode { kHold, kDrop, kPass };
  struct Counts {
    using ByOwner = std::map<std::string, int>;
    ByOwner polls, arrived, dropped, passed;  // answers, but for polls
    static int Of(const ByOwner& m, const std::string& keyid) {
      auto it = m.find(keyid);
      return it == m.end() ? 0 : it->second;
    }
    static int Sum(const ByOwner& m) {
      int n = 0;
      for (const auto& [k, v] : m) n += v;
      return n;
    }
  };

  explicit GatedKeyholders(pb::Keyholders::Service& real) : real_(real) {}
  ~GatedKeyholders() override { Set(Mode::kDrop); }

  grpc::Status Poll(grpc::ServerContext* ctx, const pb::SignedRequest* req,
                    pb::KeyholderPollReply* reply) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      ++counts_.polls[Signer(*req)];
    }
    cv_.notify_all();
    return real_.Poll(ctx, req, reply);
  }
  grpc::Status Answer(grpc::ServerContext* ctx, const pb::SignedRequest* req,
                      pb::Ack* ack) override {
    const std::string signer = Signer(*req);
    std::unique_lock<std::mutex> l(mu_);
    ++counts_.arrived[signer];
    cv_.notify_all();
    cv_.wait(l, [this] { return mode_ != Mode::kHold; });
    if (mode_ == Mode::kDrop) {
      ++counts_.dropped[signer];
      cv_.notify_all();
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the answer was lost on the way");
    }
    ++counts_.passed[signer];
    cv_.notify_all();
    l.unlock();
    return real_.Answer(ctx, req, ack);
  }

  void Set(Mode m) {
    {
      std::lock_guard<std::mutex> l(mu_);
      mode_ = m;
    }
    cv_.notify_all();
  }
  Counts Now() {
    std::lock_guard<std::mutex> l(mu_);
    return counts_;
  }
  // Waits (up to two minutes: the machine may be loaded) until `done` holds of the counts.
  bool WaitUntil(const std::function<bool(const Counts&)>& done) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::minutes(2), [&] { return done(counts_); });
  }

 private:
  static std::string Signer(const pb::SignedRequest& req) {
    absl::StatusOr<crypto::DsseEnvelope> env = crypto::DsseEnvelope::FromJson(req.envelope_json());
    return env.ok() && !env->signatures.empty() ? env->signatures[0].keyid : "";
  }

  pb::Keyholders::Service& real_;
  std::mutex mu_;
  std::condition_variable cv_;
  Mode mode_ = Mode::kHold;
  Counts counts_;
};

coordinator::CoordinatorOptions LongPolls() {
  coordinator::CoordinatorOptions o = coordinator::testing::Harness::Defaults();
  o.poll_wait = absl::Seconds(1);  // the keyholders long-poll as they do against a real server
  return o;
}

class KeyholderProcessTest : public coordinator::CoordinatorTest {
 protected:
  KeyholderProcessTest() : CoordinatorTest(LongPolls()) {}

  void SetUp() override {
    // The keyholder processes sign and decide with the system clock: the coordinator's fixed
    // clock stands at the start of the test (its requests' skew allows minutes).
    h_.clock.Set(absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())));
    CoordinatorTest::SetUp();
    // The real services, over loopback, the keyholders' Answer behind the gate.
    services_ = coordinator::NewServices(h_.coordinator());
    grpc::ServerBuilder b;
    for (auto& s : services_) {
      if (auto* k = dynamic_cast<pb::Keyholders::Service*>(s.get())) {
        gate_ = std::make_unique<GatedKeyholders>(*k);
        b.RegisterService(gate_.get());
      } else {
        b.RegisterService(s.get());
      }
    }
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    ASSERT_NE(gate_, nullptr);
    // What the owners' keyholders are given: the coordinator's card (its log key; TLS is not
    // used over loopback with --insecure), their keys, the sim key the coordinator trusts.
    auto tls = coordinator::GenerateTlsIdentity(h_.clock.Now(), absl::Hours(24));
    ASSERT_TRUE(tls.ok()) << tls.status();
    coordinator::CoordinatorCard card = h_.card();
    card.tls_certificate_pem = tls->cert_pem;
    card.tls_fingerprint = *coordinator::CertificateFingerprint(tls->cert_pem);
    ::triad::testing::WriteTestFile(F("card.json"), card.ToJson());
    ::triad::testing::WriteTestFile(F("sim.pub.pem"), h_.sim_key.public_key().ToPem());
    std::filesystem::create_directories(F("keys"));
    for (const coordinator::testing::Party* p : {&mo_, &do_}) {
      const std::string prefix = F("keys/" + p->card.name);
      ::triad::testing::WriteTestFile(prefix + ".card.json", p->card.ToJson());
      ::triad::testing::WriteTestFile(prefix + ".signing.pem", std::string(p->key.ToPem().view()),
                                      0600);
      ::triad::testing::WriteTestFile(prefix + ".identity",
                                      std::string(p->identity.ToString().view()) + "\n", 0600);
    }
  }

  void TearDown() override {
    processes_.clear();  // SIGKILL whatever still runs
    gate_->Set(GatedKeyholders::Mode::kDrop);
    server_->Shutdown(std::chrono::system_clock::now());
  }

  std::string F(const std::string& name) const { return dir_.File(name); }
  std::string State(const std::string& who) const { return F(who + ".keyholder"); }

  // `triad keyholder serve` for `who`, on its journal directory; waits for its first line.
  ChildProcess& StartKeyholder(const std::string& who) {
    const std::string n = absl::StrCat(processes_.size());
    processes_.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{::triad::testing::TriadBinary(), "keyholder", "serve", "--as",
                                 F("keys/" + who), "--coordinator",
                                 absl::StrCat("127.0.0.1:", port_), "--coordinator-card",
                                 F("card.json"), "--insecure", "--trust-sim-key", F("sim.pub.pem"),
                                 "--state", State(who)},
        F(who + ".out." + n), F(who + ".err." + n)));
    ChildProcess& p = *processes_.back();
    EXPECT_NE(p.WaitForLine("keyholder of " + who + " (", absl::Minutes(1)), "") << p.Err();
    return p;
  }

  // What `who`'s journal holds (read by another process, as `triad keyholder log` does).
  std::vector<Decision> Journaled(const std::string& who) {
    absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(State(who));
    EXPECT_TRUE(j.ok()) << j.status();
    if (!j.ok()) return {};
    absl::StatusOr<std::vector<Decision>> d = (*j)->ListDecisions();
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : std::vector<Decision>();
  }

  std::vector<storage::ReleaseRequest> Requests(const std::string& job) {
    auto r = h_.store().ListReleaseRequests(job, 1);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<storage::ReleaseRequest>();
  }

  ::triad::testing::TempDir dir_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<GatedKeyholders> gate_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::vector<std::unique_ptr<ChildProcess>> processes_;
};

TEST_F(KeyholderProcessTest, KilledMidReleaseAndRestartedItReleasesOncePerArtifactAndAttempt) {
  contracts::Contract c = MakeContract();
  c.created = c.not_before = h_.clock.Now() - absl::Hours(1);
  c.not_after = h_.clock.Now() + absl::Hours(24);
  SetUpContract(&c);
  const std::string job = NewJob();
  Eph eph;
  auto [assignment, admitted] = Admit("w1", eph);
  ASSERT_EQ(Requests(job).size(), 2u);

  // Both keyholders decide and journal; their answers are held on the way. Killed there.
  using Counts = GatedKeyholders::Counts;
  const std::string mo_id = mo_.card.fingerprint(), do_id = do_.card.fingerprint();
  ChildProcess* mo = &StartKeyholder("mo");
  ChildProcess* dk = &StartKeyholder("do");
  auto both_answered = [&](const Counts& n) {
    return Counts::Of(n.arrived, mo_id) >= 1 && Counts::Of(n.arrived, do_id) >= 1;
  };
  ASSERT_TRUE(gate_->WaitUntil(both_answered)) << mo->Err() << dk->Err();
  EXPECT_EQ(mo->Signal(SIGKILL), -1);
  EXPECT_EQ(dk->Signal(SIGKILL), -1);
  std::map<std::string, Decision> journaled;  // by owner
  for (const char* who : {"mo", "do"}) {
    std::vector<Decision> d = Journaled(who);
    ASSERT_EQ(d.size(), 1u) << who;
    EXPECT_TRUE(d[0].release) << who;
    journaled[who] = d[0];
  }
  EXPECT_EQ(journaled["mo"].artifact_id, crypto::Sha256Id(model_ct_));
  EXPECT_EQ(journaled["do"].artifact_id, crypto::Sha256Id(data_ct_));
  // The coordinator never heard: the requests are pending, the worker has no keys.
  for (const storage::ReleaseRequest& r : Requests(job)) {
    EXPECT_EQ(r.state, storage::ReleaseState::kPending) << r.id;
  }
  pb::KeysReply keys;
  ASSERT_TRUE(AwaitKeys(job, eph, &keys).ok());
  EXPECT_FALSE(keys.ready());
  EXPECT_FALSE(keys.refused());
  gate_->Set(GatedKeyholders::Mode::kDrop);
  // Every answer held (a keyholder may have timed out and answered again) is lost.
  ASSERT_TRUE(gate_->WaitUntil(
      [](const Counts& n) { return Counts::Sum(n.dropped) == Counts::Sum(n.arrived); }));
  gate_->Set(GatedKeyholders::Mode::kPass);

  // Restarted on their journals: the journaled answers, not new decisions.
  mo = &StartKeyholder("mo");
  dk = &StartKeyholder("do");
  absl::Time deadline = absl::Now() + absl::Minutes(2);
  // (A keyholder that exits, on an error of its journal, ends the wait.)
  while (!keys.ready() && !keys.refused() && absl::Now() < deadline && mo->running() &&
         dk->running()) {
    ASSERT_TRUE(AwaitKeys(job, eph, &keys).ok());
  }
  ASSERT_TRUE(keys.ready()) << absl::StrJoin(keys.reasons(), "; ") << mo->Err() << dk->Err();
  EXPECT_GE(Counts::Of(gate_->Now().passed, mo_id), 1);
  EXPECT_GE(Counts::Of(gate_->Now().passed, do_id), 1);
  // Right after it answered, the model owner's keyholder is killed again, and restarted.
  EXPECT_EQ(mo->Signal(SIGKILL), -1);
  const int polls = Counts::Of(gate_->Now().polls, mo_id);
  mo = &StartKeyholder("mo");
  // Two polls of the new process: it went through its first round (nothing is pending any more)
  // and decided nothing anew (its journal is checked below).
  auto polled_twice = [&](const Counts& n) { return Counts::Of(n.polls, mo_id) >= polls + 2; };
  ASSERT_TRUE(gate_->WaitUntil(polled_twice)) << mo->Err();

  // The worker holds exactly the journaled headers, and they open its inputs.
  ASSERT_EQ(keys.headers_size(), 2);
  for (const pb::RewrappedHeader& h : keys.headers()) {
    const bool model = h.artifact_id() == crypto::Sha256Id(model_ct_);
    const Decision& d = journaled[model ? "mo" : "do"];
    EXPECT_EQ(h.artifact_id(), d.artifact_id);
    EXPECT_EQ(h.header(), d.header);
    EXPECT_EQ(h.receipt_json(), d.receipt_json);
    const std::string& ct = model ? model_ct_ : data_ct_;
    auto own = crypto::age::Header::Parse(ct);
    auto released = crypto::age::Header::Parse(h.header());
    ASSERT_TRUE(own.ok() && released.ok());
    std::vector<crypto::age::X25519Identity> ids;
    ids.push_back(*crypto::age::X25519Identity::FromSecret(eph.id.secret().Clone()));
    auto plain = crypto::age::DecryptToSecret(ids, *released,
                                              absl::string_view(ct).substr(own->size()), {1});
    ASSERT_TRUE(plain.ok()) << plain.status();
    EXPECT_EQ(plain->view(), model ? model_plain_ : data_plain_);
  }

  // The job completes.
  ASSERT_TRUE(Progress(job, eph.key, 10, 10).ok());
  std::string adapter_ct = Encrypt("adapter", {mo_.card.age_recipient, do_.card.age_recipient});
  grpc::Status delivered =
      Deliver(job, eph.key, Record(job, adapter_ct, eph, admitted), adapter_ct);
  ASSERT_TRUE(delivered.ok()) << delivered.error_message();
  EXPECT_EQ(GetJob(job).state(), "done");

  // One decision per journal, one release per (artifact, attempt), in the journals and the
  // bundle; the bundle's receipts are the journaled ones.
  for (const char* who : {"mo", "do"}) {
    std::vector<Decision> d = Journaled(who);
    ASSERT_EQ(d.size(), 1u) << who;
    EXPECT_EQ(d[0].header, journaled[who].header);
    std::string out;
    ASSERT_EQ(
        ::triad::testing::RunCommand(absl::StrCat(::triad::testing::TriadBinary(),
                                                  " keyholder log --json --state ", State(who)),
                                     &out),
        0)
        << out;
    std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
    ASSERT_EQ(lines.size(), 1u) << out;
    auto line = base::ParseJsonStrict(lines[0]);
    ASSERT_TRUE(line.ok());
    EXPECT_EQ((*line)["decision"], "release");
    EXPECT_EQ((*line)["release_id"], journaled[who].release_id);
  }
  pb::ExportReply bundle;
  grpc::Status exported = Export(job, mo_, &bundle);
  ASSERT_TRUE(exported.ok()) << exported.error_message();
  auto b = base::ParseJsonStrict(bundle.bundle_json());
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ((*b)["key_releases"].size(), 2u);
  EXPECT_TRUE((*b)["key_refusals"].empty());
  std::map<std::string, int> released_entries;
  for (const auto& e : (*b)["log"]["entries"]) {
    auto entry = base::ParseJsonStrict(e["entry"].get<std::string>());
    ASSERT_TRUE(entry.ok());
    if ((*entry)["kind"] != "key.released") continue;
    EXPECT_EQ((*entry)["attempt"], 1);
    ++released_entries[(*entry)["artifact_id"].get<std::string>()];
    const Decision& d = journaled[(*entry)["owner"].get<std::string>()];
    EXPECT_EQ((*entry)["artifact_id"], d.artifact_id);
    EXPECT_EQ((*entry)["header_digest"], crypto::Sha256Id(d.header));
    EXPECT_EQ((*entry)["receipt_digest"],
              crypto::Sha256Id(crypto::DsseEnvelope::FromJson(d.receipt_json)->payload));
  }
  EXPECT_EQ(released_entries, (std::map<std::string, int>{{crypto::Sha256Id(model_ct_), 1},
                                                          {crypto::Sha256Id(data_ct_), 1}}));
  for (const auto& r : (*b)["key_releases"]) {
    EXPECT_EQ(r["attempt"], 1);
    const Decision& d = journaled[r["owner"].get<std::string>()];
    EXPECT_EQ(r["artifact_id"], d.artifact_id);
    EXPECT_EQ(r["recipient"], eph.id.recipient().ToString());
    EXPECT_EQ(r["receipt"], *base::ParseJsonStrict(d.receipt_json));
  }

  // They stop cleanly.
  EXPECT_EQ(mo->Signal(SIGTERM), 0) << mo->Err();
  EXPECT_EQ(dk->Signal(SIGTERM), 0) << dk->Err();
}

}  // namespace
}  // namespace triad::keyholder
