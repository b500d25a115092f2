#!/usr/bin/env bash
# Every evaluation report the docs quote is what scripts/eval/report.sh makes
# from the committed CSVs today, and the README's Results block is what
# scripts/eval/results_summary.py makes from those reports: a number edited by
# hand, or a CSV committed without its reports, fails here. The reports are
# remade in a scratch copy of the files they are made from, and compared.
#   tests/docs/reports_current.sh <wave-eval binary>
set -euo pipefail
EVAL=$(realpath "${1:?usage: reports_current.sh <wave-eval>}")
cd "$(dirname "$0")/../.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# Scripts only: a local __pycache__ (scripts import each other) is not a report input.
cp --parents README.md docs/own-data.md docs/eval/bank_cost.csv docs/eval/*/*.csv \
  scripts/eval/*.sh scripts/eval/*.py "$scratch/"
for task in transfer main; do
  (cd "$scratch" && bash scripts/eval/report.sh "$task" "$EVAL" > /dev/null 2>&1) ||
    { echo "scripts/eval/report.sh $task failed" >&2; exit 1; }
done
(cd "$scratch" && /usr/bin/python3 scripts/eval/own_data_report.py --eval="$EVAL" > /dev/null 2>&1) ||
  { echo "scripts/eval/own_data_report.py failed" >&2; exit 1; }
cd "$scratch"
stale=0
# Text only: the PNGs embed the plotting library's build, the gnuplot scripts nothing new.
for made in README.md docs/eval/summary.md docs/own-data.md $(find docs/eval -name 'results.md' -o -name 'curve_*.dat'); do
  if ! cmp -s "$made" "$OLDPWD/$made"; then
    echo "$made does not match what the committed CSVs make: run scripts/eval/report.sh (docs/own-data.md: scripts/eval/own_data_report.py)" >&2
    stale=1
  fi
done
[[ $stale == 0 ]] && echo "reports and the README's Results block are current"
