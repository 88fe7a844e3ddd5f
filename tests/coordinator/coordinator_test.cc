// The Coordinator through its real gRPC services, in process: every flow of E2E-SPEC.md and every
// rejection with its exact reason. The worker is played by the test (sim evidence from a sim key
// the coordinator trusts), so nothing here needs the worker binary.
#include "coordinator/coordinator.h"

#include <filesystem>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "base/json.h"
#include "crypto/merkle.h"
#include "tests/coordinator/coordinator_fixture.h"
#include "verify/bundle.h"

namespace triad::coordinator {
namespace {

// ---- The whole flow ----

TEST_F(CoordinatorTest, FullJobFromRegistrationToFetchAndAudit) {
  SetUpContract();
  std::string job = NewJob();
  EXPECT_EQ(GetJob(job).state(), "queued");

  Eph eph;
  auto [a, reply] = Admit("w1", eph);
  EXPECT_EQ(a.job_id(), job);
  EXPECT_EQ(a.nonce().size(), 32u);
  EXPECT_EQ(a.nonce_expires(), "2025-07-10T00:02:00Z");
  ASSERT_EQ(a.inputs_size(), 2);
  EXPECT_EQ(a.inputs(0).id(), crypto::Sha256Id(model_ct_));
  EXPECT_EQ(a.inputs(0).kind(), "model");
  EXPECT_EQ(a.inputs(1).id(), crypto::Sha256Id(data_ct_));
  EXPECT_TRUE(reply.simulated());
  EXPECT_EQ(reply.evidence_digest().substr(0, 7), "sha256:");
  EXPECT_EQ(base::ParseJsonStrict(reply.claims_json())->at("tee"), "sim");
  pb::JobStatus s = GetJob(job);
  EXPECT_EQ(s.state(), "admitted");
  EXPECT_TRUE(s.simulated());
  EXPECT_EQ(s.attempt(), 1u);
  EXPECT_EQ(s.worker_id(), "w1");

  // Admission alone releases nothing: the keys come from the owners' keyholders.
  pb::KeysReply pending;
  ASSERT_TRUE(AwaitKeys(job, eph, &pending).ok());
  EXPECT_FALSE(pending.ready());
  EXPECT_FALSE(pending.refused());
  std::map<std::string, std::string> headers = Keys(job, eph);
  ASSERT_EQ(headers.size(), 2u);

  // The re-wrapped header with the original payload opens with the ephemeral identity only.
  for (int i = 0; i < 2; ++i) {
    const std::string& ct = i == 0 ? model_ct_ : data_ct_;
    std::string got;
    ASSERT_TRUE(Download(job, crypto::Sha256Id(ct), eph.key, &got).ok());
    EXPECT_EQ(got, ct);
    auto old_header = crypto::age::Header::Parse(ct);
    auto new_header = crypto::age::Header::Parse(headers[crypto::Sha256Id(ct)]);
    ASSERT_TRUE(new_header.ok());
    auto plain = crypto::age::DecryptToSecret(absl::MakeConstSpan(&eph.id, 1), *new_header,
                                              absl::string_view(ct).substr(old_header->size()));
    ASSERT_TRUE(plain.ok()) << plain.status();
    EXPECT_EQ(plain->view(), i == 0 ? model_plain_ : data_plain_);
  }
  EXPECT_EQ(GetJob(job).state(), "running");

  ASSERT_TRUE(Progress(job, eph.key, 5, 10).ok());
  s = GetJob(job);
  EXPECT_EQ(s.step(), 5u);
  EXPECT_EQ(s.total_steps(), 10u);
  EXPECT_DOUBLE_EQ(s.tokens_per_second(), 1234.5);
  EXPECT_FALSE(s.has_loss());
  ASSERT_TRUE(Progress(job, eph.key, 10, 10).ok());

  std::string adapter_plain = absl::StrCat("adapter tar ", kAdapterCanary);
  std::string adapter_ct = Encrypt(adapter_plain, {mo_.card.age_recipient, do_.card.age_recipient});
  pb::Ack ack;
  grpc::Status st = Deliver(job, eph.key, Record(job, adapter_ct, eph, reply), adapter_ct, &ack);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(ack.message(), "delivered " + crypto::Sha256Id(adapter_ct));
  s = GetJob(job);
  EXPECT_EQ(s.state(), "done");
  EXPECT_EQ(s.output_id(), crypto::Sha256Id(adapter_ct));

  for (const Party* p : {&mo_, &do_}) {
    std::string got;
    ASSERT_TRUE(Fetch(job, *p, &got).ok());
    EXPECT_EQ(got, adapter_ct);
    auto plain = crypto::age::DecryptToSecret(absl::MakeConstSpan(&p->identity, 1), got);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->view(), adapter_plain);
  }

  // The log holds one entry per decision, in order.
  EXPECT_EQ(
      absl::StrJoin(LogKinds(), " "),
      "party.registered party.registered party.registered party.registered artifact.registered "
      "artifact.registered contract.signature contract.signature contract.signature "
      "contract.activated "
      "job.submitted job.assigned job.admission key.released key.released job.running job.progress "
      "job.progress job.progress job.progress job.output job.done");
  ASSERT_TRUE(h_.store().log().VerifyIntegrity(h_.store().log_verifier()).ok());

  // Both record envelopes carry the same payload, one signed by the attested key, one by the
  // coordinator.
  auto record = h_.store().GetJobRecord(job);
  ASSERT_TRUE(record.ok());
  auto w_env = crypto::DsseEnvelope::FromJson(record->worker_envelope_json);
  auto c_env = crypto::DsseEnvelope::FromJson(record->coordinator_envelope_json);
  EXPECT_EQ(w_env->payload, c_env->payload);
  EXPECT_TRUE(crypto::DsseVerifySignedBy(*w_env, eph.key.public_key()).ok());
  EXPECT_TRUE(crypto::DsseVerifySignedBy(*c_env, h_.signing_public_key()).ok());

  // Plaintext never reached the coordinator's disk (database, WAL, blobs).
  std::string out;
  ASSERT_EQ(triad::testing::RunCommand(
                absl::StrCat("grep -rlaF -e ", kModelCanary, " -e ", kDataCanary, " -e ",
                             kAdapterCanary, " ", h_.dir.path(), " || true"),
                &out),
            0);
  EXPECT_EQ(out, "");
}

TEST_F(CoordinatorTest, AuditBundleProvesTheJobsEntriesIntoTheSignedCheckpoint) {
  SetUpContract();
  std::string job = NewJob();
  Eph eph;
  auto [a, reply] = Admit("w1", eph);
  ASSERT_EQ(Keys(job, eph).size(), 2u);
  std::string adapter_ct = Encrypt("adapter", {mo_.card.age_recipient, do_.card.age_recipient});
  ASSERT_TRUE(Deliver(job, eph.key, Record(job, adapter_ct, eph, reply), adapter_ct).ok());

  pb::ExportReply exported;
  ASSERT_TRUE(Export(job, mo_, &exported).ok());
  auto b = base::ParseJsonStrict(exported.bundle_json());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)["type"], verify::kAuditBundleType);
  EXPECT_EQ((*b)["job"]["state"], "done");
  EXPECT_EQ((*b)["contract"]["digest"], ContractDigest());
  EXPECT_FALSE((*b)["job_record"].is_null());
  ASSERT_EQ((*b)["admissions"].size(), 1u);
  const auto& adm = (*b)["admissions"][0];
  EXPECT_EQ(adm["evidence_digest"], crypto::Sha256Id(adm["evidence_document"].get<std::string>()));
  EXPECT_EQ(adm["evidence_digest"], reply.evidence_digest());
  EXPECT_EQ((*b)["key_releases"].size(), 2u);

  // The checkpoint opens with the coordinator's key; every entry's proof leads to its root.
  auto verifier = crypto::NoteVerifier::Create("test.triad/log", h_.signing_public_key());
  auto cp = crypto::OpenCheckpoint((*b)["log"]["checkpoint"].get<std::string>(), *verifier,
                                   "test.triad/log");
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->size, (*b)["log"]["tree_size"]);
  std::vector<std::string> kinds;
  for (const auto& e : (*b)["log"]["entries"]) {
    std::vector<std::string> proof;
    for (const auto& h : e["inclusion_proof"])
      proof.push_back(*base::Base64Decode(h.get<std::string>()));
    std::string entry = e["entry"];
    EXPECT_TRUE(crypto::merkle::VerifyInclusion(
                    e["index"], cp->size, crypto::merkle::LeafHash(entry), proof, cp->root_hash)
                    .ok());
    kinds.push_back(base::ParseJsonStrict(entry)->at("kind"));
  }
  // Not eve's registration: she is not in the contract.
  EXPECT_EQ(
      absl::StrJoin(kinds, " "),
      "party.registered party.registered party.registered artifact.registered artifact.registered "
      "contract.signature contract.signature contract.signature contract.activated job.submitted "
      "job.assigned job.admission key.released key.released job.output job.done");

  // The audit RPCs agree with the bundle.
  grpc::ClientContext c2;
  pb::CheckpointReply checkpoint;
  ASSERT_TRUE(h_.audit->GetCheckpoint(&c2, pb::CheckpointRequest(), &checkpoint).ok());
  auto shown = crypto::OpenCheckpoint(checkpoint.signed_note(), *verifier, "test.triad/log");
  ASSERT_TRUE(shown.ok()) << shown.status();
  EXPECT_GE(shown->size, cp->size);  // the keyholders' answers may come after the export
  grpc::ClientContext c3;
  pb::EntriesRequest er;
  er.set_start(0);
  er.set_end(2);
  *er.mutable_request() = h_.Signed("get-entries", {{"start", 0}, {"end", 2}}, mo_.key);
  pb::EntriesReply entries;
  ASSERT_TRUE(h_.audit->GetEntries(&c3, er, &entries).ok());
  EXPECT_EQ(entries.entries_size(), 2);
  EXPECT_EQ(entries.leaf_hashes_size(), 2);
  EXPECT_NE(entries.entries(0), "");  // mo's own registration: mo reads it
  EXPECT_EQ(entries.entries(1), "");  // do's: not for mo
  EXPECT_EQ(entries.leaf_hashes(1), crypto::merkle::LeafHash(*h_.store().log().Entry(1)));
  grpc::ClientContext c4;
  pb::InclusionRequest ir;
  ir.set_index(0);
  ir.set_tree_size(cp->size);
  *ir.mutable_request() =
      h_.Signed("get-inclusion-proof", {{"index", 0}, {"tree_size", cp->size}}, mo_.key);
  pb::ProofReply proof;
  ASSERT_TRUE(h_.audit->GetInclusionProof(&c4, ir, &proof).ok());
  std::vector<std::string> hashes(proof.hashes().begin(), proof.hashes().end());
  EXPECT_TRUE(crypto::merkle::VerifyInclusion(
                  0, cp->size, crypto::merkle::LeafHash(entries.entries(0)), hashes, cp->root_hash)
                  .ok());
  grpc::ClientContext c5;
  pb::ConsistencyRequest cr;
  cr.set_from_size(3);
  cr.set_to_size(cp->size);
  ASSERT_TRUE(h_.audit->GetConsistencyProof(&c5, cr, &proof).ok());
  grpc::ClientContext c6;
  er.set_end(1001);
  *er.mutable_request() = h_.Signed("get-entries", {{"start", 0}, {"end", 1001}}, mo_.key);
  EXPECT_STATUS(h_.audit->GetEntries(&c6, er, &entries), INVALID_ARGUMENT,
                "at most 1000 entries are read at once, start before end");
}

