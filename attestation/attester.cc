#include "attestation/attester.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "attestation/internal/snp_certs.h"
#include "attestation/internal/snp_report.h"
#include "attestation/coco.h"
#include "attestation/sim.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/status.h"
#include "contracts/claims.h"
#include "crypto/random.h"

namespace triad::attestation {
namespace {

constexpr size_t kMaxSmallAttribute = 256;

class RealTsmFs final : public TsmFs {
 public:
  bool IsDirectory(const std::string& path) const override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  absl::Status MakeDirectory(const std::string& path) const override {
    if (::mkdir(path.c_str(), 0700) != 0)
      return base::ErrnoStatus(errno, absl::StrCat("creating ", path));
    return absl::OkStatus();
  }
  absl::Status RemoveDirectory(const std::string& path) const override {
    if (::rmdir(path.c_str()) != 0)
      return base::ErrnoStatus(errno, absl::StrCat("removing ", path));
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Read(const std::string& path, size_t max_bytes) const override {
    return base::ReadFile(path, max_bytes);
  }
  absl::Status Write(const std::string& path, absl::string_view data) const override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return base::ErrnoStatus(errno, absl::StrCat("opening ", path));
    while (!data.empty()) {
      ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = n < 0 ? errno : EIO;
        ::close(fd);
        return base::ErrnoStatus(err, absl::StrCat("writing ", path));
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    if (::close(fd) != 0) return base::ErrnoStatus(errno, absl::StrCat("writing ", path));
    return absl::OkStatus();
  }
};

// Provider name (configfs-tsm `provider`) to Triad's TEE kind.
absl::StatusOr<std::string> TeeOfProvider(absl::string_view provider, const std::string& where) {
  if (provider == "sev_guest") return std::string(contracts::kTeeSevSnp);
  if (provider == "tdx_guest") return std::string(contracts::kTeeTdx);
  return absl::FailedPreconditionError(
      absl::StrCat("configfs-tsm provider \"", absl::CEscape(provider), "\" at ", where,
                   " is not one Triad supports (sev_guest, tdx_guest)"));
}

std::string NewEntryName() {
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat("triad-", ::getpid(), "-", counter.fetch_add(1), "-",
                      base::HexEncode(crypto::RandomString(4)));
}

// A report entry that is removed when it goes out of scope.
class Entry {
 public:
  static absl::StatusOr<Entry> Create(const TsmFs& fs, const std::string& report_dir) {
    std::string path = absl::StrCat(report_dir, "/", NewEntryName());
    TRIAD_RETURN_IF_ERROR(
        base::Annotate(fs.MakeDirectory(path), "configfs-tsm: creating a report entry"));
    return Entry(fs, std::move(path));
  }
  Entry(Entry&& o) noexcept : fs_(o.fs_), path_(std::move(o.path_)) { o.path_.clear(); }
  Entry& operator=(Entry&&) = delete;
  ~Entry() {
    if (!path_.empty()) fs_->RemoveDirectory(path_).IgnoreError();
  }
  std::string Attr(absl::string_view name) const { return absl::StrCat(path_, "/", name); }
  const std::string& path() const { return path_; }

 private:
  Entry(const TsmFs& fs, std::string path) : fs_(&fs), path_(std::move(path)) {}
  const TsmFs* fs_;
  std::string path_;
};

absl::StatusOr<std::string> ReadProvider(const TsmFs& fs, const Entry& e) {
  TRIAD_ASSIGN_OR_RETURN(std::string p,
                         base::Annotate(fs.Read(e.Attr("provider"), kMaxSmallAttribute),
                                        "configfs-tsm: reading provider"));
  return std::string(absl::StripAsciiWhitespace(p));
}

absl::StatusOr<uint64_t> ReadGeneration(const TsmFs& fs, const Entry& e) {
  TRIAD_ASSIGN_OR_RETURN(std::string g,
                         base::Annotate(fs.Read(e.Attr("generation"), kMaxSmallAttribute),
                                        "configfs-tsm: reading generation"));
  uint64_t v = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(g), &v)) {
    return absl::InternalError(
        absl::StrCat("configfs-tsm: ", e.Attr("generation"), " is not a number"));
  }
  return v;
}

class ConfigfsTsmAttester final : public Attester {
 public:
  ConfigfsTsmAttester(const TsmFs& fs, std::string report_dir, std::string provider,
                      std::string tee)
      : fs_(fs),
        report_dir_(std::move(report_dir)),
        provider_(std::move(provider)),
        tee_(std::move(tee)) {}

