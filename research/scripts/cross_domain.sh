#!/usr/bin/env bash
# Across domains: the bundled Fashion-MNIST bank (models/, ten clothing classes,
# grey 28x28) initializing targets on the glyph letters F-J, by the server's fit
# as served (wave-default: no fit option set; ten bank classes against five
# targets, so a fresh head and the bank's other-classes defaults), beside Direct
# on the same images. Every image is brought to the bank's geometry (grey,
# 28x28) as the server brings an upload; the letters' training subset, upload
# and test images are those of the glyph task's runs (the same seeds pick the
# same images). Then 5 epochs on 5,000 training images at lr 1e-3, as
# research/scripts/cheap_fit.sh runs the glyph task; 3x64 and 4x96, seeds 1-3,
# on the F-J test images (fonts no training image uses). Direct gets the cheap
# fit's budget before epoch 0: 43 head steps of batch 64 (3 passes over the
# 900 fit images).
#   bash research/scripts/cross_domain.sh                # research/results/glyphs-cross-domain/test.csv
#   REPORT_ONLY=1 bash research/scripts/cross_domain.sh  # results.md from the CSVs alone
# The report merges the glyph task's own bank (glyphs-bank-spread/test.csv,
# bank-seed1: learned on A-E at 32x32 RGB) and sets it against the
# Fashion-MNIST bank, paired by target seed.
set -euo pipefail
cd "$(dirname "$0")/../.."
EVAL=${EVAL:-build/research/eval/wave-eval}
OUT=research/results/glyphs-cross-domain
mkdir -p "$OUT"
if [[ "${REPORT_ONLY:-0}" != 1 ]]; then
  [[ -d data/glyphs/train ]] || /usr/bin/python3 examples/glyphs/make_glyphs.py --out=data/glyphs
  COMMON=(--bank=models/fashion-mnist-vit.safetensors
    --ancestry=models/fashion-mnist-vit.ancestry.safetensors
    --data=data/glyphs/train --test_data=data/glyphs/test --classes=5,6,7,8,9
    --train_samples=5000 --val_samples=1000 --few_shot=1000 --fit_held_out=100
    --split=test --epochs=5 --lr=1e-3 --threads="${THREADS:-1}" --out_dir="$OUT"
    --csv=test.csv --resume --noreport)
  for seed in 1 2 3; do
    for size in 3x64 4x96; do
      "$EVAL" "${COMMON[@]}" --seeds="$seed" --sizes="$size" --methods=wave-default \
        --label=fashion-mnist-bank
      "$EVAL" "${COMMON[@]}" --seeds="$seed" --sizes="$size" --methods=direct --fit_steps=43
    done
  done
fi
"$EVAL" --report_only --inputs="$OUT/test.csv,research/results/glyphs-bank-spread/test.csv" \
  --out_dir="$OUT" --reference=fashion-mnist-bank --report_epochs=0,1,5 --yardstick=direct
