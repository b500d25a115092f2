"""docs/own-data.md's walkthrough at a small size, as a user runs it: the RGB
glyph data set rendered from Debian's fonts, a bank learned on it from
scratch and one from a ViT trained in torchvision, both served beside the
Fashion-MNIST test bank; three sizes with the CLI from the image folder, one
with the Python client from NumPy arrays, trained on in torchvision."""
import json
import os
import re
import subprocess
import sys

import grpc
import numpy as np
import pytest
import torch
from conftest import BUILD, SOURCE, Server

import wave_init
import wave_init.torchvision as wtv
from wave_init._proto.wave.v1 import wave_pb2, wave_pb2_grpc

PY = "/usr/bin/python3"
GLYPHS = os.path.join(SOURCE, "examples", "glyphs")
LEARN = os.path.join(BUILD, "tools", "learn", "wave-learn")
TINY = ["--image_size=32", "--channels=3", "--patch=8", "--tile=16", "--head_dim=16",
        "--templates=4", "--distill_epochs=1", "--threads=1"]


def run(*args):
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def glyphs(tmp_path_factory):
    """The small data set, the two banks and a server holding them."""
    root = str(tmp_path_factory.mktemp("own_data"))
    data = os.path.join(root, "glyphs")
    run(PY, os.path.join(GLYPHS, "make_glyphs.py"), f"--out={data}", "--train=300", "--test=100",
        "--jobs=1")
    scratch = os.path.join(root, "scratch.safetensors")
    scratch_log = run(LEARN, f"--data={data}/train", f"--test_data={data}/test", "--ancestry=2x32",
                      "--ancestry_epochs=1", f"--out={scratch}", "--name=glyphs-scratch", *TINY)
    vit = os.path.join(root, "torchvision-vit.safetensors")
    run(PY, os.path.join(GLYPHS, "torchvision_ancestry.py"), f"--data={data}/train",
        "--depth=2", "--width=32", "--heads=2", "--epochs=1", "--threads=1", f"--out={vit}")
    from_vit = os.path.join(root, "from-vit.safetensors")
    vit_log = run(LEARN, f"--data={data}/train", f"--test_data={data}/test", f"--ancestry_in={vit}",
                  "--ancestry_epochs=0", f"--out={from_vit}", "--name=glyphs-from-vit", *TINY)
    server = Server(root, f"--banks={scratch},{from_vit},{os.path.join(BUILD, 'test_bank.safetensors')}")
    yield dict(root=root, data=data, vit=vit, vit_log=vit_log, scratch_log=scratch_log,
               server=server)
    server.stop()


def test_banks_carry_their_geometry_and_classes(glyphs):
    with wave_init.Client(glyphs["server"].address) as client:
        info = client.describe("glyphs-scratch")
    assert (int(info["channels"]), int(info["image_size"]), int(info["patch"])) == (3, 32, 8)
    assert len(info["channel_mean"]) == 3 and len(info["channel_std"]) == 3
    assert info["class_names"] == list("ABCDEFGHIJ")
    assert json.loads(info["provenance"]["class_names"]) == list("ABCDEFGHIJ")


def test_torchvision_ancestry_is_read_exactly(glyphs):
    """wave-learn's forward over the converted torchvision ViT gives the
    accuracy torchvision's own forward gives on the same test images and
    normalization: every tensor was mapped to its place."""
    reported = float(re.search(r"ancestry 2x32h2 test accuracy ([\d.]+)%", glyphs["vit_log"])[1])
    with open(glyphs["vit"], "rb") as f:
        tensors, _ = wave_init.safetensors.parse(f.read(), as_torch=True)
    args = dict(img_size=32, patch_size=8, in_chans=3, num_classes=10, embed_dim=32, depth=2,
                num_heads=2, mlp_ratio=4)
    model = wtv.vision_transformer(weights=tensors, model_args=args)
    with wave_init.Client(glyphs["server"].address) as client:
        info = client.describe("glyphs-from-vit")
    x, y = folder_arrays(os.path.join(glyphs["data"], "test"))
    mean = torch.tensor(info["channel_mean"]).view(1, 3, 1, 1)
    std = torch.tensor(info["channel_std"]).view(1, 3, 1, 1)
    with torch.no_grad():
        logits = model((torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255 - mean) / std)
    accuracy = 100.0 * (logits.argmax(1).numpy() == y).mean()
    assert accuracy == pytest.approx(reported, abs=1.0)  # one image of 100 at most


