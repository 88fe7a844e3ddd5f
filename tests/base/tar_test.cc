#include "base/tar.h"

#include <map>
#include <string>

#include "base/file.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::base {
namespace {

using triad::testing::RunCommand;
using triad::testing::TempDir;

std::string Pack(const std::map<std::string, std::string>& files) {
  std::string out;
  auto w = TarWriter::Create([&out](absl::string_view d) {
    out.append(d.data(), d.size());
    return absl::OkStatus();
  });
  EXPECT_TRUE(w.ok());
  for (const auto& [name, data] : files) EXPECT_TRUE((*w)->AddFile(name, data).ok()) << name;
  EXPECT_TRUE((*w)->Finish().ok());
  return out;
}

// Every member of an archive, or the first error's message as the value of key "error".
std::map<std::string, std::string> Unpack(absl::string_view archive, const TarLimits& limits = {}) {
  std::map<std::string, std::string> files;
  auto r = TarReader::Open(archive, limits);
  if (!r.ok()) return {{"error", std::string(r.status().message())}};
  for (;;) {
    auto m = (*r)->Next();
    if (!m.ok()) return {{"error", std::string(m.status().message())}};
    if (!m->has_value()) return files;
    std::string data;
    char buf[7];  // odd-sized reads on purpose
    for (;;) {
      auto n = (*r)->Read(buf, sizeof(buf));
      if (!n.ok()) return {{"error", std::string(n.status().message())}};
      if (*n == 0) break;
      data.append(buf, *n);
    }
    EXPECT_EQ(data.size(), (*m)->size);
    files[(*m)->path] = data;
  }
}

TEST(TarTest, RoundTripIsUstarAndDeterministic) {
  std::map<std::string, std::string> files = {
      {"config.json", "{\"a\":1}"},
      {"model.safetensors", std::string(70000, 'x')},
      {"empty", ""},
      {std::string(100, 'd') + "/" + std::string(100, 'f'), "long path"}};
  std::string a = Pack(files);
  EXPECT_EQ(a, Pack(files));
  // 512-byte header and data padded to 512 per member, then two zero blocks, and nothing more.
  size_t expected = 1024;
  for (const auto& [n, d] : files) expected += 512 + (d.size() + 511) / 512 * 512;
  EXPECT_EQ(a.size(), expected);
  EXPECT_EQ(a.substr(257, 6), std::string("ustar\0", 6));
  EXPECT_EQ(Unpack(a), files);
}

// The outside reference: GNU tar extracts what we write, and we read what it writes.
TEST(TarTest, InteroperatesWithGnuTar) {
  TempDir dir;
  std::map<std::string, std::string> files = {
      {"adapter_config.json", "{}"},
      {"adapter_model.safetensors", std::string(1000, '\1')},
      {"sub/training_report.json", "{\"steps\":3}"}};
  ASSERT_TRUE(WriteFileAtomic(dir.File("ours.tar"), Pack(files)).ok());
  ASSERT_EQ(RunCommand("mkdir " + dir.File("x") + " && tar -xf " + dir.File("ours.tar") + " -C " +
                       dir.File("x")),
            0);
  for (const auto& [n, d] : files) EXPECT_EQ(triad::testing::ReadTestFile(dir.File("x/" + n)), d);

  // `tar -C dir .` writes "./" prefixes and directory entries; both are fine.
  std::string out;
  ASSERT_EQ(RunCommand("tar -cf " + dir.File("theirs.tar") + " -C " + dir.File("x") + " .", &out),
            0)
      << out;
  EXPECT_EQ(Unpack(triad::testing::ReadTestFile(dir.File("theirs.tar"))), files);
  ASSERT_EQ(
      RunCommand("tar --format=pax -cf " + dir.File("pax.tar") + " -C " + dir.File("x") + " sub",
                 &out),
      0);
  EXPECT_EQ(Unpack(triad::testing::ReadTestFile(dir.File("pax.tar"))),
            (std::map<std::string, std::string>{{"sub/training_report.json", "{\"steps\":3}"}}));
}

// Hostile archives made with Python's tarfile, each refused with its reason.
TEST(TarTest, RefusesWhatIsNotAPlainRelativeRegularFile) {
  TempDir dir;
  std::string script = dir.File("make.py");
  triad::testing::WriteTestFile(script, R"(import io, sys, tarfile
kind, out = sys.argv[1], sys.argv[2]
with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
    def add(name, data=b"x", type=tarfile.REGTYPE, link=""):
        i = tarfile.TarInfo(name); i.size = len(data) if type == tarfile.REGTYPE else 0
        i.type = type; i.linkname = link
        t.addfile(i, io.BytesIO(data) if type == tarfile.REGTYPE else None)
    if kind == "dotdot": add("../evil")
    if kind == "inner-dotdot": add("a/../../evil")
    if kind == "absolute": add("/etc/evil")
    if kind == "symlink": add("link", type=tarfile.SYMTYPE, link="/etc/passwd")
    if kind == "hardlink": add("a"); add("b", type=tarfile.LNKTYPE, link="a")
    if kind == "fifo": add("fifo", type=tarfile.FIFOTYPE)
    if kind == "device": add("dev", type=tarfile.CHRTYPE)
    if kind == "twice": add("a", b"1"); add("a", b"2")
    if kind == "backslash": add("a\\..\\b")
    if kind == "control": add("a\nb")
)");
  std::map<std::string, std::string> expected = {
      {"dotdot", "tar member path \"../evil\": \"..\" path component"},
      {"inner-dotdot", "tar member path \"a/../../evil\": \"..\" path component"},
      {"absolute", "tar member path \"/etc/evil\": absolute paths are not allowed"},
      {"symlink", "tar member \"link\" is a symbolic link; only regular files are allowed"},
      {"hardlink", "tar member \"b\" is a hard link; only regular files are allowed"},
      {"fifo", "tar member \"fifo\" is a FIFO; only regular files are allowed"},
      {"device", "tar member \"dev\" is a character device; only regular files are allowed"},
      {"twice", "tar member \"a\" appears twice"},
      {"backslash",
       "tar member path \"a\\\\..\\\\b\": only printable ASCII other than '\\' is allowed"},
      {"control", "tar member path \"a\\nb\": only printable ASCII other than '\\' is allowed"},
  };
  for (const auto& [kind, reason] : expected) {
    std::string out;
    std::string path = dir.File(kind + ".tar");
    ASSERT_EQ(RunCommand("python3 " + script + " " + kind + " " + path, &out), 0) << out;
    std::map<std::string, std::string> got = Unpack(triad::testing::ReadTestFile(path));
    EXPECT_EQ(got["error"], reason) << kind;
  }
}

TEST(TarTest, LimitsAndGarbage) {
  std::string a = Pack({{"a", "12345"}, {"b", "678"}});
  TarLimits one;
  one.max_members = 1;
  EXPECT_EQ(Unpack(a, one)["error"], "tar: more than 1 members");
  TarLimits small;
  small.max_member_bytes = 4;
  EXPECT_EQ(Unpack(a, small)["error"], "tar member \"a\" is 5 bytes, more than the limit of 4");
  TarLimits total;
  total.max_total_bytes = 7;
  EXPECT_EQ(Unpack(a, total)["error"], "tar: members exceed the limit of 7 bytes in all");
  EXPECT_EQ(Unpack("not a tar archive at all, no")["error"].substr(0, 5), "tar: ");
  EXPECT_EQ(Unpack(a.substr(0, 700))["error"].substr(0, 5), "tar: ");  // truncated in a's data
  // gzip is not accepted: the archive is plain tar inside age.
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.File("a.tar"), a).ok());
  ASSERT_EQ(RunCommand("gzip -k " + dir.File("a.tar")), 0);
  EXPECT_EQ(Unpack(triad::testing::ReadTestFile(dir.File("a.tar.gz")))["error"].substr(0, 5),
            "tar: ");
}

