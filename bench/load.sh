#!/usr/bin/env bash
# Load on one coordinator on loopback, results to bench/results/load-<stamp>.md.
#
# 1. bench/load_bench (one TLS connection per client, every call signed): WATCHERS WatchJob streams
#    and POLLERS polling workers held during SUBMITS job submissions and as many status queries, at
#    CONCURRENCY; p50/p99 of submit, status, a poll that got an assignment, and the first status of a
#    watch; beside the cheapest authenticated call (GetJob of a job that does not exist) measured
#    idle and again under the load, so the figures read as ratios to the transport itself.
# 2. UPLOADS artifacts of UPLOAD_MIB each, pre-encrypted with stock age, registered in parallel
#    (`triad dataset register`): aggregate MB/s, beside copying the same files into the same file
#    system with an fsync each (cp + sync), the disk's own pace.
# 3. The coordinator's CPU time (from /proc) over each part and its peak RSS (VmHWM).
#
# Env: TRIAD_BUILD_DIR (build), SUBMITS (1000), WATCHERS (200), POLLERS (50), CONCURRENCY (8),
# UPLOADS (20), UPLOAD_MIB (256), MAX_THREADS (512: the coordinator's --max-threads, sized so that
# the watchers and pollers, which each hold a thread while they wait, fit within the three quarters
# of them it lets wait; 256, the default, refuses the watches past 192 with RESOURCE_EXHAUSTED),
# MAX_TRANSPORT_MEMORY (256MiB, the coordinator's --max-transport-memory, its default),
# RUN_DIR (a temporary directory). The issue's setting is the default;
# on a small shared machine lower UPLOAD_MIB and say so (the results file records every setting).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${TRIAD_BUILD_DIR:-build}
submits=${SUBMITS:-1000}
watchers=${WATCHERS:-200}
pollers=${POLLERS:-50}
concurrency=${CONCURRENCY:-8}
uploads=${UPLOADS:-20}
upload_mib=${UPLOAD_MIB:-256}
max_threads=${MAX_THREADS:-512}
max_transport=${MAX_TRANSPORT_MEMORY:-256MiB}

scripts/configure.sh "$build"
cmake --build "$build" --target triad load_bench >/dev/null
triad="$root/$build/cli/triad"
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$root/bench/results/load-$stamp.md"
run=${RUN_DIR:-$(mktemp -d)}
mkdir -p "$run"
cd "$run"
pid=
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

"$triad" coordinator init --dir state >/dev/null
"$triad" coordinator card --dir state --out card.json
for p in mo:model-owner do:data-owner cp:compute-provider; do
  "$triad" keygen --name "${p%%:*}" --role "${p##*:}" --dir keys >/dev/null
  "$triad" coordinator parties add "keys/${p%%:*}.card.json" --dir state >/dev/null
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$triad" coordinator serve --dir state --listen "127.0.0.1:$port" --poll-wait 1s --nonce-ttl 30s \
  --max-watches 1000 --max-threads "$max_threads" --max-transport-memory "$max_transport" >serve.out 2>serve.err &
pid=$!
for _ in $(seq 100); do grep -q '^listening on ' serve.out 2>/dev/null && break; sleep 0.1; done
grep -q '^listening on ' serve.out || { cat serve.err >&2; exit 1; }
client=(--coordinator "127.0.0.1:$port" --coordinator-card card.json)

# A model push accepts (it runs the trainer's checks): the tiny Qwen2 of the test data.
mkdir -p model
cp "$root/testdata/trainer/qwen2_tiny/base/config.json" "$root/testdata/trainer/qwen2_tiny/base/model.safetensors" model/
cp "$root/testdata/trainer/tiny_gpt2_style.tokenizer.json" model/tokenizer.json
model=$("$triad" model push model "${client[@]}" --as keys/mo --name m)
echo '{"text": "load"}' >data.jsonl
data=$("$triad" dataset push data.jsonl "${client[@]}" --as keys/do --name d)
printf '{"tee": ["sim"], "sim": {"measurements": ["%s"]}}\n' "$(printf '%096d' 0)" >policy.json
"$triad" contract draft --model-owner keys/mo.card.json --data-owner keys/do.card.json \
  --compute-provider keys/cp.card.json --model "$model" --model-name m --dataset "$data" --dataset-name d \
  --policy policy.json --valid-for 1d --id c-load --max-jobs 1000000 --out contract.json >/dev/null
for p in mo do cp; do "$triad" contract sign contract.json --as "keys/$p" >/dev/null; done
"$triad" contract submit "${client[@]}" contract.json >/dev/null

cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
tck=$(getconf CLK_TCK)
c0=$(cpu)
t0=$(date +%s.%N)
rc=0
"$root/$build/bench/load_bench" "${client[@]}" --owner keys/do --provider keys/cp --contract c-load \
  --submits "$submits" --watchers "$watchers" --pollers "$pollers" --concurrency "$concurrency" \
  >rpc.json 2>rpc.err || rc=$?
t1=$(date +%s.%N)
c1=$(cpu)
hwm_rpc=$(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")

# Uploads: pre-encrypted to the data owner's card recipient, registered in parallel.
recipient=$(jq -r .age_recipient keys/do.card.json)
head -c $((upload_mib << 20)) /dev/urandom >plain.bin
for i in $(seq "$uploads"); do age -r "$recipient" -o "u$i.age" plain.bin; done
rm plain.bin
bytes=$(( $(stat -c %s u1.age) * uploads ))
sync
c2=$(cpu)
u0=$(date +%s.%N)
upids=()
for i in $(seq "$uploads"); do
  "$triad" dataset register "u$i.age" "${client[@]}" --as keys/do --name "u$i" >"u$i.out" 2>&1 &
  upids+=($!)
done
upload_errors=0
for p in "${upids[@]}"; do wait "$p" || upload_errors=$((upload_errors + 1)); done
u1=$(date +%s.%N)
c3=$(cpu)
hwm=$(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")
# The disk's pace for the same bytes: a copy of each file into the same file system, fsynced.
mkdir -p state/copy-peer
p0=$(date +%s.%N)
for i in $(seq "$uploads"); do cp "u$i.age" state/copy-peer/ & done
wait_cp() { for j in $(jobs -p); do [[ "$j" == "$pid" ]] || wait "$j"; done; }
wait_cp
sync state/copy-peer/*
p1=$(date +%s.%N)
rm -rf state/copy-peer u*.age

rate() { python3 -c "print(f'{$1 / ($3 - $2) / 1e6:.0f}')"; }
secs() { python3 -c "print(f'{($2 - $1):.1f}')"; }
cpus() { python3 -c "print(f'{($2 - $1) / $tck:.1f}')"; }
{
  echo "# load on one coordinator, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "machine: $(uname -srm), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo ' (with uncommitted changes)')"
  echo "command: bench/load.sh (SUBMITS=$submits WATCHERS=$watchers POLLERS=$pollers CONCURRENCY=$concurrency UPLOADS=$uploads UPLOAD_MIB=$upload_mib MAX_THREADS=$max_threads MAX_TRANSPORT_MEMORY=$max_transport)"
  echo "load_bench exit status: $rc (non-zero: some call failed; see first_error)"
  echo
  echo "## RPCs (load_bench; ms)"
  echo
  echo "| call | count | p50 | p99 | errors | p50 / baseline idle | p50 / baseline under load |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  python3 - rpc.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
bi, bl = r["baseline_idle"]["p50_ms"], r["baseline_under_load"]["p50_ms"]
for k in ["baseline_idle", "baseline_under_load", "submit", "status", "poll_assignment", "watch_first_status"]:
    s = r[k]
    ri = s["p50_ms"] / bi if bi else 0
    rl = s["p50_ms"] / bl if bl else 0
    print(f"| {k} | {s['count']} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['errors']} | {ri:.2f} | {rl:.2f} |")
print()
print(f"watch events received: {r['watch_events']}")
for k in ["baseline_idle", "baseline_under_load", "submit", "status", "poll_assignment", "watch_first_status"]:
    if r[k]["first_error"]:
        print(f"first error of {k}: {r[k]['first_error']}")
PY
  echo
  echo "## Uploads"
  echo
  echo "| what | bytes | seconds | MB/s | errors |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  echo "| $uploads x \`triad dataset register\` in parallel | $bytes | $(secs "$u0" "$u1") | $(rate "$bytes" "$u0" "$u1") | $upload_errors |"
  echo "| peer: cp of the same files into the same file system, then sync | $bytes | $(secs "$p0" "$p1") | $(rate "$bytes" "$p0" "$p1") | |"
  echo
  echo "## The coordinator"
  echo
  echo "CPU time during the RPC part: $(cpus "$c0" "$c1") s over $(secs "$t0" "$t1") s wall; during the uploads: $(cpus "$c2" "$c3") s over $(secs "$u0" "$u1") s; peak RSS (VmHWM) $hwm_rpc after the RPC part, $hwm after the uploads."
  echo
  echo "raw: \`$(cat rpc.json)\`"
} >"$out"
cat "$out"
echo "load: wrote $out"
