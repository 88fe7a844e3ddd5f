// triad measure image|coco|snp|tdx: the values a contract pins, computed offline from their parts,
// so that every party can check what the others propose (docs/deploy.md).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/status.h"
#include "cli/command.h"
#include "crypto/hash.h"
#include "measure/coco.h"
#include "measure/oci.h"
#include "measure/snp.h"
#include "measure/tdx.h"
#include "nlohmann/json.hpp"

namespace triad::cli {
namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kMaxFirmware = 64 << 20;  // OVMF images are 2-4 MiB
constexpr size_t kMaxKernel = 256 << 20;   // kernels are 10-100 MiB

// The digest and size of a file of any size, streamed (kernels and initrds are tens to hundreds of
// MiB).
struct FileDigest {
  std::string digest;
  uint64_t size = 0;
};

absl::StatusOr<FileDigest> HashFile(const std::string& flag, const std::string& path,
                                    crypto::HashAlg alg) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::ErrnoStatus(errno, absl::StrCat(flag, " ", path));
  crypto::Hasher h(alg);
  FileDigest out;
  std::string buf(1 << 20, '\0');
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return base::ErrnoStatus(err, absl::StrCat(flag, " ", path));
    }
    if (n == 0) break;
    h.Update(absl::string_view(buf.data(), static_cast<size_t>(n)));
    out.size += static_cast<uint64_t>(n);
  }
  ::close(fd);
  out.digest = h.Finish();
  return out;
}

absl::StatusOr<std::string> Sha256File(const std::string& flag, const std::string& path) {
  TRIAD_ASSIGN_OR_RETURN(FileDigest d, HashFile(flag, path, crypto::HashAlg::kSha256));
  return d.digest;
}

// ---- image

struct ImageFlags {
  std::string dir;
  bool json = false;
};

absl::Status Image(const ImageFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(measure::OciImage img, measure::MeasureOciLayout(f.dir));
  if (f.json) {
    std::cout << Json{{"digest", img.digest},
                      {"config", img.config_digest},
                      {"layers", img.layer_digests},
                      {"size", img.total_size}}
                     .dump()
              << "\n";
  } else {
    std::cout << img.digest << "\n";
  }
  return absl::OkStatus();
}

// ---- coco

struct CocoFlags {
  std::string initdata;
  bool annotation = false;
  bool json = false;
  // --make-initdata
  std::string make;
  std::string image;
  std::vector<std::string> env_names, mounts;
  std::string args_json;
};

absl::Status Coco(const CocoFlags& f) {
  if (!f.make.empty()) {
    measure::WorkerPin pin{f.image, {}, f.env_names, f.mounts};
    TRIAD_RETURN_IF_ERROR(base::Annotate(measure::CheckImageReference(pin.image), "--image"));
    nlohmann::json args = nlohmann::json::parse(f.args_json, nullptr, /*allow_exceptions=*/false);
    if (!args.is_array() || args.empty()) {
      return absl::InvalidArgumentError(
          "--args-json must be a non-empty JSON array of strings (the container's argv)");
    }
    for (const auto& a : args) {
      if (!a.is_string()) {
        return absl::InvalidArgumentError("--args-json must be a JSON array of strings");
      }
      pin.args.push_back(a.get<std::string>());
    }
    return base::WriteFileAtomic(f.make, measure::MakeInitData(pin));
  }
  TRIAD_ASSIGN_OR_RETURN(std::string text,
                         base::Annotate(base::ReadFile(f.initdata, measure::kMaxInitDataSize),
                                        "--initdata"));
  TRIAD_ASSIGN_OR_RETURN(measure::InitData d,
                         base::Annotate(measure::ParseInitData(text), f.initdata));
  TRIAD_ASSIGN_OR_RETURN(measure::WorkerPin pin,
                         base::Annotate(measure::ReadWorkerPin(d), f.initdata));
  if (f.annotation) {
    TRIAD_ASSIGN_OR_RETURN(std::string a, measure::InitDataAnnotation(text));
    std::cout << a << "\n";
    return absl::OkStatus();
  }
  const std::string digest = measure::InitDataDigest(d);
  Json section{{"initdata_digests", {base::HexEncode(digest)}},
               {"image_digests", {pin.image_digest()}}};
  if (f.json) {
    std::cout << Json{{"algorithm", d.algorithm},
                      {"digest", base::HexEncode(digest)},
                      {"snp_host_data", base::HexEncode(measure::SnpHostData(digest))},
                      {"tdx_mr_config_id", base::HexEncode(measure::TdxMrConfigId(digest))},
                      {"image", pin.image},
                      {"image_digest", pin.image_digest()},
                      {"args", pin.args},
                      {"env_names", pin.env_names},
                      {"mount_destinations", pin.mount_destinations},
                      {"policy", {{"coco", section}}}}
                     .dump()
              << "\n";
    return absl::OkStatus();
  }
  std::cout << "init-data digest (" << d.algorithm << "): " << base::HexEncode(digest) << "\n"
            << "SEV-SNP HOST_DATA:  " << base::HexEncode(measure::SnpHostData(digest)) << "\n"
            << "TDX MRCONFIGID:     " << base::HexEncode(measure::TdxMrConfigId(digest)) << "\n"
            << "worker image:       " << pin.image << "\n"
            << "command:            " << Json(pin.args).dump() << "\n"
            << "policy section (worker_policy.coco; the guest measurement goes in sev_snp/tdx):\n"
            << Json{{"coco", section}}.dump() << "\n";
  return absl::OkStatus();
}

