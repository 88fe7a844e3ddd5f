#!/usr/bin/env bash
# Training throughput: Triad's trainer against a peer in the same run, results to bench/results/.
#
#   bench/train_throughput.sh            CPU: a tiny Qwen2-shaped model (4 layers, hidden 256, seq 256,
#                                        batch 4, LoRA r16 on all seven projections, fp32) trained by
#                                        Triad and by a plain PyTorch script (Debian python3-torch)
#   bench/train_throughput.sh --gpu      GPU: Qwen2.5-0.5B and Llama-3-8B shapes, seq 2048, bf16, r16 on
#                                        all seven, against HF transformers + PEFT (needs a CUDA LibTorch
#                                        build of Triad and `pip install torch transformers peft`)
# Env: TRIAD_BUILD_DIR (build), STEPS (10), THREADS (2), PYTHON (/usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TRIAD_BUILD_DIR:-build}
steps=${STEPS:-10}
threads=${THREADS:-2}
python=${PYTHON:-/usr/bin/python3}
mode=cpu
[[ "${1:-}" == "--gpu" ]] && mode=gpu

scripts/configure.sh "$build" -DTRIAD_WITH_BENCH=ON
cmake --build "$build" --target train_throughput >/dev/null
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/results/train_throughput-$mode-$stamp.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

load_before=$(uptime)
if [[ $mode == cpu ]]; then
  triad_cmd="$build/bench/train_throughput --shape cpu-tiny --steps $steps --threads $threads"
  peer_cmd="$python bench/train_throughput_torch.py --shape cpu-tiny --steps $steps --threads $threads"
  # Alternate the two, twice, so that load from other processes falls on both.
  for round in 1 2; do
    $triad_cmd >"$tmp/triad$round.json"
    $peer_cmd >"$tmp/peer$round.json"
  done
else
  : >"$tmp/gpu.txt"
  for shape in qwen2.5-0.5b llama3-8b; do
    $build/bench/train_throughput --shape $shape --device cuda --precision bf16 --seq 2048 --batch 1 \
      --steps $steps --rank 16 >"$tmp/triad-$shape.json"
    $python bench/train_throughput_peft.py --shape $shape --seq 2048 --batch 1 --steps $steps --rank 16 \
      >"$tmp/peer-$shape.json"
  done
fi
load_after=$(uptime)

{
  echo "# Training throughput ($mode), $stamp"
  echo
  echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (dirty)')"
  echo "- load before: ${load_before#*load average: }; after: ${load_after#*load average: } (uptime)"
  echo
  if [[ $mode == cpu ]]; then
    echo "Commands (each run twice, alternating):"
    echo
    echo '```'
    echo "$triad_cmd"
    echo "$peer_cmd"
    echo '```'
    echo
    echo "| run | implementation | tokens | wall s | tokens/s | peak RSS MiB | loss first -> last |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    for round in 1 2; do
      for who in triad peer; do
        "$python" -c 'import json,sys; j=json.load(open(sys.argv[1])); print("| %s | %s | %d | %.1f | %.1f | %.0f | %.3f -> %.3f |" % (sys.argv[2], j["implementation"], j["tokens"], j["wall_seconds"], j["tokens_per_second"], j["peak_rss_mib"], j["first_loss"], j["last_loss"]))' "$tmp/$who$round.json" "$round"
      done
    done
    echo
    "$python" - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
t = max(json.load(open(f"{d}/triad{r}.json"))["tokens_per_second"] for r in (1, 2))
p = max(json.load(open(f"{d}/peer{r}.json"))["tokens_per_second"] for r in (1, 2))
print(f"Best of two: Triad {t:.1f} tokens/s, PyTorch script {p:.1f} tokens/s, ratio Triad/PyTorch = {t / p:.2f}.")
PY
  else
    for shape in qwen2.5-0.5b llama3-8b; do
      echo "## $shape"
      echo '```'
      cat "$tmp/triad-$shape.json" "$tmp/peer-$shape.json"
      echo '```'
    done
  fi
  echo
  echo "Raw JSON:"
  echo
  echo '```'
  cat "$tmp"/*.json
  echo '```'
} >"$out"
cat "$out"
echo "wrote $out"
