#!/usr/bin/env bash
# The worker's peak memory over a whole job at a real model size, through the whole system: a
# Qwen2.5-shaped model (bf16, random weights) pushed by its owner, a coordinator with TLS, the two
# owners' keyholders, and `triad worker run --tee sim` downloading, decrypting (as the bytes
# arrive), loading, training a few steps and sealing. The worker's VmHWM after its one job is the
# figure; the target (issue 16) is 1.3 x the model's bytes + the activations the same training takes
# with the weights already loaded, which bench/worker_job_rss measures in the same run.
#
#   bench/worker_rss_e2e.sh              the 0.5B shape, 2 steps, batch 1, 128 tokens
#   SHAPE=1.5b STEPS=2 bench/worker_rss_e2e.sh
#   PRECISION=auto bench/worker_rss_e2e.sh   the worker's default (fp32 on the CPU: the weights at
#                                            twice a bf16 checkpoint's size)
# Writes bench/results/worker_rss_e2e-<UTC time>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${TRIAD_BUILD_DIR:-build}
shape=${SHAPE:-0.5b}
steps=${STEPS:-2}
models=${MODELS:-$build/bench-models}
scripts/configure.sh "$build" -DTRIAD_WITH_BENCH=ON >/dev/null
cmake --build "$build" --target triad worker_job_rss >/dev/null
triad="$root/$build/cli/triad"
command -v jq >/dev/null || { echo "worker_rss_e2e: jq is missing" >&2; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
source bench/qwen_shapes.sh
source bench/system.sh
mkdir -p "$models"
model=$(make_qwen_model "$shape" "$models")
model=$(cd "$model" && pwd)
model_bytes=$(stat -c %s "$model/model.safetensors")
for i in $(seq 1 200); do echo "{\"text\":\"example $i: the quick brown fox jumps over the lazy dog, again and again.\"}"; done >"$tmp/data.jsonl"
load_before=$(uptime | sed 's/.*load average: //')

# The same training in one process, with the weights already loaded: the activations.
age-keygen -o "$tmp/key.txt" 2>/dev/null
tar -C "$model" -cf - config.json tokenizer.json model.safetensors |
  age -r "$(age-keygen -y "$tmp/key.txt")" -o "$tmp/bundle.tar.age"
inproc=$("$build/bench/worker_job_rss" --bundle "$tmp/bundle.tar.age" --identity "$tmp/key.txt" \
  --data "$tmp/data.jsonl" --steps "$steps" --batch 1 --seq 128 --precision bf16 --threads 2)
rm "$tmp/bundle.tar.age"

cd "$tmp"
start_coordinator
model_id=$("$triad" model push "$model" "${client[@]}" --as keys/mo --name m --json | jq -r .id)
data_id=$("$triad" dataset push data.jsonl "${client[@]}" --as keys/do --name d --json | jq -r .id)
printf '{"method":"lora","rank":16,"alpha":32,"dropout":0.0,"target_modules":["q_proj","k_proj","v_proj","o_proj","gate_proj","up_proj","down_proj"],"epochs":1,"max_steps":%d,"learning_rate":0.0002,"batch_size":1,"sequence_length":128,"seed":1}\n' "$steps" >training.json
"$root/examples/make-sim-policy.sh" "$root/$build/cli/triad-worker" >policy.json
"$triad" contract draft --model-owner keys/mo.card.json --data-owner keys/do.card.json \
  --compute-provider keys/cp.card.json --model "$model_id" --model-name m --dataset "$data_id" \
  --dataset-name d --policy policy.json --training training.json --valid-for 1d --id c-rss \
  --out contract.json >/dev/null
submit_contract_and_start_keyholders
"$triad" --log-level info worker run "${client[@]}" --as keys/cp --tee sim --sim-key sim/key.pem \
  --worker-id rss --threads 2 --precision "${PRECISION:-bf16}" >worker.out 2>worker.log &
worker=$!
pids+=($worker)
job=$("$triad" job submit c-rss "${client[@]}" --as keys/do)
"$triad" job status "${client[@]}" --as keys/do --watch "$job" >/dev/null
state=$("$triad" job status "${client[@]}" --as keys/do --json "$job" | jq -r .state)
[[ $state == done ]] || { echo "worker_rss_e2e: job $job is $state" >&2; cat worker.log >&2; exit 1; }
# The worker is `triad` exec'ing triad-worker: the same process id.
hwm_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$worker/status")
cd "$root"

mib() { awk -v b="$1" 'BEGIN {printf "%.0f", b / 1048576}'; }
activations=$(jq .activations_mib <<<"$inproc")
peak_mib=$(awk -v k="$hwm_kib" 'BEGIN {printf "%.0f", k / 1024}')
model_mib=$(mib "$model_bytes")
target_mib=$(awk -v m="$model_bytes" -v a="$activations" 'BEGIN {printf "%.0f", 1.3 * m / 1048576 + a}')
ratio=$(awk -v p="$peak_mib" -v m="$model_mib" 'BEGIN {printf "%.2f", p / m}')
met=$(awk -v p="$peak_mib" -v t="$target_mib" 'BEGIN {print (p <= t) ? "yes" : "no"}')
mkdir -p bench/results
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
out=bench/results/worker_rss_e2e-$stamp.md
{
  echo "# The worker's peak memory over a whole job, Qwen2.5-$shape shape ($stamp)"
  echo
  echo "- command: \`SHAPE=$shape STEPS=$steps PRECISION=${PRECISION:-bf16} bench/worker_rss_e2e.sh\`"
  echo "- host: $(uname -n), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (+ local changes)')"
  echo "- load: before the run $load_before; after it $(uptime | sed 's/.*load average: //')"
  echo "- job: $steps steps, batch 1, 128 tokens, LoRA r16 on all seven projections, 2 threads; the worker's --precision ${PRECISION:-bf16} (worker_job_rss: bf16)"
  echo
  echo "| | MiB |"
  echo "| --- | ---: |"
  echo "| model.safetensors | $model_mib |"
  echo "| activations of the same training, weights loaded (worker_job_rss, same run) | $activations |"
  echo "| target: 1.3 x model + activations | $target_mib |"
  echo "| **the worker's peak (VmHWM) over the job** | **$peak_mib** ($ratio x the model; target met: $met) |"
  echo
  echo "The worker process ran one job: poll, sim attestation, the keyholders' releases, the model's"
  echo "ciphertext decrypted as it streamed in (never held whole beside the plaintext), the checkpoint"
  echo "loaded while its plaintext was consumed, $steps training steps, the adapter sealed and uploaded."
  echo "Its VmHWM includes LibTorch and gRPC themselves (about 150 MiB at start)."
  echo
  echo "worker_job_rss, same run: \`$inproc\`"
} >"$out"
cat "$out"
