// The worker's temporary tar reader/writer (worker/internal/tar.h), against stock GNU tar.
#include "worker/internal/tar.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::worker::internal {
namespace {

std::string View(const crypto::SecretBytes& s) { return std::string(s.view()); }

TEST(TarTest, WriteThenStockTarExtractsTheSameFiles) {
  testing::TempDir dir;
  std::string big(70000, 'x');
  big[12345] = 'y';
  std::vector<TarMember> members = {{"adapter_config.json", "{\"r\": 8}\n"},
                                    {"adapter_model.safetensors", big},
                                    {"empty.txt", ""}};
  auto tar = WriteTar(members);
  ASSERT_TRUE(tar.ok()) << tar.status();
  EXPECT_EQ(tar->size() % kTarBlockSize, 0u);
  testing::WriteTestFile(dir.File("a.tar"), View(*tar));
  std::string out;
  ASSERT_EQ(testing::RunCommand("mkdir " + dir.File("x") + " && tar -x -f " + dir.File("a.tar") +
                                    " -C " + dir.File("x") + " 2>&1",
                                &out),
            0)
      << out;
  EXPECT_EQ(testing::ReadTestFile(dir.File("x/adapter_config.json")), "{\"r\": 8}\n");
  EXPECT_EQ(testing::ReadTestFile(dir.File("x/adapter_model.safetensors")), big);
  EXPECT_EQ(testing::ReadTestFile(dir.File("x/empty.txt")), "");
  ASSERT_EQ(testing::RunCommand("tar -t -v -f " + dir.File("a.tar") + " 2>&1", &out), 0);
  EXPECT_NE(out.find("-rw-r--r-- 0/0           70000 1970-01-01 00:00 adapter_model.safetensors"),
            std::string::npos)
      << out;

  auto back = ReadTar(tar->view());
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[1].name, "adapter_model.safetensors");
  EXPECT_EQ((*back)[1].data, big);
}

TEST(TarTest, ReadsWhatStockTarWrites) {
  testing::TempDir dir;
  std::string long_name(120, 'n');
  testing::WriteTestFile(dir.File("config.json"), "{}");
  testing::WriteTestFile(dir.File(long_name), "long");
  std::string out;
  for (const char* format : {"gnu", "ustar", "pax"}) {
    SCOPED_TRACE(format);
    std::string names = std::string(format) == "ustar" ? "./config.json" : ". ";
    ASSERT_EQ(
        testing::RunCommand(std::string("tar --format=") + format + " -c -f " + dir.File("m.tar") +
                                " -C " + dir.path() + " " + names + " 2>&1",
                            &out),
        0)
        << out;
    std::string archive = testing::ReadTestFile(dir.File("m.tar"));
    auto members = ReadTar(archive);
    ASSERT_TRUE(members.ok()) << members.status();
    bool config = false, longer = false;
    for (const TarMember& m : *members) {
      if (m.name == "./config.json") config = m.data == "{}";
      if (m.name == "./" + long_name) longer = m.data == "long";
      EXPECT_NE(m.name, "m.tar");  // may or may not be listed; never as a non-file
    }
    EXPECT_TRUE(config);
    EXPECT_EQ(longer, std::string(format) != "ustar");
    ::unlink(dir.File("m.tar").c_str());
  }
}

TEST(TarTest, RefusesLinksBadChecksumsAndTruncation) {
  testing::TempDir dir;
  testing::WriteTestFile(dir.File("config.json"), "{}");
  std::string out;
  ASSERT_EQ(
      testing::RunCommand("cd " + dir.path() + " && ln -s config.json link.json && tar -c -f " +
                              "l.tar link.json 2>&1",
                          &out),
      0)
      << out;
  EXPECT_EQ(
      ReadTar(testing::ReadTestFile(dir.File("l.tar"))).status().message(),
      "tar archive: member \"link.json\" is a symbolic link; only regular files are accepted");

  auto tar = WriteTar(std::vector<TarMember>{{"config.json", "{}"}});
  ASSERT_TRUE(tar.ok());
  std::string bytes = View(*tar);
  std::string flipped = bytes;
  flipped[0] ^= 1;  // the name changes; the stored checksum no longer matches
  EXPECT_EQ(ReadTar(flipped).status().message(), "tar archive: header 0 at byte 0: bad checksum");
  auto big = WriteTar(std::vector<TarMember>{{"model.safetensors", std::string(1000, 'w')}});
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(ReadTar(View(*big).substr(0, 512 + 100)).status().message(),
            "tar archive: header 0 at byte 0: member data runs past the end");
  EXPECT_EQ(ReadTar(bytes.substr(0, 1024)).status().message(),
            "tar archive: no end-of-archive block (truncated?)");
  EXPECT_EQ(ReadTar(bytes.substr(0, 1024 + 7)).status().message(),
            "tar archive: ends inside a header block (truncated?)");
  EXPECT_EQ(WriteTar(std::vector<TarMember>{{std::string(101, 'a'), ""}}).status().message(),
            "tar: member name \"" + std::string(101, 'a') +
                "\" is empty, longer than 100 bytes or holds a NUL");
}

}  // namespace
}  // namespace triad::worker::internal
