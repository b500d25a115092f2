#!/usr/bin/env bash
# Every evaluation report the docs quote is what research/scripts/report.sh makes
# from the committed CSVs today, and the README's Results block is what
# research/scripts/results_summary.py makes from those reports: a number edited by
# hand, or a CSV committed without its reports, fails here. The reports are
# remade in a scratch copy of the files they are made from, and compared.
#   research/tests/reports_current.sh <wave-eval binary>
set -euo pipefail
EVAL=$(realpath "${1:?usage: reports_current.sh <wave-eval>}")
cd "$(dirname "$0")/../.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# Scripts only: a local __pycache__ (scripts import each other) is not a report input.
cp --parents README.md docs/own-data.md research/results/bank_cost.csv research/results/*/*.csv \
  research/scripts/*.sh research/scripts/*.py "$scratch/"
for task in transfer main; do
  (cd "$scratch" && bash research/scripts/report.sh "$task" "$EVAL" > /dev/null 2>&1) ||
    { echo "research/scripts/report.sh $task failed" >&2; exit 1; }
done
(cd "$scratch" && /usr/bin/python3 research/scripts/own_data_report.py --eval="$EVAL" > /dev/null 2>&1) ||
  { echo "research/scripts/own_data_report.py failed" >&2; exit 1; }
for split in val test; do
  [[ -f research/results/cheap-fit-glyphs/$split.csv ]] || continue
  (cd "$scratch" && /usr/bin/python3 research/scripts/cheap_fit_report.py "$split" > /dev/null 2>&1) ||
    { echo "research/scripts/cheap_fit_report.py $split failed" >&2; exit 1; }
done
for task in main transfer glyphs; do
  [[ -f research/results/$task-bank-spread/test.csv ]] || continue
  (cd "$scratch" && TASK=$task EVAL="$EVAL" REPORT_ONLY=1 bash research/scripts/bank_spread.sh > /dev/null 2>&1) ||
    { echo "TASK=$task REPORT_ONLY=1 research/scripts/bank_spread.sh failed" >&2; exit 1; }
done
if [[ -f research/results/glyphs-cross-domain/test.csv ]]; then
  (cd "$scratch" && EVAL="$EVAL" REPORT_ONLY=1 bash research/scripts/cross_domain.sh > /dev/null 2>&1) ||
    { echo "REPORT_ONLY=1 research/scripts/cross_domain.sh failed" >&2; exit 1; }
fi
if [[ -f research/results/precision/results.csv ]]; then
  (cd "$scratch" && /usr/bin/python3 research/scripts/precision_report.py > /dev/null 2>&1) ||
    { echo "research/scripts/precision_report.py failed" >&2; exit 1; }
fi
cd "$scratch"
stale=0
# Text only: the PNGs embed the plotting library's build, the gnuplot scripts nothing new.
for made in README.md research/results/summary.md docs/own-data.md research/results/precision/README.md \
    $(find research/results -name 'results.md' -o -name 'curve_*.dat' -o -name 'compute.md' -o -name 'spread.md') \
    $(find research/results/cheap-fit-glyphs -name '*.md' ! -name 'README.md' ! -name 'runs.md'); do
  if ! cmp -s "$made" "$OLDPWD/$made"; then
    echo "$made does not match what the committed CSVs make: run research/scripts/report.sh (docs/own-data.md: research/scripts/own_data_report.py)" >&2
    stale=1
  fi
done
[[ $stale == 0 ]] && echo "reports and the README's Results block are current"
