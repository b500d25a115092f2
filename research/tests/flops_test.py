"""research/scripts/flops.py's forward formula against PyTorch's own count of
the matrix products (torch.profiler, with_flops) in torchvision's
VisionTransformer, the timm-style ViT the formula describes."""
import os
import sys

import pytest
import torch
from torchvision.models import vision_transformer

SOURCE = os.environ.get("WAVE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "research", "scripts"))
import flops  # noqa: E402

PRODUCTS = {"aten::mm", "aten::bmm", "aten::addmm", "aten::conv2d"}


def profiled(depth, width, classes, image, patch):
    model = vision_transformer.VisionTransformer(
        image_size=image, patch_size=patch, num_layers=depth, num_heads=width // 32,
        hidden_dim=width, mlp_dim=4 * width, num_classes=classes).eval()
    x = torch.randn(1, 3, image, image)
    with torch.profiler.profile(with_flops=True) as prof, torch.no_grad():
        model(x)
    return sum(e.flops for e in prof.key_averages() if e.key in PRODUCTS)


@pytest.mark.parametrize("depth,width,classes,image,patch", [
    (3, 64, 10, 28, 7), (9, 192, 5, 28, 7), (2, 96, 10, 32, 4)])
def test_the_formula_counts_what_the_profiler_counts(depth, width, classes, image, patch):
    expected = flops.forward(depth, width, classes, channels=3, image=image, patch=patch)
    assert profiled(depth, width, classes, image, patch) == expected


def test_the_pass_kinds_are_ordered_as_their_work():
    full = flops.train_pass("9x192", 10)
    frozen = flops.frozen_head_pass("9x192", 10)
    cached = flops.cached_head_step("9x192", 10)
    assert full == 3 * flops.forward(9, 192, 10)
    assert cached < frozen < full
