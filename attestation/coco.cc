#include "attestation/coco.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "attestation/internal/snp_report.h"
#include "attestation/internal/tdx_quote.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/json.h"
#include "base/status.h"
#include "contracts/claims.h"
#include "measure/coco.h"

namespace triad::attestation {
namespace {

using Json = nlohmann::json;

// ---- the AA's evidence JSON -----------------------------------------------------------------------

// A JSON array of byte values (serde's form of [u8; N]) of exactly `size` bytes.
absl::StatusOr<std::string> ByteArray(const Json& j, const char* key, size_t size) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array() || it->size() != size) {
    return absl::InvalidArgumentError(
        absl::StrCat("coco: attestation_report.", key, " must be an array of ", size, " bytes"));
  }
  std::string out;
  for (const Json& b : *it) {
    if (!b.is_number_unsigned() || b.get<uint64_t>() > 255) {
      return absl::InvalidArgumentError(
          absl::StrCat("coco: attestation_report.", key, " holds a value that is not a byte"));
    }
    out.push_back(static_cast<char>(b.get<uint64_t>()));
  }
  return out;
}

absl::StatusOr<uint64_t> Uint(const Json& j, const char* key, uint64_t max, bool optional = false) {
  auto it = j.find(key);
  if ((it == j.end() || it->is_null()) && optional) return 0;
  if (it == j.end() || !it->is_number_unsigned() || it->get<uint64_t>() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("coco: attestation_report.", key, " must be an integer up to ", max));
  }
  return it->get<uint64_t>();
}

void Put(std::string& r, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) r[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// The sev crate's TcbVersion {fmc, bootloader, tee, snp, microcode} in the report's 8-byte form
// (ABI "TCB_VERSION"): Turin (fmc present) FMC, BOOT_LOADER, TEE, SNP at bytes 0..3; Milan and
// Genoa BOOT_LOADER, TEE at 0..1 and SNP at 6; MICROCODE at 7 in both. Reserved bytes are zero.
absl::StatusOr<uint64_t> Tcb(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("coco: attestation_report.", key,
                                                   " must be an object"));
  }
  const Json& t = *it;
  TRIAD_ASSIGN_OR_RETURN(uint64_t bl, Uint(t, "bootloader", 255));
  TRIAD_ASSIGN_OR_RETURN(uint64_t tee, Uint(t, "tee", 255));
  TRIAD_ASSIGN_OR_RETURN(uint64_t snp, Uint(t, "snp", 255));
  TRIAD_ASSIGN_OR_RETURN(uint64_t ucode, Uint(t, "microcode", 255));
  const bool turin = t.contains("fmc") && !t["fmc"].is_null();
  if (turin) {
    TRIAD_ASSIGN_OR_RETURN(uint64_t fmc, Uint(t, "fmc", 255));
    return fmc | bl << 8 | tee << 16 | snp << 24 | ucode << 56;
  }
  return bl | tee << 8 | snp << 48 | ucode << 56;
}

