#!/usr/bin/env bash
# Builds the Triad worker's OCI image without a daemon, reproducibly: the same inputs give the same
# image digest on any machine (docs/deploy.md, "The worker image").
#
#   deploy/image/build.sh --lock FILE --debs DIR --binary PATH[=IN_IMAGE] ... --out DIR
#
# --lock FILE   pinned Debian packages, one "NAME VERSION ARCH SHA256" per line (packages.lock)
# --debs DIR    where the .deb files are, or are downloaded to (apt-get download NAME=VERSION)
# --binary P=D  a file to put in the image at D (default /usr/bin/<name>), mode 0755
# --entrypoint  JSON array for the config's Entrypoint (default ["/usr/bin/triad-worker"])
# --out DIR     the OCI image layout to write (must not exist)
#
# What makes it reproducible: every .deb is checked against its SHA-256 in the lock; packages are
# unpacked with dpkg-deb (no maintainer scripts run); the root filesystem goes into one layer tar
# written by GNU tar in name order, with owner and group 0, every mtime SOURCE_DATE_EPOCH, no
# atime/ctime, and file modes normalized (no umask leaks); gzip -n -9 (no name, no time); the config,
# manifest and index are written byte for byte by this script, with "created" at SOURCE_DATE_EPOCH.
set -euo pipefail
export LC_ALL=C TZ=UTC

lock="" debs="" out="" entrypoint='["/usr/bin/triad-worker"]'
binaries=()
while (($#)); do
  case "$1" in
    --lock) lock=$2; shift 2 ;;
    --debs) debs=$2; shift 2 ;;
    --binary) binaries+=("$2"); shift 2 ;;
    --entrypoint) entrypoint=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$lock" && -n "$debs" && -n "$out" ]] || { echo "build.sh: need --lock, --debs and --out" >&2; exit 2; }
[[ -e "$out" ]] && { echo "build.sh: $out exists" >&2; exit 1; }
: "${SOURCE_DATE_EPOCH:?build.sh: set SOURCE_DATE_EPOCH (git log -1 --format=%ct)}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root" "$debs"

# 1. The pinned packages, checked, unpacked.
while read -r name version arch sha; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  deb="$debs/${name}_${version//:/%3a}_${arch}.deb"
  if [[ ! -f "$deb" ]]; then
    (cd "$debs" && apt-get download -q "${name}:${arch}=${version}" >/dev/null 2>&1) ||
      { echo "build.sh: cannot download ${name}=${version} (${arch}); put the .deb in $debs" >&2; exit 1; }
  fi
  got=$(sha256sum "$deb" | cut -d' ' -f1)
  [[ "$got" == "$sha" ]] || { echo "build.sh: $deb has SHA-256 $got, the lock says $sha" >&2; exit 1; }
  dpkg-deb -x "$deb" "$root"
done <"$lock"

# 2. The binaries.
for b in "${binaries[@]}"; do
  src=${b%%=*}
  dst=${b#*=}
  [[ "$dst" == "$b" ]] && dst="/usr/bin/$(basename "$src")"
  mkdir -p "$root$(dirname "$dst")"
  cp "$src" "$root$dst"
  chmod 0755 "$root$dst"
done
mkdir -p "$root/etc/triad" "$root/tmp" "$root/run"

# 3. Normalize: modes from the type and the owner-execute bit only, one mtime everywhere.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -perm -u+x -exec chmod 0755 {} +
find "$root" -type f ! -perm -u+x -exec chmod 0644 {} +
chmod 1777 "$root/tmp"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# 4. The layer: tar (ustar/pax, name order, numeric owner 0:0, no atime/ctime), gzip -n.
tar --sort=name --format=posix --numeric-owner --owner=0 --group=0 --mtime="@$SOURCE_DATE_EPOCH" \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$root" -cf "$work/layer.tar" .
diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
gzip -n -9 <"$work/layer.tar" >"$work/layer.tar.gz"

mkdir -p "$out/blobs/sha256"
blob() {  # FILE -> prints "sha256:HEX SIZE", stores the blob
  local d s
  d=$(sha256sum "$1" | cut -d' ' -f1)
  s=$(stat -c %s "$1")
  cp "$1" "$out/blobs/sha256/$d"
  echo "sha256:$d $s"
}
read -r layer_digest layer_size < <(blob "$work/layer.tar.gz")

created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
printf '{"architecture":"amd64","config":{"Entrypoint":%s,"Env":["PATH=/usr/bin:/bin"],"User":"65534:65534","WorkingDir":"/tmp"},"created":"%s","os":"linux","rootfs":{"diff_ids":["%s"],"type":"layers"}}' \
  "$entrypoint" "$created" "$diff_id" >"$work/config.json"
read -r config_digest config_size < <(blob "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
  "$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$work/manifest.json"
read -r manifest_digest manifest_size < <(blob "$work/manifest.json")

printf '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s}]}' \
  "$manifest_digest" "$manifest_size" >"$out/index.json"
echo "$manifest_digest"
