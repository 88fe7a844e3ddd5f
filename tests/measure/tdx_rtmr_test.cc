// RTMR0, RTMR1 and RTMR2 of a QEMU direct-boot TD against quex-tech/td-report-web's independent
// implementation (testdata/measure/tdx/rtmr_vectors.json, inputs from make_kernels.py;
// testdata/measure/tdx/rtmr0/, QEMU's ACPI fw_cfg files of three VM shapes), and the PE/COFF
// digest, QEMU's kernel patching and the RTMR0 inputs refusing what they cannot measure.
#include <algorithm>
#include <cstring>

#include "base/encoding.h"
#include "crypto/hash.h"
#include "gtest/gtest.h"
#include "measure/internal/ovmf.h"
#include "measure/pe.h"
#include "measure/tdx.h"
#include "nlohmann/json.hpp"
#include "tests/measure/gunzip.h"
#include "tests/testing/testing.h"

namespace triad::measure {
namespace {

using Json = nlohmann::json;

std::string Dir() { return testing::TestdataDir() + "/measure/tdx/"; }

class TdxRtmrTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v_ = Json::parse(testing::ReadTestFile(Dir() + "rtmr_vectors.json"));
    for (const auto& [name, sha] : v_["inputs_sha256"].items()) {
      files_[name] = testing::ReadTestFile(Dir() + name);
      ASSERT_EQ(base::HexEncode(crypto::Sha256(files_[name])), sha.get<std::string>()) << name;
    }
  }

  TdxDirectBoot Boot(const Json& c, TdvfSeparator sep) {
    TdxDirectBoot b;
    b.kernel = files_[c["kernel"].get<std::string>()];
    if (!c["initrd"].is_null()) {
      const std::string& initrd = files_[c["initrd"].get<std::string>()];
      b.initrd = TdxInitrd{initrd.size(), crypto::Sha384(initrd)};
    }
    b.cmdline = c["cmdline"].get<std::string>();
    b.memory_bytes = c["memory"].get<uint64_t>();
    b.separator = sep;
    return b;
  }

  Json v_;
  std::map<std::string, std::string> files_;
};

// Writes `v` little-endian over the `bytes` bytes of `s` at `at`.
void SetLe(std::string& s, size_t at, uint64_t v, int bytes) {
  std::string le;
  internal::PutLe(le, v, bytes);
  s.replace(at, bytes, le);
}

std::string Replay(const std::vector<std::string>& digests) {
  std::string r(48, '\0');
  for (const std::string& d : digests) r = crypto::Sha384(r + d);
  return r;
}

// td-report-web models TDVF before edk2-stable202411 (no separator in RTMR1): every event digest,
// in order, and both registers must match.
TEST_F(TdxRtmrTest, OlderTdvfMatchesAnIndependentImplementation) {
  ASSERT_EQ(v_["cases"].size(), 6u);
  for (const Json& c : v_["cases"]) {
    SCOPED_TRACE(c.dump().substr(0, 120));
    absl::StatusOr<TdxRtmrs> r = TdxDirectBootRtmrs(Boot(c, TdvfSeparator::kRtmr0));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(base::HexEncode(r->rtmr1), c["rtmr1"].get<std::string>());
    EXPECT_EQ(base::HexEncode(r->rtmr2), c["rtmr2"].get<std::string>());
    ASSERT_EQ(r->events.size(), c["events"].size());
    for (size_t i = 0; i < r->events.size(); ++i) {
      EXPECT_EQ(r->events[i].rtmr, c["events"][i]["rtmr"].get<int>()) << i;
      EXPECT_EQ(base::HexEncode(r->events[i].digest), c["events"][i]["digest"].get<std::string>())
          << i << " " << r->events[i].name;
    }
  }
}

