#include "measure/coco.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "base/encoding.h"
#include "crypto/hash.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::measure {
namespace {

constexpr char kImage[] =
    "registry.example/triad-worker@sha256:"
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

WorkerPin Pin() {
  WorkerPin p;
  p.image = kImage;
  p.args = {"/usr/bin/triad-worker", "worker", "run", "--tee", "coco"};
  p.env_names = {"PATH", "HOSTNAME"};
  p.mount_destinations = {"/proc", "/etc/triad"};
  return p;
}

TEST(CocoTest, DigestIsOverTheDocumentBytes) {
  const std::string text = MakeInitData(Pin());
  absl::StatusOr<InitData> d = ParseInitData(text);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->algorithm, "sha384");
  EXPECT_EQ(d->version, "0.1.0");
  EXPECT_EQ(InitDataDigest(*d), crypto::Sha384(text));
  // SNP HOST_DATA holds the first 32 bytes; TDX MRCONFIGID all 48.
  EXPECT_EQ(SnpHostData(InitDataDigest(*d)), crypto::Sha384(text).substr(0, 32));
  EXPECT_EQ(TdxMrConfigId(InitDataDigest(*d)), crypto::Sha384(text));
  // sha256 is zero-padded to MRCONFIGID's 48 bytes (kata's adjustProperLength).
  EXPECT_EQ(TdxMrConfigId(std::string(32, 'x')), std::string(32, 'x') + std::string(16, '\0'));
}

TEST(CocoTest, ThePinRoundTrips) {
  absl::StatusOr<InitData> d = ParseInitData(MakeInitData(Pin()));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->data.at("policy.rego"), MakeAgentPolicy(Pin()));
  absl::StatusOr<WorkerPin> p = ReadWorkerPin(*d);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->image, kImage);
  EXPECT_EQ(p->image_digest(),
            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  EXPECT_EQ(p->args, Pin().args);
  EXPECT_EQ(p->env_names, Pin().env_names);
  EXPECT_EQ(p->mount_destinations, Pin().mount_destinations);
}

// The kata documentation's example (docs/how-to/how-to-use-the-kata-agent-policy.md) is TOML with
// the four string forms; Triad reads it (and then finds no Triad policy in it).
TEST(CocoTest, ReadsTheTomlStringForms) {
  const std::string text =
      "# comment\r\nversion = \"0.1.0\"   # trailing comment\nalgorithm = 'sha256'\n\n[data]\n"
      "\"policy.rego\" = '''\npackage agent_policy\n'''\n"
      "'aa.toml' = \"\"\"\n[token_configs]\\\n   x = \\\"\\u00e9\\\"\"\"\"\n"
      "plain = \"tab\\tend\"\n";
  absl::StatusOr<InitData> d = ParseInitData(text);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->algorithm, "sha256");
  EXPECT_EQ(d->data.at("policy.rego"), "package agent_policy\n");
  EXPECT_EQ(d->data.at("aa.toml"), "[token_configs]x = \"\xc3\xa9\"");
  EXPECT_EQ(d->data.at("plain"), "tab\tend");
  EXPECT_EQ(InitDataDigest(*d), crypto::Sha256(text));
  absl::StatusOr<WorkerPin> p = ReadWorkerPin(*d);
  EXPECT_EQ(p.status().message(),
            "init-data policy.rego is not the Triad worker agent policy v1 (it differs from "
            "deploy/kubernetes/coco/agent-policy.rego at line 1), so Triad cannot tell which "
            "images it lets the pod run");
}