  const std::string& tee() const override { return tee_; }

  absl::StatusOr<Evidence> Attest(absl::string_view report_data) const override {
    if (report_data.size() != 64) {
      return absl::InvalidArgumentError(
          absl::StrCat("report data must be 64 bytes, got ", report_data.size()));
    }
    TRIAD_ASSIGN_OR_RETURN(Entry entry, Entry::Create(fs_, report_dir_));
    TRIAD_ASSIGN_OR_RETURN(std::string provider, ReadProvider(fs_, entry));
    if (provider != provider_) {
      return absl::FailedPreconditionError(absl::StrCat(
          "configfs-tsm: provider changed from ", provider_, " to ", absl::CEscape(provider)));
    }
    TRIAD_ASSIGN_OR_RETURN(uint64_t before, ReadGeneration(fs_, entry));
    TRIAD_RETURN_IF_ERROR(
        base::Annotate(fs_.Write(entry.Attr("inblob"), report_data), "configfs-tsm"));
    Evidence ev;
    ev.tee = tee_;
    TRIAD_ASSIGN_OR_RETURN(ev.report,
                           base::Annotate(fs_.Read(entry.Attr("outblob"), kMaxOutblobSize),
                                          "configfs-tsm: reading outblob"));
    if (tee_ == contracts::kTeeSevSnp) {
      absl::StatusOr<std::string> aux = fs_.Read(entry.Attr("auxblob"), kMaxAuxblobSize);
      if (aux.ok()) {
        ev.certs = std::move(*aux);
      } else if (!absl::IsNotFound(aux.status())) {
        return base::Annotate(aux.status(), "configfs-tsm: reading auxblob");
      }
    }
    TRIAD_ASSIGN_OR_RETURN(uint64_t after, ReadGeneration(fs_, entry));
    if (after != before + 1) {
      return absl::AbortedError(absl::StrCat(
          "configfs-tsm: report entry ", entry.path(),
          " was written by someone else while in use (generation ", before, " before our write, ",
          after, " after reading outblob; expected ", before + 1, "); retry"));
    }
    if (ev.report.empty()) return absl::InternalError("configfs-tsm: outblob is empty");
    if (tee_ == contracts::kTeeSevSnp) TRIAD_RETURN_IF_ERROR(CheckSnp(ev, report_data));
    return ev;
  }

 private:
  // The worker checks what the kernel gave it before handing it on, so a broken host shows up here
  // with a clear message rather than as a rejection at the coordinator.
  static absl::Status CheckSnp(const Evidence& ev, absl::string_view report_data) {
    TRIAD_ASSIGN_OR_RETURN(
        internal::SnpReport r,
        base::Annotate(internal::ParseSnpReport(ev.report), "configfs-tsm: outblob"));
    if (r.report_data != report_data) {
      return absl::InternalError("configfs-tsm: outblob REPORT_DATA is not the inblob written");
    }
    if (!ev.certs.empty()) {
      // An all-zero auxblob means the host supplied no certificates.
      if (ev.certs.find_first_not_of('\0') == std::string::npos) return absl::OkStatus();
      TRIAD_RETURN_IF_ERROR(
          base::Annotate(internal::ParseSnpCertTable(ev.certs).status(), "configfs-tsm: auxblob"));
    }
    return absl::OkStatus();
  }

  const TsmFs& fs_;
  std::string report_dir_;
  std::string provider_;
  std::string tee_;
};

class SimAttester final : public Attester {
 public:
  SimAttester(crypto::Ed25519PrivateKey key, std::string measurement, SimAttesterOptions options)
      : key_(std::move(key)), measurement_(std::move(measurement)), options_(std::move(options)) {}

  const std::string& tee() const override { return tee_; }

