#!/usr/bin/python3
"""A user's path from NumPy arrays: read an image folder into arrays (any
side, RGB), ask a wave-init server for a ViT fitted on 1,000 of them, and
train the returned model for one epoch in torchvision, printing test
accuracy before and after.

  /usr/bin/python3 examples/glyphs/train_from_numpy.py --server=127.0.0.1:50051 \\
      --bank=glyphs-vit --data=data/glyphs --depth=4 --width=96
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "client",
                                "python"))  # not needed after `pip install ./client/python`
import wave_init  # noqa: E402
import wave_init.torchvision  # noqa: E402


def folder_arrays(path):
    """N x H x W x 3 uint8 and int64 labels (class = sorted sub-folder)."""
    names = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
    xs, ys = [], []
    for label, name in enumerate(names):
        for f in sorted(os.listdir(os.path.join(path, name))):
            xs.append(np.asarray(Image.open(os.path.join(path, name, f)).convert("RGB")))
            ys.append(label)
    return np.stack(xs), np.array(ys, dtype=np.int64), names


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        hits = sum((model(x[i:i + 500]).argmax(1) == y[i:i + 500]).sum().item()
                   for i in range(0, len(x), 500))
    return 100.0 * hits / len(x)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", default="127.0.0.1:50051")
    p.add_argument("--bank", default="glyphs-vit")
    p.add_argument("--data", default="data/glyphs", help="folder with train/ and test/")
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--width", type=int, default=96)
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--lr", type=float, default=1e-4)
    args = p.parse_args()
    x, y, names = folder_arrays(os.path.join(args.data, "train"))
    tx, ty, _ = folder_arrays(os.path.join(args.data, "test"))
    pick = np.random.default_rng(0).permutation(len(x))[:args.samples]
    with wave_init.Client(args.server) as client:
        result = client.initialize(args.depth, args.width, len(names), x[pick], y[pick],
                                   bank=args.bank, class_names=names, progress="bar")
    print(f"held-out accuracy {result.summary.held_out_accuracy:.2f}% "
          f"(fit {result.summary.seconds.get('fit', 0):.1f} s)")
    model = wave_init.torchvision.vision_transformer(result)
    train_x = wave_init.torchvision.preprocess(x.transpose(0, 3, 1, 2), result)
    test_x = wave_init.torchvision.preprocess(tx.transpose(0, 3, 1, 2), result)
    train_y, test_y = torch.from_numpy(y), torch.from_numpy(ty)
    print(f"test accuracy at epoch 0: {accuracy(model, test_x, test_y):.2f}%")
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    steps = math.ceil(len(x) / 128)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    model.train()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    for i in range(0, len(x), 128):
        idx = order[i:i + 128]
        loss = torch.nn.functional.cross_entropy(model(train_x[idx]), train_y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    print(f"test accuracy at epoch 1: {accuracy(model, test_x, test_y):.2f}%")


if __name__ == "__main__":
    main()