// ---- snp

struct SnpFlags {
  std::string ovmf, ovmf_digest, kernel, initrd, append, vcpu_type = "EPYC-v4";
  bool has_append = false;
  int vcpus = 1;
  std::string guest_features = "0x1";
  bool json = false;
};

absl::Status Snp(const SnpFlags& f) {
  measure::SnpGuest g;
  TRIAD_ASSIGN_OR_RETURN(g.ovmf, base::Annotate(base::ReadFile(f.ovmf, kMaxFirmware), "--ovmf"));
  if (!f.ovmf_digest.empty()) {
    TRIAD_ASSIGN_OR_RETURN(g.ovmf_digest,
                           base::Annotate(base::HexDecode(f.ovmf_digest), "--ovmf-digest"));
  }
  g.vcpus = f.vcpus;
  TRIAD_ASSIGN_OR_RETURN(g.vcpu_signature, measure::VcpuSignature(f.vcpu_type));
  uint64_t features = 0;
  if (!absl::SimpleHexAtoi(f.guest_features, &features)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--guest-features \"", f.guest_features, "\" is not a hex number"));
  }
  g.guest_features = features;
  if (!f.kernel.empty()) {
    measure::DirectBootHashes h;
    TRIAD_ASSIGN_OR_RETURN(h.kernel, Sha256File("--kernel", f.kernel));
    if (f.initrd.empty()) {
      h.initrd = crypto::Sha256("");
    } else {
      TRIAD_ASSIGN_OR_RETURN(h.initrd, Sha256File("--initrd", f.initrd));
    }
    h.cmdline = crypto::Sha256(absl::StrCat(f.append, std::string(1, '\0')));
    g.direct_boot = h;
  } else if (!f.initrd.empty() || f.has_append) {
    return absl::InvalidArgumentError("--initrd and --append need --kernel (direct boot)");
  }
  TRIAD_ASSIGN_OR_RETURN(std::string ld, measure::SnpLaunchDigest(g));
  if (f.json) {
    std::cout << Json{{"measurement", base::HexEncode(ld)}}.dump() << "\n";
  } else {
    std::cout << base::HexEncode(ld) << "\n";
  }
  return absl::OkStatus();
}

// ---- tdx

struct TdxFlags {
  std::string firmware, order = "interleaved";
  std::string kernel, initrd, append, memory, separator = "rtmr1";
  std::string fw_cfg;  // a directory of QEMU's fw_cfg files by name: RTMR0
  bool json = false;
};