def folder_arrays(path):
    """An image folder as N x H x W x C uint8 and labels, read with PIL."""
    from PIL import Image
    xs, ys = [], []
    for label, name in enumerate(sorted(os.listdir(path))):
        for f in sorted(os.listdir(os.path.join(path, name))):
            xs.append(np.asarray(Image.open(os.path.join(path, name, f)).convert("RGB")))
            ys.append(label)
    return np.stack(xs), np.array(ys)


def test_cli_initializes_three_sizes_from_the_image_folder(glyphs):
    out_dir = os.path.join(glyphs["root"], "vits")
    os.makedirs(out_dir, exist_ok=True)
    run(os.path.join(BUILD, "client", "wave-client"), "init",
        f"--server={glyphs['server'].address}", "--bank=glyphs-scratch",
        f"--images={glyphs['data']}/train", "--sizes=1x32,2x48,3x64", f"--out_dir={out_dir}",
        "--samples=200", "--steps=5", "--json")
    for size in ("1x32", "2x48", "3x64"):
        with open(os.path.join(out_dir, f"vit-{size}.safetensors"), "rb") as f:
            _, metadata = wave_init.safetensors.parse(f.read(), as_torch=False)
        assert json.loads(metadata["wave.class_names"]) == list("ABCDEFGHIJ")
        assert json.loads(metadata["wave.preprocessing"])["image_shape"] == [3, 32, 32]
        assert json.loads(metadata["wave.model_args"])["in_chans"] == 3


def test_python_client_from_numpy_then_torchvision_training(glyphs):
    x, y = folder_arrays(os.path.join(glyphs["data"], "train"))
    with wave_init.Client(glyphs["server"].address) as client:
        result = client.initialize(2, 48, 10, x[:200], y[:200], bank="glyphs-from-vit", steps=5,
                                   class_names=list("ABCDEFGHIJ"))
        # N x C x H x W of another side gives the same upload once resized.
        big = np.stack([np.asarray(__import__("PIL.Image").Image.fromarray(im).resize((48, 48)))
                        for im in x[:20]])
        resized = client.initialize(2, 48, 10, big.transpose(0, 3, 1, 2), y[:20],
                                    bank="glyphs-from-vit", steps=0)
    assert resized.summary.param_count == result.summary.param_count
    model = wtv.vision_transformer(result)
    inputs = wtv.preprocess(x[200:].transpose(0, 3, 1, 2), result)
    labels = torch.from_numpy(y[200:])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    loss = torch.nn.functional.cross_entropy(model(inputs), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)


def test_a_request_of_another_image_shape_is_refused_at_the_header(glyphs):
    """A raw upload (no client-side resizing) of 3x32x32 images to the 1x28x28
    Fashion-MNIST bank: INVALID_ARGUMENT naming both shapes, before data."""
    channel = grpc.insecure_channel(glyphs["server"].address)
    stub = wave_pb2_grpc.WaveInitStub(channel)
    header = wave_pb2.InitializeHeader(
        bank="fashion-mnist-vit",
        target=wave_pb2.TargetArchitecture(depth=1, width=32, classes=10), num_samples=4,
        image_shape=wave_pb2.ImageShape(channels=3, height=32, width=32))
    with pytest.raises(grpc.RpcError) as e:
        for _ in stub.Initialize(iter([wave_pb2.InitializeRequest(header=header)]), timeout=30):
            pass
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "takes 1x28x28 images; the request has 3x32x32" in e.value.details()
    channel.close()