// edk2-stable202411 (commit efaf893) adds the ReadyToBoot separator, SHA-384 of four zero bytes,
// to RTMR1 after "Calling EFI Application from Boot Option": the same independent event digests
// replayed with it in place. RTMR2 does not change.
TEST_F(TdxRtmrTest, NewerTdvfAddsTheSeparatorToRtmr1) {
  for (const Json& c : v_["cases"]) {
    std::vector<std::string> rtmr1;
    for (const Json& e : c["events"]) {
      if (e["rtmr"] != 1) continue;
      rtmr1.push_back(*base::HexDecode(e["digest"].get<std::string>()));
      if (e["name"] == "Calling EFI Application from Boot Option") {
        rtmr1.push_back(crypto::Sha384(std::string(4, '\0')));
      }
    }
    ASSERT_EQ(rtmr1.size(), 5u);
    absl::StatusOr<TdxRtmrs> r = TdxDirectBootRtmrs(Boot(c, TdvfSeparator::kRtmr1));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->rtmr1, Replay(rtmr1));
    EXPECT_EQ(base::HexEncode(r->rtmr2), c["rtmr2"].get<std::string>());
    EXPECT_EQ(r->events[2].name, "EV_SEPARATOR");
  }
}

// QEMU's writes into the setup header change the measured kernel: memory size and initrd size
// both matter (case 0 and 1 differ only in memory).
TEST_F(TdxRtmrTest, MemoryAndInitrdChangeTheKernelDigest) {
  const Json& cases = v_["cases"];
  EXPECT_NE(cases[0]["events"][0]["digest"], cases[1]["events"][0]["digest"]);
  const std::string& k = files_["kernel-a.efi"];
  absl::StatusOr<std::string> a = QemuPatchKernel(k, 0x2345, 4ULL << 30);
  absl::StatusOr<std::string> b = QemuPatchKernel(k, 0x2346, 4ULL << 30);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  // 4 GiB: 2 GiB below 4 GiB, less QEMU's ACPI data; the initrd page-aligned beneath.
  uint32_t addr = 0;
  std::memcpy(&addr, a->data() + 0x218, 4);
  EXPECT_EQ(addr, (0x80000000u - 0x28000u - 1u - 0x2345u) & ~4095u);
  EXPECT_EQ(static_cast<uint8_t>((*a)[0x210]), 0xb0);  // type_of_loader: QEMU
  // Boot protocol 2.02 has no initrd_addr_max: QEMU's limit is 0x37ffffff.
  std::string old = k;
  old[0x206] = 0x02;
  absl::StatusOr<std::string> c = QemuPatchKernel(old, 0x2345, 4ULL << 30);
  ASSERT_TRUE(c.ok()) << c.status();
  std::memcpy(&addr, c->data() + 0x218, 4);
  EXPECT_EQ(addr, (0x37ffffffu - 0x2345u) & ~4095u);
}

TEST_F(TdxRtmrTest, PeDigestIgnoresChecksumAndCertificateButNotCode) {
  const std::string& k = files_["kernel-a.efi"];
  absl::StatusOr<std::string> d = PeImageDigest(k, crypto::HashAlg::kSha384);
  ASSERT_TRUE(d.ok()) << d.status();
  std::string checksum = k;
  checksum[0x58 + 64] ^= 1;  // optional header CheckSum
  EXPECT_EQ(*PeImageDigest(checksum, crypto::HashAlg::kSha384), *d);
  std::string cert = k;
  cert[cert.size() - 1] ^= 1;  // the attribute certificate table at the end
  EXPECT_EQ(*PeImageDigest(cert, crypto::HashAlg::kSha384), *d);
  std::string code = k;
  code[0x1000] ^= 1;  // .text
  EXPECT_NE(*PeImageDigest(code, crypto::HashAlg::kSha384), *d);
  std::string trailing = k;
  trailing[0x2e00] ^= 1;  // after the sections, before the certificate table
  EXPECT_NE(*PeImageDigest(trailing, crypto::HashAlg::kSha384), *d);
}