TEST(CocoTest, RefusesWhatIsNotInitDataToml) {
  struct Case {
    std::string text;
    std::string reason;
  } cases[] = {
      {"version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data\n",
       "init-data is not TOML Triad reads: line 3: expected ] after the table name"},
      {"version = 0.1\n", "init-data is not TOML Triad reads: line 1: values must be strings "
                          "(init-data holds only strings)"},
      {"version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data]\nk = \"unterminated\n",
       "init-data is not TOML Triad reads: line 4: unterminated string"},
      {"version = \"0.1.0\"\nversion = \"0.1.0\"\n",
       "init-data is not TOML Triad reads: line 2: key \"version\" defined twice"},
      {"version = \"0.1.0\"\nalgorithm = \"sha384\"\n", "init-data: no [data] table"},
      {"algorithm = \"md5\"\nversion = \"0.1.0\"\n[data]\n",
       "init-data algorithm \"md5\" is not sha256, sha384 or sha512"},
      {"algorithm = \"sha384\"\n[data]\n", "init-data has no version (expected version = \"0.1.0\")"},
      {"a.b = \"x\"\n", "init-data is not TOML Triad reads: line 1: dotted keys are not init-data"},
      {"[[data]]\n", "init-data is not TOML Triad reads: line 1: arrays of tables are not init-data"},
      {"k = \"x\" y\n", "init-data is not TOML Triad reads: line 1: expected the end of the line"},
      {"k = \"\\q\"\n", "init-data is not TOML Triad reads: line 1: unknown escape \\q"},
      {"\xff = \"x\"\n", "init-data is not UTF-8 text"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(ParseInitData(c.text).status().message(), c.reason);
  }
}

TEST(CocoTest, RefusesAPolicyThatDoesNotPinTheImage) {
  auto reason = [](const std::string& text) {
    absl::StatusOr<InitData> d = ParseInitData(text);
    EXPECT_TRUE(d.ok()) << d.status();
    return std::string(ReadWorkerPin(*d).status().message());
  };
  EXPECT_EQ(reason("version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data]\n\"aa.toml\" = \"\"\n"),
            "init-data has no policy: [data] lacks \"policy.rego\", so kata-agent would run any "
            "container; Triad needs its worker agent policy there");
  WorkerPin by_tag = Pin();
  by_tag.image = "registry.example/triad-worker:latest";
  EXPECT_EQ(reason(MakeInitData(by_tag)),
            "init-data policy.rego does not pin the worker image by digest: image "
            "\"registry.example/triad-worker:latest\" is not pinned by digest (expected "
            "NAME@sha256:<64 hex digits>)");
  // The rules edited (ExecProcess allowed): no longer the Triad policy.
  std::string edited = absl::StrReplaceAll(
      MakeInitData(Pin()), {{"default ExecProcessRequest := false", "default ExecProcessRequest := true"}});
  EXPECT_NE(reason(edited).find("is not the Triad worker agent policy v1"), std::string::npos);
  // Something after the data line.
  std::string extra = absl::StrReplaceAll(MakeInitData(Pin()), {{"]}\n'''", "]}\nallow := true\n'''"}});
  EXPECT_EQ(reason(extra),
            "init-data policy.rego does not pin the worker image: the Triad agent policy must end "
            "with one line `triad_worker := {...}`");
}

TEST(CocoTest, AnnotationRoundTripsAndIsDeterministic) {
  const std::string text = MakeInitData(Pin());
  absl::StatusOr<std::string> a = InitDataAnnotation(text);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, *InitDataAnnotation(text));
  absl::StatusOr<std::string> back = DecodeInitDataAnnotation(*a);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, text);
  EXPECT_FALSE(DecodeInitDataAnnotation("bm90IGd6aXA=").ok());  // "not gzip"
}

// kata's own example annotation (how-to-use-the-kata-agent-policy.md) decodes to its TOML.
TEST(CocoTest, DecodesKatasExampleAnnotation) {
  const std::string a = testing::ReadTestFile(testing::TestdataDir() +
                                              "/measure/coco/kata-example.annotation");
  absl::StatusOr<std::string> text = DecodeInitDataAnnotation(std::string(absl::StripAsciiWhitespace(a)));
  ASSERT_TRUE(text.ok()) << text.status();
  absl::StatusOr<InitData> d = ParseInitData(*text);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->algorithm, "sha256");
  EXPECT_NE(d->data.at("policy.rego").find("default ExecProcessRequest := false"), std::string::npos);
}

}  // namespace
}  // namespace triad::measure
