#!/usr/bin/python3
"""Compute in FLOPs, by one stated formula per ViT size (research/PROTOCOL.md).

Forward FLOPs of one image through a ViT of depth L, width D, T tokens (patches
plus the class token), patch p, c channels, C classes, MLP ratio 4, counting a
multiply-add as 2:
    patch embedding   2 (T-1) p^2 c D
    each block        24 T D^2 (qkv, projection, MLP) + 4 T^2 D (scores, weighted sum)
    head              2 D C
The matrix products only: normalization, softmax, GELU and additions are left
out (under 1% at these sizes). research/tests/flops_test.py checks the formula
against PyTorch's profiler on torchvision's VisionTransformer.

What each image pass costs:
    forward only (features, held-out checks, a teacher)     F
    forward and backward through the whole network        3 F   (backward = 2 F)
    a head fitted on a frozen body, features recomputed   F + 4 D C
    a head step on cached features                        6 D C
A WAVE fit also composes the trained blocks' weights from their templates at
every scaler step: 2N FLOPs per composed element forward and 2N for the
scalers' gradient, N templates (compose_step; the final norm's 2D elements
left out).
"""
import argparse

# The Fashion-MNIST and glyph banks' geometry (core/base/vit_config.h).
IMAGE, PATCH, HEAD_DIM, MLP_RATIO = 28, 7, 32, 4


def forward(depth, width, classes, channels=1, image=IMAGE, patch=PATCH, mlp_ratio=MLP_RATIO):
    """FLOPs of one image's forward pass."""
    patches = (image // patch) ** 2
    tokens = patches + 1
    embed = 2 * patches * patch * patch * channels * width
    block = 2 * tokens * width * width * (4 + 2 * mlp_ratio) + 4 * tokens * tokens * width
    return embed + depth * block + 2 * width * classes


def size_of(name):
    depth, width = name.split("x")
    return int(depth), int(width)


def train_pass(size, classes, channels=1):
    """One image forward and backward through the whole network."""
    return 3 * forward(*size_of(size), classes, channels)


def frozen_head_pass(size, classes, channels=1):
    """One image of a head fit on a frozen body (features recomputed each step)."""
    depth, width = size_of(size)
    return forward(depth, width, classes, channels) + 4 * width * classes


def cached_head_step(size, classes):
    """One image of a head step on features computed once."""
    return 6 * size_of(size)[1] * classes


def block_params(width, mlp_ratio=MLP_RATIO):
    """Parameters of one encoder block (all of them templated)."""
    hidden = mlp_ratio * width
    return 4 * width + 3 * width * width + 3 * width + width * width + width + \
        2 * width * hidden + hidden + width


def compose_step(width, templates, blocks):
    """FLOPs of one scaler step's composition of `blocks` blocks' weights."""
    return 4 * templates * blocks * block_params(width)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sizes", nargs="+", help="DEPTHxWIDTH")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--channels", type=int, default=1)
    args = p.parse_args()
    for size in args.sizes:
        f = forward(*size_of(size), args.classes, args.channels)
        print(f"{size}: forward {f / 1e6:.2f} MFLOPs per image, "
              f"forward and backward {3 * f / 1e6:.2f}")


if __name__ == "__main__":
    main()
