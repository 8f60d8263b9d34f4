#!/usr/bin/env python3
"""extract_changes.py: what a change to the engine changes, mention by mention.

Runs `excerpt extract --format json` of two builds over every .txt file of a
corpus and prints, per document, the entity mentions, figures and turns one
build has and the other lacks (type, text, value/unit for figures; start,
speaker and end for turns), each with a line of the text around it, then a
count per kind. For changes meant to
change output (rules, data), where bench/extract_diff.sh (byte-identical
output) does not apply: read every line before calling a change better.

Documents of the held-out set (bench/holdout/gold) are skipped unless
--holdout is given: nobody reads their misses.

usage: bench/extract_changes.py OLD_BUILD_DIR NEW_BUILD_DIR [CORPUS_DIR]
       [--kind entities|figures|turns|all] [--holdout] [--context N]
Exit status: 0 no differences, 1 differences printed, 2 usage or run error.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(build, files):
    exe = os.path.join(build, "cli", "excerpt")
    if not os.access(exe, os.X_OK):
        sys.exit(f"extract_changes.py: no {exe} (build first)")
    out = {}
    # in chunks, so the argument list stays short
    for i in range(0, len(files), 200):
        p = subprocess.run([exe, "extract", "--format", "json"] + files[i:i + 200],
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.stderr.write(p.stderr)
            sys.exit(f"extract_changes.py: {exe} failed ({p.returncode})")
        for line in p.stdout.splitlines():
            d = json.loads(line)
            out[d["source"]] = d
    return out


def mentions(doc):
    """Entity mentions as (start, end, type, text)."""
    s = set()
    for e in doc.get("entities", []):
        for m in e.get("mentions", []):
            s.add((m["start"], m["end"], e["type"], m["text"]))
    return s


def figures(doc):
    s = set()
    for f in doc.get("figures", []):
        s.add((f["start"], f["end"], f["type"], f["text"],
               str(f.get("value")), f.get("unit") or ""))
    return s


def turns(doc):
    """Turns as (start, start, speaker, end): a label read differently
    shows as a turn added or lost, with the text after its start."""
    s = set()
    for t in doc.get("turns", []):
        s.add((t["start"], t["start"], t.get("speaker") or "(no speaker)",
               f"to {t['end']}"))
    return s


def context(text, start, end, n):
    a = max(0, start - n)
    b = min(len(text), end + n)
    return (text[a:start] + b"[" + text[start:end] + b"]" +
            text[end:b]).replace(b"\n", b" | ")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("corpus", nargs="?",
                    default=os.path.join(HERE, "..", "..", "shared", "corpus",
                                         "kremlin"))
    ap.add_argument("--kind", choices=("entities", "figures", "turns", "all"),
                    default="all")
    ap.add_argument("--holdout", action="store_true",
                    help="include the held-out set's documents")
    ap.add_argument("--context", type=int, default=60,
                    help="bytes of text shown on each side")
    a = ap.parse_args()

    files = sorted(glob.glob(os.path.join(a.corpus, "*.txt")))
    if not files:
        print(f"extract_changes.py: no .txt files in {a.corpus}",
              file=sys.stderr)
        return 2
    held = set()
    if not a.holdout:
        for g in glob.glob(os.path.join(HERE, "holdout", "gold", "*.json")):
            with open(g, encoding="utf-8") as f:
                held.add(os.path.basename(json.load(f)["source"]))
    old, new = run(a.old, files), run(a.new, files)
    kinds = [("entities", mentions), ("figures", figures), ("turns", turns)]
    if a.kind != "all":
        kinds = [k for k in kinds if k[0] == a.kind]
    count = {}
    for path in files:
        if os.path.basename(path) in held:
            continue
        o, n = old.get(path), new.get(path)
        if o is None or n is None:
            print(f"extract_changes.py: {path}: missing output",
                  file=sys.stderr)
            return 2
        with open(path, "rb") as f:
            raw = f.read()
        for name, fn in kinds:
            so, sn = fn(o), fn(n)
            for sign, items in (("-", so - sn), ("+", sn - so)):
                for it in sorted(items):
                    # offsets are bytes of the UTF-8 text
                    ctx = context(raw, it[0], it[1], a.context).decode(
                        "utf-8", "replace")
                    print(f"{os.path.basename(path)} {sign} {name[:-1]:6} "
                          f"{' '.join(x for x in it[2:] if x)}  ::  {ctx}")
                    key = (name, sign)
                    count[key] = count.get(key, 0) + 1
    skipped = f", {len(held)} held-out files skipped" if held else ""
    print(f"extract_changes.py: {len(files)} files{skipped}; " + ", ".join(
        f"{k} -{count.get((k, '-'), 0)} +{count.get((k, '+'), 0)}"
        for k, _ in kinds))
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main())