// ---- Registry ----

TEST_F(CoordinatorTest, PartiesAreAddedByTheOperatorNotByThemselves) {
  // Tried: anyone who reached the coordinator registered a hospital's name first. Now a party
  // registers only by the operator's hand (or where the operator opened registration).
  grpc::ClientContext c1;
  pb::RegisterPartyReply reply;
  EXPECT_STATUS(
      h_.registry->RegisterParty(
          &c1, h_.Signed("register-party", {{"card", eve_.card.ToJsonValue()}}, eve_.key), &reply),
      PERMISSION_DENIED,
      "this coordinator does not take self-registrations: its operator adds parties (triad "
      "coordinator parties add CARD); send your card to the operator");
  EXPECT_TRUE(h_.store().ListParties()->empty());
  // The operator adds one; adding the same card again changes nothing; another card under the
  // same name is refused.
  ASSERT_TRUE(Register(mo_).ok());
  EXPECT_EQ(*AddParty(h_.store(), mo_.card, h_.clock.Now()), false);
  Party mo2 = testing::MakeParty("mo", Role::kModelOwner);
  EXPECT_STATUS(
      Register(mo2), ALREADY_EXISTS,
      "party mo is already registered with another card (key " + mo_.card.fingerprint() + ")");
  // An unregistered key's requests say what to do.
  EXPECT_STATUS(
      SubmitJob(eve_, "c-0001"), PERMISSION_DENIED,
      "request is signed by key " + eve_.card.fingerprint() +
          ", which is not a registered party's; ask the coordinator's operator to add the "
          "party (triad coordinator parties add CARD)");
  // A removed party is refused from then on.
  ASSERT_TRUE(RemoveParty(h_.store(), "mo", h_.clock.Now()).ok());
  EXPECT_STATUS(Upload(mo_, "model", "tiny-model", model_ct_), PERMISSION_DENIED,
                "party mo was removed by the operator at 2025-07-10T00:00:00Z");
  EXPECT_EQ(absl::StrJoin(LogKinds(), " "), "party.registered party.removed");
}

class OpenRegistrationTest : public CoordinatorTest {
 protected:
  static CoordinatorOptions Open() {
    CoordinatorOptions o = testing::Harness::Defaults();
    o.open_registration = true;
    return o;
  }
  OpenRegistrationTest() : CoordinatorTest(Open()) {}
};

TEST_F(OpenRegistrationTest, RegistrationIsSelfSignedAndIdempotent) {
  grpc::ClientContext c1;
  pb::RegisterPartyReply reply;
  ASSERT_TRUE(
      h_.registry
          ->RegisterParty(
              &c1, h_.Signed("register-party", {{"card", mo_.card.ToJsonValue()}}, mo_.key), &reply)
          .ok());
  EXPECT_EQ(reply.fingerprint(), mo_.card.fingerprint());
  EXPECT_FALSE(reply.already_registered());
  grpc::ClientContext c2;
  ASSERT_TRUE(
      h_.registry
          ->RegisterParty(
              &c2, h_.Signed("register-party", {{"card", mo_.card.ToJsonValue()}}, mo_.key), &reply)
          .ok());
  EXPECT_TRUE(reply.already_registered());

  // Someone else's card, signed by another key.
  grpc::ClientContext c3;
  EXPECT_STATUS(
      h_.registry->RegisterParty(
          &c3, h_.Signed("register-party", {{"card", do_.card.ToJsonValue()}}, eve_.key), &reply),
      PERMISSION_DENIED,
      "a party registers itself: the request must be signed by the key of the card it carries");
  // A replayed request id.
  std::string env = h_.Sign("register-party", {{"card", do_.card.ToJsonValue()}}, do_.key);
  pb::SignedRequest req;
  req.set_envelope_json(env);
  grpc::ClientContext c4, c5;
  ASSERT_TRUE(h_.registry->RegisterParty(&c4, req, &reply).ok());
  EXPECT_STATUS(h_.registry->RegisterParty(&c5, req, &reply), ALREADY_EXISTS,
                "request " +
                    ParseRequestPayload(crypto::DsseEnvelope::FromJson(env)->payload)->request_id +
                    " was already used");
  // A request addressed to another coordinator.
  pb::SignedRequest elsewhere;
  elsewhere.set_envelope_json(SignRequest("register-party", {{"card", eve_.card.ToJsonValue()}},
                                          eve_.key, h_.clock.Now(), "another-coordinator")
                                  .ToJson());
  grpc::ClientContext c7;
  EXPECT_STATUS(h_.registry->RegisterParty(&c7, elsewhere, &reply), PERMISSION_DENIED,
                "request is addressed to coordinator another-coordinator, not to this one (" +
                    h_.fingerprint() + ")");
  // A request dated 7 minutes in the coordinator's future (a fast clock, or a request made to be
  // replayed later).
  h_.clock.Advance(absl::Minutes(7));
  std::string future = h_.Sign("register-party", {{"card", eve_.card.ToJsonValue()}}, eve_.key);
  h_.clock.Advance(-absl::Minutes(7));
  req.set_envelope_json(future);
  grpc::ClientContext c8;
  EXPECT_STATUS(h_.registry->RegisterParty(&c8, req, &reply), DEADLINE_EXCEEDED,
                "request: issued_at 2025-07-10T00:07:00Z is 7 minutes after the coordinator's time "
                "2025-07-10T00:00:00Z (at most 5 either way); check the clocks");
  // A stale request (issued 6 minutes before the coordinator's time).
  std::string stale = h_.Sign("register-party", {{"card", eve_.card.ToJsonValue()}}, eve_.key);
  h_.clock.Advance(absl::Minutes(6));
  req.set_envelope_json(stale);
  grpc::ClientContext c6;
  EXPECT_STATUS(
      h_.registry->RegisterParty(&c6, req, &reply), DEADLINE_EXCEEDED,
      "request: issued_at 2025-07-10T00:00:00Z is 6 minutes before the coordinator's time "
      "2025-07-10T00:06:00Z (at most 5 either way); check the clocks");
}

