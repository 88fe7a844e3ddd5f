#!/usr/bin/env bash
# Rewrites testdata/cli/help/ from a triad built with the trainer (TRIAD_WITH_TRAINER=ON: the
# golden help includes train, worker and model init), after an intended change to the help:
#   tests/cli/update_help_goldens.sh [BUILD_DIR]    (default: build)
# Review the diff before committing it; cli_usage_test compares against these files.
set -euo pipefail
cd "$(dirname "$0")/../.."
triad=${1:-build}/cli/triad
out=testdata/cli/help
mkdir -p "$out"
XDG_CONFIG_HOME=/nonexistent "$triad" --help >"$out/triad.txt"
XDG_CONFIG_HOME=/nonexistent "$triad" --help-all >"$out/all.txt"
for group in $("$triad" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && NF {print $1}'); do
  XDG_CONFIG_HOME=/nonexistent "$triad" "$group" --help >"$out/$group.txt"
done
# triad-worker's one command below a group: its --device and --gpus are train's.
XDG_CONFIG_HOME=/nonexistent "$triad" worker run --help >"$out/worker-run.txt"
