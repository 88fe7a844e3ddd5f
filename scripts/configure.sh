#!/usr/bin/env bash
# Runs CMake's configure step for a build directory, every time: it is idempotent and fast when
# nothing changed, and it repairs what an earlier failed or interrupted run left behind.
#
#   scripts/configure.sh BUILD_DIR [CMAKE_ARGS...]     (Ninja; Release unless CMAKE_ARGS say otherwise)
#
# When the directory cannot be configured as it is (a cache half-written by an interrupted run, a
# configure that failed before it wrote build.ninja, another generator's cache), its CMake cache is
# removed and it is configured afresh, once; objects already built stay and are reused. Every script
# that builds (quickstart, tests/run.sh, the benchmarks, the fuzz runs) configures through this.
set -euo pipefail
cd "$(dirname "$0")/.."

if (($# < 1)); then
  echo "usage: scripts/configure.sh BUILD_DIR [CMAKE_ARGS...]" >&2
  exit 2
fi
build=$1
shift
if [[ -e "$build" && ! -d "$build" ]]; then
  echo "configure: $build exists and is not a directory; remove it or set TRIAD_BUILD_DIR" >&2
  exit 1
fi

args=(-S . -B "$build" -G Ninja)
# A build type only for a new cache or when asked: an existing cache keeps its own.
if [[ ! -f "$build/CMakeCache.txt" ]] && [[ " $* " != *" -DCMAKE_BUILD_TYPE="* ]]; then
  args+=(-DCMAKE_BUILD_TYPE=Release)
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if cmake "${args[@]}" "$@" >"$log" 2>&1 && [[ -f "$build/build.ninja" ]]; then
  exit 0
fi
echo "configure: $build could not be configured as it was (an earlier run failed or was interrupted);" \
  "configuring it afresh" >&2
rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles" "$build/build.ninja"
if [[ " $* " != *" -DCMAKE_BUILD_TYPE="* ]]; then
  set -- -DCMAKE_BUILD_TYPE=Release "$@"
fi
if ! cmake -S . -B "$build" -G Ninja "$@" >"$log" 2>&1; then
  cat "$log" >&2
  echo "configure: CMake failed for $build (output above)" >&2
  exit 1
fi
