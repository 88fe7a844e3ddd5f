#!/usr/bin/env bash
# Installs what is missing, builds Triad, and runs every test with CTest. Exits non-zero on any failure.
#   tests/run.sh                 the whole suite (what CI runs)
#   TRIAD_BUILD_DIR=dir          build somewhere else than build/
#   TRIAD_SANITIZE=1             build with ASan and UBSan (in build-asan/ unless TRIAD_BUILD_DIR says)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
sanitize=OFF
build=${TRIAD_BUILD_DIR:-build}
if [[ "${TRIAD_SANITIZE:-0}" == 1 ]]; then
  sanitize=ON
  build=${TRIAD_BUILD_DIR:-build-asan}
fi

scripts/configure.sh "$build" -DCMAKE_BUILD_TYPE=Release -DTRIAD_SANITIZE="$sanitize"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"

# The libFuzzer targets, built with clang, ASan and UBSan, each fuzzed briefly (TRIAD_FUZZ_SECONDS,
# default 10). Long runs: tests/fuzz/run.sh.
fuzz_build=${TRIAD_FUZZ_BUILD_DIR:-build-fuzz}
scripts/configure.sh "$fuzz_build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIAD_FUZZ=ON -DTRIAD_WITH_TRAINER=OFF \
  -DTRIAD_FUZZ_SECONDS="${TRIAD_FUZZ_SECONDS:-10}"
cmake --build "$fuzz_build" -j "$jobs"
ctest --test-dir "$fuzz_build" -L fuzz --output-on-failure -j "$jobs"
