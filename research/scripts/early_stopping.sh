#!/usr/bin/env bash
# The fit's early stopping against fixed step budgets, on validation
# images carved from the training set (never the test set), seed 1, accuracy of
# the initialization itself (epoch 0). The task is the transfer one (classes
# 5-9, which the five-class bank never saw, so no validation image was among
# the bank's training images). Every variant holds out the same 100 of the
# 1,000 few-shot images.
#   research/scripts/early_stopping.sh [wave-eval binary] [out dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
EVAL=${1:-build/research/eval/wave-eval}
OUT=${2:-research/results/early-stopping}
source research/scripts/transfer_val_flags.sh
COMMON=("${TRANSFER_FLAGS[@]}" --split=val --threads=${THREADS:-1} --out_dir="$OUT" --resume --noreport)
for steps in 25 50 100 200 400; do
  "$EVAL" "${COMMON[@]}" --csv=val.csv --label="fixed-$steps" --fit_steps=$steps
done
"$EVAL" "${COMMON[@]}" --csv=val.csv --label="early-stop-400" --fit_steps=400 \
  --eval_every=25 --patience=4
"$EVAL" --report_only --inputs="$OUT/val.csv" --out_dir="$OUT" --reference=early-stop-400 \
  --report_epochs=0 --yardstick=none