TEST_F(CoordinatorTest, ArtifactUploadChecks) {
  for (const Party* p : {&mo_, &do_, &cp_}) ASSERT_TRUE(Register(*p).ok());
  pb::ArtifactInfo info;
  ASSERT_TRUE(Upload(mo_, "model", "tiny-model", model_ct_, "", -1, &info).ok());
  EXPECT_EQ(info.id(), crypto::Sha256Id(model_ct_));
  EXPECT_EQ(info.kind(), "model");
  EXPECT_EQ(info.owner(), "mo");
  EXPECT_EQ(info.size(), model_ct_.size());
  auto blob = h_.blobs().Size(info.id());
  EXPECT_EQ(*blob, model_ct_.size());

  EXPECT_STATUS(Upload(mo_, "model", "tiny-model", model_ct_), ALREADY_EXISTS,
                "artifact " + crypto::Sha256Id(model_ct_) + " is already registered");
  // Encrypted to the owner and to someone else too (the coordinator, say): refused from the header
  // in the first chunk, though the upload declares 1 GiB it never sends.
  Party broker = testing::MakeParty("broker", Role::kModelOwner);
  std::string two = Encrypt("weights", {mo_.card.age_recipient, broker.card.age_recipient});
  EXPECT_STATUS(
      Upload(mo_, "model", "m2", two, "", int64_t{1} << 30), FAILED_PRECONDITION,
      "artifact's age header has 2 stanza(s) (X25519, X25519); an artifact is encrypted to "
      "its owner's release recipient alone: exactly one X25519 stanza (the coordinator holds "
      "no key and accepts nothing also encrypted to another recipient)");
  EXPECT_STATUS(
      Upload(mo_, "model", "m2", crypto::age::ArmorEncode(Encrypt("w", {mo_.card.age_recipient}))),
      INVALID_ARGUMENT,
      "artifact is ASCII-armored; upload the binary age file (encrypt without -a)");
  EXPECT_EQ(Upload(mo_, "model", "m2", "plain weights, not age").error_message().substr(0, 32),
            "artifact is not an age v1 file: ");
  // Size and digest.
  std::string ct = Encrypt("weights v2", {mo_.card.age_recipient});
  EXPECT_STATUS(Upload(mo_, "model", "m2", ct, "", ct.size() + 1), INVALID_ARGUMENT,
                absl::StrCat("upload ended after ", ct.size(), " bytes; the registration declared ",
                             ct.size() + 1));
  EXPECT_STATUS(
      Upload(mo_, "model", "m2", ct, "", ct.size() - 1), INVALID_ARGUMENT,
      absl::StrCat("upload is longer than the declared size of ", ct.size() - 1, " bytes"));
  std::string wrong_id = crypto::Sha256Id("something else");
  EXPECT_STATUS(
      Upload(mo_, "model", "m2", ct, wrong_id), INVALID_ARGUMENT,
      "upload digest mismatch: blob content is " + crypto::Sha256Id(ct) + ", expected " + wrong_id);
  EXPECT_FALSE(*h_.blobs().Contains(crypto::Sha256Id(ct)));
  // Roles.
  EXPECT_STATUS(Upload(do_, "model", "m2", ct), PERMISSION_DENIED,
                "party do is a data-owner; only a model-owner registers a model");
  EXPECT_STATUS(Upload(mo_, "dataset", "d2", ct), PERMISSION_DENIED,
                "party mo is a model-owner; only a data-owner registers a dataset");
  EXPECT_STATUS(
      Upload(eve_, "model", "m2", ct), PERMISSION_DENIED,
      "request is signed by key " + eve_.card.fingerprint() +
          ", which is not a registered party's; ask the coordinator's operator to add the "
          "party (triad coordinator parties add CARD)");
  // Limits: the largest artifact and the party's quota.
  EXPECT_STATUS(
      Upload(mo_, "model", "huge", ct, "", int64_t{65} << 30), RESOURCE_EXHAUSTED,
      absl::StrCat("artifact of ", int64_t{65} << 30,
                   " bytes is larger than this coordinator accepts (68719476736 bytes; the "
                   "operator sets it: coordinator serve --max-artifact-size)"));
  EXPECT_STATUS(Upload(mo_, "adapter", "m2", ct), INVALID_ARGUMENT,
                "request body: kind \"adapter\" is not \"model\" or \"dataset\"");
  // Nothing of the refused uploads was registered or logged.
  EXPECT_EQ(h_.store().ListArtifacts()->size(), 1u);
  EXPECT_EQ(absl::StrJoin(LogKinds(), " "),
            "party.registered party.registered party.registered artifact.registered");
}

// ---- Contracts ----

TEST_F(CoordinatorTest, ContractsMustBeActiveAndNameRegisteredPartiesAndHeldArtifacts) {
  RegisterAll();
  contracts::Contract c = MakeContract();
  // Unsigned by the provider.
  EXPECT_STATUS(SubmitContract(SignedContract(c, {&mo_, &do_})), FAILED_PRECONDITION,
                "contract c-0001 is not active: no signature by compute_provider \"cp\" (key " +
                    cp_.card.fingerprint() + ")");
  // A job under it cannot exist.
  EXPECT_STATUS(SubmitJob(do_, "c-0001"), NOT_FOUND, "contract c-0001 not found");

  // An artifact the coordinator does not hold, and an unregistered party.
  Party cp2 = testing::MakeParty("cp2", Role::kComputeProvider);
  contracts::Contract bad = c;
  bad.compute_provider = cp2.card;
  bad.dataset.id = crypto::Sha256Id("not uploaded");
  EXPECT_STATUS(SubmitContract(SignedContract(bad, {&mo_, &do_, &cp2})), FAILED_PRECONDITION,
                "contract c-0001 cannot be accepted: compute_provider \"cp2\" is not a registered "
                "party; dataset " +
                    bad.dataset.id + " is not held by this coordinator; upload it first");
  // The model in the dataset slot, owned by the wrong party.
  contracts::Contract swapped = c;
  std::swap(swapped.base_model.id, swapped.dataset.id);
  EXPECT_STATUS(SubmitContract(SignedContract(swapped, {&mo_, &do_, &cp_})), FAILED_PRECONDITION,
                "contract c-0001 cannot be accepted: base_model " + swapped.base_model.id +
                    " is a dataset, not a model; dataset " + swapped.dataset.id +
                    " is a model, not a dataset");
  // eve registered under do's name is not do.
  contracts::Contract imposter = c;
  imposter.data_owner = eve_.card;
  imposter.data_owner.name = "do";
  EXPECT_STATUS(SubmitContract(SignedContract(imposter, {&mo_, &eve_, &cp_})), FAILED_PRECONDITION,
                "contract c-0001 cannot be accepted: data_owner \"do\" is registered with another "
                "card (key " +
                    do_.card.fingerprint() + ")");

  pb::ContractReply reply;
  std::string good = SignedContract(c, {&mo_, &do_, &cp_});
  ASSERT_TRUE(SubmitContract(good, &reply).ok());
  EXPECT_EQ(reply.id(), "c-0001");
  EXPECT_EQ(reply.state(), "active");
  EXPECT_EQ(reply.digest(), crypto::Sha256Id(crypto::DsseEnvelope::FromJson(good)->payload));
  ASSERT_TRUE(SubmitContract(good).ok());  // the same again: nothing new
  auto kinds = LogKinds();
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "contract.signature"), 3);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "contract.activated"), 1);
  contracts::Contract other = c;
  other.training.rank = 4;
  EXPECT_STATUS(SubmitContract(SignedContract(other, {&mo_, &do_, &cp_})), ALREADY_EXISTS,
                "contract c-0001 already exists with another digest (" + reply.digest() + ")");

  grpc::ClientContext ctx;
  pb::GetContractRequest get;
  get.set_id("c-0001");
  *get.mutable_request() = h_.Signed("get-contract", {{"contract_id", "c-0001"}}, cp_.key);
  pb::GetContractReply got;
  ASSERT_TRUE(h_.contracts->GetContract(&ctx, get, &got).ok());
  EXPECT_EQ(got.envelope_json(), good);
  EXPECT_EQ(got.status().state(), "active");
  // Only its parties (and the auditors it names) read it; anyone else learns nothing.
  pb::GetContractRequest by_eve = get;
  *by_eve.mutable_request() = h_.Signed("get-contract", {{"contract_id", "c-0001"}}, eve_.key);
  grpc::ClientContext ctx3;
  EXPECT_STATUS(h_.contracts->GetContract(&ctx3, by_eve, &got), PERMISSION_DENIED,
                "request is signed by key " + eve_.card.fingerprint() +
                    ", which is neither a party of contract c-0001 nor an auditor it names");
  pb::GetContractRequest unsigned_get;
  unsigned_get.set_id("c-0001");
  grpc::ClientContext ctx4;
  EXPECT_STATUS(
      h_.contracts->GetContract(&ctx4, unsigned_get, &got), UNAUTHENTICATED,
      "reading contract c-0001 needs a request signed by one of its parties or an auditor "
      "it names");
  h_.clock.Set(T("2025-07-31T00:00:00Z"));
  *get.mutable_request() = h_.Signed("get-contract", {{"contract_id", "c-0001"}}, cp_.key);
  grpc::ClientContext ctx2;
  ASSERT_TRUE(h_.contracts->GetContract(&ctx2, get, &got).ok());
  EXPECT_EQ(got.status().state(), "expired");
  ASSERT_EQ(got.status().reasons_size(), 1);
  EXPECT_EQ(got.status().reasons(0),
            "expired: now 2025-07-31T00:00:00Z is not before not_after 2025-07-31T00:00:00Z");
}