  absl::StatusOr<Evidence> Attest(absl::string_view report_data) const override {
    if (report_data.size() != 64) {
      return absl::InvalidArgumentError(
          absl::StrCat("report data must be 64 bytes, got ", report_data.size()));
    }
    SimEvidenceFields f;
    f.report_data = std::string(report_data);
    f.measurement = measurement_;
    f.tcb_status = options_.tcb_status;
    f.debug = options_.debug;
    Evidence ev;
    ev.tee = tee_;
    TRIAD_ASSIGN_OR_RETURN(ev.report, MakeSimEvidence(key_, f));
    return ev;
  }

 private:
  const std::string tee_ = contracts::kTeeSim;
  crypto::Ed25519PrivateKey key_;
  std::string measurement_;
  SimAttesterOptions options_;
};

}  // namespace

const TsmFs& PosixTsmFs() {
  static const RealTsmFs* fs = new RealTsmFs();
  return *fs;
}

absl::StatusOr<std::unique_ptr<Attester>> NewConfigfsTsmAttester(
    const ConfigfsTsmOptions& options) {
  const TsmFs& fs = options.fs != nullptr ? *options.fs : PosixTsmFs();
  if (!fs.IsDirectory(options.report_dir)) {
    return absl::NotFoundError(
        absl::StrCat("no configfs-tsm attestation provider: ", options.report_dir,
                     " does not exist (not a confidential VM, a kernel without "
                     "CONFIG_TSM_REPORTS, or configfs not mounted)"));
  }
  TRIAD_ASSIGN_OR_RETURN(Entry probe, Entry::Create(fs, options.report_dir));
  TRIAD_ASSIGN_OR_RETURN(std::string provider, ReadProvider(fs, probe));
  TRIAD_ASSIGN_OR_RETURN(std::string tee, TeeOfProvider(provider, probe.Attr("provider")));
  return std::make_unique<ConfigfsTsmAttester>(fs, options.report_dir, std::move(provider),
                                               std::move(tee));
}

absl::StatusOr<std::unique_ptr<Attester>> NewSimAttester(crypto::Ed25519PrivateKey key,
                                                         const SimAttesterOptions& options) {
  TRIAD_ASSIGN_OR_RETURN(std::string measurement, MeasureExecutable(options.executable));
  SimEvidenceFields check;  // fail now, not at the first Attest, on a bad status
  check.report_data.assign(64, '\0');
  check.measurement = measurement;
  check.tcb_status = options.tcb_status;
  TRIAD_RETURN_IF_ERROR(MakeSimEvidence(key, check).status());
  return std::make_unique<SimAttester>(std::move(key), std::move(measurement), options);
}

absl::StatusOr<std::unique_ptr<Attester>> NewAttester(absl::string_view tee,
                                                      const AttesterConfig& config) {
  if (tee == contracts::kTeeSim) {
    if (config.sim_key_file.empty()) {
      return absl::InvalidArgumentError(
          "--tee sim needs a simulation key file (Ed25519 PKCS#8 PEM)");
    }
    TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key,
                           crypto::Ed25519PrivateKey::FromPemFile(config.sim_key_file));
    return NewSimAttester(std::move(key), config.sim);
  }
  if (tee == kTeeCoco) return NewCocoAttester(config.coco);
  if (tee != "auto" && tee != contracts::kTeeSevSnp && tee != contracts::kTeeTdx) {
    return absl::InvalidArgumentError(absl::StrCat("unknown --tee \"", absl::CEscape(tee),
                                                   "\" (expected auto, sev-snp, tdx, sim or coco)"));
  }
  absl::StatusOr<std::unique_ptr<Attester>> a = NewConfigfsTsmAttester(config.tsm);
  if (!a.ok()) {
    if (tee == "auto" && absl::IsNotFound(a.status())) {
      return absl::NotFoundError(
          absl::StrCat("--tee auto: ", a.status().message(),
                       "; Triad never falls back to sim: use --tee sim for development"));
    }
    return base::Annotate(a.status(), absl::StrCat("--tee ", tee));
  }
  if (tee != "auto" && (*a)->tee() != tee) {
    return absl::FailedPreconditionError(
        absl::StrCat("--tee ", tee, ": this machine's attestation provider is ", (*a)->tee()));
  }
  return a;
}

}  // namespace triad::attestation
