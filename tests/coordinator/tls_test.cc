// TLS pinning against a real in-process gRPC server.
#include "coordinator/client.h"
#include "coordinator/card.h"
#include "coordinator/tls.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/security/server_credentials.h"
#include "tests/testing/testing.h"
#include "triad/v1/audit.grpc.pb.h"

namespace triad::coordinator {
namespace {

class FakeAudit final : public v1::Audit::Service {
  grpc::Status GetCheckpoint(grpc::ServerContext*, const v1::CheckpointRequest*,
                             v1::CheckpointReply* reply) override {
    reply->set_signed_note("checkpoint");
    return grpc::Status::OK;
  }
};

struct Server {
  explicit Server(const TlsIdentity& id) {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({std::string(id.key_pem.view()), id.cert_pem});
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl), &port);
    b.RegisterService(&service);
    server = b.BuildAndStart();
  }
  ~Server() { server->Shutdown(); }
  FakeAudit service;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

CoordinatorCard CardFor(const TlsIdentity& id) {
  return CoordinatorCard{"coord", crypto::Ed25519PrivateKey::Generate().public_key(), id.cert_pem,
                         CertificateFingerprint(id.cert_pem).value(), "triad.example/log"};
}

grpc::Status Call(std::shared_ptr<grpc::Channel> ch) {
  auto stub = v1::Audit::NewStub(ch);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::CheckpointReply reply;
  return stub->GetCheckpoint(&ctx, v1::CheckpointRequest(), &reply);
}

TEST(TlsTest, PinnedCertificateConnectsOthersDoNot) {
  auto id = GenerateTlsIdentity(absl::Now(), absl::Hours(24));
  ASSERT_TRUE(id.ok()) << id.status();
  Server server(*id);
  ASSERT_NE(server.port, 0);
  std::string addr = "127.0.0.1:" + std::to_string(server.port);

  auto good = OpenChannel({addr, CardFor(*id), false});
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(Call(*good).ok());

  // A card pinning another certificate: the handshake fails.
  auto other = GenerateTlsIdentity(absl::Now(), absl::Hours(24));
  auto bad = OpenChannel({addr, CardFor(*other), false});
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(Call(*bad).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(TlsTest, InsecureOnlyToLoopbackAndCardRequired) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1:5000"));
  EXPECT_TRUE(IsLoopbackAddress("127.9.9.9:5000"));
  EXPECT_TRUE(IsLoopbackAddress("[::1]:5000"));
  EXPECT_TRUE(IsLoopbackAddress("localhost:1"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1:5000"));
  EXPECT_FALSE(IsLoopbackAddress("example.com:443"));
  EXPECT_EQ(OpenChannel({"10.0.0.1:5000", std::nullopt, true}).status().message(),
            "--insecure is allowed only to a loopback address, not 10.0.0.1:5000; pin the coordinator "
            "card with --coordinator-card instead");
  EXPECT_EQ(OpenChannel({"10.0.0.1:5000", std::nullopt, false}).status().message(),
            "no coordinator card: pass --coordinator-card FILE (from `triad coordinator card`)");
}

TEST(CardTest, RoundTripAndChecks) {
  auto id = GenerateTlsIdentity(absl::Now(), absl::Hours(1));
  ASSERT_TRUE(id.ok());
  CoordinatorCard card = CardFor(*id);
  auto parsed = CoordinatorCard::FromJson(card.ToJson());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->ToJson(), card.ToJson());
  // The OpenSSL CLI computes the same certificate fingerprint.
  testing::TempDir dir;
  testing::WriteTestFile(dir.File("c.pem"), id->cert_pem);
  std::string out;
  ASSERT_EQ(testing::RunCommand("openssl x509 -in " + dir.File("c.pem") +
                                    " -outform DER | sha256sum | cut -c1-64", &out), 0);
  EXPECT_EQ(out, card.tls_fingerprint + "\n");

  nlohmann::json j = nlohmann::json::parse(card.ToJson());
  j["tls_fingerprint"] = std::string(64, 'a');
  EXPECT_EQ(CoordinatorCard::FromJson(j.dump()).status().message(),
            "coordinator card: tls_fingerprint does not match tls_certificate");
  j = nlohmann::json::parse(card.ToJson());
  j["fingerprint"] = std::string(64, 'a');
  EXPECT_EQ(CoordinatorCard::FromJson(j.dump()).status().message(),
            "coordinator card: fingerprint does not match ed25519_public_key");
  j = nlohmann::json::parse(card.ToJson());
  j["log_origin"] = "a\nb";
  EXPECT_EQ(CoordinatorCard::FromJson(j.dump()).status().message(),
            "coordinator card: log_origin must be one non-empty line");
}

}  // namespace
}  // namespace triad::coordinator
