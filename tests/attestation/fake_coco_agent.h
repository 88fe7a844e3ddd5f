// A fake CoCo attestation agent for tests: an HTTP server on loopback that answers the
// attester's GET /aa/evidence?runtime_data=… from a function, and the recorded real SNP evidence
// of confidential-containers/trustee (testdata/attestation/coco) with what an agent on a TEE
// started with some init-data would return. Used by tests/attestation/coco_test.cc and the
// worker's `--tee coco` tests.
#ifndef TRIAD_TESTS_ATTESTATION_FAKE_COCO_AGENT_H_
#define TRIAD_TESTS_ATTESTATION_FAKE_COCO_AGENT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/encoding.h"
#include "gtest/gtest.h"
#include "measure/coco.h"
#include "nlohmann/json.hpp"
#include "tests/testing/testing.h"

namespace triad::attestation::cocotest {

using Json = nlohmann::json;

inline std::string RecordedSnp() {
  return testing::ReadTestFile(testing::TestdataDir() +
                               "/attestation/coco/trustee-aa-snp-evidence.json");
}

inline measure::WorkerPin Pin() {
  measure::WorkerPin p;
  p.image = "registry.example/triad-worker@sha256:" + std::string(64, 'a');
  p.args = {"/usr/bin/triad-worker", "worker", "run", "--tee", "coco"};
  return p;
}

// A one-request-at-a-time HTTP server on 127.0.0.1 that answers with `reply(target)`; an empty
// reply means "never answer" (the client times out).
class FakeAgent {
 public:
  explicit FakeAgent(std::function<std::string(const std::string&)> reply)
      : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeAgent() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  int requests() const { return requests_; }
  const std::string& last_target() const { return last_target_; }

 private:
  void Serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      while (in.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
      }
      ++requests_;
      const size_t sp = in.find(' ');
      last_target_ = in.substr(sp + 1, in.find(' ', sp + 1) - sp - 1);
      const std::string body = reply_(last_target_);
      if (body.empty()) {
        // Hold the connection open without answering until the client gives up.
        while (!stop_ && ::recv(c, buf, sizeof buf, 0) > 0) {
        }
      } else {
        ::send(c, body.data(), body.size(), MSG_NOSIGNAL);
      }
      ::close(c);
    }
  }

  std::function<std::string(const std::string&)> reply_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::string last_target_;
  std::thread thread_;
};

inline std::string Http(int code, const std::string& body) {
  return absl::StrCat("HTTP/1.1 ", code, code == 200 ? " OK" : " Error",
                      "\r\ncontent-type: application/octet-stream\r\ncontent-length: ", body.size(),
                      "\r\n\r\n", body);
}

// The runtime data the client asked for (base64url, no padding, encoding=base64).
inline std::string AskedFor(const std::string& target) {
  absl::string_view t = target;
  EXPECT_TRUE(absl::ConsumePrefix(&t, "/aa/evidence?runtime_data="));
  EXPECT_TRUE(absl::ConsumeSuffix(&t, "&encoding=base64"));
  std::string s(t);
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  return *base::Base64Decode(s, base::Base64Padding::kWithout);
}

inline Json Bytes(const std::string& b) {
  Json a = Json::array();
  for (unsigned char c : b) a.push_back(c);
  return a;
}

// The recorded evidence with its report data and HOST_DATA replaced (what an agent on a TEE
// started with `initdata` would return for `report_data`; its signature no longer verifies, which
// the attester does not check: the coordinator does).
inline std::string Echo(const std::string& report_data, const std::string& initdata) {
  Json j = Json::parse(RecordedSnp());
  j["attestation_report"]["report_data"] = Bytes(report_data);
  absl::StatusOr<measure::InitData> d = measure::ParseInitData(initdata);
  j["attestation_report"]["host_data"] = Bytes(measure::SnpHostData(measure::InitDataDigest(*d)));
  return j.dump();
}

}  // namespace triad::attestation::cocotest

#endif  // TRIAD_TESTS_ATTESTATION_FAKE_COCO_AGENT_H_
