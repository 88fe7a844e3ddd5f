#!/usr/bin/env bash
# The transparency log at 1,000,000 entries: append throughput (batched, and single-entry commits),
# proof sizes, inclusion and consistency proof times, reopen and full-rebuild times.
#   bench/log_bench.sh                      1,000,000 entries in batches of 1,000
#   ENTRIES=N BATCH=B bench/log_bench.sh    other sizes
#   DIR=/path bench/log_bench.sh            put the database there (its filesystem's fsync is measured)
# Builds log_bench (Release) into build/ unless BUILD names another build directory, runs it in a
# temporary directory, and writes the figures with the machine, date, command and load (`uptime`
# before and after: the machine may be shared) to bench/results/log_bench-<host>-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
entries=${ENTRIES:-1000000}
batch=${BATCH:-1000}
scripts/configure.sh "$build"
cmake --build "$build" --target log_bench >/dev/null
work=$(mktemp -d "${DIR:-${TMPDIR:-/tmp}}/triad-log-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

cmd=("$build/bench/log_bench" --dir "$work" --entries "$entries" --batch "$batch" --entry-bytes 256 --proofs 10000 --single-commits 500)
load_before=$(uptime)
start=$(date -u +%FT%TZ)
out=$("${cmd[@]}")
load_after=$(uptime)
echo "$out"

host=$(uname -n)
mkdir -p bench/results
file="bench/results/log_bench-${host}-$(date -u +%Y%m%dT%H%M%SZ).md"
{
  echo "# log_bench: the transparency log at ${entries} entries"
  echo
  echo "- date: ${start}"
  echo "- machine: ${host}, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) memory"
  echo "- kernel: $(uname -sr); SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '?')"
  echo "- database filesystem: $(df -T "$work" | awk 'NR==2 {print $2 " on " $1}')"
  echo "- build: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with local changes)'), $(grep -m1 CMAKE_BUILD_TYPE "$build/CMakeCache.txt" | cut -d= -f2)"
  echo "- command: \`bench/log_bench.sh\` (ENTRIES=${entries} BATCH=${batch}), which runs \`log_bench --entries ${entries} --batch ${batch} --entry-bytes 256 --proofs 10000 --single-commits 500\`"
  echo "- load before: \`${load_before# }\`"
  echo "- load after:  \`${load_after# }\`"
  echo
  echo "Every batch is one SQLite transaction (synchronous=FULL, WAL): the entries, their subtree"
  echo "hashes, and a new Ed25519-signed checkpoint, committed with one fsync. Proof times are for"
  echo "random leaves and random old sizes at the final tree size, read through Store::log() (the"
  echo "committed state, one SQLite point read per subtree hash); verification is crypto/merkle."
  echo
  echo '```'
  echo "$out"
  echo '```'
} > "$file"
echo "wrote $file"