TEST_F(TdxRtmrTest, BadPeImagesAreRefused) {
  const std::string& k = files_["kernel-a.efi"];
  auto why = [](absl::string_view image) -> std::string {
    return std::string(PeImageDigest(image, crypto::HashAlg::kSha384).status().message());
  };
  EXPECT_EQ(why("MZ"), "not a PE/COFF image: no MZ header");
  EXPECT_EQ(why(std::string(4096, 'A')), "not a PE/COFF image: no MZ header");
  std::string no_pe = k;
  no_pe[0x40] = 'X';
  EXPECT_EQ(why(no_pe), "not a PE/COFF image: no PE signature at e_lfanew");
  std::string far = k;
  far[0x3c] = '\xff';
  far[0x3d] = '\xff';
  EXPECT_EQ(why(far), "not a PE/COFF image: no PE signature at e_lfanew");
  std::string magic = k;
  magic[0x58] = 0x0c;
  EXPECT_EQ(why(magic), "not a PE/COFF image: optional header magic 0x20c");
  // Truncated inside the .data section.
  EXPECT_EQ(why(k.substr(0, 0x2900)), "not a PE/COFF image: section 3 lies outside the file");
  EXPECT_EQ(why(k.substr(0, 0x100)), "not a PE/COFF image: truncated optional header");
  std::string many = k;
  many[0x46] = 97;
  EXPECT_EQ(why(many), "not a PE/COFF image: 97 sections");
  std::string cert = k;
  cert[0x58 + 112 + 32 + 4 + 2] = 1;  // certificate table size += 64 KiB
  EXPECT_EQ(why(cert),
            "not a PE/COFF image: the certificate table is larger than the data after the "
            "sections");
  std::string headers = k;
  headers[0x58 + 60 + 1] = 0x01;  // SizeOfHeaders 0x100: the section table is past it
  headers[0x58 + 60] = 0x00;
  EXPECT_EQ(why(headers),
            "not a PE/COFF image: SizeOfHeaders does not cover the section table or lies outside "
            "the file");
  // Oversized: refused on its length alone, before any byte is read.
  const char one = 0;
  EXPECT_EQ(std::string(PeImageDigest(absl::string_view(&one, kMaxPeImageSize + 1),
                                      crypto::HashAlg::kSha384)
                            .status()
                            .message()),
            "PE/COFF image of 536870913 bytes is larger than the limit of 536870912");
}

TEST_F(TdxRtmrTest, BadBootsAreRefused) {
  const Json& c = v_["cases"][0];
  auto why = [&](const TdxDirectBoot& b) -> std::string {
    return std::string(TdxDirectBootRtmrs(b).status().message());
  };
  TdxDirectBoot b = Boot(c, TdvfSeparator::kRtmr1);
  b.kernel = "MZ" + std::string(4094, '\0');
  EXPECT_EQ(why(b), "not a Linux bzImage: no \"HdrS\" setup header at 0x202");
  b = Boot(c, TdvfSeparator::kRtmr1);
  b.kernel[0x206] = 0x01;  // protocol 2.01
  EXPECT_EQ(why(b),
            "kernel boot protocol 2.01 not loaded high: only EFI-stub kernels (protocol >= 2.02, "
            "LOADED_HIGH) are modelled");
  b = Boot(c, TdvfSeparator::kRtmr1);
  b.kernel[0x1f1] = 30;  // setup_sects: 31 * 512 bytes > the file
  EXPECT_EQ(why(b), "kernel setup size lies past the end of the file");
  b = Boot(c, TdvfSeparator::kRtmr1);
  b.kernel[0x40] = 'X';
  EXPECT_EQ(why(b), "kernel: not a PE/COFF image: no PE signature at e_lfanew");
  b = Boot(c, TdvfSeparator::kRtmr1);
  b.memory_bytes = 64 << 20;
  b.initrd->size = 100 << 20;
  EXPECT_EQ(why(b), "initrd of 104857600 bytes does not fit below 0x3fd7fff");
  b = Boot(c, TdvfSeparator::kRtmr1);
  b.memory_bytes = 1 << 20;
  EXPECT_EQ(why(b), "memory size 1048576 is outside 64 MiB to 16 TiB");
  b = Boot(c, TdvfSeparator::kRtmr1);
  b.initrd->size = 0;
  EXPECT_EQ(why(b), "initrd is empty: leave it out");
  b = Boot(c, TdvfSeparator::kRtmr1);
  b.cmdline = "root=/dev/vda\nquiet";
  EXPECT_EQ(why(b), "kernel command line: only printable ASCII is supported");
  b.cmdline = std::string(70000, 'a');
  EXPECT_EQ(why(b), "kernel command line of 70000 bytes is longer than 65536");
}

// ---- RTMR0

