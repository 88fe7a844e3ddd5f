#!/usr/bin/env bash
# What the worker's NVML code reads from a real NVIDIA driver, in three steps:
#
#   bench/gpu/nvml_probe.sh bundle        here: builds bench/gpu/nvml_probe.cc and copies it with
#                                         every shared library it needs and this machine's loader
#                                         into bench/gpu/probe/ (git-ignored, ~11 MB), to be carried;
#                                         the GPU machine needs neither Debian's libraries nor a
#                                         glibc as recent as this one
#   bench/gpu/nvml_probe.sh run OUT       on the GPU machine: finds the driver's libnvidia-ml.so.1,
#                                         records nvidia-smi's view of CC mode, and runs the probe:
#                                         the CC state, each GPU's UUID, and each GPU's attestation
#                                         report over a fresh nonce with its chain, into OUT
#   bench/gpu/nvml_probe.sh verify DIR    here again, on what came back: every report through
#                                         `triad attest verify --format nvidia-gpu` with its nonce;
#                                         writes bench/results/nvml_probe-<stamp>.md
#
# On a GPU whose CC mode is off the driver refuses the report (the probe prints NVML's reason):
# that is recorded as the finding, and the CC state is still read through the same code the worker
# runs. Env for run: NVML_LIBRARY (a path to libnvidia-ml.so.1 instead of the search).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
probe_dir=bench/gpu/probe

case "${1:-}" in
bundle)
  build=${TRIAD_BUILD_DIR:-build}
  scripts/configure.sh "$build" >/dev/null
  cmake --build "$build" --target nvml_probe >/dev/null
  rm -rf "$probe_dir"
  mkdir -p "$probe_dir/lib"
  cp "$build/bench/nvml_probe" "$probe_dir/"
  ldd "$build/bench/nvml_probe" | awk '/=> \// {print $3}' | xargs -I{} cp -L {} "$probe_dir/lib/"
  loader=$(ldd "$build/bench/nvml_probe" | awk '/ld-linux/ {print $1}')
  cp -L "$loader" "$probe_dir/lib/ld-linux.so"
  echo "$(git rev-parse --short HEAD)$(git diff --quiet || echo ' (dirty)')" >"$probe_dir/commit"
  echo "bench/gpu/probe: $(ls "$probe_dir/lib" | wc -l) libraries, $(du -sh "$probe_dir" | cut -f1)"
  ;;
run)
  out=${2:?usage: nvml_probe.sh run OUT}
  mkdir -p "$out"
  [[ -x "$probe_dir/nvml_probe" ]] || { echo "no $probe_dir: run 'nvml_probe.sh bundle' and carry it" >&2; exit 1; }
  lib=${NVML_LIBRARY:-}
  if [[ -z "$lib" ]]; then
    lib=$(ldconfig -p 2>/dev/null | awk '/libnvidia-ml.so.1 / {print $NF; exit}')
  fi
  if [[ -z "$lib" ]]; then
    for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/lib; do
      [[ -e "$d/libnvidia-ml.so.1" ]] && { lib="$d/libnvidia-ml.so.1"; break; }
    done
  fi
  {
    echo "probe built from: $(cat "$probe_dir/commit")"
    echo "date: $(date -u +%FT%TZ)"
    echo "host: $(uname -srm), $(nproc) cores"
    echo "libnvidia-ml: ${lib:-not found}"
  } >"$out/host.txt"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=index,name,uuid,driver_version,vbios_version,memory.total \
      --format=csv >"$out/nvidia-smi-gpus.csv" 2>&1 || true
    # CC mode as the driver's own tool reports it (subcommand names vary across drivers).
    { nvidia-smi conf-compute -f; nvidia-smi conf-compute -grs; nvidia-smi conf-compute -q; } \
      >"$out/nvidia-smi-cc.txt" 2>&1 || true
  fi
  status=0
  args=("$out")
  [[ -n "$lib" ]] && args+=(--library "$lib")
  "$probe_dir/lib/ld-linux.so" --library-path "$root/$probe_dir/lib" "$probe_dir/nvml_probe" \
    "${args[@]}" >"$out/probe.jsonl" 2>"$out/probe.err" || status=$?
  echo "probe exit status: $status" >>"$out/host.txt"
  cat "$out/host.txt" "$out/probe.jsonl"
  exit "$status"
  ;;
verify)
  dir=${2:?usage: nvml_probe.sh verify DIR}
  build=${TRIAD_BUILD_DIR:-build}
  cmake --build "$build" --target triad >/dev/null
  triad="$root/$build/cli/triad"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p bench/results
  res=bench/results/nvml_probe-$stamp.md
  {
    echo "# NVML probe on a real driver, verified here, $stamp"
    echo
    echo "verified on: $(uname -srm) at commit $(git rev-parse --short HEAD)"
    echo "command: bench/gpu/nvml_probe.sh run OUT (on the GPU machine), then bench/gpu/nvml_probe.sh verify OUT"
    echo
    # A section: its title, then the files that exist among the rest, fenced.
    section() {
      echo "## $1"
      echo
      echo '```'
      shift
      local any=0
      for f in "$@"; do [[ -e "$f" ]] && { cat "$f"; any=1; }; done
      [[ $any == 1 ]] || echo "(none)"
      echo '```'
      echo
    }
    section 'The GPU machine' "$dir/host.txt" "$dir/nvidia-smi-gpus.csv"
    section 'nvidia-smi on CC mode' "$dir/nvidia-smi-cc.txt"
    section 'What NVML returned to the worker code (probe.jsonl)' "$dir/probe.jsonl" "$dir/probe.err"
    echo '## Each report through triad attest verify --format nvidia-gpu'
    echo
    found=0
    for rep in "$dir"/gpu*.report.bin; do
      [[ -e "$rep" ]] || continue
      found=1
      stem=${rep%.report.bin}
      echo "### $(basename "$stem")"
      echo
      echo '```'
      "$triad" attest verify --format nvidia-gpu --evidence "$rep" --certs "$stem.certs.pem" \
        --nonce "$(cat "$stem.nonce.hex")" --json 2>&1 || echo "(exit status $?)"
      echo '```'
      echo
    done
    [[ $found == 1 ]] || echo "No report came back (see the probe's output above for NVML's reason)."
  } >"$res"
  cat "$res"
  echo "nvml_probe: wrote $res"
  ;;
*)
  sed -n 2,20p "$0" >&2
  exit 2
  ;;
esac
