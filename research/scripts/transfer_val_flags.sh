# Sourced by the fit-budget measurements (early_stopping.sh, cheaper_fit.sh): the
# transfer task (classes 5-9, which the five-class bank never saw), WAVE only,
# seed 1, accuracy of the initialization itself (epoch 0), the same 100 of the
# 1,000 few-shot images held out. Sets TRANSFER_FLAGS; callers add the split.
TRANSFER_FLAGS=(--bank=research/banks/transfer/fashion-mnist-0-4-vit.safetensors
                --ancestry=research/banks/transfer/fashion-mnist-0-4-vit.ancestry.safetensors
                --classes=5,6,7,8,9 --val_samples=2500 --train_samples=5000 --few_shot=1000
                --fit_held_out=100 --epochs=0 --methods=wave --sizes=3x64,4x96,12x128,9x192
                --seeds=1)
