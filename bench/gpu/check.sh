#!/usr/bin/env bash
# The trainer's GPU check, in one go (about 10 minutes on one H100): builds trainer/ alone against the
# LibTorch of the Python torch found here, runs the trainer tests on CUDA, checks the fixtures'
# logits and LoRA gradients against transformers + peft in bf16, has peft load an adapter Triad
# wrote and reproduce Triad's logits, and measures tokens/s, MFU and peak GPU memory for the
# Qwen2.5-0.5B and Llama-3-8B shapes (seq 2048, bf16, LoRA r16 on all seven projections) against
# transformers + peft in the same run. Results to bench/results/gpu_check-<stamp>.md.
#
#   bench/gpu/prepare.sh                 once, on a machine with packages: carried dependencies
#   bench/gpu/check.sh                   on the GPU machine (carry bench/gpu/deps with the run)
#   bench/gpu/check.sh --cpu-only        everything up to the first GPU call, on CPU LibTorch: the
#                                        stand-alone configure (no absl, gRPC, OpenSSL, SQLite, ...),
#                                        the build, the tests and the fixture programs on CPU; the
#                                        python peers (transformers, peft) and GPU runs are skipped
# Env: PYTHON (python3), STEPS (10), BUILD (build-gpu-check), JOBS (nproc), TORCH_PREFIX (the LibTorch
# CMake prefix; default: the Python torch's, else /usr for Debian's libtorch-dev).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
mode=gpu
[[ "${1:-}" == "--cpu-only" ]] && mode=cpu
python=${PYTHON:-python3}
steps=${STEPS:-10}
build=${BUILD:-build-gpu-check}
jobs=${JOBS:-$(nproc)}
deps=$root/bench/gpu/deps
start=$(date +%s)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench/results
report=bench/results/gpu_check-$mode-$stamp.md
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
note() { echo "$*" | tee -a "$report"; }
elapsed() { echo $(($(date +%s) - start)); }
fail() { note "FAILED: $*"; status=1; }

: >"$report"
note "# Trainer GPU check ($mode), $stamp"
note ""
note "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"
if command -v nvidia-smi >/dev/null; then
  note "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
fi
note "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (dirty)')"

# --- 1. Configure trainer/ alone. ---
if [[ -z "${TORCH_PREFIX:-}" ]]; then
  TORCH_PREFIX=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || echo /usr)
fi
note "- LibTorch: $TORCH_PREFIX"
[[ -d "$deps/nlohmann" && -d "$deps/googletest" ]] || {
  note "missing $deps: run bench/gpu/prepare.sh where packages exist and carry bench/gpu/deps"
  exit 1
}
# Nothing of Triad's other dependencies may be found: the configure refuses them outright, and the
# carried copies stand in for nlohmann JSON and googletest. (Protobuf is not refused: Debian's LibTorch
# CMake package requires it for itself; pip's does not.)
blocked=(absl gRPC OpenSSL SQLite3 spdlog fmt CLI11 benchmark GTest nlohmann_json LibArchive PkgConfig)
cmake_args=(-S trainer -B "$build" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$TORCH_PREFIX"
  "-DTRIAD_DEPS_DIR=$deps")
for p in "${blocked[@]}"; do cmake_args+=("-DCMAKE_DISABLE_FIND_PACKAGE_$p=ON"); done
command -v ninja >/dev/null && cmake_args+=(-G Ninja)
rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"  # a fresh configure every time; objects stay
if ! cmake "${cmake_args[@]}" >"$work/configure.log" 2>&1; then
  cat "$work/configure.log"
  note "FAILED: configure (log above)"
  exit 1
fi
note "- configure: trainer/ alone, ${#blocked[@]} packages refused (${blocked[*]}); $(grep -E 'trainer:' "$work/configure.log" | sed 's/^-- trainer: //' | paste -sd ';' -)"

