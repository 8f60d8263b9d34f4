#!/usr/bin/env bash
# extract_json.sh: `excerpt extract --format json` over a corpus to
# /dev/null, beside `wc -w` over the same files in the same run, both
# pinned to one CPU, alternating; the best wall time and the best CPU time
# (user + system) of ROUNDS runs of each (default 7), since other load on
# the machine only ever adds time. CPU time is the steadier figure on a
# shared machine; wall time is what issue 13's target names.
#   bench/extract_json.sh [BUILD_DIR [CORPUS_DIR [ROUNDS]]]
# Defaults: build, ../shared/corpus/kremlin, 7. Use a Release build.
# Prints ms and MB/s of each and the ratios excerpt/wc (target: <= 1.5).
set -euo pipefail

build=${1:-build}
corpus=${2:-../shared/corpus/kremlin}
rounds=${3:-7}
excerpt="$build/cli/excerpt"

if [[ ! -x $excerpt ]]; then
    echo "extract_json.sh: no $excerpt (build first)" >&2
    exit 2
fi
shopt -s nullglob
files=("$corpus"/*.txt)
if ((${#files[@]} == 0)); then
    echo "extract_json.sh: no .txt files in $corpus" >&2
    exit 2
fi
bytes=$(cat "${files[@]}" | wc -c)
pin=()
if command -v taskset >/dev/null 2>&1; then
    pin=(taskset -c 0)
fi

# "wall_ms cpu_ms" of one run of the command given as arguments; a
# failing command fails the benchmark.
run_ms() {
    local TIMEFORMAT='%3R %3U %3S' t
    t=$({ time "${pin[@]}" "$@" >/dev/null; } 2>&1) || {
        echo "extract_json.sh: $* failed" >&2
        exit 1
    }
    awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }' <<<"$t"
}

bx=0 bxc=0 bw=0 bwc=0
for ((i = 0; i < rounds; i++)); do
    read -r x xc < <(run_ms "$excerpt" extract --format json "${files[@]}")
    read -r w wc_ < <(run_ms wc -w "${files[@]}")
    ((bx == 0 || x < bx)) && bx=$x
    ((bxc == 0 || xc < bxc)) && bxc=$xc
    ((bw == 0 || w < bw)) && bw=$w
    ((bwc == 0 || wc_ < bwc)) && bwc=$wc_
done

echo "input: ${#files[@]} files, $bytes bytes; best of $rounds rounds;" \
    "${pin[*]:-unpinned}; LANG=${LANG:-} LC_ALL=${LC_ALL:-}"
awk -v b="$bytes" -v x="$bx" -v xc="$bxc" -v w="$bw" -v wc="$bwc" 'BEGIN {
    printf "%-30s %7s %9s %7s %9s\n", "", "wall ms", "wall MB/s", "cpu ms", "cpu MB/s";
    printf "%-30s %7d %9.1f %7d %9.1f\n", "excerpt extract --format json", x, b / (x * 1e3), xc, b / (xc * 1e3);
    printf "%-30s %7d %9.1f %7d %9.1f\n", "wc -w", w, b / (w * 1e3), wc, b / (wc * 1e3);
    printf "excerpt/wc: %.2fx wall, %.2fx cpu\n", x / w, xc / wc;
}'
