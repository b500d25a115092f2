"""The training recipe a bank returns with the weights, and the torch
optimizer and schedule that follow it.

    result = client.initialize(...)
    recipe = result.recipe            # None when the bank carries none
    optimizer, scheduler = recipe.optimizer_and_scheduler(model.parameters(),
                                                          steps_per_epoch=len(loader))
    for epoch in range(recipe.epochs):
        for x, y in loader:
            ...; optimizer.step(); scheduler.step()

The schedule is the one the evaluation trained with when it chose the rate
(core/model/train_loop.cc, ScheduledLr): a linear warm-up to peak_lr over
warmup_epochs, then a cosine down to min_lr_ratio x peak_lr at the last step.
"""
import dataclasses
import json
import math
from typing import Optional


@dataclasses.dataclass(frozen=True)
class TrainingRecipe:
    optimizer: str
    peak_lr: float
    weight_decay: float
    warmup_epochs: float
    epochs: int
    min_lr_ratio: float
    batch: int
    chosen_on: str = ""       # where the rate was chosen
    measured_size: str = ""   # the size it was chosen at (the nearest to the target's)

    @staticmethod
    def from_metadata(metadata) -> Optional["TrainingRecipe"]:
        """The recipe in a weights file's metadata (wave.training_recipe)."""
        text = metadata.get("wave.training_recipe")
        if not text:
            return None
        r = json.loads(text)
        return TrainingRecipe(
            optimizer=r.get("optimizer", "adamw"), peak_lr=float(r["peak_lr"]),
            weight_decay=float(r.get("weight_decay", 0.0)),
            warmup_epochs=float(r.get("warmup_epochs", 0.0)), epochs=int(r["epochs"]),
            min_lr_ratio=float(r.get("min_lr_ratio", 0.0)), batch=int(r["batch"]),
            chosen_on=r.get("chosen_on", ""), measured_size=r.get("measured_size", ""))

    def lr_factor(self, step: int, steps_per_epoch: int) -> float:
        """The learning rate at `step` (0-based) as a fraction of peak_lr."""
        total = steps_per_epoch * self.epochs
        warmup = int(self.warmup_epochs * steps_per_epoch)
        if warmup > 0 and step < warmup:
            return (step + 1) / warmup
        span = max(1, total - warmup)
        done = min(step - warmup, span)
        cosine = 0.5 * (1.0 + math.cos(math.pi * done / span))
        return self.min_lr_ratio + (1.0 - self.min_lr_ratio) * cosine

    def optimizer_and_scheduler(self, params, steps_per_epoch: int):
        """A torch AdamW at this recipe's rate and weight decay, and a
        LambdaLR that follows its schedule when stepped once per batch."""
        import torch
        if self.optimizer != "adamw":
            raise ValueError(f"recipe optimizer '{self.optimizer}': only adamw is built here")
        if steps_per_epoch < 1:
            raise ValueError("steps_per_epoch must be >= 1")
        optimizer = torch.optim.AdamW(params, lr=self.peak_lr, weight_decay=self.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: self.lr_factor(step, steps_per_epoch))
        return optimizer, scheduler