// ---- Jobs ----

TEST_F(CoordinatorTest, JobSubmissionChecks) {
  SetUpContract();
  pb::JobStatus s;
  ASSERT_TRUE(SubmitJob(mo_, "c-0001", &s).ok());  // either owner may submit
  EXPECT_EQ(s.state(), "queued");
  EXPECT_EQ(s.contract_id(), "c-0001");
  EXPECT_EQ(s.id().size(), 18u);
  EXPECT_STATUS(SubmitJob(eve_, "c-0001"), PERMISSION_DENIED,
                "party eve is not the model owner or data owner of contract c-0001");
  EXPECT_STATUS(SubmitJob(cp_, "c-0001"), PERMISSION_DENIED,
                "party cp is not the model owner or data owner of contract c-0001");
  Party stranger = testing::MakeParty("stranger", Role::kDataOwner);
  EXPECT_STATUS(
      SubmitJob(stranger, "c-0001"), PERMISSION_DENIED,
      "request is signed by key " + stranger.card.fingerprint() +
          ", which is not a registered party's; ask the coordinator's operator to add the "
          "party (triad coordinator parties add CARD)");
  // The same signed request twice.
  std::string env = h_.Sign("submit-job", {{"contract_id", "c-0001"}}, do_.key);
  ASSERT_TRUE(SubmitJob(do_, "", nullptr, env).ok());
  EXPECT_STATUS(SubmitJob(do_, "", nullptr, env), ALREADY_EXISTS,
                "request " +
                    ParseRequestPayload(crypto::DsseEnvelope::FromJson(env)->payload)->request_id +
                    " was already used");
  // A request for another action.
  EXPECT_STATUS(SubmitJob(do_, "", nullptr, h_.Sign("poll", {{"contract_id", "c-0001"}}, do_.key)),
                INVALID_ARGUMENT, "request: action is \"poll\", this call performs \"submit-job\"");
  // Expired contract.
  h_.clock.Set(T("2025-07-31T00:00:01Z"));
  EXPECT_STATUS(
      SubmitJob(do_, "c-0001"), FAILED_PRECONDITION,
      "contract c-0001 is not active: expired: now 2025-07-31T00:00:01Z is not before not_after "
      "2025-07-31T00:00:00Z");
  // Queued jobs of an expired contract fail at the next sweep.
  ASSERT_EQ(*h_.coordinator().Sweep(), 2);
  EXPECT_EQ(GetJob(s.id()).state(), "failed");
  EXPECT_EQ(GetJob(s.id()).reason(),
            "contract c-0001 expired at 2025-07-31T00:00:00Z before the job ran");
}

// ---- Polling ----

TEST_F(CoordinatorTest, PollAssignsOnlyToTheContractsProviderAndAcceptedTee) {
  SetUpContract();
  pb::PollReply reply;
  ASSERT_TRUE(Poll(cp_, "w1", "sim", &reply).ok());
  EXPECT_FALSE(reply.has_job());  // nothing queued yet
  std::string job = NewJob();
  Party cp2 = testing::MakeParty("cp2", Role::kComputeProvider);
  ASSERT_TRUE(Register(cp2).ok());
  ASSERT_TRUE(Poll(cp2, "w9", "sim", &reply).ok());
  EXPECT_FALSE(reply.has_job());  // another provider's worker
  ASSERT_TRUE(Poll(cp_, "w1", "tdx", &reply).ok());
  EXPECT_FALSE(reply.has_job());  // the policy accepts sim only
  EXPECT_STATUS(Poll(do_, "w1", "sim", &reply), PERMISSION_DENIED,
                "party do is a data-owner; only a compute provider polls for jobs");
  EXPECT_STATUS(Poll(cp2, "w1", "sim", &reply), FAILED_PRECONDITION,
                "worker w1 belongs to provider cp, not cp2");
  EXPECT_STATUS(Poll(cp_, "w1", "sgx", &reply), INVALID_ARGUMENT,
                "request body: tee \"sgx\" is not sev-snp, tdx or sim");
  ASSERT_TRUE(Poll(cp_, "w1", "sim", &reply).ok());
  ASSERT_TRUE(reply.has_job());
  EXPECT_EQ(reply.assignment().job_id(), job);
  EXPECT_EQ(GetJob(job).state(), "assigned");
  ASSERT_TRUE(Poll(cp_, "w2", "sim", &reply).ok());
  EXPECT_FALSE(reply.has_job());  // taken
}

TEST_F(CoordinatorTest, AWorkerThatPollsAgainLetsGoOfItsJob) {
  SetUpContract();
  std::string job = NewJob();
  Eph eph;
  Admit("w1", eph);
  ASSERT_TRUE(Progress(job, eph.key, 1, 10).ok());
  // The worker restarted: it polls again and gets the job back as a new attempt, with new keys.
  pb::Assignment a = MustPoll("w1");
  EXPECT_EQ(a.job_id(), job);
  pb::JobStatus s = GetJob(job);
  EXPECT_EQ(s.state(), "assigned");
  EXPECT_EQ(s.attempt(), 2u);
  auto events = h_.store().ListEvents(0, job);
  bool logged = false;
  for (const auto& e : *events) {
    logged = logged || (e.kind == "job.requeued" &&
                        base::ParseJsonStrict(e.detail_json)->at("reason") ==
                            "worker w1 asked for new work while it held the job (running)");
  }
  EXPECT_TRUE(logged);
  // The old attempt's key no longer speaks for the job.
  EXPECT_STATUS(Progress(job, eph.key, 2, 10), PERMISSION_DENIED,
                "job " + job + " has no attested worker");
}

TEST_F(CoordinatorTest, PollWaitsForAJob) {
  SetUpContract();
  // A coordinator that waits: a job submitted while the worker waits is assigned to it.
  CoordinatorOptions o = testing::Harness::Defaults();
  o.poll_wait = absl::Seconds(10);
  Coordinator waiting(h_.clock, h_.store(), h_.blobs(), {},
                      *crypto::Ed25519PrivateKey::FromPem(h_.signing_pem()), o);
  std::string poll = h_.Sign("poll", {{"worker_id", "w1"}, {"tee", "sim"}}, cp_.key);
  std::thread submit([&] {
    absl::SleepFor(absl::Milliseconds(300));
    auto job = waiting.SubmitJob(h_.Sign("submit-job", {{"contract_id", "c-0001"}}, do_.key));
    EXPECT_TRUE(job.ok()) << job.status();
  });
  absl::Time start = absl::Now();
  auto a = waiting.Poll(poll);
  submit.join();
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->has_value());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  // Cancelled: returns at once with nothing.
  auto none = waiting.Poll(h_.Sign("poll", {{"worker_id", "w2"}, {"tee", "sim"}}, cp_.key),
                           [] { return true; });
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

// ---- Admission ----

// An input the coordinator can no longer read fails the job at admission (another worker could not
// do better), and no key is released to the admitted worker.
TEST_F(CoordinatorTest, AnInputMissingFromTheBlobStoreFailsTheJobAtAdmission) {
  SetUpContract();
  std::string job = NewJob();
  const std::string data_id = crypto::Sha256Id(data_ct_);
  std::filesystem::remove(
      h_.dir.File("blobs/objects/" + data_id.substr(7, 2) + "/" + data_id.substr(9)));
  pb::Assignment a = MustPoll("w1");
  Eph eph;
  pb::AttestReply reply;
  ASSERT_TRUE(Attest(a, "w1", eph, &reply).ok());
  EXPECT_FALSE(reply.admitted());
  ASSERT_EQ(reply.reasons_size(), 1);
  EXPECT_EQ(reply.reasons(0), "input " + data_id + ": blob " + data_id + " not found");
  EXPECT_TRUE(ServeKeyholders().empty());  // nothing was asked of the keyholders
  EXPECT_TRUE(h_.store().ListKeyReleases(job)->empty());
  pb::JobStatus s = GetJob(job);
  EXPECT_EQ(s.state(), "failed");
  EXPECT_EQ(s.reason(), reply.reasons(0));
}

