#!/usr/bin/env bash
# Is a bank learned by two data-parallel processes as good as the
# single-process one? WAVE initializes the same targets from each bank (seeds
# 1-3, paired by seed: same training subset, few-shot images and order),
# trains one epoch, and is measured on all 10,000 test images; the report
# gives the paired difference with its 95% interval at epochs 0 and 1.
# A third bank (LABEL2=bank-1proc-seed2, the bundled recipe run again in one
# process with another seed) joins the same CSV: its difference from the
# bundled bank is the spread of bank learning itself, the yardstick for the
# two-process bank's.
#   research/scripts/compare_banks.sh [wave-eval] [two-process bank] [its ancestry] [out dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
EVAL=${1:-build/research/eval/wave-eval}
BANK2=${2:-research/banks/two-process/fashion-mnist-vit-2proc.safetensors}
ANCESTRY2=${3:-research/banks/two-process/fashion-mnist-vit-2proc.ancestry.safetensors}
OUT=${4:-research/results/two-process-bank}
LABEL2=${LABEL2:-bank-2proc}
COMMON=(--split=test --seeds=1,2,3 --sizes=3x64,4x96,12x128,9x192 --methods=wave
        --fit_steps=200 --epochs=1 --train_samples=5000 --few_shot=1000 --lr=1e-3
        --threads=${THREADS:-2} --out_dir="$OUT" --csv=test.csv --resume --noreport)
"$EVAL" "${COMMON[@]}" --label=bank-1proc --bank=models/fashion-mnist-vit.safetensors \
  --ancestry=models/fashion-mnist-vit.ancestry.safetensors
"$EVAL" "${COMMON[@]}" --label="$LABEL2" --bank="$BANK2" --ancestry="$ANCESTRY2"
"$EVAL" --report_only --inputs="$OUT/test.csv" --out_dir="$OUT" --reference=bank-2proc \
  --report_epochs=0,1 --yardstick=none
if grep -q ',bank-1proc-seed2,' "$OUT/test.csv"; then
  mkdir -p "$OUT/single-process-spread"
  "$EVAL" --report_only --inputs="$OUT/test.csv" --out_dir="$OUT/single-process-spread" \
    --reference=bank-1proc-seed2 --report_epochs=0,1 --yardstick=none
fi
