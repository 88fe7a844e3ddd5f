#include "crypto/internal/bech32.h"

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace triad::crypto::internal {
namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

uint32_t PolyMod(const std::vector<uint8_t>& values) {
  static constexpr uint32_t kGen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t chk = 1;
  for (uint8_t v : values) {
    uint8_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; ++i) {
      if ((top >> i) & 1) chk ^= kGen[i];
    }
  }
  return chk;
}

std::vector<uint8_t> HrpExpand(absl::string_view hrp) {
  std::vector<uint8_t> out;
  out.reserve(hrp.size() * 2 + 1);
  for (char c : hrp) out.push_back(static_cast<uint8_t>(c) >> 5);
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<uint8_t>(c) & 31);
  return out;
}

// Regroups bits; with `pad` the last group is zero-padded, without it leftover bits must be zero and
// fewer than `from`.
bool ConvertBits(const std::vector<uint8_t>& in, int from, int to, bool pad, std::vector<uint8_t>* out) {
  uint32_t acc = 0;
  int bits = 0;
  const uint32_t maxv = (1u << to) - 1;
  for (uint8_t v : in) {
    if ((v >> from) != 0) return false;
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out->push_back(static_cast<uint8_t>((acc >> bits) & maxv));
    }
  }
  if (pad) {
    if (bits > 0) out->push_back(static_cast<uint8_t>((acc << (to - bits)) & maxv));
  } else if (bits >= from || ((acc << (to - bits)) & maxv) != 0) {
    return false;
  }
  return true;
}

}  // namespace

SecretBytes Bech32Encode(absl::string_view hrp, absl::string_view data) {
  std::string lower_hrp;
  for (char c : hrp) lower_hrp.push_back(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  std::vector<uint8_t> in(data.begin(), data.end());
  std::vector<uint8_t> values;
  values.reserve(data.size() * 8 / 5 + 1);
  ConvertBits(in, 8, 5, true, &values);
  std::vector<uint8_t> chk_in = HrpExpand(lower_hrp);
  chk_in.reserve(chk_in.size() + values.size() + 6);
  chk_in.insert(chk_in.end(), values.begin(), values.end());
  chk_in.insert(chk_in.end(), 6, 0);
  uint32_t mod = PolyMod(chk_in) ^ 1;
  SecretBytes out;
  out.reserve(lower_hrp.size() + 1 + values.size() + 6);
  out.append(lower_hrp);
  out.append("1");
  for (uint8_t v : values) out.append(absl::string_view(&kCharset[v], 1));
  for (int i = 0; i < 6; ++i) out.append(absl::string_view(&kCharset[(mod >> (5 * (5 - i))) & 31], 1));
  SecureWipe(in.data(), in.size());
  SecureWipe(values.data(), values.size());
  SecureWipe(chk_in.data(), chk_in.size());
  return out;
}

absl::StatusOr<Bech32Decoded> Bech32Decode(absl::string_view text) {
  bool has_lower = false, has_upper = false;
  for (char c : text) {
    if (c < 33 || c > 126) return absl::InvalidArgumentError("bech32: invalid character");
    if (c >= 'a' && c <= 'z') has_lower = true;
    if (c >= 'A' && c <= 'Z') has_upper = true;
  }
  if (has_lower && has_upper) return absl::InvalidArgumentError("bech32: mixed case");
  size_t sep = text.rfind('1');
  if (sep == absl::string_view::npos || sep == 0 || sep + 7 > text.size()) {
    return absl::InvalidArgumentError("bech32: separator missing or misplaced");
  }
  // Identities are secret: every intermediate copy is wiped on the way out.
  struct Wiper {
    std::string& s;
    std::vector<uint8_t>& a;
    std::vector<uint8_t>& b;
    ~Wiper() {
      SecureWipe(s.data(), s.size());
      SecureWipe(a.data(), a.size());
      SecureWipe(b.data(), b.size());
    }
  };
  std::string lower(text);
  std::vector<uint8_t> values;
  std::vector<uint8_t> bytes;
  Wiper wiper{lower, values, bytes};
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = c - 'A' + 'a';
  }
  Bech32Decoded out;
  out.hrp = lower.substr(0, sep);
  values.reserve(lower.size());
  for (size_t i = sep + 1; i < lower.size(); ++i) {
    const char* p = nullptr;
    for (const char* q = kCharset; *q; ++q) {
      if (*q == lower[i]) p = q;
    }
    if (p == nullptr) return absl::InvalidArgumentError("bech32: invalid data character");
    values.push_back(static_cast<uint8_t>(p - kCharset));
  }
  std::vector<uint8_t> chk_in = HrpExpand(out.hrp);
  chk_in.insert(chk_in.end(), values.begin(), values.end());
  uint32_t mod = PolyMod(chk_in);
  SecureWipe(chk_in.data(), chk_in.size());
  if (mod != 1) return absl::InvalidArgumentError("bech32: bad checksum");
  values.resize(values.size() - 6);
  bytes.reserve(values.size());
  if (!ConvertBits(values, 5, 8, false, &bytes)) return absl::InvalidArgumentError("bech32: bad padding");
  out.data.append(absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  return out;
}

}  // namespace triad::crypto::internal
