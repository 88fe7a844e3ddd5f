#!/usr/bin/env bash
# Training throughput: Triad's trainer against a peer in the same run, results to bench/results/.
#
#   bench/train_throughput.sh            CPU: cpu-tiny (a Qwen2-shaped model: 4 layers, hidden 256,
#                                        seq 256, batch 4) and cpu-small (Qwen2.5-0.5B's widths and
#                                        vocabulary, 2 layers, seq 512, batch 1), LoRA r16 on all seven
#                                        projections, fp32, trained by Triad and by a plain PyTorch
#                                        script (Debian python3-torch, the same LibTorch), alternating
#                                        ROUNDS times; both wall and process-CPU tokens/s are recorded
#                                        (on a shared machine the wall figure swings with others' load)
#   bench/train_throughput.sh --gpu      GPU: Qwen2.5-0.5B and Llama-3-8B shapes, seq 2048, bf16, r16 on
#                                        all seven, against HF transformers + PEFT (needs a CUDA LibTorch
#                                        build of Triad and `pip install torch transformers peft`;
#                                        bench/gpu/check.sh runs this and more in one go)
# Env: TRIAD_BUILD_DIR (build), STEPS (10; cpu-small runs STEPS/2), THREADS (2), ROUNDS (3),
#      PYTHON (/usr/bin/python3), OMP_WAIT_POLICY (passive, for both: with OpenMP's spinning
#      waits, anything else running on a small machine slowed both sides about 4x in one run).
set -euo pipefail
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
cd "$(dirname "$0")/.."
build=${TRIAD_BUILD_DIR:-build}
steps=${STEPS:-10}
threads=${THREADS:-2}
rounds=${ROUNDS:-3}
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
  small_steps=$(((steps + 1) / 2))
  declare -A triad_cmd peer_cmd
  triad_cmd[cpu-tiny]="$build/bench/train_throughput --shape cpu-tiny --steps $steps --threads $threads"
  peer_cmd[cpu-tiny]="$python bench/train_throughput_torch.py --shape cpu-tiny --steps $steps --threads $threads"
  triad_cmd[cpu-small]="$build/bench/train_throughput --shape cpu-small --seq 512 --batch 1 --steps $small_steps --threads $threads"
  peer_cmd[cpu-small]="$python bench/train_throughput_torch.py --shape cpu-small --seq 512 --batch 1 --steps $small_steps --threads $threads"
  # Alternate the two, so that load from other processes falls on both.
  for round in $(seq 1 "$rounds"); do
    for shape in cpu-tiny cpu-small; do
      ${triad_cmd[$shape]} >"$tmp/triad-$shape-$round.json"
      ${peer_cmd[$shape]} >"$tmp/peer-$shape-$round.json"
    done
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
  echo "- threads: $threads; OMP_WAIT_POLICY: ${OMP_WAIT_POLICY:-unset} (for both)"
  echo
  if [[ $mode == cpu ]]; then
    echo "Commands (alternating, $rounds rounds):"
    echo
    echo '```'
    for shape in cpu-tiny cpu-small; do
      echo "${triad_cmd[$shape]}"
      echo "${peer_cmd[$shape]}"
    done
    echo '```'
    echo
    "$python" - "$tmp" "$rounds" <<'PY'
import json, statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
L = lambda p: json.load(open(p))
print("| shape | run | implementation | tokens | wall s | tokens/s | CPU s | tokens per CPU s | peak RSS MiB | loss first -> last |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for shape in ("cpu-tiny", "cpu-small"):
    for r in range(1, rounds + 1):
        for who in ("triad", "peer"):
            j = L(f"{d}/{who}-{shape}-{r}.json")
            print(f"| {shape} | {r} | {j['implementation']} | {j['tokens']} | {j['wall_seconds']:.1f} | {j['tokens_per_second']:.1f} | {j['cpu_seconds']:.1f} | {j['tokens_per_cpu_second']:.1f} | {j['peak_rss_mib']:.0f} | {j['first_loss']:.3f} -> {j['last_loss']:.3f} |")
print()
for shape in ("cpu-tiny", "cpu-small"):
    for key, what in (("tokens_per_second", "wall"), ("tokens_per_cpu_second", "CPU")):
        t = [L(f"{d}/triad-{shape}-{r}.json")[key] for r in range(1, rounds + 1)]
        p = [L(f"{d}/peer-{shape}-{r}.json")[key] for r in range(1, rounds + 1)]
        # Each round runs the pair back to back, so its ratio shares the load of that moment; the
        # medians above pair figures from different rounds when the load swings during the run.
        r = [a / b for a, b in zip(t, p)]
        print(f"- {shape}, {what} tokens/s: best Triad {max(t):.1f} / PyTorch script {max(p):.1f} = {max(t) / max(p):.2f}x; "
              f"median {statistics.median(t):.1f} / {statistics.median(p):.1f} = {statistics.median(t) / statistics.median(p):.2f}x; "
              f"per-round ratios {', '.join(f'{x:.2f}' for x in r)}: median {statistics.median(r):.2f}x, lowest {min(r):.2f}x")
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
