#!/usr/bin/env bash
# The long chaos run (tests/chaos/README.md): a hundred jobs through SIGKILLs of the coordinator, the
# owners' keyholders and eight sim workers, checked at the end; the table goes to
# bench/results/chaos-<stamp>.txt with the machine, the date, the command and the seed.
#
# Env: TRIAD_BUILD_DIR (build), SEED (drawn from the clock when unset), JOBS (100), WORKERS (8),
# KILLS (40), CHAOS_SECONDS (150), CRASH_RATE (0.03), TIMEOUT (1500), RUN_DIR (BUILD/chaos-long).
# Run it under `nice -n 19` on a shared machine. The short setting is the CTest test chaos_short_test.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TRIAD_BUILD_DIR:-build}
seed=${SEED:-$(( $(date +%s%N) % 1000000007 ))}
jobs=${JOBS:-100}
workers=${WORKERS:-8}
kills=${KILLS:-40}
chaos_seconds=${CHAOS_SECONDS:-150}
crash_rate=${CRASH_RATE:-0.03}
timeout=${TIMEOUT:-1500}
run_dir=${RUN_DIR:-$build/chaos-long}

scripts/configure.sh "$build"
cmake --build "$build" --target chaos_run >/dev/null
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/results/chaos-$stamp.txt
report=$(mktemp)
trap 'rm -f "$report"' EXIT
cmd=("$build/tests/chaos/chaos_run" --seed "$seed" --jobs "$jobs" --workers "$workers" --kills "$kills"
  --chaos-seconds "$chaos_seconds" --crash-rate "$crash_rate" --timeout "$timeout" --dir "$run_dir"
  --report "$report")
start=$(date +%s)
rc=0
"${cmd[@]}" || rc=$?
end=$(date +%s)
{
  echo "# chaos run, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "machine: $(uname -srm), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')"
  echo "command: bench/chaos.sh (${cmd[*]})"
  echo "wall time: $((end - start)) s; exit status $rc"
  echo "workers are tests/chaos/chaos_worker.cc (the worker protocol with a sim TEE, no training); the"
  echo "coordinator and keyholders are the real \`triad coordinator serve\` and \`triad keyholder serve\`."
  echo
  cat "$report"
} >"$out"
echo "chaos: wrote $out"
exit "$rc"
