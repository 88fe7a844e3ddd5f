#!/usr/bin/env bash
# Puts the trainer's non-LibTorch build dependencies into bench/gpu/deps/ (git-ignored), to be carried
# with a run on a machine that has a CUDA PyTorch and no package registry: nlohmann's header-only
# JSON and googletest's source (built there by trainer/CMakeLists.txt). From this machine's Debian
# packages (nlohmann-json3-dev, googletest).
set -euo pipefail
cd "$(dirname "$0")"
rm -rf deps
mkdir -p deps
cp -r /usr/include/nlohmann deps/nlohmann
cp -r /usr/src/googletest deps/googletest
echo "bench/gpu/deps: nlohmann $(grep -m1 'NLOHMANN_JSON_VERSION_MAJOR ' deps/nlohmann/json.hpp | awk '{print $3}').x," \
  "googletest $(sed -n 's/^set(GOOGLETEST_VERSION \(.*\))/\1/p' deps/googletest/CMakeLists.txt);" \
  "$(du -sh deps | cut -f1)"