using testing_util::Gunzip;

class TdxRtmr0Test : public ::testing::Test {
 protected:
  void SetUp() override {
    v_ = Json::parse(testing::ReadTestFile(Dir() + "rtmr0/vectors.json"));
    firmware_ = Gunzip(testing::ReadTestFile(Dir() + v_["firmware"].get<std::string>()));
    ASSERT_EQ(base::HexEncode(crypto::Sha256(firmware_)), v_["firmware_sha256"].get<std::string>());
    kernel_ = testing::ReadTestFile(Dir() + "kernel-a.efi");
  }

  TdxFwCfgAcpi Acpi(const Json& c) {
    const std::string d = Dir() + "rtmr0/" + c["fw_cfg"].get<std::string>() + "/";
    TdxFwCfgAcpi a;
    a.table_loader = testing::ReadTestFile(d + "etc/table-loader");
    for (const char* f : {"etc/acpi/rsdp", "etc/acpi/tables"})
      a.files[f] = testing::ReadTestFile(d + f);
    return a;
  }

  // The boot rtmr0_vectors.mjs measured: kernel-a.efi, no initrd, "console=hvc0".
  TdxDirectBoot Boot(const Json& c, TdvfSeparator sep) {
    TdxDirectBoot b;
    b.kernel = kernel_;
    b.cmdline = "console=hvc0";
    b.memory_bytes = c["memory"].get<uint64_t>();
    b.separator = sep;
    b.firmware = firmware_;
    const std::string patch = c["firmware_patch"].get<std::string>();
    if (!patch.empty()) {
      // Enrolled keys: make_secure_boot_vars.py's records right after the variable store header.
      const std::string records = testing::ReadTestFile(Dir() + patch);
      b.firmware.replace(0x48 + 28, records.size(), records);
    }
    b.acpi = Acpi(c);
    return b;
  }

  static std::vector<TdxRtmrEvent> Rtmr0Events(const TdxRtmrs& r) {
    std::vector<TdxRtmrEvent> out;
    for (const TdxRtmrEvent& e : r.events) {
      if (e.rtmr == 0) out.push_back(e);
    }
    return out;
  }

  Json v_;
  std::string firmware_, kernel_;
};

// Every RTMR0 event digest in order (TD HOB, CFV, the five secure-boot variables, separator, table
// loader, RSDP, tables, BootOrder, Boot0000, separator) and the register, for three VM shapes
// (one with memory above 4 GiB, one with 2.25 GiB below it) whose tables td-report-web generates,
// for the first shape with PK, KEK, db and dbx enrolled in the CFV (SecureBoot = 1; a deleted dbx
// record before the live one), and for two VMs whose tables it dumped from a real QEMU.
TEST_F(TdxRtmr0Test, OlderTdvfMatchesAnIndependentImplementation) {
  ASSERT_EQ(v_["cases"].size(), 6u);
  ASSERT_EQ(v_["cases"][3]["firmware_patch"], "secure-boot-vars.bin");
  for (const Json& c : v_["cases"]) {
    SCOPED_TRACE(c["fw_cfg"].get<std::string>() + " " + c["firmware_patch"].get<std::string>());
    absl::StatusOr<TdxRtmrs> r = TdxDirectBootRtmrs(Boot(c, TdvfSeparator::kRtmr0));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(base::HexEncode(r->rtmr0), c["rtmr0"].get<std::string>());
    const std::vector<TdxRtmrEvent> events = Rtmr0Events(*r);
    ASSERT_EQ(events.size(), c["events"].size());
    ASSERT_EQ(events.size(), 14u);
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(base::HexEncode(events[i].digest), c["events"][i]["digest"].get<std::string>())
          << i << " " << events[i].name << " vs " << c["events"][i]["name"];
    }
  }
}