TEST(TarTest, ViewsPointIntoTheArchive) {
  std::map<std::string, std::string> files = {
      {"a.safetensors", std::string(300000, 'a')}, {"b", ""}, {"c.json", "{}"}};
  std::string archive = Pack(files);
  // And GNU tar's archive of the same, with its "./" names and directory entry.
  TempDir dir;
  for (const auto& [n, d] : files) triad::testing::WriteTestFile(dir.File(n), d);
  ASSERT_EQ(RunCommand("tar -cf " + dir.File("gnu.tar") + " -C " + dir.path() +
                       " a.safetensors b c.json"),
            0);
  for (const std::string& a : {archive, triad::testing::ReadTestFile(dir.File("gnu.tar"))}) {
    auto r = TarReader::Open(a);
    ASSERT_TRUE(r.ok());
    std::map<std::string, std::string> got;
    for (;;) {
      auto m = (*r)->Next();
      ASSERT_TRUE(m.ok()) << m.status();
      if (!m->has_value()) break;
      auto v = (*r)->View();
      ASSERT_TRUE(v.ok()) << v.status();
      if (!v->empty()) {
        EXPECT_GE(v->data(), a.data());
        EXPECT_LE(v->data() + v->size(), a.data() + a.size());
      }
      got[(*m)->path] = std::string(*v);
      EXPECT_EQ((*r)->View().status().message(),
                "tar: View() must come before any Read() of a member");
    }
    EXPECT_EQ(got, files);
  }
  auto r = TarReader::Open(archive);
  ASSERT_TRUE((*r)->Next().ok());
  char c;
  ASSERT_TRUE((*r)->Read(&c, 1).ok());
  EXPECT_EQ((*r)->View().status().message(), "tar: View() must come before any Read() of a member");
}

