#!/usr/bin/env bash
# Loading and memory at real model sizes, results to bench/results/load_throughput-<stamp>.md.
#
# 1. bench/load_throughput: from the decrypted checkpoint in memory to the model ready, against a
#    memcpy of the same bytes in the same process (into fresh memory, and again into warm memory),
#    for Qwen2.5-0.5B and Qwen2.5-1.5B shapes made with `triad model init` (bf16); 8B extrapolated.
# 2. bench/worker_job_rss: peak RSS of a whole job in one process (age decrypt of the model bundle,
#    load, a few training steps, seal), against the target 1.3 x model bytes + the activations of the
#    same training with the weights already loaded; and the same with the archive not consumed.
#
# Env: TRIAD_BUILD_DIR (build), MODELS (build/bench-models), THREADS (2), SHAPES ("0.5b 1.5b").
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TRIAD_BUILD_DIR:-build}
models=${MODELS:-$build/bench-models}
threads=${THREADS:-2}
shapes=${SHAPES:-0.5b 1.5b}
python=${PYTHON:-/usr/bin/python3}

scripts/configure.sh "$build" -DTRIAD_WITH_BENCH=ON
cmake --build "$build" --target load_throughput worker_job_rss triad >/dev/null
mkdir -p bench/results "$models"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/results/load_throughput-$stamp.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Qwen2.5 shapes (widths, layers, heads and vocabulary of the released models), bf16, random weights.
# eos 0 is the test tokenizer's <|endoftext|>.
config() {
  local hidden=$1 inter=$2 layers=$3 heads=$4
  printf '{"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","vocab_size":151936,"hidden_size":%d,"intermediate_size":%d,"num_hidden_layers":%d,"num_attention_heads":%d,"num_key_value_heads":2,"rms_norm_eps":1e-6,"rope_theta":1000000.0,"tie_word_embeddings":true,"torch_dtype":"bfloat16","eos_token_id":0,"initializer_range":0.02,"max_position_embeddings":32768}\n' \
    "$hidden" "$inter" "$layers" "$heads"
}
make_model() {
  local name=$1
  case $name in
    0.5b) config 896 4864 24 14 >"$tmp/config-$name.json" ;;
    1.5b) config 1536 8960 28 12 >"$tmp/config-$name.json" ;;
    *) echo "unknown shape $name" >&2; exit 2 ;;
  esac
  local dir=$models/qwen2.5-$name
  if ! cmp -s "$tmp/config-$name.json" "$dir/config.json" 2>/dev/null || [[ ! -f "$dir/model.safetensors" ]]; then
    "$build/cli/triad" model init --config "$tmp/config-$name.json" \
      --tokenizer testdata/trainer/tiny_qwen_style.tokenizer.json --out "$dir" >/dev/null
  fi
  echo "$dir"
}

# The job's inputs: the bundle as the model owner uploads it (a tar, age-encrypted), and some text.
age-keygen -o "$tmp/key.txt" 2>/dev/null
for i in $(seq 1 200); do echo "{\"text\":\"example $i: the quick brown fox jumps over the lazy dog, again and again.\"}"; done >"$tmp/data.jsonl"

load_before=$(uptime)
for shape in $shapes; do
  dir=$(make_model "$shape")
  # Alternating, so that load from other processes falls on both variants.
  for round in 1 2; do
    "$build/bench/load_throughput" --model "$dir" --precision bf16 --threads "$threads" >"$tmp/load-$shape-bf16-$round.json"
  done
  "$build/bench/load_throughput" --model "$dir" --precision bf16 --threads "$threads" --no-consume >"$tmp/load-$shape-bf16-noconsume.json"
  "$build/bench/load_throughput" --model "$dir" --precision fp32 --threads "$threads" >"$tmp/load-$shape-fp32.json"
  tar -C "$dir" -cf "$tmp/bundle-$shape.tar" config.json tokenizer.json model.safetensors
  age -r "$(age-keygen -y "$tmp/key.txt")" -o "$tmp/bundle-$shape.tar.age" "$tmp/bundle-$shape.tar"
  rm "$tmp/bundle-$shape.tar"
  for variant in consume no-consume; do
    flag=()
    [[ $variant == no-consume ]] && flag=(--no-consume)
    "$build/bench/worker_job_rss" --bundle "$tmp/bundle-$shape.tar.age" --identity "$tmp/key.txt" \
      --data "$tmp/data.jsonl" --steps 2 --batch 1 --seq 128 --precision bf16 --threads "$threads" \
      "${flag[@]}" >"$tmp/job-$shape-$variant.json"
  done
  rm "$tmp/bundle-$shape.tar.age"
