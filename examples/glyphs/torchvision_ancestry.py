#!/usr/bin/python3
"""Trains torchvision's VisionTransformer on an image folder and saves it with
timm's names, as a pretrained ancestry for `wave-learn --ancestry_in`: the
path of a user who already has a ViT of their own. torchvision's model is a
standard ViT (class token, learned position embedding, pre-norm blocks), so
its tensors map one to one onto timm's.

  /usr/bin/python3 examples/glyphs/torchvision_ancestry.py --data=data/glyphs/train \\
      --image_size=32 --patch=8 --depth=6 --width=128 --heads=4 --epochs=10 \\
      --out=runs/glyphs-torchvision-vit.safetensors
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "client",
                                "python"))
from wave_init import safetensors  # noqa: E402
from wave_init.torchvision import timm_name  # noqa: E402


def load_folder(path, size):
    dataset = torchvision.datasets.ImageFolder(path, transform=torchvision.transforms.Compose([
        torchvision.transforms.Resize(size), torchvision.transforms.CenterCrop(size),
        torchvision.transforms.ToTensor()]))
    xs = torch.stack([dataset[i][0] for i in range(len(dataset))])
    ys = torch.tensor(dataset.targets)
    return xs, ys, dataset.classes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="image folder (ImageFolder layout)")
    parser.add_argument("--image_size", type=int, default=32)
    parser.add_argument("--patch", type=int, default=8)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    x, y, classes = load_folder(args.data, args.image_size)
    mean = x.mean(dim=(0, 2, 3)).view(1, -1, 1, 1)
    std = x.std(dim=(0, 2, 3)).view(1, -1, 1, 1)
    model = torchvision.models.VisionTransformer(
        image_size=args.image_size, patch_size=args.patch, num_layers=args.depth,
        num_heads=args.heads, hidden_dim=args.width, mlp_dim=4 * args.width,
        num_classes=len(classes))
    steps = args.epochs * math.ceil(len(x) / args.batch)
    warmup = max(1, steps // 10)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warmup if s < warmup
        else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, steps - warmup))))
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x))
        total = 0.0
        for i in range(0, len(x), args.batch):
            idx = order[i:i + args.batch]
            loss = torch.nn.functional.cross_entropy(model((x[idx] - mean) / std), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(idx)
        print(f"[torchvision] epoch {epoch + 1}/{args.epochs}: train loss {total / len(x):.4f}",
              flush=True)
    tensors = {timm_name(k): v for k, v in model.state_dict().items()}
    metadata = {"num_heads": args.heads, "source": "torchvision.models.VisionTransformer",
                "class_names": ",".join(classes)}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "wb") as f:
        f.write(safetensors.serialize(tensors, metadata))
    print(f"[torchvision] wrote {args.out}: {len(tensors)} tensors, {args.depth}x{args.width}, "
          f"{args.heads} heads, {len(classes)} classes")


if __name__ == "__main__":
    main()
