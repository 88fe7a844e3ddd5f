#!/usr/bin/env bash
# age throughput: `triad decrypt` / `triad encrypt` against the stock `age` binary on the same 1 GiB
# random file, and the ChaCha20-Poly1305 ceiling of this machine (`openssl speed`, one process per
# core). Writes a markdown report to bench/results/age_throughput-<UTC date>.md.
#
#   bench/age_throughput.sh                  1 GiB, 5 timed rounds per command (after 1 warm-up)
#   TRIAD_BENCH_MIB=256 TRIAD_BENCH_ROUNDS=3 bench/age_throughput.sh
#   TRIAD_BUILD_DIR=build-foo                use another build's triad binary
#
# It also runs bench/aead_ceiling.cc, which times OpenSSL's ChaCha20-Poly1305 alone on the same
# ciphertext, once from the cache (as openssl speed does) and once from RAM (as any decryptor of a
# 1 GiB file must), so that the report can say how much of the gap to openssl speed is Triad's.
#
# Builds `triad` and `aead_ceiling` into the build directory first. Needs
# age, age-keygen, hyperfine, jq, openssl (scripts/install-deps.sh --bench installs them). The test files live in a temporary directory under
# /tmp (never in the repository) and are removed at the end. Run it on a quiet machine: the report
# records the load average before and after, and figures taken under load are not comparable.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${TRIAD_BUILD_DIR:-build}
triad="$PWD/$build/cli/triad"
mib=${TRIAD_BENCH_MIB:-1024}
rounds=${TRIAD_BENCH_ROUNDS:-5}
cores=$(nproc)

for tool in age age-keygen hyperfine jq openssl; do
  command -v "$tool" >/dev/null || { echo "age_throughput: $tool is missing; run scripts/install-deps.sh --bench" >&2; exit 1; }
done
ceiling="$PWD/$build/bench/aead_ceiling"
scripts/configure.sh "$build" -DTRIAD_WITH_BENCH=ON
cmake --build "$build" --target triad aead_ceiling >/dev/null