done
load_after=$(uptime)

{
  echo "# Load throughput and job memory, $stamp"
  echo
  echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (dirty)')"
  echo "- load before: ${load_before#*load average: }; after: ${load_after#*load average: } (uptime)"
  echo "- models: \`triad model init\` with Qwen2.5-0.5B / -1.5B shapes (vocab 151936, tied, bf16)"
  echo "- commands: \`$build/bench/load_throughput --model DIR --precision bf16|fp32 --threads $threads [--no-consume]\`;"
  echo "  \`$build/bench/worker_job_rss --bundle B.tar.age --identity key.txt --data data.jsonl --steps 2 --batch 1 --seq 128 --precision bf16 --threads $threads [--no-consume]\`"
  echo
  "$python" - "$tmp" $shapes <<'PY'
import glob, json, os, sys
d, shapes = sys.argv[1], sys.argv[2:]
L = lambda p: json.load(open(p))
print("## Load: decrypted bytes in memory to model ready, against memcpy of the same bytes")
print()
print("| shape | run | bytes | memcpy fresh s | memcpy warm s | load s | load GB/s | load / memcpy fresh | load / memcpy warm | RSS before MiB | peak until ready MiB |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
best = {}
for s in shapes:
    for run in ["bf16-1", "bf16-2", "bf16-noconsume", "fp32"]:
        j = L(f"{d}/load-{s}-{run}.json")
        print(f"| {s} | {run} | {j['bytes']} | {j['memcpy_fresh_seconds']:.3f} | {j['memcpy_warm_seconds']:.3f} | {j['load_seconds']:.3f} | {j['load_gb_per_s']:.2f} | {j['load_over_memcpy_fresh']:.2f} | {j['load_over_memcpy_warm']:.1f} | {j['rss_before_load_mib']:.0f} | {j['peak_until_model_ready_mib']:.0f} |")
        if run.startswith("bf16-") and run != "bf16-noconsume":
            best[s] = max(best.get(s, 0), j["load_gb_per_s"])
print()
rate = min(best.values())
print(f"8B by extrapolation (Llama-3-8B, 16.06 GB of bf16), at the slower of the measured bf16 rates ({rate:.2f} GB/s): "
      f"{16.06 / rate:.1f} s to model ready, with a peak of the model plus one 16 MiB chunk plus the process's base.")
print()
print("## Whole job in one process: decrypt (age) + load + 2 training steps + seal")
print()
print("| shape | archive | model MiB | decrypt s | load s | peak until model ready MiB | RSS model ready MiB | peak training MiB | activations MiB | peak job MiB | target MiB | peak / model | met |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for s in shapes:
    for v in ["consume", "no-consume"]:
        j = L(f"{d}/job-{s}-{v}.json")
        print(f"| {s} | {'consumed' if j['consume'] else 'kept'} | {j['model_bytes'] / 2**20:.0f} | {j['decrypt_seconds']:.2f} | {j['load_seconds']:.2f} | {j['peak_until_model_ready_mib']:.0f} | {j['rss_model_ready_mib']:.0f} | {j['peak_training_mib']:.0f} | {j['activations_mib']:.0f} | {j['peak_job_mib']:.0f} | {j['target_mib']:.0f} | {j['peak_over_model']:.2f} | {'yes' if j['met'] else 'no'} |")
print()
print("Raw JSON:")
print()
print("```")
for p in sorted(glob.glob(f"{d}/*.json")):
    print(os.path.basename(p), open(p).read().strip())
print("```")
PY
} >"$out"
cat "$out"
echo "wrote $out"
