#!/usr/bin/env bash
# One whole three-party job on this machine, end to end, on real processes talking gRPC over TLS:
#
#   examples/quickstart.sh
#
# It installs what is missing (scripts/install-deps.sh), builds `triad`, and then plays every part:
#   - three parties make their keys: a model owner (acme-models), a data owner (st-marys, a hospital)
#     and a compute provider (cloudco);
#   - a coordinator is created, its operator adds the three parties from their cards, and it is
#     served on 127.0.0.1 (TLS, its certificate pinned by every client through the coordinator card);
#     it holds no key that opens a model, a dataset or an adapter;
#   - the model owner makes a small random Qwen2-style model (examples/quickstart/config.json and
#     tokenizer.json) and pushes it, encrypted to the model owner's own key; the data owner pushes
#     examples/quickstart/dataset.jsonl the same way;
#   - each owner runs its keyholder (`triad keyholder serve`), which alone holds that key and decides
#     every release to a worker on its own checks (docs/custody.md);
#   - the three sign one contract whose worker policy admits only a `sim` worker running exactly this
#     build of the worker executable `triad-worker` (its SHA-384), and submit it; the data owner
#     submits a job;
#   - the compute provider's worker attests (sim); each owner's keyholder verifies the evidence, the
#     contract and the log itself and re-wraps its file key to the worker's attested key, with a
#     signed receipt; the worker decrypts and trains in memory, and delivers the adapter encrypted to
#     both owners with a signed job record;
#   - both owners fetch the adapter, which is verified (the whole audit bundle) before it is
#     decrypted; the encrypted copy is opened with the stock `age` tool too;
#   - the job's audit bundle is exported and verified offline, as an auditor would.
#
# The `sim` TEE gives NO hardware protection: every record says "SIMULATED: no hardware protection".
# On real hardware the worker runs inside an SEV-SNP or TDX guest with --tee auto and the contract
# pins its launch measurement instead (docs/tees.md).
#
# Everything it makes is left in quickstart-run/ (removed at the start of the next run). Plaintext
# appears only on the owners' side (their model and dataset, the fetched adapter), never in the
# coordinator's state directory, the keyholders' journals or the worker's files; and no file in the
# coordinator's state directory opens the stored model or dataset (checked with stock `age`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n== %s\n' "$*"; }

# LibTorch's OpenMP threads spin while they wait for each other; on a machine whose cores are busy
# with other work that slows training many times (docs/trainer.md). Passive waiting costs little.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

step "Dependencies and build"
scripts/install-deps.sh
build=${TRIAD_BUILD_DIR:-build}
scripts/configure.sh "$build"  # every time: it repairs a build directory an earlier run left broken
cmake --build "$build" -j "$(nproc)" --target triad  # and triad-worker, which it runs for the worker
triad="$root/$build/cli/triad"

run="$root/quickstart-run"
rm -rf "$run"
mkdir -p "$run"
cd "$run"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

step "Three parties make their keys"
mkdir -m 700 keys
"$triad" keygen --name acme-models --role model-owner --dir keys
"$triad" keygen --name st-marys --role data-owner --dir keys
"$triad" keygen --name cloudco --role compute-provider --dir keys

step "The coordinator: state directory, card, its parties, server"
"$triad" coordinator init --dir coordinator --name quickstart-coordinator
"$triad" coordinator card --dir coordinator >coordinator.card.json
# The operator adds the parties from the cards they sent (keygen wrote them); nobody else can.
for p in acme-models st-marys cloudco; do
  "$triad" coordinator parties add "keys/$p.card.json" --dir coordinator
done
# The sim TEE's signing key. A real TEE signs with a key the hardware vendor certifies; here the
# compute provider makes one and the coordinator is told to trust it (development only).
mkdir -m 700 sim
openssl genpkey -algorithm ed25519 -out sim/sim-key.pem 2>/dev/null
openssl pkey -in sim/sim-key.pem -pubout -out sim/sim-key.pub.pem
"$triad" --log-level info coordinator serve --dir coordinator --listen 127.0.0.1:0 \
  --trust-sim-key sim/sim-key.pub.pem >coordinator.out 2>coordinator.log &
pids+=($!)
for _ in $(seq 100); do
  grep -q '^listening on ' coordinator.out 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat coordinator.log >&2; exit 1; }
  sleep 0.1
done
addr=$(sed -n 's/^listening on \([^ ]*\) .*/\1/p' coordinator.out)
[[ -n "$addr" ]] || { echo "quickstart: the coordinator did not start" >&2; cat coordinator.log >&2; exit 1; }
echo "coordinator listening on $addr (TLS)"
client=(--coordinator "$addr" --coordinator-card coordinator.card.json)

step "The model owner makes and pushes a model; the data owner pushes a dataset"
mkdir -p model-owner
"$triad" model init --config "$root/examples/quickstart/config.json" \
  --tokenizer "$root/examples/quickstart/tokenizer.json" --seed 1 --out model-owner/model
model_id=$("$triad" model push model-owner/model "${client[@]}" --as keys/acme-models \
  --name quickstart-qwen2 --json | jq -r .id)
dataset_id=$("$triad" dataset push "$root/examples/quickstart/dataset.jsonl" "${client[@]}" \
  --as keys/st-marys --name unit-conversions --json | jq -r .id)
echo "model $model_id"
echo "dataset $dataset_id"

