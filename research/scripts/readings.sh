# Sourced by multi_aux.sh and select_transfer.sh: the readings they share
# (s0-bankhead, s0-probe, s50, as wave-eval flags) and their reports.
declare -A READING_FLAGS=(
  [s0-bankhead]="--fit_steps=0 --fit_head_from_bank --epochs=0"
  [s0-probe]="--fit_steps=0 --fit_head_steps=300 --epochs=0"
  [s50]="--fit_steps=50 --epochs=1"
)

# report_reading OUT NAME REFERENCE: NAME.csv's report in OUT/NAME, paired
# differences from REFERENCE at the reading's epochs.
report_reading() {
  local out=$1 name=$2 reference=$3 epochs=0
  [[ $name == *s50 ]] && epochs=0,1
  mkdir -p "$out/$name"
  "$EVAL" --report_only --inputs="$out/$name.csv" --out_dir="$out/$name" \
    --reference="$reference" --report_epochs="$epochs" --yardstick=none
}
