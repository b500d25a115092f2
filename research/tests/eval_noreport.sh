#!/usr/bin/env bash
# wave-eval --noreport leaves --out_dir's reports alone (a running evaluation
# must not rewrite committed reports), and a resumed evaluation describes its
# runs in runs.md once, not once per resumption.
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
echo "ok"
