#!/usr/bin/env bash
# Long fuzzing runs outside CI, with ASan and UBSan (libFuzzer, clang):
#   tests/fuzz/run.sh                     every target, 10 million executions each
#   tests/fuzz/run.sh TARGET [RUNS]       one target
# Environment: TRIAD_FUZZ_SECONDS_CAP=S stops a run after S seconds (the record then says how many
# runs it reached); TRIAD_FUZZ_NICE=N runs the build and the fuzzers under nice -n N (a shared
# machine); TRIAD_FUZZ_JOBS=N builds with N jobs; TRIAD_FUZZ_NO_BUILD=1 uses build-fuzz as it is;
# TRIAD_FUZZ_WORKERS=N runs N fuzzer processes of the target at once (RUNS split between them, each
# with its own work folder and libFuzzer's own random seed, all starting from the kept corpus; the
# record sums their runs).
# Each run starts from the seeds and the corpus kept in the tree (tests/fuzz/corpus/TARGET/), and
# what it finds that adds coverage is merged into that corpus (libFuzzer -merge=1), so the next run
# starts where this one stopped. The counts and the final stats of each run are appended to
# tests/fuzz/results.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build-fuzz
nice=(nice -n "${TRIAD_FUZZ_NICE:-0}")
if [[ -z "${TRIAD_FUZZ_NO_BUILD:-}" ]]; then
  scripts/install-deps.sh
  scripts/configure.sh "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DTRIAD_FUZZ=ON -DTRIAD_WITH_TRAINER=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
  "${nice[@]}" cmake --build "$build" -j "${TRIAD_FUZZ_JOBS:-$(nproc)}"
fi
runs=${2:-10000000}
targets=("$@")
if (($# == 0)); then
  mapfile -t targets < <(cd "$build/tests/fuzz" && find . -maxdepth 1 -type f -executable -name '*_fuzzer' -printf '%f\n' | sort)
else
  targets=("$1")
fi
# The allocation stacks ASan records for its reports cost 10-20% of a run of the allocation-heavy
# targets (JSON, Merkle reference); a crash found without them is rerun with ASAN_OPTIONS unset to
# get them. Detection is the same either way.
export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=0}
cap=()
if [[ -n "${TRIAD_FUZZ_SECONDS_CAP:-}" ]]; then cap=(-max_total_time="$TRIAD_FUZZ_SECONDS_CAP"); fi
for t in "${targets[@]}"; do
  dir="$build/tests/fuzz"
  kept="tests/fuzz/corpus/$t"
  workers=${TRIAD_FUZZ_WORKERS:-1}
  work=()
  logs=()
  mkdir -p "$kept"
  echo "== $t: $runs runs ($workers process(es))"
  start=$(date +%s)
  for ((w = 1; w <= workers; w++)); do
    work+=("$dir/corpus-$t.$w")
    logs+=("$(mktemp "/tmp/triad-fuzz-$t.XXXXXX.log")")
    mkdir -p "${work[-1]}"
    share=$((runs / workers + (w == 1 ? runs % workers : 0)))
    "${nice[@]}" "$dir/$t" -runs="$share" "${cap[@]}" \
      -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 -artifact_prefix="$dir/$t-" \
      "${work[-1]}" "$kept" "$dir/seeds-$t" > "${logs[-1]}" 2>&1 &
  done
  wait || true
  seconds=$(( $(date +%s) - start ))
  reached=0
  for log in "${logs[@]}"; do
    tail -n 12 "$log"
    n=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || echo 0)
    reached=$((reached + n))
  done
  note=""
  if ((workers > 1)); then note=" ($workers processes)"; fi
  if [[ "$reached" != "$runs" ]]; then note="$note (stopped at ${reached} of ${runs} runs)"; fi
  # One write, so that runs in parallel append whole records.
  record="$(date -u +%FT%TZ) $t runs=$reached seconds=$seconds host=$(uname -n) cores=$(nproc)$note
$(cat "${logs[@]}" | grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|ERROR" || true)"
  printf '%s\n' "$record" >> tests/fuzz/results.txt
  # Keep in the tree what reaches code the seeds do not, and nothing else: merge (edges only, not
  # hit counts, so that the corpus stays small) into a folder that starts with the seeds, then drop
  # the seeds from it.
  merged=$(mktemp -d)
  cp "$dir/seeds-$t"/. "$merged" -r
  if "${nice[@]}" "$dir/$t" -merge=1 -use_counters=0 -rss_limit_mb=4096 -timeout=20 \
      "$merged" "$kept" "${work[@]}" > "${logs[0]}.merge" 2>&1; then
    for s in "$dir/seeds-$t"/*; do rm -f "$merged/$(basename "$s")"; done
    rm -rf "$kept" && mv "$merged" "$kept" && chmod 755 "$kept"
  else
    echo "merge failed, corpus kept as it was: ${logs[0]}.merge"
    rm -rf "$merged"
  fi
  rm -rf "${work[@]}"
done
