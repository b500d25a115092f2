"""wave_init against a real server: round trip into torchvision's ViT, the
error paths, atomic files, and the stubs."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

import grpc
import numpy as np
import pytest
import torch

import wave_init
import wave_init.torchvision as wtv
from conftest import BUILD, SOURCE


def request(client, fashion, n=300, **kwargs):
    x, y = fashion
    args = dict(depth=3, width=48, classes=10, images=x[:n], labels=y[:n], steps=20, seed=3)
    args.update(kwargs)
    return client.initialize(**args)


def timm_forward(w, a, x):
    """The service's ViT forward (core/model/vit.cc) in plain PyTorch, on timm names."""
    d, h = a["embed_dim"], a["num_heads"]
    x = torch.nn.functional.conv2d(x, w["patch_embed.proj.weight"], w["patch_embed.proj.bias"],
                                   stride=a["patch_size"]).flatten(2).transpose(1, 2)
    x = torch.cat([w["cls_token"].expand(len(x), 1, d), x], 1) + w["pos_embed"]
    b, t = x.shape[:2]
    ln = torch.nn.functional.layer_norm
    for i in range(a["depth"]):
        p = lambda n: w[f"blocks.{i}.{n}"]  # noqa: E731
        y = ln(x, (d,), p("norm1.weight"), p("norm1.bias"), 1e-6)
        qkv = torch.nn.functional.linear(y, p("attn.qkv.weight"), p("attn.qkv.bias"))
        q, k, v = qkv.reshape(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q * (d // h) ** -0.5 @ k.transpose(-2, -1), -1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + torch.nn.functional.linear(y, p("attn.proj.weight"), p("attn.proj.bias"))
        y = ln(x, (d,), p("norm2.weight"), p("norm2.bias"), 1e-6)
        y = torch.nn.functional.gelu(torch.nn.functional.linear(y, p("mlp.fc1.weight"),
                                                                p("mlp.fc1.bias")))
        x = x + torch.nn.functional.linear(y, p("mlp.fc2.weight"), p("mlp.fc2.bias"))
    x = ln(x, (d,), w["norm.weight"], w["norm.bias"], 1e-6)
    return torch.nn.functional.linear(x[:, 0], w["head.weight"], w["head.bias"])


def test_round_trip_into_torchvision_reproduces_the_held_out_accuracy(server, fashion):
    events = []
    with wave_init.Client(server.address) as client:
        result = request(client, fashion, progress=events.append)
    s = result.summary
    assert (s.depth, s.width, s.classes) == (3, 48, 10)
    assert s.sha256 == hashlib.sha256(result.model_file).hexdigest()
    assert len(s.held_out_indices) == 30  # the default: 10% of 300
    # The server's early stopping by default: the returned step was measured.
    assert 0 <= s.best_step <= s.steps_run <= 20
    assert {e.phase for e in events} >= {"upload", "fit", "stream"}
    fit = [e for e in events if e.phase == "fit"]
    assert fit[-1].step == fit[-1].total == 20
    assert all(isinstance(t, torch.Tensor) and t.dtype == torch.float32
               for t in result.weights.values())

    model = wtv.vision_transformer(result)
    x, y = fashion
    held = np.array(s.held_out_indices)
    inputs = wtv.preprocess(x[held], result)
    with torch.no_grad():
        logits = model(inputs)
    correct = (logits.argmax(1).numpy() == y[held]).sum()
    # Exactly the server's figure: the same samples, the same predictions.
    assert 100.0 * correct / len(held) == pytest.approx(s.held_out_accuracy, abs=1e-9)
    # torchvision's layers against the service's forward written out in
    # PyTorch: float32 summation order differs, so 1e-4 on logits of order 1-10.
    reference = timm_forward(result.weights, __import__("json").loads(
        result.metadata["wave.model_args"]), inputs)
    assert torch.allclose(logits, reference, atol=1e-4, rtol=0)


def test_half_precision_and_scalers(server, fashion):
    with wave_init.Client(server.address) as client:
        result = request(client, fashion, dtype="f16", include_scalers=True)
    assert all(t.dtype == torch.float16 for t in result.weights.values())
    assert result.scalers and all(t.dim() == 3 for t in result.scalers.values())
    model = wtv.vision_transformer(result)  # loads, widened to float32
    assert next(model.parameters()).dtype == torch.float32


def test_initialize_to_file_writes_the_verified_file_atomically(server, fashion, tmp_path):
    path = tmp_path / "vit-3x48.safetensors"
    streamed = set()
    with wave_init.Client(server.address) as client:
        summary = client.initialize_to_file(
            str(path), 3, 48, 10, fashion[0][:200], fashion[1][:200], steps=5,
            scalers_path=str(tmp_path / "my-scalers.safetensors"),
            progress=lambda e: streamed.add(e.file) if e.file else None)
    # Progress names the files written, not the server's names for them.
    assert streamed == {str(path), str(tmp_path / "my-scalers.safetensors")}, streamed
    assert hashlib.sha256(path.read_bytes()).hexdigest() == summary.sha256
    assert (tmp_path / "my-scalers.safetensors").exists()
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())


def test_torch_tensors_and_float_images_are_accepted(server, fashion):
    x, y = fashion
    images = (torch.from_numpy(x[:200]).float() / 255 - 0.5) / 0.5  # already normalized
    with wave_init.Client(server.address) as client:
        result = client.initialize(3, 48, 10, images[:, None], torch.from_numpy(y[:200]),
                                   steps=5, normalized=True)
        assert result.summary.param_count > 0
        with pytest.raises(ValueError, match=r"float images must be in \[0, 1\]"):
            client.initialize(3, 48, 10, images, torch.from_numpy(y[:200]), steps=5)


def test_to_tensor_floats_and_rgb_of_another_size_reach_the_banks_shape(server, fashion):
    """[0, 1] floats (ToTensor's) are the uint8 upload; N x H x W x C RGB of
    another side is brought to the bank's 1 x 28 x 28 by luma, resize and crop
    before anything is sent; the same call with uint8 gives the same bytes."""
    x, y = fashion
    rgb = np.repeat(x[:100, :, :, None], 3, axis=3)
    bigger = np.stack([np.asarray(__import__("PIL.Image").Image.fromarray(im).resize((40, 36)))
                       for im in rgb])
    with wave_init.Client(server.address) as client:
        a = client.initialize(3, 48, 10, bigger, y[:100], steps=3, class_names=list("abcdefghij"))
        b = client.initialize(3, 48, 10, bigger.astype(np.float32) / 255, y[:100], steps=3,
                              class_names=list("abcdefghij"))
        with pytest.raises(ValueError, match=r"labels: 10 is outside \[0, 10\)"):
            client.initialize(3, 48, 10, x[:10], np.full(10, 10), steps=0)
    assert a.summary.sha256 == b.summary.sha256
    assert a.class_names == list("abcdefghij")
    assert json.loads(a.metadata["wave.preprocessing"])["image_shape"] == [1, 28, 28]


@pytest.mark.parametrize("kwargs,code,words", [
    (dict(width=50), grpc.StatusCode.INVALID_ARGUMENT, "width"),
    (dict(bank="no-such-bank"), grpc.StatusCode.NOT_FOUND, "no-such-bank"),
    (dict(eval_every=-1), grpc.StatusCode.INVALID_ARGUMENT, "fit.eval_every"),
    (dict(scaler_init="mean"), grpc.StatusCode.INVALID_ARGUMENT, "'select'"),
    (dict(auxiliary="blend"), grpc.StatusCode.INVALID_ARGUMENT, "fit.auxiliary"),
])
def test_errors_carry_the_code_and_the_servers_message(server, fashion, kwargs, code, words):
    n = kwargs.pop("n", 300)
    with wave_init.Client(server.address) as client:
        with pytest.raises(wave_init.WaveInitError) as e:
            request(client, fashion, n=n, **kwargs)
    assert e.value.code == code, e.value
    assert words in e.value.message


def test_a_refused_header_ends_the_call_before_any_image_is_sent(server, fashion):
    """The server answers the header before the upload; the client waits."""
    refused, accepted = [], []
    with wave_init.Client(server.address) as client:
        assert client.describe()["acknowledges_header"] is True
        with pytest.raises(wave_init.WaveInitError, match="width"):
            request(client, fashion, width=50, progress=refused.append)
        request(client, fashion, steps=0, progress=accepted.append)
    assert not [e for e in refused if e.phase == "upload"], refused
    uploads = [e for e in accepted if e.phase == "upload"]
    assert uploads and uploads[-1].step == uploads[-1].total == 300 * 28 * 28, accepted


def test_more_samples_than_the_server_takes_are_refused_before_upload(server, fashion):
    """The fixture's server takes 500 samples (--max_samples=500)."""
    x, y = fashion
    with wave_init.Client(server.address) as client:
        assert client.describe()["max_samples"] == "500"
        with pytest.raises(ValueError, match="600 samples, but the server takes at most 500"):
            client.initialize(depth=3, width=48, classes=10, images=x[:600], labels=y[:600],
                              steps=0)
        xs, ys = wave_init.stratified_subset(x[:600], y[:600], 500, seed=1)
        result = client.initialize(depth=3, width=48, classes=10, images=xs, labels=ys, steps=0)
    assert np.bincount(y[:600]).min() >= 50  # so that each class gives 50
    assert np.bincount(ys, minlength=10).tolist() == [50] * 10
    assert result.summary.classes == 10


def test_scaler_init_select_reaches_the_server_and_changes_the_weights(server, fashion):
    with wave_init.Client(server.address) as client:
        select = request(client, fashion, steps=0, scaler_init="select")
        structured = request(client, fashion, steps=0)
    assert select.summary.result_key != structured.summary.result_key
    changed = [name for name in select.weights
               if not torch.equal(select.weights[name], structured.weights[name])]
    assert changed, "a new width's scalers should differ between the schemes"


def test_auxiliary_narrower_reaches_the_server_and_picks_another_auxiliary(start_server, fashion):
    # The committed three-auxiliary bank (6x128, 2x64, 6x192): for 4x96 the
    # nearest auxiliary is 6x128, the nearest no wider is 2x64.
    bank = os.path.join(SOURCE, "models", "multi-aux-24", "fashion-mnist-vit-multiaux24.safetensors")
    s = start_server(f"--banks={bank}")
    with wave_init.Client(s.address) as client:
        assert len(client.describe()["auxiliaries"]) == 3
        nearest = request(client, fashion, depth=4, width=96, steps=0, scaler_init="select",
                          auxiliary="nearest")
        narrower = request(client, fashion, depth=4, width=96, steps=0, scaler_init="select",
                           auxiliary="narrower")
    assert json.loads(nearest.metadata["wave.fit"])["auxiliary"] == "nearest"
    assert json.loads(narrower.metadata["wave.fit"])["auxiliary"] == "narrower"
    assert narrower.summary.result_key != nearest.summary.result_key
    changed = [name for name in narrower.weights
               if not torch.equal(narrower.weights[name], nearest.weights[name])]
    assert "blocks.0.attn.qkv.weight" in changed and "head.weight" in changed


def test_a_banks_fit_defaults_fill_what_the_request_leaves_unset(start_server, fashion, tmp_path):
    bank = tmp_path / "bank.safetensors"
    shutil.copy(os.path.join(SOURCE, "models", "multi-aux-24",
                             "fashion-mnist-vit-multiaux24.safetensors"), bank)
    recipe = {"steps": 0, "head_steps": 30, "scaler_init": "select", "auxiliary": "narrower"}
    other_classes = {"steps": 6, "head_steps": 0}
    script = os.path.join(SOURCE, "scripts", "bank_fit_defaults.py")
    subprocess.run([sys.executable, script, str(bank), json.dumps(recipe)], check=True)
    subprocess.run([sys.executable, script, "--other-classes", str(bank),
                    json.dumps(other_classes)], check=True)
    s = start_server(f"--banks={bank}")
    with wave_init.Client(s.address) as client:
        provenance = client.describe()["provenance"]
        assert json.loads(provenance["fit_defaults"]) == recipe
        assert json.loads(provenance["fit_defaults_other_classes"]) == other_classes
        x, y = fashion
        bank_recipe = client.initialize(4, 96, 10, x[:300], y[:300])
        asked = client.initialize(4, 96, 10, x[:300], y[:300], scaler_init="structured")
        five = y < 5  # five classes: not the bank's ten, so its head cannot serve
        other = client.initialize(4, 96, 5, x[five][:300], y[five][:300])
    fit = json.loads(bank_recipe.metadata["wave.fit"])
    assert (fit["steps"], fit["head_steps"], fit["scaler_init"], fit["auxiliary"]) == (
        0, 30, "select", "narrower")
    assert bank_recipe.summary.steps_run == 0
    fit = json.loads(asked.metadata["wave.fit"])
    assert (fit["scaler_init"], fit["auxiliary"]) == ("structured", "narrower")
    fit = json.loads(other.metadata["wave.fit"])
    assert (fit["steps"], fit["head_steps"], fit["scaler_init"]) == (6, 0, "select")
    assert other.summary.steps_run > 0


def test_the_banks_training_recipe_comes_back_and_builds_its_schedule(start_server, fashion,
                                                                      tmp_path):
    bank = tmp_path / "bank.safetensors"
    shutil.copy(os.path.join(BUILD, "test_bank.safetensors"), bank)
    recipes = {"other_classes": {
        "2x32": {"optimizer": "adamw", "peakLr": 0.002, "weightDecay": 0.05,
                 "warmupEpochs": 0.5, "epochs": "3", "minLrRatio": 0.01, "batch": "64",
                 "chosenOn": "validation, classes the bank never saw, 2x32"}}}
    script = os.path.join(SOURCE, "scripts", "bank_fit_defaults.py")
    subprocess.run([sys.executable, script, "--training-recipes", str(bank),
                    json.dumps(recipes)], check=True)
    s = start_server(f"--banks={bank}")
    x, y = fashion
    five = y < 5
    with wave_init.Client(s.address) as client:
        other = client.initialize(3, 48, 5, x[five][:100], y[five][:100], steps=2)
        own = client.initialize(3, 48, 10, x[:100], y[:100], steps=2)
    recipe = other.recipe
    assert (recipe.peak_lr, recipe.epochs, recipe.batch, recipe.warmup_epochs) == (0.002, 3, 64, 0.5)
    assert recipe.measured_size == "2x32"  # the only size measured: the nearest to 3x48
    assert recipe.chosen_on == "validation, classes the bank never saw, 2x32"
    assert own.recipe is None  # the bank carries none for its own classes
    model = torch.nn.Linear(4, 2)
    optimizer, scheduler = recipe.optimizer_and_scheduler(model.parameters(), steps_per_epoch=10)
    rates = []
    for _ in range(30):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(0.002 / 5)   # warm-up: 5 steps of 10 per epoch x 0.5
    assert rates[4] == pytest.approx(0.002)        # the peak, at the warm-up's end
    assert 0.002 * 0.01 < rates[-1] < 0.002 * 0.02  # the last step, near the cosine's floor
    assert all(a >= b for a, b in zip(rates[4:], rates[5:]))    # then only down


def test_missing_token_is_unauthenticated(start_server, fashion, tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    s = start_server(f"--auth_token_file={token}")
    with wave_init.Client(s.address) as client:
        with pytest.raises(wave_init.WaveInitError) as e:
            client.describe()
    assert e.value.code == grpc.StatusCode.UNAUTHENTICATED
    with wave_init.Client(s.address, token="s3cret") as client:
        assert client.describe()["name"]
        assert request(client, fashion, n=100, steps=2).summary.sha256


def test_deadline_cancels_the_call(server, fashion):
    with wave_init.Client(server.address) as client:
        with pytest.raises(wave_init.WaveInitError) as e:
            request(client, fashion, steps=5000, deadline=1.0)
        assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
        # The server let go of the fit: the next call is not stuck behind it.
        assert request(client, fashion, n=100, steps=2, deadline=60).summary.sha256


def test_keyboard_interrupt_cancels_and_propagates(server, fashion):
    def interrupt(event):
        if event.phase == "fit":
            raise KeyboardInterrupt

    with wave_init.Client(server.address) as client:
        with pytest.raises(KeyboardInterrupt):
            request(client, fashion, steps=5000, progress=interrupt)
        assert request(client, fashion, n=100, steps=2, deadline=60).summary.sha256


def test_terminal_progress_prints_plain_lines_without_tqdm(server, fashion, capsys,
                                                          monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)

    with wave_init.Client(server.address) as client:
        request(client, fashion, n=100, steps=3, progress="bar")
    lines = capsys.readouterr().err.splitlines()
    assert "wave-init: fit" in lines and "wave-init: stream model.safetensors" in lines
    assert any(line.startswith("wave-init: fit 1/3 loss ") for line in lines), lines


def test_banks_and_describe(server):
    with wave_init.Client(server.address) as client:
        assert client.health() == "SERVING"
        banks = client.banks()
        assert len(banks) == 1 and banks[0]["is_default"]
        assert client.describe()["sha256"] == banks[0]["sha256"]


def test_imports_and_returns_numpy_without_torch(server):
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np, wave_init\n"
        "from conftest import read_idx, FASHION\n"
        "x = read_idx(FASHION + '/t10k-images-idx3-ubyte.gz')[:100]\n"
        "y = read_idx(FASHION + '/t10k-labels-idx1-ubyte.gz')[:100].astype(np.int64)\n"
        f"r = wave_init.Client('{server.address}').initialize(2, 32, 10, x, y, steps=2,"
        " dtype='bf16')\n"
        "assert all(isinstance(v, np.ndarray) and v.dtype == np.float32"
        " for v in r.weights.values())\n"
        "print('numpy-only ok', len(r.weights))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.join(SOURCE, "client", "python"), os.path.dirname(__file__)]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "numpy-only ok" in out.stdout


def test_a_repeated_request_is_served_from_the_cache_with_the_same_bytes(server, fashion):
    with wave_init.Client(server.address) as client:
        first = request(client, fashion, seed=11)
        second = request(client, fashion, seed=11)
    assert not first.summary.cache_hit and second.summary.cache_hit
    assert second.model_file == first.model_file
    assert second.summary.result_key == first.summary.result_key
    assert "fit" not in second.summary.seconds


def test_several_sizes_from_one_upload(server, fashion):
    with wave_init.Client(server.address) as client:
        results = client.initialize_sizes(["1x32", (3, 48)], classes=10, images=fashion[0][:200],
                                          labels=fashion[1][:200], steps=5, seed=12)
        assert list(results) == ["1x32", "3x48"]
        assert [r.summary.target_index for r in results.values()] == [0, 1]
        assert results["3x48"].weights["blocks.2.mlp.fc2.weight"].shape == (48, 4 * 48)
        # Each size is its own cache entry.
        alone = request(client, fashion, n=200, steps=5, seed=12)
        assert alone.summary.cache_hit
        assert alone.model_file == results["3x48"].model_file
        with pytest.raises(wave_init.WaveInitError) as e:
            client.initialize_sizes(["1x32", "3x40"], classes=10, images=fashion[0][:200],
                                    labels=fashion[1][:200], steps=5)
        assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "targets[1].width" in e.value.message


def test_resume_continues_a_download_from_any_prefix(server, fashion):
    with wave_init.Client(server.address) as client:
        whole = request(client, fashion, seed=13)
        key, data = whole.summary.result_key, whole.model_file
        for cut in (0, 1, len(data) // 2, len(data)):
            resumed = client.resume(key, data[:cut])
            assert resumed.model_file == data
            assert resumed.summary.sha256 == whole.summary.sha256
        with pytest.raises(wave_init.WaveInitError) as e:
            client.resume(key, b"not the file's first bytes")
        assert e.value.code == grpc.StatusCode.DATA_LOSS
        with pytest.raises(wave_init.WaveInitError) as e:
            client.resume("0" * 64)
        assert e.value.code == grpc.StatusCode.NOT_FOUND


def test_a_download_broken_by_a_server_restart_is_continued(start_server, fashion, tmp_path):
    """The server dies mid-download; one on the same port and --cache_dir
    comes up; initialize() continues the file from where it broke."""
    cache = str(tmp_path / "cache")
    first = start_server(f"--cache_dir={cache}")
    port, restarted, seen = first.port, [], []

    def restart_mid_stream(event):
        seen.append(event.phase)
        if event.phase == "stream" and event.file and 0 < event.step < event.total \
                and not restarted:
            first.kill()
            restarted.append(start_server(f"--cache_dir={cache}", port=port))

    with wave_init.Client(first.address) as client:
        # About 50M parameters (200 MB): the kill lands while the file streams.
        result = client.initialize(16, 512, 10, fashion[0][:100], fashion[1][:100], steps=0,
                                   progress=restart_mid_stream)
    assert restarted, "the download finished before the restart"
    assert result.summary.cache_hit  # the rest came from the restarted server's cache
    assert hashlib.sha256(result.model_file).hexdigest() == result.summary.sha256
    assert len(result.model_file) == result.summary.model_bytes


def test_torchvision_names_cover_every_timm_name():
    assert (wtv.torchvision_name("blocks.11.attn.qkv.weight")
            == "encoder.layers.encoder_layer_11.self_attention.in_proj_weight")
    assert wtv.torchvision_name("blocks.0.mlp.fc2.bias") == "encoder.layers.encoder_layer_0.mlp.3.bias"
    assert wtv.torchvision_name("norm.weight") == "encoder.ln.weight"
    with pytest.raises(KeyError):
        wtv.torchvision_name("blocks.0.attn.q.weight")


def test_initialize_to_file_makes_the_folder_and_names_an_unwritable_path(server, fashion, tmp_path):
    x, y = fashion
    target = tmp_path / "new" / "nested" / "vit.safetensors"
    with wave_init.Client(server.address) as client:
        client.initialize_to_file(str(target), 1, 32, 10, x[:50], y[:50], steps=0)
        assert target.exists()
        blocker = tmp_path / "file"
        blocker.write_text("x")
        with pytest.raises(OSError, match="file"):
            client.initialize_to_file(str(blocker / "vit.safetensors"), 1, 32, 10, x[:50],
                                      y[:50], steps=0)


def list_banks_served(server):
    """How many ListBanks calls `server` answered, from its metrics."""
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{server.metrics}/metrics").read().decode()
    found = re.search(r'wave_requests_total\{code="OK",method="ListBanks"\} (\d+)', text)
    return int(found.group(1)) if found else 0


def test_round_robin_spreads_calls_over_two_servers_behind_one_name(start_server):
    """Two servers behind one target (as a headless Service's DNS name
    resolves to every pod): round_robin sends calls to both, gRPC's default
    (pick_first) every call to one. The CLI takes the same policy."""
    a, b = start_server(), start_server()
    target = f"ipv4:127.0.0.1:{a.port},127.0.0.1:{b.port}"
    with wave_init.Client(target, lb_policy="round_robin") as client:
        # round_robin uses the servers whose connections are ready; give the
        # second one the time to connect, then every server takes calls.
        for _ in range(200):
            assert client.banks()
            if list_banks_served(a) >= 2 and list_banks_served(b) >= 2:
                break
            time.sleep(0.02)
    before = (list_banks_served(a), list_banks_served(b))
    assert before[0] >= 2 and before[1] >= 2, before
    with wave_init.Client(target) as client:
        for _ in range(20):
            client.banks()
    added = sorted([list_banks_served(a) - before[0], list_banks_served(b) - before[1]])
    assert added == [0, 20], added
    with pytest.raises(ValueError, match="lb_policy must be round_robin or pick_first"):
        wave_init.Client(target, lb_policy="random")
    cli = subprocess.run([os.path.join(BUILD, "client", "wave-client"), "banks",
                          f"--server={target}", "--lb_policy=round_robin"],
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    bad = subprocess.run([os.path.join(BUILD, "client", "wave-client"), "banks",
                          f"--server={target}", "--lb_policy=random"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "--lb_policy must be round_robin or pick_first" in bad.stderr


def test_the_fit_runs_at_the_precision_asked_else_the_servers(server, fashion):
    """describe() names the server's default; a request's precision wins; the
    summary says what ran (f32 with the reason on a CPU without bf16)."""
    with wave_init.Client(server.address) as client:
        default = client.describe()["fit_precision"]
        served = request(client, fashion, steps=5)
        f32 = request(client, fashion, steps=5, precision="f32")
        bf16 = request(client, fashion, steps=5, precision="bf16")
        with pytest.raises(wave_init.WaveInitError, match="fit.precision: must be 'f32' or 'bf16'"):
            request(client, fashion, steps=5, precision="f16")
    assert served.summary.fit_precision == default
    assert (f32.summary.fit_precision, f32.summary.fit_precision_note) == ("f32", "")
    if bf16.summary.fit_precision == "f32":
        assert bf16.summary.fit_precision_note == "bf16 asked, f32 run: this CPU has no AVX512-BF16"
    else:
        assert (bf16.summary.fit_precision, bf16.summary.fit_precision_note) == ("bf16", "")
        assert bf16.summary.sha256 != f32.summary.sha256
    assert all(w.dtype == torch.float32 for w in bf16.weights.values())


def test_a_pass_budget_makes_the_fit_follow_the_uploads_size(server, fashion):
    """max_passes caps the scaler steps at passes over the fit's samples: the
    server holds 10% out (30 of 300), batch 30 -> 270 / 30 = 9 steps a pass."""
    with wave_init.Client(server.address) as client:
        one = request(client, fashion, n=300, steps=400, batch=30, eval_every=0, max_passes=1)
        two = request(client, fashion, n=300, steps=400, batch=30, eval_every=0, max_passes=2)
        with pytest.raises(wave_init.WaveInitError, match="fit.max_passes: must be >= 0"):
            request(client, fashion, n=300, max_passes=-1.0)
    assert (one.summary.steps_run, two.summary.steps_run) == (9, 18)


def test_a_head_refit_after_the_steps_is_kept_only_where_it_holds_held_out_accuracy(
        server, fashion):
    """head_refit_steps refits a fresh head that three steps left far from
    fitted: the summary says it was kept, the held-out accuracy (measured on
    the returned weights) did not drop, and the body is the plain fit's."""
    with wave_init.Client(server.address) as client:
        plain = request(client, fashion, n=300, steps=3, batch=30, eval_every=0,
                        head_from_bank=False)
        refit = request(client, fashion, n=300, steps=3, batch=30, eval_every=0,
                        head_from_bank=False, head_refit_steps=100)
        with pytest.raises(wave_init.WaveInitError, match="fit.head_refit_steps: must be >= 0"):
            request(client, fashion, n=300, head_refit_steps=-1)
    assert (plain.summary.head_refit_kept, refit.summary.head_refit_kept) == (False, True)
    assert refit.summary.held_out_accuracy >= plain.summary.held_out_accuracy
    body = [k for k in plain.weights if not k.startswith("head.")]
    assert all(np.array_equal(np.asarray(plain.weights[k]), np.asarray(refit.weights[k]))
               for k in body)
    assert not np.array_equal(np.asarray(plain.weights["head.weight"]),
                              np.asarray(refit.weights["head.weight"]))


def test_class_names_other_than_the_banks_start_from_a_fresh_head(server, fashion):
    """Names other than the bank's say the classes are the user's own: the
    head starts fresh, as with head_from_bank=False, unless the request asks
    for the bank's head itself; no names keep the bank's head."""
    names = list("abcdefghij")
    with wave_init.Client(server.address) as client:
        own = request(client, fashion, n=100, steps=0)
        fresh = request(client, fashion, n=100, steps=0, head_from_bank=False)
        named = request(client, fashion, n=100, steps=0, class_names=names)
        asked = request(client, fashion, n=100, steps=0, class_names=names, head_from_bank=True)
    own, fresh, named_head, asked = (np.asarray(r.weights["head.weight"])
                                     for r in (own, fresh, named, asked))
    assert np.array_equal(named_head, fresh)
    assert not np.array_equal(named_head, own)
    assert np.array_equal(asked, own)
    assert named.class_names == names


def test_a_fit_of_the_last_blocks_costs_their_share_of_a_pass(server, fashion):
    """tail_blocks trains only the last blocks: with max_passes, a step
    through one of three blocks costs a third of a pass, so three times the
    steps fit the budget; the weights differ from an every-block fit's."""
    with wave_init.Client(server.address) as client:
        every = request(client, fashion, n=300, steps=400, batch=30, eval_every=0, max_passes=1)
        tail = request(client, fashion, n=300, steps=400, batch=30, eval_every=0, max_passes=1,
                       tail_blocks=1)
        with pytest.raises(wave_init.WaveInitError, match="fit.tail_blocks: must be >= 0"):
            request(client, fashion, n=300, tail_blocks=-1)
    assert (every.summary.steps_run, tail.summary.steps_run) == (9, 27)
    assert tail.summary.sha256 != every.summary.sha256