absl::StatusOr<std::string> SnpReportFromJson(const Json& r) {
  std::string b(internal::kSnpReportSize, '\0');
  struct U {
    const char* key;
    size_t at;
    int bytes;
    bool optional;
  };
  // ABI Table 22/23 offsets.
  for (const U& u : {U{"version", 0x000, 4, false}, U{"guest_svn", 0x004, 4, false},
                     U{"policy", 0x008, 8, false}, U{"vmpl", 0x030, 4, false},
                     U{"sig_algo", 0x034, 4, false}, U{"plat_info", 0x040, 8, false},
                     U{"key_info", 0x048, 4, false}, U{"cpuid_fam_id", 0x188, 1, true},
                     U{"cpuid_mod_id", 0x189, 1, true}, U{"cpuid_step", 0x18A, 1, true},
                     U{"launch_mit_vector", 0x1F8, 8, true},
                     U{"current_mit_vector", 0x200, 8, true}}) {
    const uint64_t max = u.bytes == 8 ? UINT64_MAX : (1ULL << (8 * u.bytes)) - 1;
    TRIAD_ASSIGN_OR_RETURN(uint64_t v, Uint(r, u.key, max, u.optional));
    Put(b, u.at, v, u.bytes);
  }
  struct A {
    const char* key;
    size_t at;
    size_t size;
  };
  for (const A& a : {A{"family_id", 0x010, 16}, A{"image_id", 0x020, 16},
                     A{"report_data", 0x050, 64}, A{"measurement", 0x090, 48},
                     A{"host_data", 0x0C0, 32}, A{"id_key_digest", 0x0E0, 48},
                     A{"author_key_digest", 0x110, 48}, A{"report_id", 0x140, 32},
                     A{"report_id_ma", 0x160, 32}, A{"chip_id", 0x1A0, 64}}) {
    TRIAD_ASSIGN_OR_RETURN(std::string v, ByteArray(r, a.key, a.size));
    b.replace(a.at, a.size, v);
  }
  for (const A& t : {A{"current_tcb", 0x038, 8}, A{"reported_tcb", 0x180, 8},
                     A{"committed_tcb", 0x1E0, 8}, A{"launch_tcb", 0x1F0, 8}}) {
    TRIAD_ASSIGN_OR_RETURN(uint64_t v, Tcb(r, t.key));
    Put(b, t.at, v, 8);
  }
  // CURRENT_BUILD/MINOR/MAJOR at 0x1E8, COMMITTED_* at 0x1EC (the crate's Version {major, minor,
  // build}).
  for (const A& v : {A{"current", 0x1E8, 3}, A{"committed", 0x1EC, 3}}) {
    auto it = r.find(v.key);
    if (it == r.end() || !it->is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("coco: attestation_report.", v.key, " must be an object"));
    }
    TRIAD_ASSIGN_OR_RETURN(uint64_t build, Uint(*it, "build", 255));
    TRIAD_ASSIGN_OR_RETURN(uint64_t minor, Uint(*it, "minor", 255));
    TRIAD_ASSIGN_OR_RETURN(uint64_t major, Uint(*it, "major", 255));
    Put(b, v.at, build | minor << 8 | major << 16, 3);
  }
  auto sig = r.find("signature");
  if (sig == r.end() || !sig->is_object()) {
    return absl::InvalidArgumentError("coco: attestation_report.signature must be an object");
  }
  // SIGNATURE at 0x2A0: R then S, 72 bytes each, little-endian, zero-extended (ABI "ECDSA P-384").
  TRIAD_ASSIGN_OR_RETURN(std::string sr, ByteArray(*sig, "r", 72));
  TRIAD_ASSIGN_OR_RETURN(std::string ss, ByteArray(*sig, "s", 72));
  b.replace(0x2A0, 72, sr);
  b.replace(0x2E8, 72, ss);
  return b;
}

std::string Pem(const std::string& der) {
  const std::string b64 = base::Base64Encode(der);
  std::string out = "-----BEGIN CERTIFICATE-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) absl::StrAppend(&out, b64.substr(i, 64), "\n");
  return out + "-----END CERTIFICATE-----\n";
}