TEST(TarTest, WriterChecks) {
  std::string out;
  auto w = TarWriter::Create([&out](absl::string_view d) {
    out.append(d.data(), d.size());
    return absl::OkStatus();
  });
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->BeginFile("../x", 1).message(),
            "tar member path \"../x\": \"..\" path component");
  EXPECT_EQ((*w)->BeginFile(std::string(256, 'a'), 1).message().substr(0, 28),
            "tar member path \"aaaaaaaaaaa");
  std::string long_name = "d/" + std::string(101, 'n');
  EXPECT_EQ((*w)->BeginFile(long_name, 1).message(),
            "tar member path \"" + long_name +
                "\": does not fit a ustar header (at most 100 bytes after a directory part of at "
                "most 155)");
  ASSERT_TRUE((*w)->BeginFile("a", 3).ok());
  EXPECT_EQ((*w)->Write("1234").message(), "tar: 4 bytes written to a member that has 3 left");
  ASSERT_TRUE((*w)->Write("12").ok());
  EXPECT_EQ((*w)->BeginFile("b", 1).message(), "tar: the previous member is 1 bytes short");
  ASSERT_TRUE((*w)->Write("3").ok());
  EXPECT_EQ((*w)->AddFile("a", "again").message(), "tar member path \"a\": appears twice");
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_EQ((*w)->AddFile("c", "").message(), "tar: the writer is finished");

  // A failing sink stops the writer with the sink's error.
  auto broken =
      TarWriter::Create([](absl::string_view) { return absl::DataLossError("disk on fire"); });
  ASSERT_TRUE(broken.ok());
  EXPECT_EQ((*broken)->AddFile("a", "x").message(), "disk on fire");
  EXPECT_EQ((*broken)->AddFile("b", "x").message(), "tar: the writer is finished");

  // A sink that fails after the header: the data write reports the sink's error, the writer is
  // spent, nothing more reaches the sink, and (under LeakSanitizer) libarchive frees everything.
  size_t calls = 0;
  auto late = TarWriter::Create([&calls](absl::string_view) {
    return ++calls == 1 ? absl::OkStatus() : absl::ResourceExhaustedError("disk full");
  });
  ASSERT_TRUE(late.ok());
  ASSERT_TRUE((*late)->BeginFile("a", 2000).ok());
  EXPECT_EQ((*late)->Write(std::string(2000, 'x')).message(), "disk full");
  EXPECT_EQ((*late)->Finish().message(), "tar: the writer is finished");
  late->reset();
  EXPECT_EQ(calls, 2u);
}

}  // namespace
}  // namespace triad::base
