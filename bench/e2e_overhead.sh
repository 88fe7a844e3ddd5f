#!/usr/bin/env bash
# What the confidential path costs on top of training: the quickstart's job through the whole
# system (coordinator on 127.0.0.1 with TLS, the two owners' keyholders, a sim worker: poll,
# attestation, the keyholders' checks and releases, download, in-memory decryption, training,
# sealing, upload, delivery) against `triad train` on the same plaintext model and dataset with the
# same training section, on this machine, in the same run.
#
#   bench/e2e_overhead.sh                      3 repetitions of each, medians
#   TRIAD_BENCH_REPETITIONS=5 bench/e2e_overhead.sh
#   TRIAD_BENCH_STEPS=400 bench/e2e_overhead.sh   a longer job (max_steps) than the quickstart's
#
# The system's figure is the wall time from `triad job submit` until `triad job status --watch`
# sees the job done, with the worker already waiting; the peer's is the wall time of `triad train`.
# The per-phase breakdown comes from the worker's log timestamps (milliseconds): attestation
# (assigned -> admitted), the keyholders' release (admitted -> both keys released), download and
# decryption (released -> inputs decrypted),
# training (training on -> trained), sealing and upload (trained -> delivered).
#
# The headline is like-for-like: process start-up (the `triad` binary loading, LibTorch with it) is
# measured in the same run (`triad --help`, median of 5) and taken out of both sides: twice from the
# job (`job submit` and `job status --watch` are two processes; the worker is already running) and
# once from `triad train`. The ratio as a user waits (start-ups included) stays beside it, labelled.
# The added time per release with SNP evidence instead of sim is the difference of their
# verification times (bench/attest_verify_bench.cc, real Milan VCEK report) measured in the same run.
# Writes bench/results/e2e_overhead-<UTC time>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${TRIAD_BUILD_DIR:-build}
reps=${TRIAD_BENCH_REPETITIONS:-3}
steps=${TRIAD_BENCH_STEPS:-0}
scripts/configure.sh "$build" -DTRIAD_WITH_BENCH=ON
cmake --build "$build" --target triad attest_verify_bench >/dev/null
load_before=$(uptime | sed 's/.*load average: //')
triad="$root/$build/cli/triad"
source "$root/bench/system.sh"
command -v jq >/dev/null || { echo "e2e_overhead: jq is missing" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
now_ms() { date +%s%3N; }

# The training section: the quickstart's, or the quickstart's with max_steps.
if ((steps > 0)); then
  jq ". + {max_steps: $steps}" "$root/examples/quickstart/training.json" >training.json
else
  cp "$root/examples/quickstart/training.json" training.json
fi

start_coordinator
"$triad" model init --config "$root/examples/quickstart/config.json" \
  --tokenizer "$root/examples/quickstart/tokenizer.json" --seed 1 --out model >/dev/null
data="$root/examples/quickstart/dataset.jsonl"
model_id=$("$triad" model push model "${client[@]}" --as keys/mo --name m --json | jq -r .id)
data_id=$("$triad" dataset push "$data" "${client[@]}" --as keys/do --name d --json | jq -r .id)
"$root/examples/make-sim-policy.sh" "$root/$build/cli/triad-worker" >policy.json
"$triad" contract draft --model-owner keys/mo.card.json --data-owner keys/do.card.json \
  --compute-provider keys/cp.card.json --model "$model_id" --model-name m --dataset "$data_id" --dataset-name d --policy policy.json \
  --training training.json --valid-for 1d --max-jobs "$reps" --id c-bench --out contract.json >/dev/null
submit_contract_and_start_keyholders
"$triad" --log-level info worker run "${client[@]}" --as keys/cp --tee sim --sim-key sim/key.pem \
  --worker-id bench >worker.out 2>worker.log &
pids+=($!)

# The worker log line of `what` for `job`, as milliseconds since the epoch.
log_ms() {
  local line
  line=$(grep -m1 "job $1: $2" worker.log | cut -d' ' -f1)
  date -d "$line" +%s%3N
}

system=() peer=() attest=() release=() fetch=() train=() seal=()
for i in $(seq "$reps"); do
  t0=$(now_ms)
  job=$("$triad" job submit c-bench "${client[@]}" --as keys/do)
  "$triad" job status "${client[@]}" --as keys/do --watch "$job" >/dev/null
  t1=$(now_ms)
  [[ $("$triad" job status "${client[@]}" --as keys/do --json "$job" | jq -r .state) == done ]] ||
    { echo "e2e_overhead: job $job did not finish" >&2; cat worker.log >&2; exit 1; }
  system+=($((t1 - t0)))
  attest+=($(($(log_ms "$job" admitted) - $(log_ms "$job" assigned))))
  release+=($(($(log_ms "$job" "the owners' keyholders released") - $(log_ms "$job" admitted))))
  fetch+=($(($(log_ms "$job" "inputs verified") - $(log_ms "$job" "the owners' keyholders released"))))
  train+=($(($(log_ms "$job" trained) - $(log_ms "$job" "training on"))))
  seal+=($(($(log_ms "$job" "adapter delivered") - $(log_ms "$job" trained))))

  t0=$(now_ms)
  "$triad" train --model model --data "$data" --training training.json --out "plain-$i" >/dev/null
  t1=$(now_ms)
  peer+=($((t1 - t0)))
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# Process start-up as each side pays it: the job's two client commands start `triad` alone; `triad
# train` starts `triad`, which execs `triad-worker` and loads LibTorch (its --help stops there).
startup=() startup_train=()
for _ in 1 2 3 4 5; do
  t0=$(now_ms)
  "$triad" --help >/dev/null || true
  t1=$(now_ms)
  "$triad" train --help >/dev/null || true
  t2=$(now_ms)
  startup+=($((t1 - t0)))
  startup_train+=($((t2 - t1)))
done
ms_startup=$(median "${startup[@]}")
ms_startup_train=$(median "${startup_train[@]}")
ms_system=$(median "${system[@]}")
ms_peer=$(median "${peer[@]}")
ms_system_warm=$(awk -v a="$ms_system" -v s="$ms_startup" 'BEGIN {print a - 2 * s}')
ms_peer_warm=$(awk -v a="$ms_peer" -v s="$ms_startup_train" 'BEGIN {print a - s}')
# Each repetition runs the job and then the peer back to back: the ratio of each pair, then their
# median, so that load that comes and goes on a shared machine weighs on both sides of a ratio.
pair=() pair_raw=()
for i in "${!system[@]}"; do
  pair+=($(awk -v a="${system[$i]}" -v b="${peer[$i]}" -v s="$ms_startup" -v t="$ms_startup_train" \
    'BEGIN {printf "%.3f", (a - 2 * s) / (b - t)}'))
  pair_raw+=($(awk -v a="${system[$i]}" -v b="${peer[$i]}" 'BEGIN {printf "%.3f", a / b}'))
done
ratio=$(median "${pair[@]}")
ratio_raw=$(median "${pair_raw[@]}")
# The keyholders' evidence verification per release: SNP (real report and chain) against sim.
verify_json=$("$root/$build/bench/attest_verify_bench" \
  --benchmark_filter='BM_SnpVerify/milan_vcek/real_time|BM_SimVerify/real_time' \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true --benchmark_format=json 2>/dev/null)
us_of() {
  jq -r --arg n "$1" '.benchmarks[] | select(.run_name == $n and .aggregate_name == "median") |
    .real_time * (if .time_unit == "ns" then 0.001 elif .time_unit == "ms" then 1000 else 1 end)' <<<"$verify_json"
}
us_snp=$(us_of BM_SnpVerify/milan_vcek/real_time)
us_sim=$(us_of BM_SimVerify/real_time)
ms_snp_extra=$(awk -v a="$us_snp" -v b="$us_sim" 'BEGIN {printf "%.2f", (a - b) / 1000}')
us_snp=$(printf '%.0f' "$us_snp")
us_sim=$(printf '%.0f' "$us_sim")
# The same question without process start-up on either side: what the worker spends around training.
inside=$(awk -v a="$(median "${attest[@]}")" -v r="$(median "${release[@]}")" -v f="$(median "${fetch[@]}")" \
  -v t="$(median "${train[@]}")" -v s="$(median "${seal[@]}")" 'BEGIN {printf "%.3f", (a + r + f + t + s) / t}')
tokens=$(jq .tokens plain-1/training_report.json)
total_steps=$(jq .steps plain-1/training_report.json)

cd "$root"
mkdir -p bench/results
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
out="bench/results/e2e_overhead-$stamp.md"
{
  echo "# Confidential path overhead: the quickstart job vs \`triad train\` ($stamp)"
  echo
  echo "- command: \`TRIAD_BENCH_REPETITIONS=$reps TRIAD_BENCH_STEPS=$steps bench/e2e_overhead.sh\` (OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset})"
  echo "- host: $(uname -n), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (+ local changes)')"
  echo "- load: before the run $load_before; after it $(uptime | sed 's/.*load average: //')"
  echo "- job: the quickstart model (examples/quickstart/config.json, random weights) and dataset, training"
  echo "  section examples/quickstart/training.json$( ((steps > 0)) && echo " with max_steps $steps"): $total_steps steps, $tokens tokens"
  echo "- $reps repetitions of each, interleaved; medians in milliseconds"
  echo
  echo "| | wall ms (median) | runs |"
  echo "| --- | ---: | --- |"
  echo "| start-up of a client command (\`triad --help\`, 5 runs) | $ms_startup | ${startup[*]} |"
  echo "| start-up of \`triad train\` (exec of triad-worker, LibTorch loaded: \`triad train --help\`, 5 runs) | $ms_startup_train | ${startup_train[*]} |"
  echo "| Triad job: submit -> done (coordinator + 2 keyholders + sim worker, TLS), 2 client start-ups out | $ms_system_warm | |"
  echo "| peer: \`triad train\` on the plaintext, its start-up out | $ms_peer_warm | |"
  echo "| **ratio, like for like** (start-up taken out of both; median of the per-repetition ratios) | **$ratio** | ${pair[*]} (target <= 1.10) |"
  echo "| Triad job as a user waits: submit -> done, the worker already running | $ms_system | ${system[*]} |"
  echo "| \`triad train\` as a user waits (cold process) | $ms_peer | ${peer[*]} |"
  echo "| ratio as a user waits (start-ups included on both sides; median of the per-repetition ratios) | $ratio_raw | ${pair_raw[*]} |"
  echo "| confidential phases inside the worker / its training (below) | $inside | |"
  echo
  echo "Per phase inside the job (worker log timestamps, ms, median):"
  echo
  echo "| phase | ms | runs |"
  echo "| --- | ---: | --- |"
  echo "| attestation (assigned -> admitted) | $(median "${attest[@]}") | ${attest[*]} |"
  echo "| the keyholders' checks and releases (admitted -> both keys released) | $(median "${release[@]}") | ${release[*]} |"
  echo "| download and in-memory decryption | $(median "${fetch[@]}") | ${fetch[*]} |"
  echo "| training | $(median "${train[@]}") | ${train[*]} |"
  echo "| sealing (tar, age to 2 owners, job record) and upload | $(median "${seal[@]}") | ${seal[*]} |"
  echo
  echo "Added per release with SNP evidence instead of sim (the keyholders verify in parallel, so a"
  echo "job pays it once): SNP verification $us_snp us - sim $us_sim us = **$ms_snp_extra ms**"
  echo "(attest_verify_bench, real Milan VCEK report and chain, median of 3, same run)."
  echo
  echo "The rest of the job's wall time is the parties' command start-up (\`triad job submit\` and"
  echo "\`job status --watch\` each load the binary), the worker's poll, and the watcher seeing 'done'."
  echo "The worker is a long-running process (LibTorch already loaded), while each \`triad train\` run"
  echo "loads it: as a user waits, the job pays two short \`triad\` processes and \`triad train\` one"
  echo "that loads LibTorch, so the like-for-like ratio takes each side's measured start-up out. LibTorch's"
  echo "first-use initialisation inside training is not start-up: the warm worker has paid it in an"
  echo "earlier job, so the like-for-like ratio still slightly favours the job. The last ratio leaves"
  echo "every process out: (attestation + release + download and decryption + training + sealing) /"
  echo "training, all inside the same worker process."
} >"$out"
cat "$out"
