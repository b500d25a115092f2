#!/usr/bin/env bash
# Every evaluation report the docs quote is what the report tool makes from the
# committed CSVs today, and the README's Results block is what
# scripts/eval/results_summary.py makes from those reports: a number edited by
# hand, or a CSV committed without its report, fails here.
#   tests/docs/reports_current.sh <wave-eval binary>
set -euo pipefail
EVAL=${1:?usage: reports_current.sh <wave-eval>}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for task in transfer main; do
  dir=docs/eval/$task
  "$EVAL" --report_only --inputs="$dir/test.csv" --out_dir="$tmp/$task" --reference=wave \
    --report_epochs=0,1,5 --yardstick=direct > /dev/null
  for made in "$tmp/$task"/results.md "$tmp/$task"/curve_*.dat; do
    if ! cmp -s "$made" "$dir/$(basename "$made")"; then
      echo "$dir/$(basename "$made") is not the report of $dir/test.csv:" \
           "run scripts/eval/report.sh $task" >&2
      exit 1
    fi
  done
done
/usr/bin/python3 scripts/eval/results_summary.py --check
echo "reports and the README's Results block are current"
