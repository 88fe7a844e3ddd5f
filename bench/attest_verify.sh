#!/usr/bin/env bash
# Attestation verifications per second (Google Benchmark, bench/attest_verify_bench.cc): full SEV-SNP
# verification of real evidence from testdata/attestation (VCEK Milan, VLEK Milan, VCEK
# Genoa as PEM; 1 and 2 threads), the report parser alone, sim evidence, and full Intel TDX DCAP
# verification of real quotes at their MANIFEST times (bench/tdx_verify_bench.cc; collateral parsed once
# beforehand, or parsed every time from its JSON). Writes
# bench/results/attest_verify-<UTC time>.json (Google Benchmark's own output) and a .md summary.
#
#   bench/attest_verify.sh                    5 repetitions, medians reported
#   TRIAD_BENCH_REPETITIONS=3 bench/attest_verify.sh
#   TRIAD_BUILD_DIR=build-foo bench/attest_verify.sh
#
# The machine may be shared: the summary records `uptime` before and after, and the CPU. Figures taken
# under load are not comparable with figures from a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${TRIAD_BUILD_DIR:-build}
reps=${TRIAD_BENCH_REPETITIONS:-5}
benches=(attest_verify_bench tdx_verify_bench)
command -v jq >/dev/null || { echo "attest_verify: jq is missing; run scripts/install-deps.sh --bench" >&2; exit 1; }
scripts/configure.sh "$build" -DTRIAD_WITH_BENCH=ON
cmake --build "$build" --target "${benches[@]}" >/dev/null
for b in "${benches[@]}"; do
  [[ -x "$build/bench/$b" ]] || { echo "attest_verify: $build/bench/$b was not built (configure with -DTRIAD_WITH_BENCH=ON)" >&2; exit 1; }
done

mkdir -p bench/results
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
json="bench/results/attest_verify-$stamp.json"
md="bench/results/attest_verify-$stamp.md"
load_before=$(uptime)
parts=()
for b in "${benches[@]}"; do
  "$build/bench/$b" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
    --benchmark_out="$json.$b" --benchmark_out_format=json
  parts+=("$json.$b")
done
jq -s '{context: .[0].context, benchmarks: (map(.benchmarks) | add)}' "${parts[@]}" >"$json"
rm -f "${parts[@]}"
load_after=$(uptime)

{
  echo "# Attestation verification throughput ($stamp)"
  echo
  echo "- host: $(uname -n), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- attestation bench || echo ' (+ local changes)')"
  echo "- OpenSSL: $(openssl version)"
  echo "- load before: $load_before"
  echo "- load after:  $load_after"
  echo "- $reps repetitions; medians. The wall-clock rate is what this machine delivered under the load"
  echo "  above (for 2 threads: both together); the per-CPU-second rate (1 / CPU time per item, per thread)"
  echo "  is less sensitive to other processes on a shared machine."
  echo
  echo "| benchmark | verifications/s, wall clock | verifications per CPU-second | wall time / item | CPU time / item |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  jq -r '.benchmarks[] | select(.aggregate_name == "median") |
         (if .time_unit == "ns" then 1e9 elif .time_unit == "us" then 1e6 elif .time_unit == "ms" then 1e3 else 1 end) as $per_s |
         "| \(.run_name) | \(.items_per_second | floor) | \($per_s / .cpu_time | floor) | \(.real_time | . * 100 | floor / 100) \(.time_unit) | \(.cpu_time | . * 100 | floor / 100) \(.time_unit) |"' "$json"
} >"$md"
cat "$md"
