#!/usr/bin/env bash
# Does the coordinator's memory grow with the size of an upload? One coordinator on loopback, one
# data owner; for each size in SIZES_MIB (64 256 1024) a fresh artifact of that size, encrypted with
# stock age, is registered (`triad dataset register`) while the coordinator's VmRSS is sampled every
# 0.25 s; reports the RSS before, the highest sample, and the RSS after each upload. A coordinator
# that buffered the artifact would grow with the size; one bounded by the transport stays flat.
# Results: bench/results/upload_memory-<stamp>.md. Env: TRIAD_BUILD_DIR (build), SIZES_MIB, RUN_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${TRIAD_BUILD_DIR:-build}
sizes=${SIZES_MIB:-64 256 1024}
scripts/configure.sh "$build" >/dev/null
cmake --build "$build" --target triad >/dev/null
triad="$root/$build/cli/triad"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$root/bench/results/upload_memory-$stamp.md"
run=${RUN_DIR:-$(mktemp -d)}
mkdir -p "$run" bench/results
cd "$run"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f up.age
}
trap cleanup EXIT

source "$root/bench/system.sh"
start_coordinator  # keys/mo, keys/do, keys/cp; $addr, ${client[@]}
pid=${pids[0]}
recipient=$(jq -r .age_recipient keys/do.card.json)
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }

rows=()
for mib in $sizes; do
  head -c $((mib << 20)) /dev/urandom | age -r "$recipient" -o up.age
  before=$(rss)
  peak=$before
  t0=$(date +%s.%N)
  "$triad" dataset register up.age "${client[@]}" --as keys/do --name "u$mib" >up.out 2>&1 &
  up=$!
  samples=0
  while kill -0 "$up" 2>/dev/null; do
    r=$(rss)
    ((r > peak)) && peak=$r
    samples=$((samples + 1))
    sleep 0.25
  done
  status=0
  wait "$up" || status=$?
  t1=$(date +%s.%N)
  after=$(rss)
  [[ $status -eq 0 ]] || { echo "upload of $mib MiB failed: $(cat up.out)" >&2; exit 1; }
  secs=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
  rows+=("| $mib | $secs | $samples | $((before / 1024)) | $((peak / 1024)) | $((after / 1024)) |")
  rm -f up.age
done
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")

{
  echo "# coordinator memory during one upload, $(date -u +%FT%TZ)"
  echo
  echo "machine: $(uname -srm), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | awk '{print $1, $2}')), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo ' (with uncommitted changes)')"
  echo "command: bench/upload_memory.sh (SIZES_MIB=\"$sizes\")"
  echo
  echo "One \`triad dataset register\` at a time of a stock-age artifact; the coordinator's VmRSS sampled every 0.25 s."
  echo
  echo "| upload MiB | seconds | samples | RSS before MiB | highest sample MiB | RSS after MiB |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${rows[@]}"
  echo
  echo "coordinator VmHWM over the run: $((hwm / 1024)) MiB"
} >"$out"
cat "$out"
echo "upload_memory: wrote $out"
