# Sourced by the benchmark scripts that run a job through the whole system, in the current
# directory: keys for mo (model owner), do (data owner) and cp (compute provider), a coordinator
# serving TLS on 127.0.0.1 that trusts a fresh sim key, and its parties added by the operator.
# Needs $triad (the binary) and the array pids (each started process is appended); sets $addr and
# the array client (--coordinator, --coordinator-card).
start_coordinator() {
  mkdir -m 700 keys sim
  for p in mo:model-owner do:data-owner cp:compute-provider; do
    "$triad" keygen --name "${p%%:*}" --role "${p#*:}" --dir keys >/dev/null
  done
  "$triad" coordinator init --dir state >/dev/null
  "$triad" coordinator card --dir state >card.json
  for p in mo do cp; do "$triad" coordinator parties add "keys/$p.card.json" --dir state >/dev/null; done
  openssl genpkey -algorithm ed25519 -out sim/key.pem 2>/dev/null
  openssl pkey -in sim/key.pem -pubout -out sim/key.pub.pem
  "$triad" coordinator serve --dir state --listen 127.0.0.1:0 --trust-sim-key sim/key.pub.pem \
    >serve.out 2>serve.log &
  pids+=($!)
  for _ in $(seq 100); do grep -q '^listening on ' serve.out && break; sleep 0.1; done
  addr=$(sed -n 's/^listening on \([^ ]*\) .*/\1/p' serve.out)
  client=(--coordinator "$addr" --coordinator-card card.json)
}

# contract.json signed by the three parties and submitted; the two owners' keyholders started.
submit_contract_and_start_keyholders() {
  for p in mo do cp; do "$triad" contract sign contract.json --as "keys/$p" >/dev/null; done
  "$triad" contract submit "${client[@]}" contract.json >/dev/null
  for p in mo do; do
    "$triad" keyholder serve "${client[@]}" --as "keys/$p" --trust-sim-key sim/key.pub.pem \
      >"keyholder-$p.out" 2>"keyholder-$p.log" &
    pids+=($!)
  done
}
