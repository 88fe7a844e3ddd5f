#!/usr/bin/env bash
# What scoped reads and witnessing cost (bench/read_witness_bench.cc): a public read (the transport's
# own cost), a scoped read signed by a party, a refused read, a bundle export, the client's signing,
# and one witness round of an owner's keyholder, through the coordinator's gRPC services on an
# in-process channel. Writes bench/results/read_witness-<UTC time>.md with the machine, date, command and load.
#
#   bench/read_witness.sh                                   2,000 reads, 300 witness rounds
#   TRIAD_BENCH_READS=10000 TRIAD_BENCH_ROUNDS=1000 bench/read_witness.sh
#   TRIAD_BUILD_DIR=build-foo bench/read_witness.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TRIAD_BUILD_DIR:-build}
reads=${TRIAD_BENCH_READS:-2000}
rounds=${TRIAD_BENCH_ROUNDS:-300}
scripts/configure.sh "$build" -DTRIAD_WITH_BENCH=ON
cmake --build "$build" --target read_witness_bench >/dev/null
tmp=${TMPDIR:-/tmp}
load_before=$(uptime | sed 's/.*load average: //')
out=$(TRIAD_BENCH_READS=$reads TRIAD_BENCH_ROUNDS=$rounds "$build/bench/read_witness_bench" \
  --gtest_brief=1 | grep -E '^(\||bundle:|cosignatures|\{)' | sed '/^bundle:/i\\')
load_after=$(uptime | sed 's/.*load average: //')
mkdir -p bench/results
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
file="bench/results/read_witness-$stamp.md"
{
  echo "# Scoped reads and witnessing ($stamp)"
  echo
  echo "- command: \`TRIAD_BENCH_READS=$reads TRIAD_BENCH_ROUNDS=$rounds bench/read_witness.sh\`"
  echo "- host: $(uname -n), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (+ local changes)')"
  echo "- load: before the run $load_before; after it $load_after"
  echo "- state (SQLite, blobs, the keyholder's journal) in $tmp: $(df -T "$tmp" | awk 'NR==2 {print $2}')"
  echo
  echo "Client and coordinator in one process over an in-process gRPC channel (no socket, no TLS): the public read is the"
  echo "transport's own cost, so the last column is each operation's cost as a multiple of it. The"
  echo "CPU column is both sides together. A witness round is what \`keyholder serve\` does after each"
  echo "round of releases: GetCheckpoint, GetConsistencyProof, checkpoint signature and proof"
  echo "verified, the new checkpoint journaled (fsync) and cosigned, AddCosignature (the coordinator"
  echo "verifies the cosignature and stores it); the log grew by one entry before each round, untimed."
  echo "On a shared, loaded machine (see the load above) the means and p99 carry the waits for a core;"
  echo "the p50 and the CPU time per call are the figures that carry over."
  echo
  echo "$out"
} >"$file"
cat "$file"