step "Each owner runs its keyholder, on its own side"
# A keyholder holds its owner's identity, polls the coordinator for release requests and decides
# each one itself: the worker's evidence against the owner's own roots (here: the sim key), the
# contract, the log. Its journal (keys/NAME.keyholder) records every decision.
for p in acme-models st-marys; do
  "$triad" --log-level info keyholder serve "${client[@]}" --as "keys/$p" \
    --trust-sim-key sim/sim-key.pub.pem >"keyholder-$p.out" 2>"keyholder-$p.log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    grep -q '^keyholder of ' "keyholder-$p.out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "keyholder-$p.log" >&2; exit 1; }
    sleep 0.1
  done
  head -1 "keyholder-$p.out"
done

step "The contract: drafted, shown, signed by all three, submitted"
# The worker policy admits only a sim worker whose measurement is the SHA-384 of this build's worker
# executable (`triad worker run` runs triad-worker).
"$root/examples/make-sim-policy.sh" "$root/$build/cli/triad-worker" >policy.json
"$triad" contract draft --model-owner keys/acme-models.card.json --data-owner keys/st-marys.card.json \
  --compute-provider keys/cloudco.card.json --model "$model_id" --model-name quickstart-qwen2 \
  --dataset "$dataset_id" --dataset-name unit-conversions --policy policy.json \
  --training "$root/examples/quickstart/training.json" --outputs "$root/examples/outputs.json" \
  --valid-for 1d --out contract.json
"$triad" contract show contract.json
for p in acme-models st-marys cloudco; do "$triad" contract sign contract.json --as "keys/$p"; done
"$triad" contract verify contract.json
contract_id=$(jq -r .payload contract.json | base64 -d | jq -r .id)
"$triad" contract submit "${client[@]}" contract.json

step "The compute provider's worker (sim TEE) and the job"
"$triad" --log-level info worker run "${client[@]}" --as keys/cloudco --tee sim \
  --sim-key sim/sim-key.pem --worker-id cloudco-sim-1 --once >worker.out 2>worker.log &
worker_pid=$!
pids+=("$worker_pid")
job=$("$triad" job submit "$contract_id" "${client[@]}" --as keys/st-marys --json | jq -r .id)
echo "job $job"
"$triad" job status "${client[@]}" --as keys/st-marys --watch "$job"
wait "$worker_pid" || { echo "quickstart: the worker failed" >&2; cat worker.log >&2; exit 1; }
state=$("$triad" job status "${client[@]}" --as keys/st-marys --json "$job" | jq -r .state)
[[ "$state" == done ]] || { echo "quickstart: job $job ended $state" >&2; exit 1; }

step "What each keyholder decided"
for p in acme-models st-marys; do "$triad" keyholder log --state "keys/$p.keyholder"; done

step "Both owners fetch the adapter"
# Each fetch first verifies the job's whole audit bundle with the owner's own anchors (here the sim
# key), then decrypts. The data owner into adapter/ (the PEFT layout), keeping the encrypted file as
# delivered; the model owner into model-owner/adapter/.
"$triad" job fetch "${client[@]}" "$job" --as keys/st-marys --trust-sim-key sim/sim-key.pub.pem \
  --out adapter --keep-ciphertext adapter.tar.age
"$triad" job fetch "${client[@]}" "$job" --as keys/acme-models --trust-sim-key sim/sim-key.pub.pem \
  --out model-owner/adapter
cmp adapter/adapter_model.safetensors model-owner/adapter/adapter_model.safetensors
echo "the encrypted adapter, opened with the stock age tool by each owner:"
age -d -i keys/st-marys.identity adapter.tar.age | tar -tv
age -d -i keys/acme-models.identity adapter.tar.age | tar -t >/dev/null
jq . adapter/training_report.json

step "The auditor: export the job's bundle and verify it offline"
"$triad" audit export "${client[@]}" "$job" --as keys/st-marys --out audit-bundle.json
# Offline: the auditor pins the coordinator's card and, for this sim job only, the simulation key the
# coordinator trusted; hardware evidence is checked against the vendor roots shipped in attestation/roots.
"$triad" audit verify audit-bundle.json --coordinator-card coordinator.card.json \
  --trust-sim-key sim/sim-key.pub.pem --adapter adapter.tar.age

step "Done"
echo "Everything is in $run: keys/ (with the keyholders' journals), coordinator/ (its state),"
echo "coordinator.card.json, adapter/ and adapter.tar.age, model-owner/, audit-bundle.json, and the"
echo "processes' logs."
echo "No plaintext of the model, dataset or adapter is in coordinator/ or the keyholders' journals:"
if grep -rqaF "Convert " coordinator/ keys/*.keyholder; then
  echo "quickstart: dataset plaintext found in the coordinator's state or a journal" >&2
  exit 1
fi
echo "  grep -r 'Convert ' coordinator/ keys/*.keyholder finds nothing."
echo "No file in coordinator/ opens the stored model or dataset:"
tried=0
for blob in coordinator/blobs/objects/*/*; do
  while IFS= read -r -d '' f; do
    if age -d -i "$f" -o /dev/null "$blob" 2>/dev/null; then
      echo "quickstart: $f opens $blob" >&2
      exit 1
    fi
    tried=$((tried + 1))
  done < <(find coordinator -type f -not -path 'coordinator/blobs/objects/*' -print0)
done
echo "  age -d -i FILE, for each of its files and each stored blob: $tried tries, none opens."
