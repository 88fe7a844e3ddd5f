#!/usr/bin/env bash
# Attestation verifications per second (Google Benchmark), written to
# bench/results/attest_verify-<date>.md with the machine's load before and after (machines are shared).
#   bench/attest_verify.sh [extra benchmark flags]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRIAD_WITH_BENCH=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target tdx_verify_bench
mkdir -p bench/results
out="bench/results/attest_verify-$(date -u +%F).md"
load_before=$(uptime)
results=$("$build/bench/tdx_verify_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_min_time=2 "$@" 2>&1)
load_after=$(uptime)
{
  echo "# Attestation verification throughput, $(date -u +%FT%TZ)"
  echo
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
  echo "- host: $(uname -n), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
  echo "- OpenSSL: $(openssl version)"
  echo "- load before: ${load_before}"
  echo "- load after:  ${load_after}"
  echo
  echo "TDX: real quotes of ../shared/testdata/attestation at their MANIFEST times; every check each"
  echo "time. items_per_second = verifications per second (per process; /threads:2 uses two threads)."
  echo "'ParsedCollateral' = collateral parsed once beforehand; 'CollateralJson' = parsed every time."
  echo
  echo "| benchmark (median of 3) | wall ns | CPU ns | verifications/s (wall) | verifications/s (CPU) |"
  echo "|---|---|---|---|---|"
  echo "$results" | awk '$1 ~ /_median$/ && $3 == "ns" {
      name = $1; sub(/_median$/, "", name);
      printf "| %s | %.0f | %.0f | %.0f | %.0f |\n", name, $2, $4, 1e9 / $2, 1e9 / $4 }'
  echo
  echo "CPU = CPU time of the benchmark thread; on a loaded machine the wall figures include waiting."
  echo
  echo '```'
  echo "$results"
  echo '```'
} > "$out"
echo "wrote $out"
