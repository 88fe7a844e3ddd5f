#!/usr/bin/env bash
# Long fuzzing runs outside CI, with ASan and UBSan (libFuzzer, clang):
#   tests/fuzz/run.sh                     every target, 10 million executions each
#   tests/fuzz/run.sh TARGET [RUNS]       one target
# The counts and the final stats of each run are appended to tests/fuzz/results.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
build=build-fuzz
scripts/configure.sh "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DTRIAD_FUZZ=ON -DTRIAD_WITH_TRAINER=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j "$(nproc)"
runs=${2:-10000000}
targets=("$@")
if (($# == 0)); then
  mapfile -t targets < <(cd "$build/tests/fuzz" && find . -maxdepth 1 -type f -executable -name '*_fuzzer' -printf '%f\n' | sort)
else
  targets=("$1")
fi
for t in "${targets[@]}"; do
  dir="$build/tests/fuzz"
  mkdir -p "$dir/corpus-$t"
  echo "== $t: $runs runs"
  start=$(date +%s)
  "$dir/$t" -runs="$runs" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 \
    "$dir/corpus-$t" "$dir/seeds-$t" 2>&1 | tail -n 12 | tee "/tmp/triad-fuzz-$t.log"
  {
    echo "$(date -u +%FT%TZ) $t runs=$runs seconds=$(( $(date +%s) - start )) host=$(uname -n) cores=$(nproc)"
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|ERROR" "/tmp/triad-fuzz-$t.log" || true
  } >> tests/fuzz/results.txt
done
