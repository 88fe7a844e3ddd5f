#!/usr/bin/env bash
# The LibTorch-free test suite under AddressSanitizer (with LeakSanitizer) and UndefinedBehavior-
# Sanitizer, results to bench/results/sanitizers-<stamp>.txt: machine, date, command, and CTest's
# verdict for every test. tests/run.sh with TRIAD_SANITIZE=1 does the same for the whole suite with
# the trainer (LibTorch).
#
# Env: TRIAD_BUILD_DIR (build-asan-notorch), JOBS (nproc), TESTS (a space-separated list of test
# targets: only those are built and run, and the results file says it is a subset), WITH_TRAINER
# (OFF; ON builds the trainer with LibTorch, which is not instrumented, for the tests that need it).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TRIAD_BUILD_DIR:-build-asan-notorch}
jobs=${JOBS:-$(nproc)}
trainer=${WITH_TRAINER:-OFF}
[[ "$trainer" == ON || "$trainer" == OFF ]] || { echo "sanitizers.sh: WITH_TRAINER is ON or OFF" >&2; exit 2; }
scripts/configure.sh "$build" -DCMAKE_BUILD_TYPE=Release -DTRIAD_SANITIZE=ON -DTRIAD_WITH_TRAINER="$trainer"
suite="LibTorch-free"
[[ "$trainer" == ON ]] && suite="trainer-enabled (LibTorch itself not instrumented)"
tests=${TESTS:-}
if [[ -n "$tests" ]]; then
  # shellcheck disable=SC2086
  cmake --build "$build" -j "$jobs" --target $tests
  ctest_args=(-R "^($(echo $tests | tr ' ' '|'))\$")
  scope="SUBSET: only $tests (not the whole suite) of the $suite build"
else
  cmake --build "$build" -j "$jobs"
  ctest_args=()
  scope="the whole $suite suite"
fi
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/results/sanitizers-$stamp.txt
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
# halt_on_error: the first report fails the test; detect_leaks: LeakSanitizer at exit.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  ctest --test-dir "$build" --output-on-failure -j "$jobs" "${ctest_args[@]}" >"$log" 2>&1 || rc=$?
{
  echo "# ASan, LeakSanitizer and UBSan on $scope, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "machine: $(uname -srm), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')); load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')"
  echo "command: TESTS=\"$tests\" WITH_TRAINER=$trainer bench/sanitizers.sh (configure $build -DTRIAD_SANITIZE=ON -DTRIAD_WITH_TRAINER=$trainer; ctest -j $jobs ${ctest_args[*]})"
  echo "scope: $scope"
  echo "ctest exit status: $rc"
  echo
  grep -E '^ *[0-9]+/[0-9]+ Test +#|tests passed|tests failed|Total Test time|^\s+[0-9]+ - ' "$log" || true
  if ((rc != 0)); then
    echo
    echo "## sanitizer reports and failures (first 200 lines)"
    grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY:|Failure|FAILED' "$log" | head -200 || true
  fi
} >"$out"
cat "$out"
echo "sanitizers: wrote $out"
exit "$rc"
