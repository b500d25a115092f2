#!/usr/bin/env bash
# Cheaper fits. The head alone first, on the initialized body's
# features computed once (--fit_head_steps: forward passes over the 900 fit
# images, once; each head step is a linear layer), with and without scaler
# steps after it, against fixed scaler budgets. Accuracy of the initialization
# itself (epoch 0) on the validation images carved from the training set
# (where a choice would be made) and on all test images of the task, seed 1,
# the transfer task (classes 5-9, which the five-class bank never saw), the
# same 100 of the 1,000 few-shot images held out as in research/results/early-stopping.
#   research/scripts/cheaper_fit.sh [wave-eval binary] [out dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
EVAL=${1:-build/research/eval/wave-eval}
OUT=${2:-research/results/cheaper-fit}
source research/scripts/transfer_val_flags.sh
COMMON=("${TRANSFER_FLAGS[@]}" --threads=${THREADS:-2} --out_dir="$OUT" --resume --noreport)
for split in val test; do
  run() { "$EVAL" "${COMMON[@]}" --split=$split --csv=$split.csv "$@"; }
  for steps in 100 400; do run --label="scalers-$steps" --fit_steps=$steps; done
  for head in 300 1000; do run --label="head-$head" --fit_steps=0 --fit_head_steps=$head; done
  for steps in 50 100; do
    run --label="head-300+scalers-$steps" --fit_steps=$steps --fit_head_steps=300
  done
  "$EVAL" --report_only --inputs="$OUT/$split.csv" --out_dir="$OUT/$split" --reference=scalers-400 \
    --report_epochs=0 --yardstick=none
done
