#!/usr/bin/env bash
# Stages (git add) what a protocol run still in progress has finished: its
# test.csv without the run under way, and the reports made from exactly that.
# The evaluation keeps running untouched (pausing it would add the pause to the
# wall seconds of the run under way): the reports are made in a scratch copy of
# the task's folder and the CSV is staged from that copy, so the working tree's
# CSV keeps growing.
#   research/scripts/stage_snapshot.sh TASK [wave-eval binary]   (then git commit)
set -euo pipefail
cd "$(dirname "$0")/../.."
TASK=${1:?usage: stage_snapshot.sh TASK [wave-eval]}
EVAL=$(realpath "${2:-build/research/eval/wave-eval}")
DIR=research/results/$TASK
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# What the reports are made from (as research/tests/reports_current.sh copies
# it); the task's test and sweep CSVs are then replaced by their finished runs.
cp --parents README.md docs/own-data.md research/results/bank_cost.csv research/results/*/*.csv \
  research/results/*/results.md research/scripts/*.sh research/scripts/*.py "$scratch/"
# A run is finished when it reached the last epoch its method reaches anywhere
# (or it cannot express the size: one n/a row). A line being appended while
# this reads belongs to the run under way, which is left out anyway.
for csv_name in test.csv sweep.csv; do
  [[ -f "$DIR/$csv_name" ]] || continue
  /usr/bin/python3 - "$DIR/$csv_name" "$scratch/$DIR/$csv_name" <<'PY'
import csv, sys
lines = open(sys.argv[1]).read().split("\n")[:-1]  # an unterminated last line is dropped
rows = list(csv.DictReader(lines))
last, runs = {}, {}
for r in rows:
    last[r["method"]] = max(last.get(r["method"], 0), int(r["epoch"]))
    runs.setdefault((r["seed"], r["size"], r["method"]), []).append(r)
done = {k for k, rs in runs.items()
        if rs[0]["accuracy"] == "n/a" or max(int(r["epoch"]) for r in rs) == last[k[2]]}
with open(sys.argv[2], "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=rows[0].keys(), lineterminator="\n")
    w.writeheader()
    w.writerows(r for r in rows if (r["seed"], r["size"], r["method"]) in done)
PY
done
(cd "$scratch" && bash research/scripts/report.sh "$TASK" "$EVAL")
# The reports and the README block come back; the CSVs are staged from the copy.
for made in "$scratch/$DIR"/*; do
  name=$(basename "$made")
  if [[ "$name" == *.csv ]]; then
    blob=$(git hash-object -w "$made")
    git update-index --add --cacheinfo "100644,$blob,$DIR/$name"
  else
    rm -rf "${DIR:?}/$name" && cp -r "$made" "$DIR/$name" && git add "$DIR/$name"
  fi
done
# The other banks' reports on this task compare against its methods: they come back too.
for candidate in "$scratch/research/results/$TASK"-*; do
  [[ -d "$candidate" ]] || continue
  dest=research/results/$(basename "$candidate")
  for made in "$candidate"/*; do
    name=$(basename "$made")
    [[ "$name" == *.csv ]] && continue
    rm -rf "${dest:?}/$name" && cp -r "$made" "$dest/$name" && git add "$dest/$name"
  done
done
/usr/bin/python3 research/scripts/results_summary.py
git add research/results/summary.md README.md "$DIR/runs.md"