# --- 2. Build the library, tests, benchmarks and check programs. ---
if ! cmake --build "$build" -j "$jobs" >"$work/build.log" 2>&1; then
  tail -50 "$work/build.log"
  note "FAILED: build (log above)"
  exit 1
fi
# Proof that nothing else came in: no header of another dependency compiled, no library linked.
forbidden='/(absl|grpc|grpcpp|google/protobuf|openssl|spdlog|fmt|CLI|benchmark)/|sqlite3\.h|archive\.h|pcre2\.h|utf8proc\.h|/usr/include/(gtest|nlohmann)/'
if command -v ninja >/dev/null && [[ -f "$build/build.ninja" ]]; then
  if ninja -C "$build" -t deps | grep -E "$forbidden" | head -5 >"$work/forbidden.txt" && [[ -s "$work/forbidden.txt" ]]; then
    cat "$work/forbidden.txt"
    fail "headers of other dependencies were compiled in (above)"
  else
    note "- headers: $(ninja -C "$build" -t deps | grep -c '^    /') dependency entries, none of absl, gRPC, protobuf, OpenSSL, SQLite, spdlog, fmt, CLI11, libarchive, PCRE2, utf8proc or the system's gtest/nlohmann"
  fi
fi
for bin in tests/trainer_test train_throughput load_throughput fixture_check; do
  # Direct dependencies (DT_NEEDED): LibTorch's own (protobuf, gflags, ...) come through it.
  readelf -d "$build/$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' >"$work/needed-$(basename "$bin").txt"
  if grep -E 'absl|grpc|protobuf|libssl|libcrypto|sqlite|spdlog|fmt|archive|pcre2|utf8proc' \
      "$work/needed-$(basename "$bin").txt"; then
    fail "$bin links another dependency (above)"
  fi
done
note "- build: $(elapsed) s so far; trainer_test needs $(paste -sd ' ' "$work/needed-trainer_test.txt")"

# --- 3. The trainer tests: on CPU here, on CUDA on the GPU machine. ---
device=cpu
[[ $mode == gpu ]] && device=cuda
if TRIAD_TEST_DEVICE=$device OMP_NUM_THREADS=1 "$build/tests/trainer_test" >"$work/tests.log" 2>&1; then
  note "- trainer tests on $device: $(grep -E '^\[  PASSED  \]' "$work/tests.log")"
  grep -E 'rel err' "$work/tests.log" | sed 's/^/    /' | tee -a "$report"
else
  tail -40 "$work/tests.log"
  fail "trainer tests on $device"
fi

# --- 4. Fixtures against transformers + peft; 5. peft loads Triad's adapter. ---
precision=bf16
[[ $mode == cpu ]] && precision=fp32
for fx in qwen2_tiny llama3_tiny; do
  f=testdata/trainer/$fx
  if ! "$build/fixture_check" reference --fixture "$f" --device "$device" --precision "$precision" \
      --out "$work/$fx.triad.safetensors" >"$work/$fx.ref.json"; then
    fail "fixture_check reference $fx"
    continue
  fi
  mkdir -p "$work/$fx-adapter"
  if ! "$build/fixture_check" adapter --fixture "$f" --device "$device" --out "$work/$fx-adapter" \
      >"$work/$fx.adapter.json"; then
    fail "fixture_check adapter $fx"
    continue
  fi
  note "- $fx, Triad: $(cat "$work/$fx.ref.json") $(cat "$work/$fx.adapter.json")"
  if [[ $mode == gpu ]]; then
    if "$python" bench/gpu/peer_check.py reference --fixture "$f" --triad "$work/$fx.triad.safetensors" \
        >"$work/$fx.peer.json"; then
      note "- $fx vs transformers + peft (bf16, GPU): $(cat "$work/$fx.peer.json")"
    else
      note "- $fx vs transformers + peft: $(cat "$work/$fx.peer.json" 2>/dev/null)"
      fail "$fx: Triad's bf16 logits or gradients are outside bf16 tolerances"
    fi
    if "$python" bench/gpu/peer_check.py adapter --fixture "$f" --adapter "$work/$fx-adapter" \
        >"$work/$fx.load.json"; then
      note "- $fx, peft loads Triad's adapter: $(cat "$work/$fx.load.json")"
    else
      note "- $fx, peft loads Triad's adapter: $(cat "$work/$fx.load.json" 2>/dev/null)"
      fail "$fx: peft did not reproduce Triad's logits with Triad's adapter"
    fi
  fi