TEST_F(CoordinatorTest, WorkerWithAMeasurementNotInThePolicyIsRejectedAndGetsNoKey) {
  SetUpContract();
  std::string job = NewJob();
  pb::Assignment a = MustPoll("w1");
  Eph eph;
  pb::AttestReply reply;
  AttestOptions o;
  o.measurement = testing::Digest48("tampered-worker");
  ASSERT_TRUE(Attest(a, "w1", eph, &reply, o).ok());
  EXPECT_FALSE(reply.admitted());
  std::string reason = "measurement " + base::HexEncode(o.measurement) + " not in [" +
                       base::HexEncode(GoodMeasurement()) + "]";
  ASSERT_EQ(reply.reasons_size(), 1);
  EXPECT_EQ(reply.reasons(0), reason);
  EXPECT_TRUE(ServeKeyholders().empty());  // nothing was asked of the keyholders
  EXPECT_TRUE(h_.store().ListKeyReleases(job)->empty());
  pb::JobStatus s = GetJob(job);
  EXPECT_EQ(s.state(), "queued");
  EXPECT_EQ(s.reason(), "admission of worker w1 refused: " + reason);
  // The decision is recorded with its evidence and reasons.
  auto adm = h_.store().ListAdmissions(job);
  ASSERT_EQ(adm->size(), 1u);
  EXPECT_FALSE((*adm)[0].admitted);
  EXPECT_EQ((*adm)[0].reasons_json, nlohmann::json({reason}).dump());
  // The rejected worker gets nothing: no input, no progress.
  std::string got;
  EXPECT_STATUS(Download(job, crypto::Sha256Id(model_ct_), eph.key, &got), FAILED_PRECONDITION,
                "job " + job + " is queued; inputs are served only to its admitted worker");
  EXPECT_EQ(got, "");
  // It is not offered the job again right away; another worker is.
  pb::PollReply again;
  ASSERT_TRUE(Poll(cp_, "w1", "sim", &again).ok());
  EXPECT_FALSE(again.has_job());
  pb::Assignment a2 = MustPoll("w2");
  EXPECT_EQ(a2.job_id(), job);
  EXPECT_EQ(GetJob(job).attempt(), 2u);
  Eph eph2;
  ASSERT_TRUE(Attest(a2, "w2", eph2, &reply).ok());
  EXPECT_TRUE(reply.admitted());
}

TEST_F(CoordinatorTest, DebugSimWorkerIsRejected) {
  SetUpContract();
  NewJob();
  pb::Assignment a = MustPoll();
  Eph eph;
  pb::AttestReply reply;
  AttestOptions o;
  o.debug = true;
  ASSERT_TRUE(Attest(a, "w1", eph, &reply, o).ok());
  EXPECT_FALSE(reply.admitted());
  EXPECT_EQ(absl::StrJoin(reply.reasons(), "; "), "debug sim worker not allowed");
}

TEST_F(CoordinatorTest, EvidenceBoundToAnotherKeyIsRejected) {
  SetUpContract();
  std::string job = NewJob();
  pb::Assignment a = MustPoll();
  Eph eph, other;
  pb::AttestReply reply;
  AttestOptions o;
  o.bind_to = &other;
  ASSERT_TRUE(Attest(a, "w1", eph, &reply, o).ok());
  EXPECT_FALSE(reply.admitted());
  std::string expected =
      *attestation::ExpectedReportData({a.nonce(), job, eph.key.public_key(), eph.id.recipient()});
  std::string carried = *attestation::ExpectedReportData(
      {a.nonce(), job, other.key.public_key(), other.id.recipient()});
  ASSERT_EQ(reply.reasons_size(), 1);
  EXPECT_EQ(reply.reasons(0),
            "report data does not bind this admission (nonce, job id, Ed25519 key, age recipient): "
            "expected " +
                base::HexEncode(expected) + ", evidence carries " + base::HexEncode(carried));
  EXPECT_TRUE(h_.store().ListKeyReleases(job)->empty());
}

TEST_F(CoordinatorTest, UntrustedSimKeyIsRejected) {
  SetUpContract();
  NewJob();
  pb::Assignment a = MustPoll();
  crypto::Ed25519PrivateKey mine = crypto::Ed25519PrivateKey::Generate();
  std::swap(h_.sim_key, mine);  // the worker signs with a key the coordinator does not trust
  Eph eph;
  pb::AttestReply reply;
  ASSERT_TRUE(Attest(a, "w1", eph, &reply).ok());
  std::swap(h_.sim_key, mine);
  EXPECT_FALSE(reply.admitted());
  ASSERT_EQ(reply.reasons_size(), 1);
  EXPECT_EQ(reply.reasons(0).substr(0, 45), "evidence: sim evidence is signed by simulatio");
  EXPECT_EQ(reply.claims_json(), "{}");
}

