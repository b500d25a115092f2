#!/usr/bin/env bash
# The fit's arithmetic, bf16 against f32: the server's fit as served
# (wave-default) on classes the bank never saw, the transfer task's
# validation split (research/PROTOCOL.md): accuracy after the fit (epoch 0)
# and after one epoch of training at WAVE's rate for 9x192 (3e-4, choices.csv;
# DeiT-S size, 12x384, takes the same), seeds 1-5, paired by seed. The
# server's default precision is chosen from these figures, so they are on
# validation images, never test. Resumable: rows already in the CSV are kept.
#
#   research/scripts/precision.sh [path/to/wave-eval]
#   research/scripts/precision_report.py   # the paired table, PRECISION.md
set -euo pipefail
cd "$(dirname "$0")/../.."
EVAL=${1:-runs/eval-bin/wave-eval}
OUT=research/results/precision
for size in 9x192 12x384; do
  for precision in f32 bf16; do
    "$EVAL" --bank=research/banks/transfer/fashion-mnist-0-4-vit.safetensors \
      --ancestry=research/banks/transfer/fashion-mnist-0-4-vit.ancestry.safetensors \
      --classes=5,6,7,8,9 --val_samples=2500 --split=val \
      --train_samples=5000 --few_shot=1000 --fit_batch=64 --batch=128 --warmup_epochs=0.2 \
      --lr=3e-4 --epochs=1 --seeds=1,2,3,4,5 --threads="${THREADS:-2}" \
      --sizes=$size --methods=wave-default --fit_precision=$precision \
      --label=wave-default-$precision --out_dir=$OUT --resume --noreport
  done
done