// The AA's cert_chain as a PEM bundle, the VCEK or VLEK first (the SNP verifier's `certs` form;
// the others are only ever intermediates there).
absl::StatusOr<std::string> SnpCerts(const Json& chain) {
  if (chain.is_null()) return std::string();
  if (!chain.is_array() || chain.size() > 8) {
    return absl::InvalidArgumentError("coco: cert_chain must be an array of at most 8 entries");
  }
  std::string leaf, rest;
  for (const Json& e : chain) {
    if (!e.is_object() || !e.contains("data")) {
      return absl::InvalidArgumentError("coco: a cert_chain entry has no data");
    }
    const std::string type = e.contains("cert_type") && e["cert_type"].is_string()
                                 ? e["cert_type"].get<std::string>()
                                 : "";
    std::string der;
    for (const Json& v : e["data"]) {
      if (!v.is_number_unsigned() || v.get<uint64_t>() > 255) {
        return absl::InvalidArgumentError("coco: cert_chain data holds a value that is not a byte");
      }
      der.push_back(static_cast<char>(v.get<uint64_t>()));
    }
    if (type == "VCEK" || type == "VLEK") {
      if (!leaf.empty()) return absl::InvalidArgumentError("coco: cert_chain has two VCEK/VLEKs");
      leaf = Pem(der);
    } else if (type == "ASK" || type == "ARK" || type == "ASVK") {
      rest += Pem(der);
    }  // CRLs and vendor-specific entries are not certificates of the chain
  }
  return leaf.empty() ? rest : leaf + rest;
}

// ---- the HTTP request ------------------------------------------------------------------------------

struct Endpoint {
  int family = AF_INET;
  std::string address;  // numeric
  uint16_t port = 0;
  std::string host;     // for the Host header
};

absl::StatusOr<Endpoint> ParseAgent(absl::string_view url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("coco attestation agent \"", url, "\": expected http://HOST:PORT"));
  }
  absl::ConsumeSuffix(&rest, "/");
  const size_t colon = rest.rfind(':');
  uint32_t port = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(colon + 1), &port) ||
      port == 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("coco attestation agent \"", url, "\": expected http://HOST:PORT"));
  }
  Endpoint e;
  e.port = static_cast<uint16_t>(port);
  e.host = std::string(rest);
  absl::string_view host = rest.substr(0, colon);
  if (host == "127.0.0.1" || host == "localhost") {
    e.address = "127.0.0.1";
  } else if (host == "[::1]") {
    e.family = AF_INET6;
    e.address = "::1";
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "coco attestation agent \"", url,
        "\": the agent runs in the pod; its address must be loopback (127.0.0.1, localhost, [::1])"));
  }
  return e;
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::Status WaitFor(int fd, short events, absl::Time deadline, const std::string& what) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::UnavailableError(absl::StrCat(what, ": timed out"));
    }
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::ErrnoStatus(errno, what);
    if (n > 0) return absl::OkStatus();
  }
}

