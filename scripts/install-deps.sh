#!/usr/bin/env bash
# Installs the Debian 12 packages Triad builds, tests and runs with. Idempotent: asks dpkg which are
# missing, runs `apt-get update` only when something must be installed, and installs only those.
#   scripts/install-deps.sh          everything the build and the test suite need
#   scripts/install-deps.sh --bench  also the peers the benchmarks compare against
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libssl-dev openssl
  libabsl-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libsqlite3-dev
  libtorch-dev
  libopenblas0-openmp   # Debian's LibTorch calls the system BLAS: OpenBLAS instead of the reference one (~20x)
  libgtest-dev libgmock-dev libbenchmark-dev
  zlib1g-dev                 # the age test kit's compressed vectors
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libarchive-dev libpcre2-dev libutf8proc-dev
  age jq                     # interop tests; the quickstart
  python3-jsonschema json-schema-test-suite   # outside references for the contract schema tests
  clang libclang-rt-14-dev   # libFuzzer targets
  golang-go golang-golang-x-mod-dev   # outside reference for signed notes and cosignatures
)
# tests/deploy renders the Kubernetes manifests with `kubectl kustomize`: Debian's kubectl
# (kubernetes-client, kustomize v2.0.3) unless a kubectl is already installed (deploy/ renders the
# same with both).
if ! command -v kubectl >/dev/null; then
  packages+=(kubernetes-client)
fi
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(python3-torch hyperfine)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
