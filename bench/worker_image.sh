#!/usr/bin/env bash
# The real worker image built twice and compared: the trainer-enabled triad-worker of this build,
# the Debian packages its shared libraries come from (deploy/image/lock.sh, downloaded with
# apt-get), deploy/image/build.sh run twice with different temporary directories and umasks, and
# `triad measure image` on both layouts. Results to bench/results/worker_image-<stamp>.md.
#
# What this does not show: a second machine. Both builds use the same triad-worker binary; the
# binary itself is reproducible only with the same toolchain and libraries (docs/deploy.md).
#
# Env: TRIAD_BUILD_DIR (build), DEBS (build/worker-image-debs), KEEP (unset: the two layouts are
# removed after measuring).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TRIAD_BUILD_DIR:-build}
debs=${DEBS:-$build/worker-image-debs}
worker=$build/cli/triad-worker
[[ -x "$worker" ]] || { echo "worker_image.sh: build $worker first (tests/run.sh)" >&2; exit 1; }
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/results/worker_image-$stamp.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/worker-image.XXXXXX")
[[ -n "${KEEP:-}" ]] || trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}

t0=$(date +%s.%N)
deploy/image/lock.sh "$worker" "$debs" >"$tmp/packages.lock"
t1=$(date +%s.%N)
build_once() {  # $1: output layout, $2: umask, $3: TMPDIR
  mkdir -p "$3"
  (umask "$2" && TMPDIR="$3" deploy/image/build.sh --lock "$tmp/packages.lock" --debs "$debs" \
     --binary "$worker" --out "$1" >/dev/null)
}
build_once "$tmp/image-a" 022 "$tmp/tmp-a"
t2=$(date +%s.%N)
build_once "$tmp/image-b" 077 "$tmp/tmp-b/deeper"
t3=$(date +%s.%N)
da=$("$build/cli/triad" measure image "$tmp/image-a")
db=$("$build/cli/triad" measure image "$tmp/image-b")
same=no
[[ "$da" == "$db" ]] && same=yes
layer_bytes() { du -sb "$1/blobs" | cut -f1; }
{
  echo "# The worker image built twice, $stamp"
  echo
  echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)'); SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
  echo "- command: bench/worker_image.sh (deploy/image/lock.sh $worker; deploy/image/build.sh twice: umask 022 and 077, different TMPDIR; triad measure image on each)"
  echo "- worker binary: $(stat -c %s "$worker") bytes, sha256 $(sha256sum "$worker" | cut -d' ' -f1)"
  echo "- packages in the lock: $(grep -vc '^#' "$tmp/packages.lock"), $(du -cb $(awk '!/^#/ {v=$2; gsub(":", "%3a", v); print "'"$debs"'/" $1 "_" v "_" $3 ".deb"}' "$tmp/packages.lock") | tail -1 | cut -f1) bytes of .deb"
  echo
  echo "| build | umask | seconds | blobs bytes | image digest |"
  echo "| --- | --- | --- | --- | --- |"
  printf '| a | 022 | %.1f | %s | %s |\n' "$(echo "$t2 - $t1" | bc)" "$(layer_bytes "$tmp/image-a")" "$da"
  printf '| b | 077 | %.1f | %s | %s |\n' "$(echo "$t3 - $t2" | bc)" "$(layer_bytes "$tmp/image-b")" "$db"
  echo
  printf 'Same digest: **%s**. lock.sh (ldd, dpkg -S, apt-get download) took %.1f s.\n' "$same" "$(echo "$t1 - $t0" | bc)"
  echo
  echo "The lock:"
  echo
  echo '```'
  cat "$tmp/packages.lock"
  echo '```'
} >"$out"
echo "worker_image: wrote $out (same digest: $same)"
[[ "$same" == yes ]]
