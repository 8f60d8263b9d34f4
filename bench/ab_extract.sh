#!/usr/bin/env bash
# ab_extract.sh: two builds' bench_extract side by side in one run, for a
# speed figure that does not depend on how fast this machine is: ROUNDS
# rounds (default 9), each running A then B (B then A in odd rounds, so
# neither always goes first), both pinned to the same CPU. Prints every
# round's MB/s (wall and CPU time) and, per build, the median and best,
# and the ratio B/A of the medians.
#
# Typical use: A is the commit a target was measured on (a worktree's
# Release build), B is the build under test; a ratio >= 1 says B is at
# least as fast as A on any machine that A was measured on.
#   bench/ab_extract.sh BUILD_A BUILD_B [CORPUS_DIR [ROUNDS [SECONDS]]]
# Defaults: ../shared/corpus/kremlin, 9 rounds, 2 s per run.
set -euo pipefail

if (($# < 2)); then
    echo "usage: bench/ab_extract.sh BUILD_A BUILD_B [CORPUS_DIR [ROUNDS [SECONDS]]]" >&2
    exit 2
fi
a=$1
b=$2
corpus=${3:-../shared/corpus/kremlin}
rounds=${4:-9}
secs=${5:-2}
for d in "$a" "$b"; do
    if [[ ! -x $d/bench/bench_extract ]]; then
        echo "ab_extract.sh: no $d/bench/bench_extract (build first)" >&2
        exit 2
    fi
done
if [[ ! -d $corpus ]]; then
    echo "ab_extract.sh: no corpus directory $corpus" >&2
    exit 2
fi
pin=()
if command -v taskset >/dev/null 2>&1; then
    pin=(taskset -c 0)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # build label round
    local out
    if ! out=$("${pin[@]}" "$1/bench/bench_extract" --json --min-seconds "$secs" "$corpus"); then
        echo "ab_extract.sh: $1/bench/bench_extract failed" >&2
        exit 1
    fi
    printf '%s\n' "$out" >>"$tmp/$2"
    printf '%-2s round %2d  %s\n' "$2" "$3" \
        "$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print("%7.1f MB/s wall %7.1f MB/s CPU" % (j["mb_per_s"], j["mb_per_cpu_s"]))' "$out")"
}

for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then
        run "$a" A "$r"
        run "$b" B "$r"
    else
        run "$b" B "$r"
        run "$a" A "$r"
    fi
done

python3 - "$tmp/A" "$tmp/B" "$a" "$b" <<'EOF'
import json, statistics, sys
res = {}
for tag, path, build in (("A", sys.argv[1], sys.argv[3]), ("B", sys.argv[2], sys.argv[4])):
    rows = [json.loads(l) for l in open(path)]
    wall = [r["mb_per_s"] for r in rows]
    cpu = [r["mb_per_cpu_s"] for r in rows]
    res[tag] = (statistics.median(wall), statistics.median(cpu))
    print("%s %-40s median %7.1f MB/s wall %7.1f CPU; best %7.1f wall %7.1f CPU"
          % (tag, build, res[tag][0], res[tag][1], max(wall), max(cpu)))
print("B/A median ratio: %.3f wall, %.3f CPU" % (res["B"][0] / res["A"][0], res["B"][1] / res["A"][1]))
EOF
