#!/usr/bin/env bash
# Writes the package lock of the worker image from a built triad-worker: the Debian packages that
# hold every shared library it loads (ldd, then dpkg -S), with the installed version and the SHA-256
# of the .deb (apt-get download). Run it on the pinned builder (Debian 12) and commit the result;
# build.sh then uses only the lock.
#   deploy/image/lock.sh PATH/TO/triad-worker DEBS_DIR > deploy/image/packages.lock
set -euo pipefail
export LC_ALL=C
worker=$1 debs=$2
mkdir -p "$debs"
libs=$(ldd "$worker" | awk '/=>/ {print $3} /ld-linux/ {print $1}' | sort -u)
pkgs=$( (for l in $libs; do dpkg -S "$(readlink -f "$l")" 2>/dev/null || dpkg -S "$l"; done) |
       cut -d: -f1 | sort -u)
echo "# NAME VERSION ARCH SHA256 (deploy/image/lock.sh $(basename "$worker"))"
for p in $pkgs libc6 base-files tzdata; do
  v=$(dpkg-query -W -f='${Version}' "$p")
  a=$(dpkg-query -W -f='${Architecture}' "$p")
  if ! (cd "$debs" && apt-get download -q "$p:$a=$v" >/dev/null 2>&1); then
    # The installed version left the archive (a stable or security update replaced it): lock the
    # version the archive serves now, which keeps the ABI, and say so.
    c=$(apt-cache policy "$p:$a" | awk '/Candidate:/ {print $2}')
    if [[ -z "$c" || "$c" == "(none)" || "$c" == "$v" ]] ||
       ! (cd "$debs" && apt-get download -q "$p:$a=$c" >/dev/null 2>&1); then
      echo "lock.sh: cannot download $p $v (nor a newer version): fetch it from snapshot.debian.org into $debs" >&2
      exit 1
    fi
    echo "lock.sh: $p $v is no longer in the archive; locked $c" >&2
    v=$c
  fi
  f="$debs/${p}_${v//:/%3a}_${a}.deb"
  echo "$p $v $a $(sha256sum "$f" | cut -d' ' -f1)"
done | sort -u