// From edk2-stable202411 the ReadyToBoot separator goes to RTMR1, so RTMR0 is the independent
// digests replayed without the last one; leaving the ACPI data out computes no RTMR0 and changes
// neither RTMR1 nor RTMR2.
TEST_F(TdxRtmr0Test, NewerTdvfAndNoAcpiData) {
  for (const Json& c : v_["cases"]) {
    SCOPED_TRACE(c["fw_cfg"].get<std::string>());
    std::vector<std::string> digests;
    for (const Json& e : c["events"])
      digests.push_back(*base::HexDecode(e["digest"].get<std::string>()));
    ASSERT_EQ(c["events"].back()["type"], "EV_SEPARATOR");
    digests.pop_back();
    TdxDirectBoot boot = Boot(c, TdvfSeparator::kRtmr1);
    absl::StatusOr<TdxRtmrs> with = TdxDirectBootRtmrs(boot);
    ASSERT_TRUE(with.ok()) << with.status();
    EXPECT_EQ(with->rtmr0, Replay(digests));
    boot.acpi.reset();
    absl::StatusOr<TdxRtmrs> without = TdxDirectBootRtmrs(boot);
    ASSERT_TRUE(without.ok()) << without.status();
    EXPECT_TRUE(without->rtmr0.empty());
    EXPECT_EQ(without->rtmr1, with->rtmr1);
    EXPECT_EQ(without->rtmr2, with->rtmr2);
  }
}

// A byte of the ACPI tables, the memory size or the CFV each change RTMR0.
TEST_F(TdxRtmr0Test, EachInputChangesRtmr0) {
  const Json& c = v_["cases"][0];
  absl::StatusOr<TdxRtmrs> base = TdxDirectBootRtmrs(Boot(c, TdvfSeparator::kRtmr1));
  ASSERT_TRUE(base.ok()) << base.status();
  TdxDirectBoot tables = Boot(c, TdvfSeparator::kRtmr1);
  tables.acpi->files["etc/acpi/tables"][100] ^= 1;
  TdxDirectBoot memory = Boot(c, TdvfSeparator::kRtmr1);
  memory.memory_bytes += 1 << 20;
  for (const TdxDirectBoot& b : {tables, memory}) {
    absl::StatusOr<TdxRtmrs> r = TdxDirectBootRtmrs(b);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_NE(r->rtmr0, base->rtmr0);
  }
}

TEST_F(TdxRtmr0Test, BadInputsAreRefused) {
  const Json& c = v_["cases"][0];
  auto refused = [&](TdxDirectBoot b, const std::string& why) {
    absl::StatusOr<TdxRtmrs> r = TdxDirectBootRtmrs(b);
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status();
  };
  TdxDirectBoot b = Boot(c, TdvfSeparator::kRtmr1);
  b.acpi->files.erase("etc/acpi/rsdp");
  refused(b, "fw_cfg file etc/acpi/rsdp, which the ACPI table loader allocates, is missing");
  b = Boot(c, TdvfSeparator::kRtmr1);
  b.acpi->table_loader.pop_back();
  refused(b, "not a whole number of 128-byte commands");
  b = Boot(c, TdvfSeparator::kRtmr1);
  b.firmware.clear();
  refused(b, "firmware: ");
  // A loader that names a path outside the directory, one never NUL-terminated, one allocating
  // the same file twice, one allocating nothing.
  auto allocate = [](const std::string& name) {
    std::string cmd(128, '\0');
    cmd[0] = 1;
    cmd.replace(4, std::min<size_t>(name.size(), 56), name.substr(0, 56));
    return cmd;
  };
  const std::vector<std::pair<std::string, std::string>> loaders = {
      {allocate("../etc/passwd"), "is not a fw_cfg file name"},
      {allocate("/etc/acpi/tables"), "is not a fw_cfg file name"},
      {allocate("etc//tables"), "is not a fw_cfg file name"},
      {allocate(std::string(56, 'a')), "not NUL-terminated"},
      {allocate("etc/acpi/tables") + allocate("etc/acpi/tables"),
       "allocates etc/acpi/tables twice"},
      {std::string(128, '\0'), "allocates no file"},
      {std::string(65 << 10, '\0'), "larger than"},
  };
  for (const auto& [loader, why] : loaders) {
    EXPECT_FALSE(QemuLoaderAllocations(loader).ok()) << why;
    b = Boot(c, TdvfSeparator::kRtmr1);
    b.acpi->table_loader = loader;
    refused(b, why);
  }
  // The CFV's variable store signature changed: not an authenticated variable store.
  b = Boot(c, TdvfSeparator::kRtmr1);
  const std::string auth_guid("\x78\x2c\xf3\xaa\x7b\x94\x9a\x43\xa1\x80\x2e\x14\x4e\xc3\x77\x92",
                              16);
  const size_t at = b.firmware.find(auth_guid);
  ASSERT_NE(at, std::string::npos);
  b.firmware[at] ^= 1;
  refused(b, "not an authenticated variable store");
}