absl::StatusOr<std::string> Get(const Endpoint& e, const std::string& target,
                                absl::Duration timeout) {
  const std::string what = absl::StrCat("coco attestation agent at http://", e.host);
  const absl::Time deadline = absl::Now() + timeout;
  Socket s(::socket(e.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (s.get() < 0) return base::ErrnoStatus(errno, what);
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (e.family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(e.port);
    ::inet_pton(AF_INET, e.address.c_str(), &a->sin_addr);
    len = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(e.port);
    ::inet_pton(AF_INET6, e.address.c_str(), &a->sin6_addr);
    len = sizeof(sockaddr_in6);
  }
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    if (errno != EINPROGRESS) {
      return absl::UnavailableError(absl::StrCat(what, ": cannot connect: ", std::strerror(errno),
                                                 " (is the pod a CoCo pod with the agent's REST "
                                                 "API enabled?)"));
    }
    TRIAD_RETURN_IF_ERROR(WaitFor(s.get(), POLLOUT, deadline, absl::StrCat(what, ": connecting")));
    int err = 0;
    socklen_t el = sizeof err;
    ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) {
      return absl::UnavailableError(absl::StrCat(what, ": cannot connect: ", std::strerror(err),
                                                 " (is the pod a CoCo pod with the agent's REST "
                                                 "API enabled?)"));
    }
  }
  const std::string request = absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: ", e.host,
                                            "\r\nAccept: */*\r\nConnection: close\r\n\r\n");
  absl::string_view out = request;
  while (!out.empty()) {
    TRIAD_RETURN_IF_ERROR(WaitFor(s.get(), POLLOUT, deadline, absl::StrCat(what, ": sending")));
    ssize_t n = ::send(s.get(), out.data(), out.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return absl::UnavailableError(absl::StrCat(what, ": sending: ", std::strerror(errno)));
    out.remove_prefix(static_cast<size_t>(n));
  }
  std::string in;
  char buf[16384];
  while (true) {
    TRIAD_RETURN_IF_ERROR(WaitFor(s.get(), POLLIN, deadline,
                                  absl::StrCat(what, ": waiting for evidence")));
    ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return absl::UnavailableError(absl::StrCat(what, ": reading: ", std::strerror(errno)));
    if (n == 0) break;
    in.append(buf, static_cast<size_t>(n));
    if (in.size() > kMaxCocoResponse + 16384) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": the answer is larger than ", kMaxCocoResponse, " bytes"));
    }
  }
  // Status line, headers, body (Content-Length, chunked, or up to the close).
  const size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos || !absl::StartsWith(in, "HTTP/1.")) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": the answer is not HTTP"));
  }
  std::vector<absl::string_view> lines = absl::StrSplit(absl::string_view(in).substr(0, end), "\r\n");
  std::vector<absl::string_view> status = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  int code = 0;
  if (status.size() < 2 || !absl::SimpleAtoi(status[1], &code)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": the answer is not HTTP"));
  }
  bool chunked = false;
  std::optional<size_t> length;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t c = lines[i].find(':');
    if (c == absl::string_view::npos) continue;
    const std::string name = absl::AsciiStrToLower(lines[i].substr(0, c));
    const absl::string_view value = absl::StripAsciiWhitespace(lines[i].substr(c + 1));
    size_t v = 0;
    if (name == "content-length" && absl::SimpleAtoi(value, &v)) length = v;
    if (name == "transfer-encoding" && absl::AsciiStrToLower(value) == "chunked") chunked = true;
  }
  std::string body = in.substr(end + 4);
  if (chunked) {
    std::string joined;
    absl::string_view rest = body;
    while (true) {
      const size_t eol = rest.find("\r\n");
      size_t n = 0;
      if (eol == absl::string_view::npos ||
          !absl::SimpleHexAtoi(rest.substr(0, rest.substr(0, eol).find(';')), &n) ||
          n > rest.size() - eol - 2) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": malformed chunked body"));
      }
      if (n == 0) break;
      joined.append(rest.data() + eol + 2, n);
      rest.remove_prefix(eol + 2 + n);
      if (!absl::ConsumePrefix(&rest, "\r\n")) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": malformed chunked body"));
      }
    }
    body = std::move(joined);
  } else if (length) {
    if (body.size() < *length) {
      return absl::UnavailableError(absl::StrCat(what, ": the answer was cut short"));
    }
    body.resize(*length);
  }
  if (code != 200) {
    return absl::InternalError(absl::StrCat(what, " answered HTTP ", code, ": ",
                                            absl::CHexEscape(body.substr(0, 200))));
  }
  return body;
}

// The report data inside evidence the agent returned.
absl::StatusOr<std::string> ReportDataOf(const Evidence& ev) {
  if (ev.tee == contracts::kTeeSevSnp) {
    TRIAD_ASSIGN_OR_RETURN(internal::SnpReport r, internal::ParseSnpReport(ev.report));
    return r.report_data;
  }
  TRIAD_ASSIGN_OR_RETURN(internal::TdxQuote q, internal::ParseTdxQuote(ev.report));
  return q.body.report_data;
}

absl::StatusOr<std::string> InitDataFieldOf(const Evidence& ev) {
  if (ev.tee == contracts::kTeeSevSnp) {
    TRIAD_ASSIGN_OR_RETURN(internal::SnpReport r, internal::ParseSnpReport(ev.report));
    return r.host_data;
  }
  TRIAD_ASSIGN_OR_RETURN(internal::TdxQuote q, internal::ParseTdxQuote(ev.report));
  return q.body.mr_config_id;
}

