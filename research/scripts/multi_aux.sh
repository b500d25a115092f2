#!/usr/bin/env bash
# Templates learned with several auxiliaries (6x128, 2x64, 6x192)
# against the bundled bank (6x128 only), on the validation split (5,000
# training images held out; seeds 1-3 paired: same subset, few-shot images and
# order). Sizes: the four evaluation sizes and 6x160, a width neither bank has.
# Three readings of the same initialization:
#   s0-bankhead  zero fit steps, the head resampled from the bank's (the
#                service's answer to --steps=0 on the bank's own classes)
#   s0-probe     zero scaler steps, a fresh head fitted alone for 300 steps on
#                the body's features (how good the body is, whatever the head)
#   s50          50 fit steps (scalers and a fresh head), then one epoch
# Five initializations, by bank and by how scalers cross a width:
#   single, multi        structured resampling (tiles interpolated), nearest auxiliary
#   multi-blend          the two nearest auxiliaries blended by inverse distance
#   single-select,       tiles selected, never blended (ScalerInit::kSelect)
#   multi-select
#   multi-select-narrower  and from the nearest auxiliary no wider than the target
# Each reading has its own CSV and report; paired differences are single-select
# minus each.
#   research/scripts/multi_aux.sh [wave-eval] [multi-auxiliary bank] [out dir]
# The bank of the same auxiliaries with three times the distillation epochs
# (models/multi-aux-24/, labels multi24*):
#   LABELS="multi24 multi24-select-narrower" research/scripts/multi_aux.sh [wave-eval]
#   SPLIT=test READINGS="s0-bankhead s0-probe" LABELS=... research/scripts/multi_aux.sh [wave-eval]
set -euo pipefail
cd "$(dirname "$0")/../.."
EVAL=${1:-build/research/eval/wave-eval}
MULTI=${2:-research/banks/multi-aux/fashion-mnist-vit-multiaux.safetensors}
OUT=${3:-research/results/multi-aux}
# SPLIT=test: the same readings on the 10,000 test images (after the choice),
# into $OUT/test-*.csv.
SPLIT=${SPLIT:-val}
COMMON=(--split="$SPLIT" --val_samples=5000 --seeds=1,2,3 --sizes=3x64,4x96,12x128,9x192,6x160
        --train_samples=5000 --few_shot=1000 --lr=1e-3
        --threads=${THREADS:-2} --out_dir="$OUT" --resume --noreport
        --ancestry=models/fashion-mnist-vit.ancestry.safetensors)
source research/scripts/readings.sh
SINGLE=models/fashion-mnist-vit.safetensors
# The same auxiliaries, each with the bundled bank's distillation budget.
MULTI24=${MULTI24:-models/multi-aux-24/fashion-mnist-vit-multiaux24.safetensors}
RUNS=("single wave $SINGLE" "multi wave $MULTI" "multi-blend wave $MULTI --aux_mix=blend"
      "single-select wave-select $SINGLE" "multi-select wave-select $MULTI"
      "multi-select-narrower wave-select $MULTI --aux_mix=narrower"
      "multi24 wave $MULTI24" "multi24-select-narrower wave-select $MULTI24 --aux_mix=narrower")
# LABELS="single multi ...": only those initializations, at every reading (when
# unset: the first six, and s50 for three of them); REFERENCE: the paired
# differences' starting point (single-select).
for v in ${READINGS:-s0-bankhead s0-probe s50}; do
  read -r -a flags <<< "${READING_FLAGS[$v]}"
  for r in "${RUNS[@]}"; do
    read -r label method bank extra <<< "$r"
    [[ -n ${LABELS:-} && " $LABELS " != *" $label "* ]] && continue
    [[ -z ${LABELS:-} && $label == multi24* ]] && continue
    # Training is the costly part: after 50 steps and an epoch, only the
    # current default against the two candidates the zero-step readings favour.
    [[ -z ${LABELS:-} && $v == s50 &&
       ! $label =~ ^(single|single-select|multi-select-narrower)$ ]] && continue
    "$EVAL" "${COMMON[@]}" "${flags[@]}" --csv="$SPLIT-$v.csv" --label="$label" \
      --methods="$method" --bank="$bank" ${extra:+"$extra"}
  done
  report_reading "$OUT" "$SPLIT-$v" "${REFERENCE:-single-select}"
done
/usr/bin/python3 research/scripts/multi_aux_summary.py "$OUT"