// QEMU's ACPI fw_cfg files under `dir` (DIR/etc/table-loader and every file it allocates, e.g.
// DIR/etc/acpi/rsdp), as a guest reads them from /sys/firmware/qemu_fw_cfg/by_name/NAME/raw.
absl::StatusOr<measure::TdxFwCfgAcpi> ReadFwCfg(const std::string& dir) {
  measure::TdxFwCfgAcpi acpi;
  TRIAD_ASSIGN_OR_RETURN(
      acpi.table_loader,
      base::Annotate(base::ReadFile(dir + "/etc/table-loader", measure::kMaxQemuLoaderBytes),
                     "--fw-cfg"));
  TRIAD_ASSIGN_OR_RETURN(std::vector<std::string> names,
                         base::Annotate(measure::QemuLoaderAllocations(acpi.table_loader),
                                        "--fw-cfg " + dir + "/etc/table-loader"));
  for (const std::string& name : names) {
    TRIAD_ASSIGN_OR_RETURN(
        acpi.files[name],
        base::Annotate(base::ReadFile(dir + "/" + name, measure::kMaxFwCfgFileBytes),
                       absl::StrCat("--fw-cfg: ", name, ", which etc/table-loader allocates")));
  }
  return acpi;
}

// QEMU's -m syntax: a number of MiB, or a number with a suffix K, M, G or T (powers of 1024).
absl::StatusOr<uint64_t> ParseMemory(const std::string& text) {
  uint64_t shift = 20;
  std::string digits = text;
  if (!digits.empty() && !absl::ascii_isdigit(static_cast<unsigned char>(digits.back()))) {
    switch (absl::ascii_toupper(static_cast<unsigned char>(digits.back()))) {
      case 'K':
        shift = 10;
        break;
      case 'M':
        shift = 20;
        break;
      case 'G':
        shift = 30;
        break;
      case 'T':
        shift = 40;
        break;
      default:
        shift = 64;
    }
    digits.pop_back();
  }
  uint64_t n = 0;
  if (shift == 64 || !absl::SimpleAtoi(digits, &n) || n == 0 || n > (UINT64_MAX >> shift)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--memory \"", text, "\": expected QEMU's -m size, e.g. 4096 (MiB), 4G, 16384M"));
  }
  return n << shift;
}

