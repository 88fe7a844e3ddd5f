#!/usr/bin/env bash
# The repository builds and tests on its own (issue: a fresh clone with nothing beside it):
#   1. no tracked file refers to a folder outside the repository (the old ../shared test data);
#   2. every test-data folder the build reads is in the tree;
#   3. scripts/configure.sh repairs a build directory that an earlier failed or interrupted configure
#      left behind: a half-written cache, a cache without build.ninja, another generator's cache.
# Run by CTest (repo_self_contained_test); exits non-zero with the reason on the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. The pattern is assembled so that this file does not match itself.
outside='\.\./'"shared"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  hits=$(git grep -n -I -E "$outside|TRIAD_SHARED_DIR|SharedDir\(" -- . ':!tests/repo/self_contained_test.sh' || true)
else
  hits=$(grep -rn -I -E "$outside|TRIAD_SHARED_DIR|SharedDir\(" --exclude-dir='build*' --exclude-dir=.git \
    --exclude=self_contained_test.sh . || true)
fi
[[ -z "$hits" ]] || fail "files refer to a folder outside the repository:"$'\n'"$hits"
echo "ok: no file refers to a folder outside the repository"

# 2.
for d in testdata/age/testkit testdata/attestation/snp testdata/attestation/tdx testdata/attestation/nvidia \
         testdata/attestation/roots testdata/trainer/qwen2_tiny testdata/trainer/tokenizers; do
  [[ -d "$d" ]] || fail "$d is missing"
done
[[ -f testdata/README.md ]] || fail "testdata/README.md (the provenance of the test data) is missing"
echo "ok: the test data is in the tree"

# 3. A small configure (no trainer, tests or benchmarks) in scratch directories.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/triad-configure-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
small=(-DTRIAD_WITH_TRAINER=OFF -DTRIAD_WITH_TESTS=OFF -DTRIAD_WITH_BENCH=OFF)
check_repaired() {
  local name=$1 dir=$2
  scripts/configure.sh "$dir" "${small[@]}" >"$scratch/$name.log" 2>&1 ||
    { cat "$scratch/$name.log" >&2; fail "$name: configure did not repair $dir"; }
  [[ -f "$dir/build.ninja" ]] || fail "$name: no build.ninja after configure"
  grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt" || fail "$name: cache is not Ninja's"
  echo "ok: $name"
}
# A cache cut off half-way by an interrupted run.
mkdir -p "$scratch/half"
printf 'CMAKE_BUILD_TYPE:STRING=Rel' >"$scratch/half/CMakeCache.txt"
check_repaired "half-written cache" "$scratch/half"
# A configure that failed after writing its cache but before build.ninja.
scripts/configure.sh "$scratch/nobuild" "${small[@]}" >/dev/null
rm "$scratch/nobuild/build.ninja"
check_repaired "cache without build.ninja" "$scratch/nobuild"
# A cache another generator wrote.
mkdir -p "$scratch/make"
printf 'CMAKE_GENERATOR:INTERNAL=Unix Makefiles\nCMAKE_HOME_DIRECTORY:INTERNAL=%s\n' "$PWD" >"$scratch/make/CMakeCache.txt"
check_repaired "another generator's cache" "$scratch/make"
# Configuring again when nothing changed gives the same build.ninja (the first reconfigure of a new
# directory may still settle it, so compare the second and third).
scripts/configure.sh "$scratch/make" "${small[@]}" >/dev/null
before=$(sha256sum <"$scratch/make/build.ninja")
scripts/configure.sh "$scratch/make" "${small[@]}" >/dev/null
[[ $(sha256sum <"$scratch/make/build.ninja") == "$before" ]] || fail "configuring again changed build.ninja"
echo "ok: configure again changes nothing"
