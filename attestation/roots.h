// Where the pinned vendor roots Triad ships (attestation/roots/) are found.
#ifndef TRIAD_ATTESTATION_ROOTS_H_
#define TRIAD_ATTESTATION_ROOTS_H_

#include <string>

namespace triad::attestation {

// The environment variable that overrides the roots directory.
inline constexpr char kRootsDirEnv[] = "TRIAD_ROOTS_DIR";

// $TRIAD_ROOTS_DIR when set and not empty; otherwise the attestation/roots/ directory of the source
// tree this binary was built from (its absolute path is baked in at build time).
std::string DefaultRootsDir();

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_ROOTS_H_
