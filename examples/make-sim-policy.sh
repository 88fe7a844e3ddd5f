#!/usr/bin/env bash
# Writes a worker policy that admits only `sim` workers running exactly this worker executable:
#   examples/make-sim-policy.sh build/cli/triad-worker > policy.json
# The sim measurement is the SHA-384 of the worker executable, so rebuilding the worker changes it and
# the policy must be made again. Such a contract gives NO hardware protection (every record of its jobs
# says "SIMULATED: no hardware protection"); use it for development and the quickstart only.
set -euo pipefail
worker=${1:?usage: $0 WORKER_EXECUTABLE}
measurement=$(sha384sum "$worker" | cut -c1-96)
cat <<JSON
{
  "tee": ["sim"],
  "allow_debug": false,
  "sim": {"measurements": ["$measurement"]}
}
JSON