done
if [[ $mode == cpu ]]; then
  "$python" -c 'import ast, sys; [ast.parse(open(f).read(), f) for f in sys.argv[1:]]' \
    bench/gpu/peer_check.py bench/train_throughput_peft.py || fail "python peers do not parse"
  note "- skipped on CPU: the transformers/peft comparisons (peer_check.py, parsed only) and the throughput runs"
fi

# --- 6. Throughput against transformers + peft, with peak GPU memory. ---
if [[ $mode == gpu ]]; then
  note ""
  note "| shape | implementation | tokens/s | MFU (6N, 989 TFLOP/s) | peak GPU memory GiB | ratio |"
  note "| --- | --- | --- | --- | --- | --- |"
  # Peak memory as nvidia-smi sees it (context and cache included), for both alike.
  poll() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$1" 2>/dev/null & echo $!; }
  peak() { sort -n "$1" | tail -1; }
  for shape in qwen2.5-0.5b llama3-8b; do
    if (($(elapsed) > 480)); then
      fail "out of time before $shape ($(elapsed) s)"
      break
    fi
    pid=$(poll "$work/smi-triad-$shape")
    "$build/train_throughput" --shape "$shape" --device cuda --precision bf16 --seq 2048 --batch 1 \
      --steps "$steps" --rank 16 --init fast >"$work/triad-$shape.json" || fail "Triad $shape"
    kill "$pid" 2>/dev/null || true
    pid=$(poll "$work/smi-peer-$shape")
    "$python" bench/train_throughput_peft.py --shape "$shape" --seq 2048 --batch 1 --steps "$steps" \
      --rank 16 >"$work/peer-$shape.json" || fail "PEFT $shape"
    kill "$pid" 2>/dev/null || true
    "$python" - "$work" "$shape" "$(peak "$work/smi-triad-$shape")" "$(peak "$work/smi-peer-$shape")" <<'PY' | tee -a "$report"
import json, sys
d, shape, smi_t, smi_p = sys.argv[1], sys.argv[2], float(sys.argv[3] or 0), float(sys.argv[4] or 0)
t = json.load(open(f"{d}/triad-{shape}.json"))
p = json.load(open(f"{d}/peer-{shape}.json"))
tt = t["tokens_per_second_after_warmup"] or t["tokens_per_second"]
print(f"| {shape} | triad | {tt:.0f} | {tt * t['flops_per_token_6n'] / 989e12:.1%} | {smi_t / 1024:.1f} (nvidia-smi) | {tt / p['tokens_per_second']:.2f}x |")
print(f"| {shape} | transformers + peft | {p['tokens_per_second']:.0f} | {p['mfu_6n']:.1%} | {smi_p / 1024:.1f} (nvidia-smi), {p['peak_memory_gib']:.1f} allocated | 1 |")
PY
  done
  note ""
  note "Targets: >= 2x PEFT's tokens/s on qwen2.5-0.5b, >= 1.5x on llama3-8b."
  note ""
  note '```'
  cat "$work"/triad-*.json "$work"/peer-*.json >>"$report" 2>/dev/null || true
  note '```'
fi

note ""
note "Total: $(elapsed) s; $([[ $status == 0 ]] && echo 'all checks passed' || echo 'SOME CHECKS FAILED')."
echo "wrote $report"
exit $status
