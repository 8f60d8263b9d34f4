#!/bin/sh
# bench/eval.sh: quality self-check of the extraction engine.
#
# Runs `excerpt extract --format json` over the development set and, if they
# exist, the three held-out sets, adapts the output to the gold schema and scores
# it, printing one `overall:` line per set (prefixed with the set's name).
#
# Usage: bench/eval.sh [BUILD_DIR]     (default: build)
#   EVAL_DEV      dev set dir with texts/ and gold/   (/work/shared/eval)
#   EVAL_HOLDOUT  held-out dir with texts/ and gold/  (/work/notes/holdout)
#   EVAL_HOLDOUT2 second held-out dir                 (/work/notes/holdout2)
#   EVAL_HOLDOUT3 third held-out dir                  (/work/notes/holdout3)
#   EVAL_PER_DOC  set to 1 to print per-document scores as well
#   PYTHON        python 3 interpreter                (python3)
# Exit status: 0 when every present set was scored, 1 otherwise. A missing
# held-out set is skipped with a note, not an error.
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$here/build"}
case $build in /*) ;; *) build="$PWD/$build" ;; esac
exe="$build/cli/excerpt"
dev=${EVAL_DEV:-/work/shared/eval}
holdout=${EVAL_HOLDOUT:-/work/notes/holdout}
holdout2=${EVAL_HOLDOUT2:-/work/notes/holdout2}
holdout3=${EVAL_HOLDOUT3:-/work/notes/holdout3}
py=${PYTHON:-python3}
per_doc=
[ "${EVAL_PER_DOC:-0}" = 1 ] && per_doc=--per-doc

if [ ! -x "$exe" ]; then
    echo "eval.sh: $exe not found (cmake --build $build --target excerpt)" >&2
    exit 1
fi
if [ ! -f "$dev/adapt.py" ] || [ ! -f "$dev/score.py" ]; then
    echo "eval.sh: no adapt.py/score.py in $dev" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/excerpt-eval.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# score_set NAME DIR: extract, adapt and score one set; prints its overall line.
score_set() {
    name=$1
    dir=$2
    set -- "$dir"/texts/*.txt
    if [ ! -e "$1" ]; then
        echo "eval.sh: $name: no texts in $dir/texts" >&2
        return 1
    fi
    if ! "$exe" extract --format json "$@" >"$tmp/$name.jsonl"; then
        echo "eval.sh: $name: excerpt extract failed" >&2
        return 1
    fi
    if ! "$py" "$dev/adapt.py" "$tmp/$name" <"$tmp/$name.jsonl" >"$tmp/$name.adapt" 2>&1; then
        cat "$tmp/$name.adapt" >&2
        echo "eval.sh: $name: adapt.py failed" >&2
        return 1
    fi
    if ! "$py" "$dev/score.py" $per_doc "$dir/gold" "$tmp/$name" >"$tmp/$name.score"; then
        echo "eval.sh: $name: score.py failed" >&2
        return 1
    fi
    if [ -n "$per_doc" ]; then
        grep -v '^overall:' "$tmp/$name.score" | sed "s/^/$name /"
    fi
    line=$(grep '^overall:' "$tmp/$name.score")
    if [ -z "$line" ]; then
        echo "eval.sh: $name: no overall line from score.py" >&2
        return 1
    fi
    printf '%-8s %s\n' "$name" "$line"
}

# score_optional NAME DIR: score a held-out set if it is there, else say so.
score_optional() {
    if [ -d "$2/texts" ] && [ -d "$2/gold" ]; then
        score_set "$1" "$2"
    else
        printf '%-8s (absent: %s)\n' "$1" "$2"
    fi
}

rc=0
score_set dev "$dev" || rc=1
score_optional holdout "$holdout" || rc=1
score_optional holdout2 "$holdout2" || rc=1
score_optional holdout3 "$holdout3" || rc=1
exit $rc
