"""wave_init: initial weights for a ViT of any size from a wave-init server.

    import wave_init
    with wave_init.Client("localhost:50051") as client:
        result = client.initialize(depth=9, width=192, classes=10,
                                   images=x, labels=y, progress="bar")
    model = wave_init.torchvision.vision_transformer(result)

`result.weights` holds timm-named torch tensors (NumPy arrays when torch is
not installed); `result.summary` the server's figures, the sha256 verified;
`result.recipe` how to train them (`recipe.optimizer_and_scheduler(...)`).
"""
from wave_init.client import Client, Result, Summary, WaveInitError, stratified_subset
from wave_init.progress import Event, TerminalProgress
from wave_init.training import TrainingRecipe

__all__ = ["Client", "Result", "Summary", "WaveInitError", "Event", "TerminalProgress",
           "TrainingRecipe", "stratified_subset"]
__version__ = "0.1.0"
