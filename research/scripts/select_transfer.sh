#!/usr/bin/env bash
# Tiles selected (wave-select) against tiles interpolated (wave)
# across width, on the transfer task's validation split: Fashion-MNIST classes
# 5-9, which the five-class bank never saw, so no validation image was among
# the bank's training images (on the main task every one was). Seeds 1-3
# paired; fresh heads (the classes differ from the bank's). Readings as in
# multi_aux.sh: s0-probe (a head fitted alone on the body as initialized) and
# s50 (50 fit steps, then one epoch).
#   research/scripts/select_transfer.sh [wave-eval] [out dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
EVAL=${1:-build/research/eval/wave-eval}
OUT=${2:-research/results/multi-aux/transfer}
COMMON=(--bank=research/banks/transfer/fashion-mnist-0-4-vit.safetensors
        --ancestry=research/banks/transfer/fashion-mnist-0-4-vit.ancestry.safetensors
        --classes=5,6,7,8,9 --val_samples=2500 --split=val --seeds=1,2,3
        --sizes=3x64,4x96,12x128,9x192,6x160 --train_samples=5000 --few_shot=1000 --lr=1e-3
        --threads=${THREADS:-2} --out_dir="$OUT" --resume --noreport)
source research/scripts/readings.sh
for v in s0-probe s50; do
  read -r -a flags <<< "${READING_FLAGS[$v]}"
  for method in wave wave-select; do
    "$EVAL" "${COMMON[@]}" "${flags[@]}" --csv="val-$v.csv" --methods="$method"
  done
  report_reading "$OUT" "val-$v" wave-select
done