// The owner of an artifact downloads its ciphertext back, byte for byte; nobody else can.
TEST_F(CoordinatorTest, OnlyTheOwnerDownloadsAnArtifact) {
  RegisterAll();
  auto download = [&](const Party& who, const std::string& id, std::string* out) {
    grpc::ClientContext ctx;
    pb::DownloadRequest req;
    *req.mutable_request() = h_.Signed("download-artifact", {{"artifact_id", id}}, who.key);
    auto r = h_.registry->DownloadArtifact(&ctx, req);
    return testing::ReadChunks(*r, out);
  };
  const std::string model_id = crypto::Sha256Id(model_ct_);
  std::string got;
  grpc::Status st = download(mo_, model_id, &got);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(got, model_ct_);
  EXPECT_STATUS(download(do_, model_id, &got), PERMISSION_DENIED,
                "party do did not register " + model_id + "; only its owner may download it");
  EXPECT_STATUS(download(eve_, model_id, &got), PERMISSION_DENIED,
                "party eve did not register " + model_id + "; only its owner may download it");
  EXPECT_EQ(download(mo_, "sha256:" + std::string(64, '0'), &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CoordinatorTest, NonceIsSingleUseAndExpires) {
  SetUpContract();
  std::string job = NewJob();
  pb::Assignment a = MustPoll();
  Eph eph;
  pb::AttestReply reply;
  AttestOptions bad;
  bad.measurement = testing::Digest48("tampered-worker");
  ASSERT_TRUE(Attest(a, "w1", eph, &reply, bad).ok());
  ASSERT_FALSE(reply.admitted());
  // The same nonce again, now with good evidence and fresh keys: refused.
  Eph eph2;
  EXPECT_STATUS(Attest(a, "w1", eph2, &reply), FAILED_PRECONDITION,
                "nonce was already used at 2025-07-10T00:00:00Z");

  // A new assignment whose nonce expires before the worker attests.
  pb::Assignment a2 = MustPoll("w2");
  h_.clock.Advance(absl::Minutes(2));
  Eph eph3;
  EXPECT_STATUS(Attest(a2, "w2", eph3, &reply), FAILED_PRECONDITION,
                "nonce expired at 2025-07-10T00:02:00Z");
  EXPECT_TRUE(h_.store().ListKeyReleases(job)->empty());
  // The sweep gives the job back to the queue.
  ASSERT_EQ(*h_.coordinator().Sweep(), 1);
  pb::JobStatus s = GetJob(job);
  EXPECT_EQ(s.state(), "queued");
  EXPECT_EQ(s.reason(), "worker w2 did not attest before its nonce expired");
  // The old nonce belongs to an old attempt.
  pb::Assignment a3 = MustPoll("w3");
  EXPECT_STATUS(Attest(a2, "w3", eph3, &reply), PERMISSION_DENIED,
                "nonce was issued to worker w2, not w3");
  EXPECT_STATUS(Attest(a3, "w2", eph3, &reply), PERMISSION_DENIED,
                "nonce was issued to worker w3, not w2");
}

TEST_F(CoordinatorTest, AttestRequestChecks) {
  SetUpContract();
  std::string job = NewJob();
  pb::Assignment a = MustPoll();
  Eph eph;
  pb::AttestReply reply;
  // Proof of possession: the ephemeral envelope must carry the same payload, signed by that key.
  nlohmann::json body = {{"job_id", job},
                         {"worker_id", "w1"},
                         {"nonce", base::HexEncode(a.nonce())},
                         {"ed25519_public_key", base::Base64Encode(eph.key.public_key().raw())},
                         {"age_recipient", eph.id.recipient().ToString()}};
  crypto::DsseEnvelope request =
      SignRequest("attest", body, cp_.key, h_.clock.Now(), h_.fingerprint());
  auto attest = [&](const crypto::DsseEnvelope& req, const crypto::DsseEnvelope& pop) {
    pb::AttestRequest r;
    r.mutable_request()->set_envelope_json(req.ToJson());
    r.mutable_evidence()->set_tee("sim");
    r.set_ephemeral_signature_envelope_json(pop.ToJson());
    grpc::ClientContext ctx;
    return h_.workers->Attest(&ctx, r, &reply);
  };
  crypto::DsseEnvelope pop_other_payload =
      SignRequest("attest", body, eph.key, h_.clock.Now(), h_.fingerprint());
  EXPECT_STATUS(attest(request, pop_other_payload), PERMISSION_DENIED,
                "the ephemeral signature envelope does not carry the same request");
  crypto::DsseEnvelope pop_wrong_key{request.payload_type, request.payload, {}};
  crypto::DsseSign(pop_wrong_key, Eph().key);
  EXPECT_STATUS(
      attest(request, pop_wrong_key), PERMISSION_DENIED,
      "the request is not signed by the ephemeral key it names (proof of possession failed)");
  // Only the contract's compute provider attests, for its own worker.
  Party cp2 = testing::MakeParty("cp2", Role::kComputeProvider);
  ASSERT_TRUE(Register(cp2).ok());
  crypto::DsseEnvelope by_cp2 =
      SignRequest("attest", body, cp2.key, h_.clock.Now(), h_.fingerprint());
  crypto::DsseEnvelope pop{by_cp2.payload_type, by_cp2.payload, {}};
  crypto::DsseSign(pop, eph.key);
  EXPECT_STATUS(attest(by_cp2, pop), PERMISSION_DENIED,
                "worker w1 belongs to provider cp, not cp2");
  crypto::DsseEnvelope by_do =
      SignRequest("attest", body, do_.key, h_.clock.Now(), h_.fingerprint());
  EXPECT_STATUS(attest(by_do, pop), PERMISSION_DENIED,
                "party do is a data-owner, not a compute provider");
  // Nothing changed: the nonce is still good.
  ASSERT_TRUE(Attest(a, "w1", eph, &reply).ok());
  EXPECT_TRUE(reply.admitted());
}

TEST_F(CoordinatorTest, KeyIsNeverReleasedTwiceToTheSameEphemeralKey) {
  SetUpContract();
  std::string job = NewJob();
  Eph eph;
  Admit("w1", eph);
  ASSERT_EQ(Keys(job, eph).size(), 2u);
  ASSERT_EQ(h_.store().ListKeyReleases(job)->size(), 2u);
  // The worker goes silent; the lease requeues the job; a worker comes back with the same keys.
  h_.clock.Advance(absl::Minutes(10));
  ASSERT_EQ(*h_.coordinator().Sweep(), 1);
  EXPECT_EQ(GetJob(job).reason(), "no word from worker w1 for 10m (lease expired)");
  pb::Assignment a = MustPoll("w1");
  pb::AttestReply reply;
  EXPECT_STATUS(
      Attest(a, "w1", eph, &reply), ALREADY_EXISTS,
      "ephemeral keys were already used for job " + job + "; a worker makes new ones per attempt");
  EXPECT_EQ(h_.store().ListKeyReleases(job)->size(), 2u);
  // The old keys no longer fetch inputs either.
  std::string got;
  EXPECT_STATUS(Download(job, crypto::Sha256Id(model_ct_), eph.key, &got), PERMISSION_DENIED,
                "job " + job + " has no attested worker");
  // Fresh keys are admitted; the releases go to the new recipient.
  Eph fresh;
  ASSERT_TRUE(Attest(a, "w1", fresh, &reply).ok());
  ASSERT_TRUE(reply.admitted());
  ASSERT_EQ(Keys(job, fresh).size(), 2u);
  auto releases = h_.store().ListKeyReleases(job);
  ASSERT_EQ(releases->size(), 4u);
  EXPECT_EQ((*releases)[2].recipient, fresh.id.recipient().ToString());
  EXPECT_NE((*releases)[0].recipient, (*releases)[2].recipient);
}

TEST_F(CoordinatorTest, ATransferInFlightHoldsTheLease) {
  SetUpContract();
  std::string job = NewJob();
  Eph eph;
  Admit("w1", eph);
  ASSERT_EQ(Keys(job, eph).size(), 2u);
  auto reader = h_.coordinator().OpenInput(h_.Sign(
      "download-input", {{"job_id", job}, {"artifact_id", crypto::Sha256Id(model_ct_)}}, eph.key));
  ASSERT_TRUE(reader.ok()) << reader.status();
  h_.clock.Advance(absl::Minutes(11));
  EXPECT_EQ(*h_.coordinator().Sweep(), 0);  // a large model is still streaming
  reader->reset();
  EXPECT_EQ(*h_.coordinator().Sweep(), 1);
  EXPECT_EQ(GetJob(job).state(), "queued");
}

// ---- Worker calls after admission ----

TEST_F(CoordinatorTest, WorkerCallsNeedTheAttestedEphemeralKey) {
  SetUpContract();
  std::string job = NewJob();
  Eph eph;
  Admit("w1", eph);
  std::string got;
  EXPECT_STATUS(Download(job, crypto::Sha256Id(model_ct_), cp_.key, &got), PERMISSION_DENIED,
                "request is not signed by the attested ephemeral key of job " + job);
  EXPECT_STATUS(Download(job, crypto::Sha256Id("other"), eph.key, &got), PERMISSION_DENIED,
                "artifact " + crypto::Sha256Id("other") + " is not an input of job " + job);
  EXPECT_STATUS(Progress(job, Eph().key, 1, 10), PERMISSION_DENIED,
                "request is not signed by the attested ephemeral key of job " + job);
  EXPECT_STATUS(Progress(job, eph.key, 11, 10), INVALID_ARGUMENT,
                "request body: step 11 of total_steps 10 is not a step of a run");
  // Loss stays in the TEE unless the contract lets it out.
  EXPECT_STATUS(
      Progress(job, eph.key, 1, 10, 2.5), PERMISSION_DENIED,
      "contract c-0001 does not let per-step loss leave the TEE (outputs.per_step_loss is false)");
  EXPECT_FALSE(GetJob(job).has_loss());
  EXPECT_EQ(GetJob(job).step(), 0u);
  // A replayed progress report.
  std::string env = h_.Sign(
      "report-progress",
      {{"job_id", job}, {"step", 1}, {"total_steps", 10}, {"tokens_per_second", 1.0}}, eph.key);
  pb::SignedRequest req;
  req.set_envelope_json(env);
  pb::Ack ack;
  grpc::ClientContext c1, c2;
  ASSERT_TRUE(h_.workers->ReportProgress(&c1, req, &ack).ok());
  EXPECT_STATUS(h_.workers->ReportProgress(&c2, req, &ack), ALREADY_EXISTS,
                "request " +
                    ParseRequestPayload(crypto::DsseEnvelope::FromJson(env)->payload)->request_id +
                    " was already used");
  // Fetch before delivery.
  EXPECT_STATUS(Fetch(job, mo_, &got), FAILED_PRECONDITION,
                "job " + job + " is running; its output is not delivered yet");
}

TEST_F(CoordinatorTest, LossIsShownToMetricsRecipientsWhenTheContractAllowsIt) {
  contracts::Contract c = MakeContract();
  c.outputs.per_step_loss = true;
  c.outputs.metrics_recipients = {Role::kDataOwner};
  SetUpContract(&c);
  std::string job = NewJob();
  Eph eph;
  Admit("w1", eph);
  ASSERT_TRUE(Progress(job, eph.key, 3, 10, 2.25).ok());
  EXPECT_FALSE(GetJob(job, &cp_).has_loss());  // a party, not a metrics recipient
  EXPECT_FALSE(GetJob(job, &mo_).has_loss());  // not a metrics recipient
  pb::JobStatus s = GetJob(job, &do_);
  EXPECT_TRUE(s.has_loss());
  EXPECT_DOUBLE_EQ(s.loss(), 2.25);
}

TEST_F(CoordinatorTest, FailureReports) {
  SetUpContract();
  std::string job = NewJob();
  pb::Assignment a = MustPoll("w1");
  // Before admission the provider hands the job back: queued again.
  ASSERT_TRUE(Fail(job, cp_.key, "attester unavailable").ok());
  pb::JobStatus s = GetJob(job);
  EXPECT_EQ(s.state(), "queued");
  EXPECT_EQ(s.reason(), "worker w1 gave the job back: attester unavailable");
  EXPECT_STATUS(Fail(job, do_.key, "x"), PERMISSION_DENIED,
                "request is not signed by job " + job +
                    "'s attested ephemeral key or by its compute provider");
  // The worker that gave it back is not offered it again for a while.
  pb::PollReply again;
  ASSERT_TRUE(Poll(cp_, "w1", "sim", &again).ok());
  EXPECT_FALSE(again.has_job());
  // After admission the ephemeral key fails it, with the worker's reason.
  Eph eph;
  Admit("w2", eph);
  EXPECT_STATUS(Fail(job, cp_.key, "x"), FAILED_PRECONDITION,
                "job " + job +
                    " is admitted; its compute provider reports failure only before admission, the "
                    "admitted worker "
                    "after it");
  std::string reason =
      "input " + crypto::Sha256Id(model_ct_) + " digest mismatch: got " + crypto::Sha256Id("junk");
  ASSERT_TRUE(Fail(job, eph.key, reason).ok());
  s = GetJob(job);
  EXPECT_EQ(s.state(), "failed");
  EXPECT_EQ(s.reason(), reason);
  EXPECT_STATUS(Fail(job, eph.key, "again"), FAILED_PRECONDITION,
                "job " + job + " is failed; its worker can no longer fail it");
  EXPECT_STATUS(Fail(job, eph.key, "bad\nreason"), INVALID_ARGUMENT,
                "request body: reason must be 1 to 1024 bytes without control characters");
  EXPECT_EQ(LogKinds().back(), "job.failed");
}

// ---- Delivery ----

TEST_F(CoordinatorTest, DeliveryChecksTheRecordAndTheDigest) {
  SetUpContract();
  std::string job = NewJob();
  Eph eph;
  auto [a, reply] = Admit("w1", eph);
  std::string adapter_ct = Encrypt("adapter", {mo_.card.age_recipient, do_.card.age_recipient});
  std::string record = Record(job, adapter_ct, eph, reply);

  // The bytes do not hash to the record's subject.
  std::string other_ct = Encrypt("other adapter", {mo_.card.age_recipient, do_.card.age_recipient});
  EXPECT_STATUS(Deliver(job, eph.key, record, other_ct), INVALID_ARGUMENT,
                "output digest differs from the job record's subject: blob content is " +
                    crypto::Sha256Id(other_ct) + ", expected " + crypto::Sha256Id(adapter_ct));
  // Records that say something the coordinator did not see.
  EXPECT_STATUS(Deliver(job, eph.key,
                        Record(job, adapter_ct, eph, reply,
                               [](nlohmann::json& st) {
                                 st["predicate"]["worker"]["evidence_digest"] =
                                     crypto::Sha256Id("other evidence");
                               }),
                        adapter_ct),
                INVALID_ARGUMENT,
                "job record: predicate.worker.evidence_digest is " +
                    crypto::Sha256Id("other evidence") + ", the admitted evidence is " +
                    reply.evidence_digest());
  EXPECT_STATUS(Deliver(job, eph.key,
                        Record(job, adapter_ct, eph, reply,
                               [&](nlohmann::json& st) {
                                 st["predicate"]["recipients"] = {
                                     mo_.card.age_recipient.ToString(),
                                     eve_.card.age_recipient.ToString()};
                               }),
                        adapter_ct),
                INVALID_ARGUMENT,
                "job record: predicate.recipients are not the age recipients of the contract's "
                "adapter recipients");
  EXPECT_STATUS(Deliver(job, eph.key,
                        Record(job, adapter_ct, eph, reply,
                               [](nlohmann::json& st) { st["predicate"]["extra"] = 1; }),
                        adapter_ct),
                INVALID_ARGUMENT, "job record: predicate has an unknown field \"extra\"");
  // Metric values never stand in the record in the clear (every party reads it): only sealed to
  // the metrics recipients.
  EXPECT_STATUS(
      Deliver(job, eph.key,
              Record(job, adapter_ct, eph, reply,
                     [](nlohmann::json& st) { st["predicate"]["training"]["final_loss"] = 1.25; }),
              adapter_ct),
      INVALID_ARGUMENT, "job record: predicate.training has an unknown field \"final_loss\"");
  EXPECT_STATUS(
      Deliver(job, eph.key,
              Record(job, adapter_ct, eph, reply,
                     [&](nlohmann::json& st) {
                       st["predicate"]["metrics"]["sealed"] =
                           base::Base64Encode(Encrypt("{}", {mo_.card.age_recipient}));
                     }),
              adapter_ct),
      INVALID_ARGUMENT,
      "job record: predicate.metrics.sealed is not an age file with one X25519 stanza for each "
      "of the 2 metrics recipients");
  Eph stranger;
  EXPECT_STATUS(Deliver(job, eph.key, Record(job, adapter_ct, stranger, reply), adapter_ct),
                PERMISSION_DENIED,
                "job record: not signed (exactly once) by the job's attested ephemeral key");
  std::string one_recipient = Encrypt("adapter", {mo_.card.age_recipient});
  EXPECT_STATUS(Deliver(job, eph.key, Record(job, one_recipient, eph, reply), one_recipient),
                INVALID_ARGUMENT,
                "output has 1 X25519 recipient stanzas; the contract names 2 adapter recipients");
  EXPECT_STATUS(Deliver(job, cp_.key, record, adapter_ct), PERMISSION_DENIED,
                "request is not signed by the attested ephemeral key of job " + job);
  EXPECT_EQ(GetJob(job).state(), "admitted");
  EXPECT_FALSE(*h_.blobs().Contains(crypto::Sha256Id(other_ct)));

  ASSERT_TRUE(Deliver(job, eph.key, record, adapter_ct).ok());
  // A retry of the same delivery is told it landed; anything else is too late.
  EXPECT_STATUS(
      Deliver(job, eph.key, record, adapter_ct), ALREADY_EXISTS,
      "job " + job + " already delivered this output (" + crypto::Sha256Id(adapter_ct) + ")");
  EXPECT_STATUS(Deliver(job, eph.key, Record(job, other_ct, eph, reply), other_ct),
                FAILED_PRECONDITION,
                "job " + job + " is done; only its running attempt delivers an output");
  // Only adapter recipients fetch.
  std::string got;
  EXPECT_STATUS(Fetch(job, cp_, &got), PERMISSION_DENIED,
                "party cp is not an adapter recipient of contract c-0001");
  EXPECT_STATUS(Fetch(job, eve_, &got), PERMISSION_DENIED,
                "party eve is not an adapter recipient of contract c-0001");
  EXPECT_EQ(got, "");
}

TEST_F(CoordinatorTest, WatchJobStreamsChangesUntilTheEnd) {
  SetUpContract();
  std::string job = NewJob();
  absl::Mutex mu;
  std::vector<std::string> states;  // guarded by mu
  // Waits (up to 60 s, for a loaded machine) until the watcher has seen `state`; the test steps
  // on only then, so that no change is made before the stream has shown the previous one.
  auto seen = [&](const std::string& state) {
    absl::MutexLock lock(&mu);
    auto has = [&] { return std::find(states.begin(), states.end(), state) != states.end(); };
    return mu.AwaitWithTimeout(absl::Condition(&has), absl::Seconds(60));
  };
  pb::GetJobRequest req;
  req.set_id(job);
  *req.mutable_request() = h_.Signed("get-job", {{"job_id", job}}, do_.key);
  grpc::ClientContext ctx;
  std::thread watcher([&] {
    auto r = h_.jobs->WatchJob(&ctx, req);
    pb::JobStatus s;
    while (r->Read(&s)) {
      absl::MutexLock lock(&mu);
      states.push_back(absl::StrCat(s.state(), ":", s.step()));
    }
    EXPECT_TRUE(r->Finish().ok());
  });
  // On a failed assertion below: end the stream so that the watcher can be joined.
  auto stop = absl::MakeCleanup([&] {
    if (watcher.joinable()) {
      ctx.TryCancel();
      watcher.join();
    }
  });
  ASSERT_TRUE(seen("queued:0"));
  Eph eph;
  auto [a, reply] = Admit("w1", eph);
  ASSERT_TRUE(Progress(job, eph.key, 5, 10).ok());
  ASSERT_TRUE(seen("running:5"));
  std::string adapter_ct = Encrypt("adapter", {mo_.card.age_recipient, do_.card.age_recipient});
  ASSERT_TRUE(Deliver(job, eph.key, Record(job, adapter_ct, eph, reply), adapter_ct).ok());
  watcher.join();
  absl::MutexLock lock(&mu);
  ASSERT_GE(states.size(), 3u);
  EXPECT_EQ(states.front(), "queued:0");
  EXPECT_EQ(states.back(), "done:5");
}

// ---- Restart ----

TEST_F(CoordinatorTest, RestartMidJobLosesNothing) {
  SetUpContract();
  std::string job = NewJob();
  Eph eph;
  auto [a, reply] = Admit("w1", eph);
  ASSERT_EQ(Keys(job, eph).size(), 2u);
  std::string got;
  ASSERT_TRUE(Download(job, crypto::Sha256Id(model_ct_), eph.key, &got).ok());
  ASSERT_TRUE(Progress(job, eph.key, 4, 10).ok());
  auto before = h_.store().log().LatestCheckpoint();

  h_.Restart();  // everything closed; only the directory remains

  pb::JobStatus s = GetJob(job);
  EXPECT_EQ(s.state(), "running");
  EXPECT_EQ(s.step(), 4u);
  EXPECT_TRUE(s.simulated());
  auto after = h_.store().log().LatestCheckpoint();
  EXPECT_EQ(after->signed_note, before->signed_note);
  EXPECT_EQ(h_.store().ListKeyReleases(job)->size(), 2u);
  // The worker goes on with the same keys.
  got.clear();
  ASSERT_TRUE(Download(job, crypto::Sha256Id(data_ct_), eph.key, &got).ok());
  EXPECT_EQ(got, data_ct_);
  ASSERT_TRUE(Progress(job, eph.key, 10, 10).ok());
  std::string adapter_ct = Encrypt("adapter", {mo_.card.age_recipient, do_.card.age_recipient});
  ASSERT_TRUE(Deliver(job, eph.key, Record(job, adapter_ct, eph, reply), adapter_ct).ok());
  EXPECT_EQ(GetJob(job).state(), "done");
  ASSERT_TRUE(Fetch(job, do_, &got).ok());
  EXPECT_EQ(h_.store().ListKeyReleases(job)->size(), 2u);  // nothing released again
  EXPECT_TRUE(h_.store().log().VerifyIntegrity(h_.store().log_verifier()).ok());
}

// ---- Listing and cancelling (the CLI's artifact/contract/job list and job cancel) ----

TEST_F(CoordinatorTest, ListsShowTheSignerOnlyWhatItMayRead) {
  contracts::Contract c = MakeContract();
  Party auditor = testing::MakeParty("aud", Role::kAuditor);
  c.auditors = {auditor.card};
  c.outputs.per_step_loss = true;
  c.outputs.metrics_recipients = {Role::kDataOwner};
  SetUpContract(&c);
  const std::string job = NewJob();
  Eph eph;
  Admit("w1", eph);
  ASSERT_TRUE(Progress(job, eph.key, 3, 10, 2.25).ok());

  // Artifacts: who the signer is, and its own artifacts only.
  auto list_artifacts = [&](const Party& by, pb::ArtifactList* out) {
    grpc::ClientContext ctx;
    return h_.registry->ListArtifacts(&ctx, h_.Signed("list-artifacts", nlohmann::json::object(),
                                                      by.key),
                                      out);
  };
  pb::ArtifactList mine;
  ASSERT_TRUE(list_artifacts(do_, &mine).ok());
  EXPECT_EQ(mine.party(), "do");
  EXPECT_EQ(mine.role(), "data-owner");
  EXPECT_EQ(mine.fingerprint(), do_.card.fingerprint());
  ASSERT_EQ(mine.artifacts_size(), 1);
  EXPECT_EQ(mine.artifacts(0).id(), crypto::Sha256Id(data_ct_));
  EXPECT_EQ(mine.artifacts(0).name(), "claims");
  EXPECT_EQ(mine.artifacts(0).kind(), "dataset");
  EXPECT_EQ(mine.artifacts(0).registered().substr(0, 4), "2025");
  pb::ArtifactList none;
  ASSERT_TRUE(list_artifacts(cp_, &none).ok());
  EXPECT_EQ(none.role(), "compute-provider");
  EXPECT_EQ(none.artifacts_size(), 0);
  Party stranger = testing::MakeParty("stranger", Role::kDataOwner);
  EXPECT_STATUS(list_artifacts(stranger, &none), PERMISSION_DENIED,
                "request is signed by key " + stranger.card.fingerprint() +
                    ", which is not a registered party's; ask the coordinator's operator to add "
                    "the party (triad coordinator parties add CARD)");
  {
    grpc::ClientContext ctx;
    EXPECT_STATUS(h_.registry->ListArtifacts(
                      &ctx, h_.Signed("list-artifacts", {{"owner", "mo"}}, do_.key), &none),
                  INVALID_ARGUMENT, "request body: unknown field \"owner\"");
  }

  // Contracts: those naming the signer, with its place in each.
  auto list_contracts = [&](const Party& by, pb::ContractList* out) {
    grpc::ClientContext ctx;
    return h_.contracts->ListContracts(
        &ctx, h_.Signed("list-contracts", nlohmann::json::object(), by.key), out);
  };
  pb::ContractList contracts;
  ASSERT_TRUE(list_contracts(mo_, &contracts).ok());
  ASSERT_EQ(contracts.contracts_size(), 1);
  EXPECT_EQ(contracts.contracts(0).status().id(), "c-0001");
  EXPECT_EQ(contracts.contracts(0).status().state(), "active");
  EXPECT_EQ(contracts.contracts(0).role(), "model-owner");
  EXPECT_EQ(contracts.contracts(0).model_name(), "tiny-model");
  EXPECT_EQ(contracts.contracts(0).dataset_name(), "claims");
  EXPECT_EQ(contracts.contracts(0).not_after(), "2025-07-31T00:00:00Z");
  ASSERT_TRUE(list_contracts(auditor, &contracts).ok());  // an auditor need not be registered
  ASSERT_EQ(contracts.contracts_size(), 1);
  EXPECT_EQ(contracts.contracts(0).role(), "auditor");
  ASSERT_TRUE(list_contracts(eve_, &contracts).ok());
  EXPECT_EQ(contracts.contracts_size(), 0);
  EXPECT_STATUS(list_contracts(stranger, &contracts), PERMISSION_DENIED,
                "request is signed by key " + stranger.card.fingerprint() +
                    ", which is neither a registered party's nor an auditor's of a contract here");

  // Jobs: as GetJob shows them to the signer (the loss to the metrics recipient only).
  auto list_jobs = [&](const Party& by, nlohmann::json body, pb::JobList* out) {
    grpc::ClientContext ctx;
    return h_.jobs->ListJobs(&ctx, h_.Signed("list-jobs", std::move(body), by.key), out);
  };
  pb::JobList jobs;
  ASSERT_TRUE(list_jobs(do_, nlohmann::json::object(), &jobs).ok());
  ASSERT_EQ(jobs.jobs_size(), 1);
  EXPECT_EQ(jobs.jobs(0).id(), job);
  EXPECT_EQ(jobs.jobs(0).state(), "running");
  EXPECT_TRUE(jobs.jobs(0).has_loss());
  ASSERT_TRUE(list_jobs(mo_, {{"contract_id", "c-0001"}}, &jobs).ok());
  ASSERT_EQ(jobs.jobs_size(), 1);
  EXPECT_FALSE(jobs.jobs(0).has_loss());
  ASSERT_TRUE(list_jobs(auditor, nlohmann::json::object(), &jobs).ok());
  EXPECT_EQ(jobs.jobs_size(), 1);
  ASSERT_TRUE(list_jobs(eve_, nlohmann::json::object(), &jobs).ok());
  EXPECT_EQ(jobs.jobs_size(), 0);
  // A contract the signer may not read and one that does not exist look the same.
  EXPECT_STATUS(list_jobs(eve_, {{"contract_id", "c-0001"}}, &jobs), NOT_FOUND,
                "no contract c-0001 that this signer may read");
  EXPECT_STATUS(list_jobs(eve_, {{"contract_id", "c-none"}}, &jobs), NOT_FOUND,
                "no contract c-none that this signer may read");
}

TEST_F(CoordinatorTest, AnOwnerCancelsAJobAndItsWorkerIsToldToStop) {
  SetUpContract();
  const std::string job = NewJob();
  Eph eph;
  Admit("w1", eph);
  auto cancel = [&](const Party& by, const std::string& id, const std::string& reason,
                    pb::JobStatus* out) {
    grpc::ClientContext ctx;
    return h_.jobs->CancelJob(
        &ctx, h_.Signed("cancel-job", {{"job_id", id}, {"reason", reason}}, by.key), out);
  };
  pb::JobStatus s;
  EXPECT_STATUS(cancel(cp_, job, "mine", &s), PERMISSION_DENIED,
                "party cp is not the model owner or data owner of contract c-0001; it cannot "
                "cancel its jobs");
  EXPECT_STATUS(cancel(eve_, job, "mine", &s), PERMISSION_DENIED,
                "party eve is not the model owner or data owner of contract c-0001; it cannot "
                "cancel its jobs");
  EXPECT_STATUS(cancel(mo_, job, "", &s), INVALID_ARGUMENT,
                "request body: reason must be 1 to 1024 bytes without control characters");
  ASSERT_TRUE(cancel(mo_, job, "wrong dataset", &s).ok());
  EXPECT_EQ(s.state(), "failed");
  EXPECT_EQ(s.reason(), "cancelled by mo: wrong dataset");
  EXPECT_EQ(GetJob(job).reason(), "cancelled by mo: wrong dataset");
  EXPECT_EQ(LogKinds().back(), "job.failed");
  EXPECT_STATUS(cancel(do_, job, "again", &s), FAILED_PRECONDITION,
                "job " + job + " is already failed; nothing to cancel");
  // The admitted worker learns it at its next renewal.
  pb::LeaseReply lease;
  grpc::ClientContext ctx;
  ASSERT_TRUE(
      h_.workers->RenewLease(&ctx, h_.Signed("renew-lease", {{"job_id", job}}, eph.key), &lease)
          .ok());
  EXPECT_TRUE(lease.stop());
}

}  // namespace
}  // namespace triad::coordinator