absl::Status Tdx(const TdxFlags& f) {
  if (f.kernel.empty() &&
      (!f.initrd.empty() || !f.append.empty() || !f.memory.empty() || !f.fw_cfg.empty())) {
    return absl::InvalidArgumentError("--initrd, --append, --memory and --fw-cfg need --kernel");
  }
  if (!f.fw_cfg.empty() && f.firmware.empty()) {
    return absl::InvalidArgumentError(
        "--fw-cfg needs --firmware (RTMR0 measures the firmware's TD HOB layout and CFV)");
  }
  if (f.firmware.empty() && f.kernel.empty()) {
    return absl::InvalidArgumentError(
        "measure tdx needs --firmware (MRTD), --kernel (RTMR1, RTMR2), or both");
  }
  Json out;
  std::string fw;
  if (!f.firmware.empty()) {
    TRIAD_ASSIGN_OR_RETURN(fw,
                           base::Annotate(base::ReadFile(f.firmware, kMaxFirmware), "--firmware"));
    measure::PageAddOrder order = measure::PageAddOrder::kInterleaved;
    if (f.order == "per-section") {
      order = measure::PageAddOrder::kPerSection;
    } else if (f.order != "interleaved") {
      return absl::InvalidArgumentError(
          absl::StrCat("--order \"", f.order, "\": expected interleaved or per-section"));
    }
    TRIAD_ASSIGN_OR_RETURN(std::string mrtd, measure::TdxMrtd(fw, order));
    out["mr_td"] = base::HexEncode(mrtd);
  }
  if (!f.kernel.empty()) {
    measure::TdxDirectBoot boot;
    if (f.memory.empty()) {
      return absl::InvalidArgumentError(
          "--kernel needs --memory (QEMU's -m: where QEMU puts the initrd, which it writes into "
          "the kernel TDVF measures)");
    }
    TRIAD_ASSIGN_OR_RETURN(boot.memory_bytes, ParseMemory(f.memory));
    if (f.separator == "rtmr0") {
      boot.separator = measure::TdvfSeparator::kRtmr0;
    } else if (f.separator != "rtmr1") {
      return absl::InvalidArgumentError(
          absl::StrCat("--tdvf-separator \"", f.separator,
                       "\": expected rtmr1 (edk2-stable202411 and later) "
                       "or rtmr0 (older TDVF)"));
    }
    TRIAD_ASSIGN_OR_RETURN(boot.kernel,
                           base::Annotate(base::ReadFile(f.kernel, kMaxKernel), "--kernel"));
    if (!f.initrd.empty()) {
      TRIAD_ASSIGN_OR_RETURN(FileDigest d,
                             HashFile("--initrd", f.initrd, crypto::HashAlg::kSha384));
      boot.initrd = measure::TdxInitrd{d.size, d.digest};
    }
    boot.cmdline = f.append;
    if (!f.fw_cfg.empty()) {
      TRIAD_ASSIGN_OR_RETURN(boot.acpi, ReadFwCfg(f.fw_cfg));
      boot.firmware = std::move(fw);
    }
    TRIAD_ASSIGN_OR_RETURN(measure::TdxRtmrs r,
                           base::Annotate(measure::TdxDirectBootRtmrs(boot), f.kernel));
    if (!r.rtmr0.empty()) out["rtmr0"] = base::HexEncode(r.rtmr0);
    out["rtmr1"] = base::HexEncode(r.rtmr1);
    out["rtmr2"] = base::HexEncode(r.rtmr2);
    Json events = Json::array();
    for (const measure::TdxRtmrEvent& e : r.events) {
      events.push_back(
          {{"rtmr", e.rtmr}, {"event", e.name}, {"digest", base::HexEncode(e.digest)}});
    }
    out["events"] = events;
  }
  if (f.json) {
    std::cout << out.dump() << "\n";
  } else if (f.kernel.empty()) {
    std::cout << out["mr_td"].get<std::string>() << "\n";
  } else {
    std::string flags;
    for (const char* k : {"mr_td", "rtmr0", "rtmr1", "rtmr2"}) {
      if (!out.contains(k)) continue;
      const std::string name = k == std::string("mr_td") ? "MRTD" : absl::AsciiStrToUpper(k);
      std::cout << name << ": " << out[k].get<std::string>() << "\n";
      absl::StrAppend(&flags, flags.empty() ? "" : " ", "--tdx-",
                      k == std::string("mr_td") ? "mrtd" : k, " ", out[k].get<std::string>());
    }
    std::cout << "contract draft flags: " << flags << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddMeasureCommands(CLI::App& app, Context& ctx) {
  CLI::App* group = app.add_subcommand(
      "measure", "Compute, offline, the values a contract pins (image digest, init-data, SNP, TDX)");
  group->require_subcommand(1);

  auto im = std::make_shared<ImageFlags>();
  CLI::App* image = group->add_subcommand(
      "image", "Check an OCI image layout (deploy/image/build.sh) and print its digest");
  image->add_option("IMAGE", im->dir, "OCI image layout directory")->required();
  image->add_flag("--json", im->json, "Print digest, config, layers and size as JSON");
  image->callback([im, &ctx] { ctx.exit_code = Finish(Image(*im)); });

  auto co = std::make_shared<CocoFlags>();
  CLI::App* coco = group->add_subcommand(
      "coco", "Confidential Containers init-data: its digest (SNP HOST_DATA, TDX MRCONFIGID), the "
              "worker it pins, and the contract's policy section");
  CLI::Option* in = coco->add_option("--initdata", co->initdata, "Init-data TOML file");
  coco->add_flag("--annotation", co->annotation,
                 "Print the io.katacontainers.config.hypervisor.cc_init_data value instead");
  coco->add_flag("--json", co->json, "Print as JSON");
  CLI::Option* make = coco->add_option(
      "--make-initdata", co->make,
      "Write init-data holding the Triad worker agent policy for --image and the argv after --");
  coco->add_option("--image", co->image, "With --make-initdata: NAME@sha256:<hex>");
  coco->add_option("--env", co->env_names, "With --make-initdata: an environment variable name the "
                                           "worker may receive (repeatable)");
  coco->add_option("--mount", co->mounts, "With --make-initdata: a mount destination the runtime "
                                          "may set up (repeatable)");
  coco->add_option("--args-json", co->args_json,
                   "With --make-initdata: the container's argv as a JSON array of strings");
  in->excludes(make);
  coco->callback([co, in, make, &ctx] {
    if (in->count() == 0 && make->count() == 0) {
      std::cerr << "triad: measure coco needs --initdata FILE (or --make-initdata FILE)\n";
      ctx.exit_code = kExitUsage;
      return;
    }
    ctx.exit_code = Finish(Coco(*co));
  });

  auto sf = std::make_shared<SnpFlags>();
  CLI::App* snp = group->add_subcommand(
      "snp", "SEV-SNP launch digest (MEASUREMENT) of a QEMU direct-boot guest");
  snp->add_option("--ovmf", sf->ovmf, "OVMF image given to QEMU (-bios)")->required();
  snp->add_option("--ovmf-digest", sf->ovmf_digest,
                  "Precomputed digest of the OVMF pages (96 hex digits); --ovmf is then read for "
                  "its metadata only");
  snp->add_option("--kernel", sf->kernel, "Kernel (-kernel)");
  snp->add_option("--initrd", sf->initrd, "Initrd (-initrd)");
  CLI::Option* append = snp->add_option("--append", sf->append, "Kernel command line (-append)");
  snp->add_option("--vcpus", sf->vcpus, "Number of vCPUs")->capture_default_str();
  snp->add_option("--vcpu-type", sf->vcpu_type, "QEMU CPU model (-cpu)")->capture_default_str();
  snp->add_option("--guest-features", sf->guest_features,
                  "VMSA SEV_FEATURES, hex (0x1: SNPActive, QEMU's default)")
      ->capture_default_str();
  snp->add_flag("--json", sf->json, "Print as JSON");
  snp->callback([sf, append, &ctx] {
    sf->has_append = append->count() > 0;
    ctx.exit_code = Finish(Snp(*sf));
  });

  auto tf = std::make_shared<TdxFlags>();
  CLI::App* tdx = group->add_subcommand(
      "tdx",
      "TDX MRTD of a TDVF firmware image; RTMR1 and RTMR2 of a QEMU direct-boot guest, and RTMR0 "
      "with QEMU's ACPI data");
  tdx->add_option("--firmware", tf->firmware, "TDVF image (OVMF.fd with TDX metadata): MRTD");
  tdx->add_option("--order", tf->order,
                  "How the host adds and extends pages: interleaved (upstream KVM) or per-section")
      ->capture_default_str();
  tdx->add_option("--kernel", tf->kernel,
                  "Kernel with EFI stub given to QEMU (-kernel): RTMR1 and RTMR2");
  tdx->add_option("--initrd", tf->initrd, "Initrd (-initrd)");
  tdx->add_option("--append", tf->append, "Kernel command line (-append)");
  tdx->add_option("--memory", tf->memory,
                  "Guest memory as given to QEMU -m (e.g. 4G); QEMU writes the initrd's address "
                  "into the kernel TDVF measures");
  tdx->add_option("--tdvf-separator", tf->separator,
                  "Where TDVF puts its ReadyToBoot separator: rtmr1 (edk2-stable202411 and later) "
                  "or rtmr0 (older TDVF)")
      ->capture_default_str();
  tdx->add_option(
      "--fw-cfg", tf->fw_cfg,
      "Directory of QEMU's ACPI fw_cfg files for this VM shape (DIR/etc/table-loader and "
      "the files it allocates, as a guest reads them from "
      "/sys/firmware/qemu_fw_cfg/by_name/NAME/raw): RTMR0, with --firmware");
  tdx->add_flag("--json", tf->json, "Print as JSON (with the RTMR event digests)");
  tdx->callback([tf, &ctx] { ctx.exit_code = Finish(Tdx(*tf)); });
}

}  // namespace triad::cli
