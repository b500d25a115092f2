#!/usr/bin/python3
"""Ask a wave-init server for a ViT of a size its bank never saw, train it
for one epoch on Fashion-MNIST with plain PyTorch, and compare it with the
same torchvision model from its own random initialization, trained the same way.

  python3 examples/train_torchvision.py --server=127.0.0.1:50051
"""
import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "client",
                                "python"))  # not needed after `pip install ./client/python`
import wave_init  # noqa: E402
import wave_init.torchvision  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape).copy()


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        hits = sum((model(x[i:i + 500]).argmax(1) == y[i:i + 500]).sum().item()
                   for i in range(0, len(x), 500))
    return 100.0 * hits / len(x)


def train_one_epoch(model, x, y, lr=1e-3, batch=128, seed=0):
    """AdamW, linear warm-up over a fifth of the epoch, then cosine."""
    torch.manual_seed(seed)
    steps = math.ceil(len(x) / batch)
    warmup = max(1, steps // 5)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: (s + 1) / warmup if s < warmup
                                                 else 0.5 * (1 + math.cos(math.pi * (s - warmup) / (steps - warmup))))
    model.train()
    order = torch.randperm(len(x))
    for s in range(steps):
        idx = order[s * batch:(s + 1) * batch]
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default="127.0.0.1:50051")
    p.add_argument("--token", default=None)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--width", type=int, default=96)
    p.add_argument("--few_shot", type=int, default=1000, help="images sent to the server")
    p.add_argument("--steps", type=int, default=100, help="the server's fit steps")
    p.add_argument("--train_samples", type=int, default=10000)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    x_train, y_train = read_idx("train-images-idx3-ubyte.gz"), read_idx("train-labels-idx1-ubyte.gz")
    x_test, y_test = read_idx("t10k-images-idx3-ubyte.gz"), read_idx("t10k-labels-idx1-ubyte.gz")
    rng = np.random.default_rng(args.seed)
    pick = rng.permutation(len(x_train))[:args.train_samples]
    x_train, y_train = x_train[pick], y_train[pick].astype(np.int64)

    t0 = time.time()
    with wave_init.Client(args.server, token=args.token) as client:
        result = client.initialize(args.depth, args.width, 10, x_train[:args.few_shot],
                                   y_train[:args.few_shot], steps=args.steps, seed=args.seed,
                                   progress="bar")
    init_s = time.time() - t0
    wave_model = wave_init.torchvision.vision_transformer(result)

    # The same architecture from torchvision's own initialization.
    torch.manual_seed(args.seed)
    a = __import__("json").loads(result.metadata["wave.model_args"])
    random_model = torchvision.models.VisionTransformer(
        image_size=a["img_size"], patch_size=a["patch_size"], num_layers=a["depth"],
        num_heads=a["num_heads"], hidden_dim=a["embed_dim"],
        mlp_dim=int(a["embed_dim"] * a["mlp_ratio"]), num_classes=10)
    random_model.conv_proj = torch.nn.Conv2d(a["in_chans"], a["embed_dim"], a["patch_size"],
                                             a["patch_size"])

    xs = wave_init.torchvision.preprocess(x_train, result)
    xt = wave_init.torchvision.preprocess(x_test, result)
    ys, yt = torch.from_numpy(y_train), torch.from_numpy(y_test.astype(np.int64))
    print(f"ViT {args.depth}x{args.width} from {result.summary.bank}: "
          f"{result.summary.param_count} parameters, initialized in {init_s:.1f} s "
          f"(held-out accuracy {result.summary.held_out_accuracy:.1f}%)")
    print(f"test accuracy before training: wave-init {accuracy(wave_model, xt, yt):.2f}%, "
          f"torchvision's init {accuracy(random_model, xt, yt):.2f}%")
    for name, model in [("wave-init", wave_model), ("torchvision's init", random_model)]:
        t0 = time.time()
        train_one_epoch(model, xs, ys, seed=args.seed)
        print(f"after one epoch on {len(xs)} images: {name} {accuracy(model, xt, yt):.2f}% "
              f"({time.time() - t0:.1f} s of training)")


if __name__ == "__main__":
    main()
