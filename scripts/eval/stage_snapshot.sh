#!/usr/bin/env bash
# Stages (git add) what a protocol run still in progress has finished: its
# test.csv without the run under way, and the reports made from exactly that.
# The evaluation is paused meanwhile (SIGSTOP to its process group) so the CSV
# does not change under the report, and resumed however this ends.
#   scripts/eval/stage_snapshot.sh TASK PGID [wave-eval binary]
set -euo pipefail
cd "$(dirname "$0")/../.."
TASK=${1:?usage: stage_snapshot.sh TASK PGID [wave-eval]}
PGID=${2:?usage: stage_snapshot.sh TASK PGID [wave-eval]}
EVAL=${3:-build/tools/eval/wave-eval}
CSV=docs/eval/$TASK/test.csv
live=$(mktemp)
kill -STOP -- "-$PGID"
trap 'cp "$live" "$CSV"; rm -f "$live"; kill -CONT -- "-$PGID"' EXIT
cp "$CSV" "$live"
# A run is finished when it reached the last epoch its method reaches anywhere
/usr/bin/python3 - "$live" "$CSV" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
last = {}
for r in rows:
    last[r["method"]] = max(last.get(r["method"], 0), int(r["epoch"]))
runs = {}
for r in rows:
    runs.setdefault((r["seed"], r["size"], r["method"]), []).append(r)
# ... or it cannot express the size (one n/a row).
done = {k for k, rs in runs.items()
        if rs[0]["accuracy"] == "n/a" or max(int(r["epoch"]) for r in rs) == last[k[2]]}
with open(sys.argv[2], "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=rows[0].keys(), lineterminator="\n")
    w.writeheader()
    w.writerows(r for r in rows if (r["seed"], r["size"], r["method"]) in done)
PY
bash scripts/eval/report.sh "$TASK" "$EVAL" > /dev/null
git add "docs/eval/$TASK" docs/eval/summary.md README.md
