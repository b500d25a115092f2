#!/usr/bin/env bash
# The spread between banks of one recipe on unseen classes: three banks of a
# task's recipe learned with seeds 1, 2 and 3, each initializing the task's
# targets by the server's fit as served (wave-default: no fit option set, at
# the server's default precision), then trained 5 epochs, target seeds 1-3 on
# the test images. Seed-major, so a stopped run still pairs; --resume
# continues where it stopped. TASK picks the task:
#   transfer  Fashion-MNIST classes 5-9 from banks learned on 0-4
#             (research/banks/transfer{,-seed2,-seed3}/), at WAVE's rate chosen
#             on validation (research/results/transfer/choices.csv)
#   glyphs    the glyph letters F-J from banks learned on A-E
#             (research/banks/glyphs-ae{,-seed2,-seed3}/), as
#             research/scripts/cheap_fit.sh runs them (lr 1e-3); beside them
#             bf16-seed1 and bf16-seed2, seeds 1 and 2 of the recipe learned at bf16
#             (research/banks/glyphs-ae-bf16/), set against the f32 banks
#   main      all ten Fashion-MNIST classes from banks of the bundled recipe
#             (models/, research/banks/single-process-seed{2,3}/), learned on the
#             same classes, at WAVE's rate chosen on validation
#             (research/results/main/choices.csv)
# SEEDS picks the target seeds (default 1 2 3), LABELS the banks and SIZES the sizes
# (default all of the task's), OUT the folder (default research/results/TASK-bank-spread).
#   bash research/scripts/bank_spread.sh                  # research/results/TASK-bank-spread/test.csv
#   REPORT_ONLY=1 bash research/scripts/bank_spread.sh    # results.md and spread.md from the CSV alone
# The report sets each bank against seed 1's (the task's own bank), paired by
# target seed.
set -euo pipefail
cd "$(dirname "$0")/../.."
EVAL=${EVAL:-build/research/eval/wave-eval}
TASK=${TASK:-transfer}
OUT=${OUT:-research/results/$TASK-bank-spread}
ASKED_SIZES=${SIZES:-}
chosen_wave_rate() {  # WAVE's rate chosen on validation at a size, from the task's choices
  awk -F, -v size="$1" '$1 == size && $2 == "wave" { print $4 }' "research/results/$TASK/choices.csv"
}
declare -A BANKS
case "$TASK" in
  main)
    BANKS=([bank-seed1]=models/fashion-mnist-vit.safetensors
           [bank-seed2]=research/banks/single-process-seed2/fashion-mnist-vit-seed2.safetensors
           [bank-seed3]=research/banks/single-process-seed3/fashion-mnist-vit-seed3.safetensors)
    SIZES="3x64 4x96 12x128 9x192"
    FLAGS=(--val_samples=5000 --train_samples=5000 --few_shot=1000
           --fit_batch=64 --batch=128 --warmup_epochs=0.2)
    rate() { chosen_wave_rate "$1"; } ;;
  transfer)
    BANKS=([bank-seed1]=research/banks/transfer/fashion-mnist-0-4-vit.safetensors
           [bank-seed2]=research/banks/transfer-seed2/fashion-mnist-0-4-vit-seed2.safetensors
           [bank-seed3]=research/banks/transfer-seed3/fashion-mnist-0-4-vit-seed3.safetensors)
    SIZES="3x64 4x96 12x128 9x192"
    FLAGS=(--classes=5,6,7,8,9 --val_samples=2500 --train_samples=5000 --few_shot=1000
           --fit_batch=64 --batch=128 --warmup_epochs=0.2)
    rate() { chosen_wave_rate "$1"; } ;;
  glyphs)
    BANKS=([bank-seed1]=research/banks/glyphs-ae/glyphs-ae-vit.safetensors
           [bank-seed2]=research/banks/glyphs-ae-seed2/glyphs-ae-vit-seed2.safetensors
           [bank-seed3]=research/banks/glyphs-ae-seed3/glyphs-ae-vit-seed3.safetensors
           [bf16-seed1]=research/banks/glyphs-ae-bf16/glyphs-ae-vit-bf16.safetensors
           [bf16-seed2]=research/banks/glyphs-ae-bf16/glyphs-ae-vit-bf16-seed2.safetensors)
    SIZES="3x64 4x96"
    FLAGS=(--data=data/glyphs/train --test_data=data/glyphs/test --classes=5,6,7,8,9
           --train_samples=5000 --val_samples=1000 --few_shot=1000 --fit_held_out=100)
    [[ "${REPORT_ONLY:-0}" == 1 || -d data/glyphs/train ]] || /usr/bin/python3 examples/glyphs/make_glyphs.py --out=data/glyphs
    rate() { echo 1e-3; } ;;
  *) echo "TASK: main, transfer or glyphs, not '$TASK'" >&2; exit 2 ;;
esac
SIZES=${ASKED_SIZES:-$SIZES}
mkdir -p "$OUT"
for seed in $([[ "${REPORT_ONLY:-0}" == 1 ]] || echo "${SEEDS:-1 2 3}"); do
  for label in ${LABELS:-$(printf '%s\n' "${!BANKS[@]}" | sort)}; do
    for size in $SIZES; do
      "$EVAL" --bank="${BANKS[$label]}" \
        --ancestry="${BANKS[$label]%.safetensors}.ancestry.safetensors" "${FLAGS[@]}" \
        --methods=wave-default --label="$label" --split=test --seeds="$seed" --sizes="$size" \
        --epochs=5 --lr="$(rate "$size")" --threads="${THREADS:-1}" --out_dir="$OUT" \
        --csv=test.csv --resume --noreport
    done
  done
done
"$EVAL" --report_only --inputs="$OUT/test.csv" --out_dir="$OUT" --reference=bank-seed1 \
  --report_epochs=0,1,5 --yardstick=none
# The spread between banks, and intervals over banks and target seeds: spread.md.
/usr/bin/python3 research/scripts/bank_spread_report.py "$TASK" > /dev/null
