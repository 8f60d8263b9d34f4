#!/bin/sh
# bench/eval.sh: quality self-check of the extraction engine.
#
# Runs `excerpt extract --format json` over the development set, the
# tuning set of bench/tune and the held-out set of bench/holdout (the last
# two are gold only: each gold file names its corpus file and how many
# leading bytes of it are annotated; see bench/holdout/README.md),
# adapts the output to the gold schema and scores it, printing one `overall:`
# line per set (prefixed with the set's name).
#
# Usage: bench/eval.sh [BUILD_DIR]     (default: build)
#   EVAL_DEV      dev set dir with texts/ and gold/   (/work/shared/eval)
#   EVAL_HOLDOUT  held-out gold dir                   (bench/holdout/gold)
#   EVAL_TUNE     tuning gold dir                     (bench/tune/gold)
#   EVAL_CORPUS   dir the held-out corpus files are in (/work/shared/corpus)
#   EVAL_PER_DOC  set to 1 to print per-document scores as well
#   EVAL_TYPES    set to 1 to print per-type tables (aggregates only: allowed
#                 for the held-out set, which never shows its misses)
#   EVAL_CI       set to 1 to print a 90% bootstrap interval of each F1 over
#                 the set's documents (aggregates only, like EVAL_TYPES)
#   PYTHON        python 3 interpreter                (python3)
# Exit status: 0 when every set was scored, 1 otherwise (a missing corpus
# file of the held-out set is an error).
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$here/build"}
case $build in /*) ;; *) build="$PWD/$build" ;; esac
exe="$build/cli/excerpt"
dev=${EVAL_DEV:-/work/shared/eval}
holdout=${EVAL_HOLDOUT:-"$here/bench/holdout/gold"}
tune=${EVAL_TUNE:-"$here/bench/tune/gold"}
corpus=${EVAL_CORPUS:-/work/shared/corpus}
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
    if [ -n "$per_doc" ] || [ "${EVAL_TYPES:-0}" = 1 ]; then
        grep -v '^overall:' "$tmp/$name.score" | sed "s/^/$name /"
    fi
    line=$(grep '^overall:' "$tmp/$name.score")
    if [ -z "$line" ]; then
        echo "eval.sh: $name: no overall line from score.py" >&2
        return 1
    fi
    printf '%-8s %s\n' "$name" "$line"
    if [ "${EVAL_CI:-0}" = 1 ]; then
        "$py" - "$dev/score.py" "$dir/gold" "$tmp/$name" "$name" <<'PY' || return 1
# Resamples the set's documents with replacement (fixed seed, so the
# interval is reproducible) and prints the 5th and 95th percentile of the
# micro-averaged F1s: how far a score on another set of this size may land.
import json, os, random, subprocess, sys
score, gold, system, name = sys.argv[1:5]
docs = []
for f in sorted(os.listdir(gold)):
    if not f.endswith(".json"):
        continue
    sp = os.path.join(system, f)
    if not os.path.exists(sp):
        sp = os.path.join(system, "missing.json")
        with open(sp, "w") as out:
            out.write("{}")
    r = json.loads(subprocess.run([sys.executable, score, "--json",
                                   os.path.join(gold, f), sp],
                                  check=True, capture_output=True).stdout)
    e, g, s = (r["entities"]["strict_overall"], r["figures"]["full_overall"],
               r["speakers"])
    docs.append([(d["tp"], d["fp"], d["fn"]) for d in (e, g, s)])
def f1(rows, k):
    tp = sum(r[k][0] for r in rows)
    fp = sum(r[k][1] for r in rows)
    fn = sum(r[k][2] for r in rows)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
rng = random.Random(13)
runs = [[rng.choice(docs) for _ in docs] for _ in range(2000)]
parts = []
for k, label in enumerate(("entities", "figures", "speakers")):
    v = sorted(f1(rows, k) for rows in runs)
    parts.append("%s %.4f-%.4f" % (label, v[len(v) // 20], v[len(v) * 19 // 20]))
print("%-8s 90%% interval over %d documents: %s" % (name, len(docs), " ".join(parts)))
PY
    fi
}

# prefix_set NAME GOLD_DIR: builds $tmp/NAME-set/{texts,gold} from gold files
# whose "source" names a corpus file and "bytes" the annotated prefix of it.
prefix_set() {
    mkdir -p "$tmp/$1-set/texts" || return 1
    ln -s "$2" "$tmp/$1-set/gold" || return 1
    "$py" - "$2" "$corpus" "$tmp/$1-set/texts" <<'PY'
import json, os, sys
gold, corpus, out = sys.argv[1:4]
for name in sorted(os.listdir(gold)):
    if not name.endswith(".json"):
        continue
    g = json.load(open(os.path.join(gold, name), encoding="utf-8"))
    src = os.path.join(corpus, g["source"])
    with open(src, "rb") as f:
        text = f.read()
    n = g["bytes"]
    if n > len(text):
        sys.exit("eval.sh: %s is %d bytes, %s asks %d" % (src, len(text), name, n))
    with open(os.path.join(out, name[:-5] + ".txt"), "wb") as f:
        f.write(text[:n])
PY
}

rc=0
score_set dev "$dev" || rc=1
if [ -n "$(ls "$tune"/*.json 2>/dev/null)" ]; then
    if prefix_set tune "$tune"; then
        score_set tune "$tmp/tune-set" || rc=1
    else
        echo "eval.sh: tune: cannot build the texts from $corpus" >&2
        rc=1
    fi
fi
if prefix_set holdout "$holdout"; then
    score_set holdout "$tmp/holdout-set" || rc=1
else
    echo "eval.sh: holdout: cannot build the texts from $corpus" >&2
    rc=1
fi
exit $rc