TEST_F(TdxRtmr0Test, LoaderAllocationsInTheirOrder) {
  const Json& c = v_["cases"][0];
  absl::StatusOr<std::vector<std::string>> files = QemuLoaderAllocations(Acpi(c).table_loader);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(*files, (std::vector<std::string>{"etc/acpi/rsdp", "etc/acpi/tables"}));
}

// Each refusal of the CFV's variable store and of the firmware's sections, with its exact reason.
TEST_F(TdxRtmr0Test, CfvAndSectionRefusals) {
  const Json& c = v_["cases"][0];
  // The CFV is the Debian image's first 0x84000 bytes' variable volume; its store header is at
  // 0x48.
  const std::string records = testing::ReadTestFile(Dir() + "secure-boot-vars.bin");
  std::string cfv = firmware_.substr(0, 0x48 + 28 + records.size() + 64);
  cfv.replace(0x48 + 28, records.size(), records);
  SetLe(cfv, 0x48 + 16, cfv.size() - 0x48, 4);  // the store's size
  ASSERT_TRUE(internal::CfvVariables(cfv).ok()) << internal::CfvVariables(cfv).status();
  EXPECT_EQ(internal::CfvVariables(cfv)->size(), 4u);  // the deleted dbx is skipped
  auto reason = [](const std::string& bytes) {
    absl::StatusOr<std::vector<internal::Variable>> v = internal::CfvVariables(bytes);
    return v.ok() ? std::string("accepted") : std::string(v.status().message());
  };
  std::string b = cfv;
  b[0x28] = 'X';
  EXPECT_EQ(reason(b), "CFV: no firmware volume header");
  b = cfv;
  b[0x30] = static_cast<char>(0xff);
  b[0x31] = static_cast<char>(0xff);
  EXPECT_EQ(reason(b), "CFV: no variable store after the volume header");
  b = cfv;
  b[0x48 + 20] = 0x5b;
  EXPECT_EQ(reason(b), "CFV: variable store not formatted and healthy");
  b = cfv;
  b[0x48 + 19] = 0x7f;
  EXPECT_EQ(reason(b), "CFV: variable store size runs past the volume");
  b = cfv;
  b[0x48 + 28 + 40 + 3] = 0x7f;  // the first variable's DataSize
  EXPECT_EQ(reason(b), "CFV: a variable runs past the variable store");

  // The TDVF descriptor's sections: up to 16 entries of 32 bytes after its 16-byte header, each
  // with MemoryAddress at +8, MemoryDataSize at +16 (64-bit) and Type at +24.
  const size_t desc = firmware_.rfind("TDVF");
  ASSERT_NE(desc, std::string::npos);
  std::vector<size_t> entries;
  for (size_t at = desc + 16; at + 32 <= firmware_.size() && at < desc + 16 + 32 * 16; at += 32) {
    entries.push_back(at);
  }
  auto type_at = [&](size_t entry) { return static_cast<uint8_t>(firmware_[entry + 24]); };
  auto rtmrs_reason = [](const TdxDirectBoot& boot) {
    absl::StatusOr<TdxRtmrs> r = TdxDirectBootRtmrs(boot);
    return r.ok() ? std::string("accepted") : std::string(r.status().message());
  };
  auto with_types = [&](uint32_t from, uint32_t to) {
    TdxDirectBoot boot = Boot(c, TdvfSeparator::kRtmr1);
    for (size_t at : entries) {
      if (type_at(at) == from) boot.firmware[at + 24] = static_cast<char>(to);
    }
    return rtmrs_reason(boot);
  };
  EXPECT_EQ(with_types(2, 4), "TDVF metadata: no TD_HOB section for QEMU's TD HOB");
  EXPECT_EQ(with_types(1, 4), "TDVF metadata: no CFV section");
  EXPECT_EQ(with_types(0, 1), "TDVF metadata: more than one CFV");
  EXPECT_EQ(with_types(3, 2), "TDVF metadata: more than one TD_HOB section");

  // A section's guest-physical placement: QEMU builds its TD HOB around the TD_HOB and TempMem
  // sections, so one that overlaps another, lies past the RAM, or is too small for the HOB is
  // refused, not measured.
  auto entry_of = [&](uint32_t type) {
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](size_t at) { return type_at(at) == type; });
    return it == entries.end() ? std::string::npos : *it;
  };
  auto get64 = [&](size_t at) {
    uint64_t v = 0;
    internal::ReadLe64(firmware_, at, &v);
    return v;
  };
  auto with_placement = [&](size_t entry, uint64_t address, uint64_t size) {
    TdxDirectBoot boot = Boot(c, TdvfSeparator::kRtmr1);
    SetLe(boot.firmware, entry + 8, address, 8);
    SetLe(boot.firmware, entry + 16, size, 8);
    return rtmrs_reason(boot);
  };
  const size_t hob = entry_of(2), temp = entry_of(3);
  ASSERT_NE(hob, std::string::npos);
  ASSERT_NE(temp, std::string::npos);
  const uint64_t hob_address = get64(hob + 8), hob_size = get64(hob + 16);
  ASSERT_GT(hob_size, 4096u);
  EXPECT_EQ(with_placement(hob, hob_address, hob_size), "accepted");
  // TempMem moved to start a page inside the TD_HOB section (it sorts after it).
  EXPECT_EQ(with_placement(temp, hob_address + 4096, get64(temp + 16)),
            absl::StrCat("TDVF metadata: the TempMem section at 0x", absl::Hex(hob_address + 4096),
                         " overlaps another or lies outside the RAM below 4 GiB"));
  // The TD_HOB section past the end of the case's RAM (every case has at most 4 GiB).
  EXPECT_EQ(with_placement(hob, 0xfffff000, hob_size),
            "TDVF metadata: the TD_HOB section at 0xfffff000 overlaps another or lies outside the "
            "RAM below 4 GiB");
  // Sections are whole pages and QEMU's HOB for up to 16 sections is well under one, so only an
  // empty TD_HOB section is too small for it.
  EXPECT_EQ(with_placement(hob, hob_address, 0),
            "TDVF metadata: QEMU's TD HOB does not fit the TD_HOB section");

  // A variable store of 4097 live variables (each a 60-byte header, a 2-byte name, no data).
  {
    std::string many = cfv.substr(0, 0x48 + 28);
    for (int i = 0; i < 4097; ++i) {
      std::string var(64, '\0');
      var[0] = static_cast<char>(0xaa);
      var[1] = 0x55;
      var[2] = 0x3f;
      var[36] = 2;  // NameSize
      many += var;
    }
    SetLe(many, 0x48 + 16, many.size() - 0x48, 4);
    EXPECT_EQ(reason(many), "CFV: more than 4096 variables");
    many.resize(many.size() - 64);
    SetLe(many, 0x48 + 16, many.size() - 0x48, 4);
    ASSERT_EQ(reason(many), "accepted");
    EXPECT_EQ(internal::CfvVariables(many)->size(), 4096u);
  }

  std::string seventeen;
  for (int i = 0; i < 17; ++i) {
    std::string cmd(128, '\0');
    cmd[0] = 1;
    const std::string name = "etc/f" + std::to_string(i);
    cmd.replace(4, name.size(), name);
    seventeen += cmd;
  }
  EXPECT_EQ(QemuLoaderAllocations(seventeen).status().message(),
            "ACPI table loader allocates more than 16 files");
  TdxDirectBoot small = Boot(c, TdvfSeparator::kRtmr1);
  small.acpi->files["etc/acpi/tables"].resize(kMaxFwCfgFileBytes + 1);
  EXPECT_EQ(rtmrs_reason(small),
            absl::StrCat("fw_cfg file etc/acpi/tables of ", kMaxFwCfgFileBytes + 1,
                         " bytes is larger than ", kMaxFwCfgFileBytes));
}

}  // namespace
}  // namespace triad::measure
