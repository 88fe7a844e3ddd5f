// Canary markers for the tests that check plaintext never leaves the worker: a safetensors file with
// the same tensors and a marker in its metadata. Header-only: the tests that include it link
// triad_safetensors.
#ifndef TRIAD_TESTS_TESTING_CANARY_H_
#define TRIAD_TESTS_TESTING_CANARY_H_

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "trainer/safetensors.h"

namespace triad::testing {

// `safetensors` rewritten with __metadata__ {"provenance": marker}; "" (and a test failure) when
// it does not parse.
inline std::string WithProvenanceMarker(const std::string& safetensors, const std::string& marker) {
  auto parsed = trainer::SafetensorsFile::Parse(safetensors);
  EXPECT_TRUE(parsed.ok());
  if (!parsed.ok()) return "";
  std::vector<trainer::TensorToWrite> tensors;
  for (const auto& t : parsed->tensors()) {
    tensors.push_back({t.name, t.dtype, t.shape, std::string(t.data)});
  }
  auto marked = trainer::WriteSafetensors(tensors, {{"provenance", marker}});
  EXPECT_TRUE(marked.ok());
  return marked.ok() ? *marked : "";
}

}  // namespace triad::testing

#endif  // TRIAD_TESTS_TESTING_CANARY_H_