// Checks `initdata` against the TEE's field; returns the claims it gives.
absl::StatusOr<contracts::CocoClaims> BindInitData(const std::string& tee, const std::string& field,
                                                   const std::string& initdata) {
  TRIAD_ASSIGN_OR_RETURN(measure::InitData d, measure::ParseInitData(initdata));
  const std::string digest = measure::InitDataDigest(d);
  const bool snp = tee == contracts::kTeeSevSnp;
  const std::string fitted = snp ? measure::SnpHostData(digest) : measure::TdxMrConfigId(digest);
  if (field != fitted) {
    return absl::InvalidArgumentError(absl::StrCat(
        "coco: the init-data that came with the evidence is not the one the TEE was started with: ",
        snp ? "HOST_DATA " : "MRCONFIGID ", base::HexEncode(field), ", digest of the init-data ",
        base::HexEncode(fitted)));
  }
  TRIAD_ASSIGN_OR_RETURN(measure::WorkerPin pin, measure::ReadWorkerPin(d));
  contracts::CocoClaims c;
  c.initdata_algorithm = d.algorithm;
  c.initdata_digest = digest;
  c.image = pin.image;
  c.image_digest = pin.image_digest();
  return c;
}

class CocoAttester final : public Attester {
 public:
  CocoAttester(Endpoint endpoint, CocoAttesterOptions options, std::string initdata)
      : endpoint_(std::move(endpoint)), options_(std::move(options)), initdata_(std::move(initdata)) {}

  const std::string& tee() const override { return tee_; }

  absl::StatusOr<Evidence> Attest(absl::string_view report_data) const override {
    if (report_data.size() != 64) {
      return absl::InvalidArgumentError(
          absl::StrCat("report data must be 64 bytes, got ", report_data.size()));
    }
    // The binding goes as base64url without padding (api-server-rest's encoding=base64).
    std::string b64 = base::Base64Encode(report_data, base::Base64Padding::kWithout);
    for (char& c : b64) c = c == '+' ? '-' : c == '/' ? '_' : c;
    TRIAD_ASSIGN_OR_RETURN(
        std::string body,
        Get(endpoint_, absl::StrCat("/aa/evidence?runtime_data=", b64, "&encoding=base64"),
            options_.timeout));
    TRIAD_ASSIGN_OR_RETURN(Evidence ev, EvidenceFromCocoAgent(body));
    if (!tee_.empty() && ev.tee != tee_) {
      return absl::InternalError(absl::StrCat("coco: the attestation agent answered ", ev.tee,
                                              " evidence after ", tee_, " evidence"));
    }
    TRIAD_ASSIGN_OR_RETURN(std::string got, ReportDataOf(ev));
    if (got != report_data) {
      return absl::InvalidArgumentError(absl::StrCat(
          "coco: the attestation agent returned evidence for other runtime data (report data ",
          base::HexEncode(got).substr(0, 32), "…, asked for ",
          base::HexEncode(report_data).substr(0, 32),
          "…); refusing it (an agent without encoding=base64 support, or a replay)"));
    }
    ev.initdata = initdata_;
    return ev;
  }

  // The first request: learns the TEE and checks the init-data against the hardware.
  absl::Status Probe() {
    TRIAD_ASSIGN_OR_RETURN(Evidence ev, Attest(std::string(64, '\0')));
    TRIAD_ASSIGN_OR_RETURN(std::string field, InitDataFieldOf(ev));
    TRIAD_RETURN_IF_ERROR(BindInitData(ev.tee, field, initdata_).status());
    tee_ = ev.tee;
    return absl::OkStatus();
  }

 private:
  Endpoint endpoint_;
  CocoAttesterOptions options_;
  std::string initdata_;
  std::string tee_;
};

}  // namespace

