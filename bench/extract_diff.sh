#!/usr/bin/env bash
# extract_diff.sh: differential check of two builds of the engine. Runs
# `excerpt extract --format json` of each build over every .txt file of a
# corpus and compares the outputs document by document, timing fields
# ("..._us", "..._ms") removed. For changes that must not change output
# (refactoring, speed work).
#   bench/extract_diff.sh OLD_BUILD_DIR NEW_BUILD_DIR [CORPUS_DIR]
# Default corpus: ../shared/corpus/kremlin. Exits 0 when every document
# is identical, 1 on the first difference (printing that document's path
# and the first differing bytes of its JSON), 2 on a usage or run error.
set -euo pipefail

if (($# < 2 || $# > 3)); then
    echo "usage: extract_diff.sh OLD_BUILD_DIR NEW_BUILD_DIR [CORPUS_DIR]" >&2
    exit 2
fi
old="$1/cli/excerpt"
new="$2/cli/excerpt"
corpus=${3:-../shared/corpus/kremlin}
for x in "$old" "$new"; do
    if [[ ! -x $x ]]; then
        echo "extract_diff.sh: no $x (build first)" >&2
        exit 2
    fi
done
shopt -s nullglob
files=("$corpus"/*.txt)
if ((${#files[@]} == 0)); then
    echo "extract_diff.sh: no .txt files in $corpus" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One JSON object per line and document, in file order, timings removed.
run() {
    "$1" extract --format json "${files[@]}" >"$tmp/raw" || {
        echo "extract_diff.sh: $1 failed" >&2
        exit 2
    }
    sed -E 's/"[A-Za-z_]*_(us|ms)":[0-9.]+,?//g' "$tmp/raw" >"$2"
}
run "$old" "$tmp/old"
run "$new" "$tmp/new"

n_old=$(wc -l <"$tmp/old")
n_new=$(wc -l <"$tmp/new")
if ((n_old != ${#files[@]} || n_new != ${#files[@]})); then
    echo "extract_diff.sh: ${#files[@]} files but $n_old old and $n_new" \
        "new documents" >&2
    exit 1
fi
if cmp -s "$tmp/old" "$tmp/new"; then
    echo "extract_diff.sh: ${#files[@]} documents identical"
    exit 0
fi

# The first differing line is the first differing document.
line=$(cmp "$tmp/old" "$tmp/new" | sed -E 's/.* line ([0-9]+).*/\1/' || true)
doc=${files[line - 1]}
sed -n "${line}p" "$tmp/old" >"$tmp/a"
sed -n "${line}p" "$tmp/new" >"$tmp/b"
at=$(cmp "$tmp/a" "$tmp/b" 2>&1 | sed -E 's/.* byte ([0-9]+).*/\1/' || true)
[[ $at =~ ^[0-9]+$ ]] || at=1
from=$((at > 200 ? at - 200 : 1))
echo "extract_diff.sh: first difference in $doc (document $line of" \
    "${#files[@]}, JSON byte $at)"
echo "old: ...$(cut -c "$from-$((at + 200))" "$tmp/a")..."
echo "new: ...$(cut -c "$from-$((at + 200))" "$tmp/b")..."
exit 1
