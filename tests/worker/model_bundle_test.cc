// The worker's archives (worker/internal/model_bundle.h), against stock GNU tar.
#include "worker/internal/model_bundle.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::worker::internal {
namespace {

TEST(ModelBundleTest, ReadsWhatStockTarWritesInEveryFormat) {
  testing::TempDir dir;
  std::string out;
  ASSERT_EQ(testing::RunCommand("mkdir -p " + dir.File("m/sub"), &out), 0);
  testing::WriteTestFile(dir.File("m/config.json"), "{\"c\": 1}");
  testing::WriteTestFile(dir.File("m/tokenizer.json"), "{\"t\": 2}");
  testing::WriteTestFile(dir.File("m/model-00001-of-00002.safetensors"), std::string(70000, 'a'));
  testing::WriteTestFile(dir.File("m/model-00002-of-00002.safetensors"), "b");
  testing::WriteTestFile(dir.File("m/model.safetensors.index.json"), "{\"i\": 3}");
  testing::WriteTestFile(dir.File("m/README.md"), "ignored");
  testing::WriteTestFile(dir.File("m/sub/model.safetensors"), "ignored too");
  for (const char* format : {"gnu", "ustar", "pax"}) {
    SCOPED_TRACE(format);
    ASSERT_EQ(testing::RunCommand(std::string("tar --format=") + format + " -c -f " +
                                      dir.File("m.tar") + " -C " + dir.File("m") + " . 2>&1",
                                  &out),
              0)
        << out;
    std::string archive = testing::ReadTestFile(dir.File("m.tar"));
    absl::StatusOr<trainer::ModelFiles> files = ModelFilesFromTar(archive);
    ASSERT_TRUE(files.ok()) << files.status();
    EXPECT_EQ(files->config_json, "{\"c\": 1}");
    EXPECT_EQ(files->tokenizer_json, "{\"t\": 2}");
    EXPECT_EQ(files->safetensors_index_json, "{\"i\": 3}");
    ASSERT_EQ(files->safetensors.size(), 2u);
    for (const auto& shard : files->safetensors) {
      // A view into the archive itself: nothing was copied.
      EXPECT_GE(shard.data.data(), archive.data());
      EXPECT_LE(shard.data.data() + shard.data.size(), archive.data() + archive.size());
      EXPECT_EQ(shard.data, shard.name == "model-00001-of-00002.safetensors"
                                ? std::string(70000, 'a')
                                : std::string("b"));
    }
  }
}

TEST(ModelBundleTest, RefusesLinksAndMissingFiles) {
  testing::TempDir dir;
  std::string out;
  testing::WriteTestFile(dir.File("config.json"), "{}");
  testing::WriteTestFile(dir.File("tokenizer.json"), "{}");
  testing::WriteTestFile(dir.File("model.safetensors"), "x");
  ASSERT_EQ(testing::RunCommand("cd " + dir.path() +
                                    " && ln -s config.json link.json && tar -cf l.tar config.json "
                                    "tokenizer.json model.safetensors link.json && tar -cf n.tar "
                                    "config.json model.safetensors 2>&1",
                                &out),
            0)
      << out;
  EXPECT_EQ(ModelFilesFromTar(testing::ReadTestFile(dir.File("l.tar"))).status().message(),
            "model archive: tar member \"link.json\" is a symbolic link; only regular files are "
            "allowed");
  EXPECT_EQ(ModelFilesFromTar(testing::ReadTestFile(dir.File("n.tar"))).status().message(),
            "model archive: no tokenizer.json at its top level");
  EXPECT_FALSE(ModelFilesFromTar("not a tar archive").ok());
}

TEST(ModelBundleTest, AdapterArchiveIsWhatStockTarExtracts) {
  testing::TempDir dir;
  std::string big(70000, 'x');
  big[12345] = 'y';
  std::vector<trainer::OutputFile> adapter = {{"adapter_config.json", "{\"r\": 8}\n"},
                                              {"adapter_model.safetensors", big}};
  absl::StatusOr<crypto::SecretBytes> tar = PackAdapter(adapter, "{\"steps\": 3}");
  ASSERT_TRUE(tar.ok()) << tar.status();
  EXPECT_EQ(tar->size() % 512, 0u);
  testing::WriteTestFile(dir.File("a.tar"), std::string(tar->view()));
  std::string out;
  ASSERT_EQ(testing::RunCommand("mkdir " + dir.File("x") + " && tar -x -f " + dir.File("a.tar") +
                                    " -C " + dir.File("x") + " 2>&1",
                                &out),
            0)
      << out;
  EXPECT_EQ(testing::ReadTestFile(dir.File("x/adapter_config.json")), "{\"r\": 8}\n");
  EXPECT_EQ(testing::ReadTestFile(dir.File("x/adapter_model.safetensors")), big);
  EXPECT_EQ(testing::ReadTestFile(dir.File("x/training_report.json")), "{\"steps\": 3}");
  ASSERT_EQ(testing::RunCommand("tar -t -f " + dir.File("a.tar"), &out), 0);
  EXPECT_EQ(out, "adapter_config.json\nadapter_model.safetensors\ntraining_report.json\n");
  EXPECT_EQ(PackAdapter({{"../escape", "x"}}, "{}").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace triad::worker::internal