absl::StatusOr<Evidence> EvidenceFromCocoAgent(absl::string_view json) {
  base::JsonLimits limits;
  limits.max_bytes = kMaxCocoResponse;
  limits.max_depth = 6;
  absl::StatusOr<Json> j = base::ParseJsonStrict(json, limits);
  if (!j.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "coco: the attestation agent's answer is not JSON evidence (", j.status().message(), ")"));
  }
  if (!j->is_object()) {
    return absl::InvalidArgumentError("coco: the attestation agent's answer is not a JSON object");
  }
  Evidence ev;
  if (j->contains("attestation_report")) {
    ev.tee = contracts::kTeeSevSnp;
    const Json& r = (*j)["attestation_report"];
    if (!r.is_object()) {
      return absl::InvalidArgumentError("coco: attestation_report must be an object");
    }
    TRIAD_ASSIGN_OR_RETURN(ev.report, SnpReportFromJson(r));
    TRIAD_ASSIGN_OR_RETURN(ev.certs, SnpCerts(j->value("cert_chain", Json())));
    TRIAD_RETURN_IF_ERROR(
        base::Annotate(internal::ParseSnpReport(ev.report).status(), "coco: SNP report"));
    return ev;
  }
  if (j->contains("quote")) {
    ev.tee = contracts::kTeeTdx;
    if (!(*j)["quote"].is_string()) {
      return absl::InvalidArgumentError("coco: quote must be a base64 string");
    }
    absl::StatusOr<std::string> q = base::Base64Decode((*j)["quote"].get<std::string>());
    if (!q.ok()) return absl::InvalidArgumentError("coco: quote is not base64");
    ev.report = *std::move(q);
    TRIAD_RETURN_IF_ERROR(
        base::Annotate(internal::ParseTdxQuote(ev.report).status(), "coco: TDX quote"));
    return ev;
  }
  return absl::InvalidArgumentError(
      "coco: the attestation agent's answer is neither SEV-SNP evidence (attestation_report) nor "
      "TDX evidence (quote)");
}

absl::StatusOr<std::unique_ptr<Attester>> NewCocoAttester(const CocoAttesterOptions& options) {
  TRIAD_ASSIGN_OR_RETURN(Endpoint e, ParseAgent(options.agent));
  TRIAD_ASSIGN_OR_RETURN(
      std::string initdata,
      base::Annotate(base::ReadFile(options.initdata_file, measure::kMaxInitDataSize),
                     absl::StrCat("--tee coco: reading the pod's init-data ", options.initdata_file)));
  TRIAD_ASSIGN_OR_RETURN(measure::InitData d,
                         base::Annotate(measure::ParseInitData(initdata),
                                        absl::StrCat("--tee coco: ", options.initdata_file)));
  TRIAD_RETURN_IF_ERROR(base::Annotate(measure::ReadWorkerPin(d).status(),
                                       absl::StrCat("--tee coco: ", options.initdata_file)));
  auto a = std::make_unique<CocoAttester>(std::move(e), options, std::move(initdata));
  TRIAD_RETURN_IF_ERROR(base::Annotate(a->Probe(), "--tee coco"));
  return std::unique_ptr<Attester>(std::move(a));
}

absl::Status AddCocoClaims(const Evidence& evidence, contracts::Claims* claims) {
  if (evidence.initdata.empty()) return absl::OkStatus();
  const std::string* field = nullptr;
  if (claims->tee == contracts::kTeeSevSnp && claims->snp) field = &claims->snp->host_data;
  if (claims->tee == contracts::kTeeTdx && claims->tdx) field = &claims->tdx->mr_config_id;
  if (field == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "coco: init-data came with ", claims->tee, " evidence; it binds only to sev-snp or tdx"));
  }
  TRIAD_ASSIGN_OR_RETURN(contracts::CocoClaims c, BindInitData(claims->tee, *field, evidence.initdata));
  claims->coco = std::move(c);
  return absl::OkStatus();
}

}  // namespace triad::attestation