work=$(mktemp -d /tmp/triad-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p bench/results
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
report="bench/results/age_throughput-$stamp.md"
load_before=$(uptime)

echo "age_throughput: making a $mib MiB random file in $work"
age-keygen -o "$work/key" 2>/dev/null
recipient=$(age-keygen -y "$work/key")
head -c "$((mib * 1024 * 1024))" /dev/urandom >"$work/plain"
"$triad" encrypt -r "$recipient" -o "$work/plain.age" "$work/plain"
bytes=$(stat -c %s "$work/plain")
# Both tools read the same ciphertext: check that each decrypts it before timing anything.
age -d -i "$work/key" "$work/plain.age" | cmp -s - "$work/plain" || { echo "age -d disagrees" >&2; exit 1; }
"$triad" decrypt -i "$work/key" "$work/plain.age" | cmp -s - "$work/plain" || { echo "triad decrypt disagrees" >&2; exit 1; }

# hyperfine NAME1 CMD1 NAME2 CMD2 JSON: the median and the minimum seconds of each:
# median1, median2, min1, min2, one per line.
bench() {
  hyperfine --style basic --warmup 1 --runs "$rounds" --export-json "$5" -n "$1" "$2" -n "$3" "$4" >&2
  jq -r '.results[] | .median' "$5"
  jq -r '.results[] | .min' "$5"
}

echo "age_throughput: decryption to /dev/null"
dec_cmd_triad="$triad decrypt -i $work/key -o /dev/null $work/plain.age"
dec_cmd_age="age -d -i $work/key -o /dev/null $work/plain.age"
mapfile -t dec < <(bench "triad decrypt" "$dec_cmd_triad" "age -d" "$dec_cmd_age" "$work/dec.json")

echo "age_throughput: decryption to a file"
decf_cmd_triad="$triad decrypt -i $work/key -o $work/out $work/plain.age"
decf_cmd_age="age -d -i $work/key -o $work/out $work/plain.age"
mapfile -t decf < <(bench "triad decrypt -o file" "$decf_cmd_triad" "age -d -o file" "$decf_cmd_age" "$work/decf.json")

# What writing the same amount to a file costs by itself on this machine (page cache allocation).
echo "age_throughput: dd to a file (reference)"
dd_cmd="dd if=/dev/zero of=$work/dd.out bs=1M count=$mib status=none"
hyperfine --style basic --warmup 1 --runs "$rounds" --export-json "$work/dd.json" -n dd "$dd_cmd" >&2
dd_median=$(jq -r '.results[0].median' "$work/dd.json")

echo "age_throughput: encryption to /dev/null"
enc_cmd_triad="$triad encrypt -r $recipient -o /dev/null $work/plain"
enc_cmd_age="age -r $recipient -o /dev/null $work/plain"
mapfile -t enc < <(bench "triad encrypt" "$enc_cmd_triad" "age -r" "$enc_cmd_age" "$work/enc.json")

echo "age_throughput: openssl speed"
# "The 'numbers' are in 1000s of bytes per second processed": the last field of the result line.
ssl_speed() {
  openssl speed -seconds 3 -bytes 65536 "$@" -evp chacha20-poly1305 2>/dev/null |
    awk '/^ChaCha20-Poly1305/ {v=$NF; sub(/k$/, "", v); print v * 1000}' | tail -n 1
}
ssl_1=$(ssl_speed)
ssl_n=$(ssl_speed -multi "$cores")

echo "age_throughput: OpenSSL's ChaCha20-Poly1305 alone, from the cache and from RAM"
# aead_ceiling prints "cache MB/s" and "memory MB/s".
ceiling_1=$("$ceiling" "$work/plain.age" 1 "$rounds")
ceiling_n=$("$ceiling" "$work/plain.age" "$cores" "$rounds")
ceiling_field() { awk -v k="$2" '$1 == k {print $2}' <<<"$1"; }
cache_1=$(ceiling_field "$ceiling_1" cache)
cache_n=$(ceiling_field "$ceiling_n" cache)
memory_1=$(ceiling_field "$ceiling_1" memory)
memory_n=$(ceiling_field "$ceiling_n" memory)
load_after=$(uptime)

mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
secs() { awk -v s="$1" 'BEGIN { printf "%.3f", s }'; }
ssl_1_mbps=$(awk -v v="$ssl_1" 'BEGIN { printf "%.0f", v / 1e6 }')
ssl_n_mbps=$(awk -v v="$ssl_n" 'BEGIN { printf "%.0f", v / 1e6 }')
dec_triad_mbps=$(mbps "${dec[0]}")

{
  echo "# age throughput: triad vs stock age"
  echo
  echo "- date: $(date -u +%FT%TZ)"
  echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $cores cores ($(uname -m)), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM"
  echo "- software: triad $(git rev-parse --short HEAD 2>/dev/null || echo '?') ($build), age $(age --version), $(openssl version | cut -d' ' -f1-2), hyperfine $(hyperfine --version | cut -d' ' -f2)"
  echo "- load before: \`$load_before\`"
  echo "- load after:  \`$load_after\`"
  echo "- input: $mib MiB of /dev/urandom ($bytes bytes), encrypted once by triad to one X25519 recipient; in the page cache"
  echo "- rounds: $rounds timed (median reported) after 1 warm-up, by hyperfine"
  echo
  echo "Medians (and, in parentheses, the fastest round: on a busy machine the least disturbed one):"
  echo
  echo "| operation | triad (s) | age (s) | triad MB/s | age MB/s | triad speed-up |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  row() {  # NAME median1 median2 min1 min2
    echo "| $1 | $(secs "$2") ($(secs "$4")) | $(secs "$3") ($(secs "$5")) | $(mbps "$2") ($(mbps "$4")) | $(mbps "$3") ($(mbps "$5")) | $(ratio "$3" "$2")× ($(ratio "$5" "$4")×) |"
  }
  row "decrypt to /dev/null" "${dec[@]}"
  row "decrypt to a file in /tmp" "${decf[@]}"
  row "encrypt to /dev/null" "${enc[@]}"
  echo "| (reference) dd of the same size to a file | $(secs "$dd_median") | | $(mbps "$dd_median") | | |"
  echo
  echo "Decryption to /dev/null measures decryption itself (reading the ciphertext from the page cache"
  echo "included); decryption to a file adds the kernel's page-cache writes, which \`dd\` alone shows. triad"
  echo "writes its output to a new temporary file renamed over the destination at the end (so that a"
  echo "failed decryption leaves nothing), while age truncates the destination and reuses its pages."
  echo
  echo "ChaCha20-Poly1305 ceiling (\`openssl speed -evp chacha20-poly1305 -bytes 65536\`, MB/s = 10^6 bytes/s):"
  echo
  echo "| measurement | 1 core MB/s | $cores cores MB/s |"
  echo "| --- | ---: | ---: |"
  echo "| openssl speed (one 64 KiB buffer, in the cache) | $ssl_1_mbps | $ssl_n_mbps |"
  echo "| aead_ceiling, ciphertext in the cache (1 MiB per thread, over and over) | $cache_1 | $cache_n |"
  echo "| aead_ceiling, ciphertext from RAM (this 1 GiB file, once) | $memory_1 | $memory_n |"
  echo
  echo "aead_ceiling calls OpenSSL's ChaCha20-Poly1305 on 64 KiB chunks and nothing else: no process"
  echo "start, no page faults (the file is mapped with MAP_POPULATE first), no output. From RAM, that is"
  echo "the most any decryptor built on this primitive can reach for this file on this machine."
  echo
  echo "Targets:"
  echo
  echo "- decrypt ≥ 1.5× stock age: $(ratio "${dec[1]}" "${dec[0]}")×"
  echo "- decrypt within 80% of openssl speed on $cores cores: $(ratio "$dec_triad_mbps" "$ssl_n_mbps") of $ssl_n_mbps MB/s"
  echo "  - the primitive alone from RAM reaches $(ratio "$memory_n" "$ssl_n_mbps") of openssl speed on $cores cores"
  echo "  - triad decrypt reaches $(ratio "$dec_triad_mbps" "$memory_n") of the primitive alone from RAM ($memory_n MB/s)"
  echo "- encrypt at least as fast as age: $(ratio "${enc[1]}" "${enc[0]}")×"
  echo
  echo "Commands (the files were in $work):"
  echo
  echo '```'
  echo "$dec_cmd_triad"
  echo "$dec_cmd_age"
  echo "$decf_cmd_triad"
  echo "$decf_cmd_age"
  echo "$enc_cmd_triad"
  echo "$enc_cmd_age"
  echo "$dd_cmd"
  echo "openssl speed -seconds 3 -bytes 65536 -evp chacha20-poly1305"
  echo "openssl speed -seconds 3 -bytes 65536 -multi $cores -evp chacha20-poly1305"
  echo "$ceiling $work/plain.age 1 $rounds"
  echo "$ceiling $work/plain.age $cores $rounds"
  echo '```'
} >"$report"
cat "$report"
echo "age_throughput: wrote $report"
