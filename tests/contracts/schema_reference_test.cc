// Checks the contract schema and the validator against an outside reference: python3-jsonschema
// (Debian's, a complete draft 2020-12 implementation). The schema file must be a valid 2020-12
// schema by the metaschema, and on several hundred contracts made by mutating a valid one (every
// member removed, retyped, emptied, pushed past its bounds, unknown members added) both validators
// must reach the same verdict.
#include <functional>
#include <sstream>

#include "contracts/internal/schemas.h"
#include "gtest/gtest.h"
#include "tests/contracts/contract_testing.h"
#include "tests/testing/testing.h"

namespace triad::contracts {
namespace {

using Json = nlohmann::json;

constexpr char kPython[] = "/usr/bin/python3";

std::string SchemaPath() {
  return ::triad::testing::SourceDir() + "/contracts/schema/contract.schema.json";
}

// A contract using every optional member of the schema.
Json RichContract() {
  testing::Party mo = testing::MakeParty("acme-ai", Role::kModelOwner);
  testing::Party da = testing::MakeParty("acme-bank", Role::kDataOwner);
  testing::Party cp = testing::MakeParty("gpu-cloud", Role::kComputeProvider);
  Json j = Json::parse(testing::SampleContract(mo, da, cp).ToPayload());
  j["training"]["packing"] = true;
  j["training"]["gpus"] = 2;
  j["worker_policy"] = Json::parse(R"({
    "tee": ["sev-snp", "tdx", "sim"], "allow_debug": false,
    "sev_snp": {"measurements": ["000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001"],
                "min_tcb": {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115, "fmc": 1},
                "host_data": ["0000000000000000000000000000000000000000000000000000000000000002"],
                "id_key_digests": ["000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000007"],
                "min_guest_svn": 1, "allowed_vmpls": [0, 1], "allow_migration_agent": false,
                "chip_ids": ["00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003"],
                "require_crl": true},
    "tdx": {"mr_td": ["000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004"],
            "rtmr1": ["000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005"],
            "tcb_status": ["UpToDate"], "allowed_advisory_ids": ["INTEL-SA-00615"], "platform_ids": ["0a0b"],
            "min_tcb_evaluation_data_number": 17,
            "td_attributes": {"mask": "0000000010000001", "value": "0000000010000000"}},
    "sim": {"measurements": ["000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006"],
            "tcb_status": ["UpToDate"]},
    "nvidia_gpu": {"count": 2, "architectures": ["hopper", "blackwell"], "cc_mode": "on",
                   "min_driver_version": "550.54.15", "min_vbios_version": "96.00.74.00.1C",
                   "rim": "required", "ocsp": "optional"},
    "accepted_weaknesses": ["tdx-guest-unpinned", "gpu-ocsp-optional"]})");
  return j;
}

struct Mutant {
  Json doc;
  std::string what;
  bool trailing_newline = false;
};

void Mutate(const Json& root, const Json& node, const Json::json_pointer& at,
            std::vector<Mutant>& out) {
  auto with = [&](const Json& value, const std::string& what, bool newline = false) {
    Json d = root;
    d[at] = value;
    out.push_back({std::move(d), at.to_string() + " " + what, newline});
  };
  if (node.is_object()) {
    with(
        [&] {
          Json o = node;
          o["zz_unknown"] = 1;
          return o;
        }(),
        "+unknown");
    for (auto it = node.begin(); it != node.end(); ++it) {
      Json d = root;
      d[at].erase(it.key());
      out.push_back({std::move(d), at.to_string() + " -" + it.key()});
      Mutate(root, *it, at / it.key(), out);
    }
    with(Json::array(), "as array");
  } else if (node.is_array()) {
    with(Json::array(), "emptied");
    if (!node.empty()) {
      with(
          [&] {
            Json a = node;
            a.push_back(node[0]);
            return a;
          }(),
          "duplicated");
      for (size_t i = 0; i < node.size(); ++i) Mutate(root, node[i], at / i, out);
    }
    with(
        [&] {
          Json a = node;
          a.push_back("zz");
          return a;
        }(),
        "+zz");
    with(Json::object(), "as object");
  } else if (node.is_string()) {
    std::string s = node.get<std::string>();
    with("", "empty");
    with("X", "X");
    with(s + "0", "+0");
    with(s.substr(0, s.size() / 2), "halved");
    with(s + "\n", "+newline", /*newline=*/true);
    std::string upper = s;
    for (char& c : upper) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
    with(upper, "upper");
    with(5, "as number");
  } else if (node.is_number()) {
    for (const Json& v : {Json(0), Json(-1), Json(0.5), Json(1.0), Json(255), Json(256), Json(1e9),
                          Json(9007199254740992.0), Json("1"), Json(true)}) {
      with(v, "= " + v.dump());
    }
  } else if (node.is_boolean()) {
    with("true", "as string");
    with(1, "as number");
    with(nullptr, "as null");
  }
}

TEST(SchemaReferenceTest, EmbeddedSchemaIsTheRepositoryFile) {
  EXPECT_EQ(std::string(internal::ContractSchemaText()),
            ::triad::testing::ReadTestFile(SchemaPath()));
}

TEST(SchemaReferenceTest, SameVerdictsAsPythonJsonschema) {
  std::string out;
  ASSERT_EQ(::triad::testing::RunCommand(std::string(kPython) + " -c 'import jsonschema'", &out), 0)
      << "python3-jsonschema is missing: run scripts/install-deps.sh\n"
      << out;

  Json base = RichContract();
  std::vector<Mutant> mutants{{base, "unchanged"}};
  Mutate(base, base, Json::json_pointer(), mutants);
  ASSERT_GT(mutants.size(), 800u);

  ::triad::testing::TempDir dir;
  std::ostringstream lines;
  for (const Mutant& m : mutants) lines << m.doc.dump() << "\n";
  ::triad::testing::WriteTestFile(dir.File("docs.jsonl"), lines.str());
  ::triad::testing::WriteTestFile(dir.File("check.py"), R"(import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
print("".join("1" if v.is_valid(json.loads(line)) else "0" for line in open(sys.argv[2])))
)");
  ASSERT_EQ(::triad::testing::RunCommand(std::string(kPython) + " " + dir.File("check.py") + " " +
                                             SchemaPath() + " " + dir.File("docs.jsonl"),
                                         &out),
            0)
      << out;
  ASSERT_EQ(out.size(), mutants.size() + 1) << out;

  int valid = 0, invalid = 0, newline_divergences = 0;
  for (size_t i = 0; i < mutants.size(); ++i) {
    bool ours = internal::ContractSchema().Validate(mutants[i].doc).empty();
    bool theirs = out[i] == '1';
    (ours ? valid : invalid)++;
    if (mutants[i].trailing_newline && theirs && !ours) {
      // Python's re lets '$' match before a final newline; ECMA-262, which JSON Schema specifies,
      // does not. Here we are stricter on purpose.
      ++newline_divergences;
      continue;
    }
    EXPECT_EQ(ours, theirs) << mutants[i].what << "\n" << mutants[i].doc.dump();
  }
  EXPECT_TRUE(internal::ContractSchema().Validate(base).empty());
  std::cout << mutants.size() << " documents: " << valid << " valid, " << invalid << " invalid; "
            << newline_divergences << " trailing-newline divergences (ECMA-262 '$')\n";
  EXPECT_GT(valid, 50);
  EXPECT_GT(invalid, 600);
}

}  // namespace
}  // namespace triad::contracts
