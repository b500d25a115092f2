#!/usr/bin/env bash
# The spread between banks of one recipe on unseen classes: the transfer
# bank's recipe (research/banks/transfer/README.md) learned with seeds 1, 2
# and 3 (research/banks/transfer{,-seed2,-seed3}/), each initializing the
# transfer task's targets by the server's fit as served (wave-default: no fit
# option set, at the server's default precision), trained 5 epochs at WAVE's
# rate chosen on validation (research/results/transfer/choices.csv), target
# seeds 1-3 on the test images. Seed-major, so a stopped run still pairs;
# --resume continues where it stopped.
#   bash research/scripts/bank_spread.sh           # research/results/transfer-bank-spread/test.csv
#   REPORT_ONLY=1 bash research/scripts/bank_spread.sh   # results.md from the CSV alone
# The report sets each bank against seed 1's (the served transfer bank), paired
# by target seed.
set -euo pipefail
cd "$(dirname "$0")/../.."
EVAL=${EVAL:-build/research/eval/wave-eval}
OUT=research/results/transfer-bank-spread
mkdir -p "$OUT"
declare -A BANKS=([bank-seed1]=research/banks/transfer/fashion-mnist-0-4-vit.safetensors
                  [bank-seed2]=research/banks/transfer-seed2/fashion-mnist-0-4-vit-seed2.safetensors
                  [bank-seed3]=research/banks/transfer-seed3/fashion-mnist-0-4-vit-seed3.safetensors)
rate() {  # WAVE's chosen rate at a size, from the task's choices
  awk -F, -v size="$1" '$1 == size && $2 == "wave" { print $4 }' research/results/transfer/choices.csv
}
for seed in $([[ "${REPORT_ONLY:-0}" == 1 ]] || echo "${SEEDS:-1 2 3}"); do
  for label in bank-seed1 bank-seed2 bank-seed3; do
    for size in 3x64 4x96 12x128 9x192; do
      "$EVAL" --bank="${BANKS[$label]}" --ancestry="${BANKS[$label]%.safetensors}.ancestry.safetensors" --classes=5,6,7,8,9 --val_samples=2500 \
        --train_samples=5000 --few_shot=1000 --fit_batch=64 --batch=128 --warmup_epochs=0.2 \
        --methods=wave-default --label="$label" --split=test --seeds="$seed" --sizes="$size" \
        --epochs=5 --lr="$(rate "$size")" --threads="${THREADS:-1}" --out_dir="$OUT" \
        --csv=test.csv --resume --noreport
    done
  done
done
"$EVAL" --report_only --inputs="$OUT/test.csv" --out_dir="$OUT" --reference=bank-seed1 \
  --report_epochs=0,1,5 --yardstick=none
