#!/usr/bin/env bash
# wave-eval --noreport leaves --out_dir's reports alone (a running evaluation
# must not rewrite committed reports), and a resumed evaluation describes its
# runs in runs.md once, not once per resumption; runs.md names the data a run
# on other classes read.
#   eval_noreport.sh <wave-eval> <test bank> <its ancestry>
set -euo pipefail
EVAL=$1 BANK=$2 ANCESTRY=$3
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
run() {
  "$EVAL" --bank="$BANK" --ancestry="$ANCESTRY" --sizes=1x32 --methods=wave --epochs=0 \
    --train_samples=100 --test_samples=50 --few_shot=40 --fit_steps=1 --threads=1 \
    --out_dir="$OUT" --resume "$@" > /dev/null
}
run --noreport
[[ -s $OUT/results.csv ]] || { echo "no results.csv"; exit 1; }
[[ ! -e $OUT/results.md ]] || { echo "--noreport wrote results.md"; exit 1; }
run --noreport
run
[[ -s $OUT/results.md ]] || { echo "the default run wrote no results.md"; exit 1; }
lines=$(wc -l < "$OUT/runs.md")
[[ $lines == 1 ]] || { echo "runs.md has $lines lines after three resumptions"; cat "$OUT/runs.md"; exit 1; }
# Other classes: runs.md names the data set (Fashion-MNIST, or the --data path).
run --noreport --classes=0,1 --csv=classes.csv
grep -q "Task: Fashion-MNIST classes 0,1 relabelled" "$OUT/runs.md" ||
  { echo "runs.md does not name Fashion-MNIST"; cat "$OUT/runs.md"; exit 1; }
ln -s /usr/share/datasets/fashion-mnist "$OUT/own-data"
run --noreport --classes=0,1 --csv=own.csv --data="$OUT/own-data"
grep -q "Task: \`$OUT/own-data\` classes 0,1 relabelled" "$OUT/runs.md" ||
  { echo "runs.md does not name --data"; cat "$OUT/runs.md"; exit 1; }
echo "ok"
