#!/usr/bin/env bash
# The reports of an evaluation made by research/scripts/protocol.py, from its
# committed CSVs only (TASK: transfer or main; the folder research/results/TASK):
#   results.md / results.png      test figures (test.csv): mean ± sd, paired
#                                 intervals of WAVE against each method, compute
#   served/                       the same with the server's fit as served
#                                 (wave-default) as the reference
#   selection-fit-steps/, selection-lr/   the validation runs the choices came from
#   sweep/                        the fit-steps sweep on test beside every method
#   then the README's Results block (research/scripts/results_summary.py)
#   research/scripts/report.sh TASK [wave-eval binary]
set -euo pipefail
cd "$(dirname "$0")/../.."
TASK=${1:?usage: report.sh transfer|main [wave-eval]}
EVAL=${2:-build/research/eval/wave-eval}
DIR=research/results/$TASK
"$EVAL" --report_only --inputs="$DIR/test.csv" --out_dir="$DIR" --reference=wave \
  --report_epochs=0,1,5 --yardstick=direct
# The server's fit exactly as served, against every method the same way.
if grep -q ",wave-default," "$DIR/test.csv"; then
  mkdir -p "$DIR/served"
  "$EVAL" --report_only --inputs="$DIR/test.csv" --out_dir="$DIR/served" \
    --reference=wave-default --report_epochs=0,1,5 --yardstick=direct
fi
mkdir -p "$DIR/selection-fit-steps" "$DIR/selection-lr"
"$EVAL" --report_only --inputs="$DIR/val-fit-steps.csv" --out_dir="$DIR/selection-fit-steps" \
  --reference=none --yardstick=none
"$EVAL" --report_only --inputs="$DIR/val-lr.csv" --out_dir="$DIR/selection-lr" \
  --reference=none --yardstick=none
# The fit-steps sweep (main task) beside every method's test runs: accuracy
# against image passes, and the compute each budget needs to reach Direct's final.
if [[ -f "$DIR/sweep.csv" ]]; then
  mkdir -p "$DIR/sweep"
  "$EVAL" --report_only --inputs="$DIR/sweep.csv,$DIR/test.csv" --out_dir="$DIR/sweep" \
    --reference=none --yardstick=direct
fi
# The three-auxiliary bank under the same protocol (research/scripts/new_bank.py),
# each recipe against every method of the task's comparison, paired by seed.
for candidate in multi24:wave-multi24 multi24-fitted:wave-multi24-fit; do
  CANDIDATE=research/results/$TASK-${candidate%%:*}
  [[ -f $CANDIDATE/test.csv ]] || continue
  "$EVAL" --report_only --inputs="$DIR/test.csv,$CANDIDATE/test.csv" --out_dir="$CANDIDATE" \
    --reference="${candidate#*:}" --report_epochs=0,1,5 --yardstick=direct
  # The validation runs the choices came from (none when taken from another task).
  for choice in fit-steps lr; do
    if [[ -f $CANDIDATE/val-$choice.csv ]]; then
      mkdir -p "$CANDIDATE/selection-$choice"
      "$EVAL" --report_only --inputs="$CANDIDATE/val-$choice.csv" \
        --out_dir="$CANDIDATE/selection-$choice" --reference=none --yardstick=none
    fi
  done
done
# Compute in FLOPs, then the README's Results block and research/results/summary.md.
/usr/bin/python3 research/scripts/compute_report.py "$TASK" > /dev/null
/usr/bin/python3 research/scripts/results_summary.py
